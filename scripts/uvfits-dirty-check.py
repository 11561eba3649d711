#!/usr/bin/python3
"""The dirty image of a UVFITS file (Stokes I from RR and LL, CASA exportuvfits layout with an AIPS FQ table) on the
central 2·HALF × 2·HALF pixels, by a direct numpy DFT, against the NAME-dirty.fits of `skyscore clean --niter 0`.

    python3 scripts/uvfits-dirty-check.py FILE.uvfits NAME-dirty.fits [HALF=8]
"""
import sys
import numpy as np
from astropy.io import fits
uvf, dirty = sys.argv[1], sys.argv[2]
half = int(sys.argv[3]) if len(sys.argv) > 3 else 8
h = fits.open(uvf)
hdr = h[0].header
gd = h[0].data
nif, nch = hdr['NAXIS5'], hdr['NAXIS4']
f0, df = hdr['CRVAL4'], hdr['CDELT4']
ifoff = np.array(h['AIPS FQ'].data['IF FREQ'][0], dtype=float).reshape(-1)
freqs = f0 + ifoff[:, None] + (np.arange(nch)[None, :] + 1 - hdr['CRPIX4']) * df
uu = np.asarray(gd.par('UU---SIN'), dtype=float)
vv = np.asarray(gd.par('VV---SIN'), dtype=float)
d = np.asarray(gd.data, dtype=float)[:, 0, 0]  # [g, if, ch, stokes, 3]
rr, ll = d[..., 0, :], d[..., 1, :]
ok = (rr[..., 2] > 0) & (ll[..., 2] > 0)
re = 0.5 * (rr[..., 0] + ll[..., 0])
im = 0.5 * (rr[..., 1] + ll[..., 1])
w = 4 * rr[..., 2] * ll[..., 2] / (rr[..., 2] + ll[..., 2])
# UVFITS stores the baseline antenna 1 - antenna 2: V = sum I exp(+2 pi i (UU l + VV m)) in the stored u, v
u = -uu[:, None, None] * freqs[None]
v = -vv[:, None, None] * freqs[None]
u, v, re, im, w = u[ok], v[ok], re[ok], im[ok], w[ok]
print('stokes I visibilities', u.size, 'sum w', w.sum())
D = fits.open(dirty)
img = D[0].data[0, 0].astype(float)
ny, nx = img.shape
cell = abs(D[0].header['CDELT1']) * np.pi / 180
cy, cx = ny // 2, nx // 2
ys = np.arange(cy - half, cy + half)
xs = np.arange(cx - half, cx + half)
ref = np.zeros((ys.size, xs.size))
for i, y in enumerate(ys):
    m = (y - cy) * cell
    for j, x in enumerate(xs):
        l = -(x - cx) * cell
        ph = 2 * np.pi * (u * l + v * m)
        ref[i, j] = np.sum(w * (re * np.cos(ph) - im * np.sin(ph))) / w.sum()
got = img[cy - half:cy + half, cx - half:cx + half]
err = np.abs(got - ref).max()
print(f'crop {2*half}x{2*half}: max |skyscore - numpy DFT| = {err:.3e} Jy/beam, peak {np.abs(ref).max():.6f}, relative {err/np.abs(ref).max():.2e}')
