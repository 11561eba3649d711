#!/usr/bin/python3
"""The whole dirty image and dirty beam of a UVFITS file by a direct numpy DFT, against `skyscore clean`'s
NAME-dirty.fits and NAME-psf.fits (natural weighting, the default).

Independent of SkyScore's reader: the random groups and the AIPS FQ table are read with astropy, the data axes found
by their CTYPE (COMPLEX, STOKES, FREQ, IF in any order), u and v in seconds (PTYPE UU…, VV…) scaled by each IF's and
channel's own frequency and negated (UVFITS stores the baseline antenna 1 − antenna 2, AIPS's convention, for which
V = Σ I exp(+2πi(UU·l + VV·m))), Stokes I formed as (RR+LL)/2 or (XX+YY)/2 with weight 4·w₁w₂/(w₁+w₂) where both hands have
weight > 0 (or the file's own I), autocorrelations and non-finite values left out. The image pixel (x, y) lies at
l = −(x − (CRPIX1 − 1))·|CDELT1|, m = (y − (CRPIX2 − 1))·CDELT2 (RA increasing to the left); the dirty image is
Σ w (Re V cos 2π(ul + vm) − Im V sin 2π(ul + vm)) / Σ w and the beam the same with V = 1, evaluated exactly for every
pixel as a product of two matrices (the phase factorises in l and m).

    python3 scripts/uvfits-dft-check.py FILE.uvfits NAME    # reads NAME-dirty.fits and NAME-psf.fits

Prints, for each, max |SkyScore − DFT| over the whole image, as a fraction of the DFT's peak.
"""
import sys
import numpy as np
from astropy.io import fits


def stokes_i(path):
    h = fits.open(path)
    hdr = h[0].header
    gd = h[0].data
    naxis = hdr['NAXIS']
    axis = {}
    for k in range(2, naxis + 1):
        ct = hdr[f'CTYPE{k}'].strip().upper()
        axis[ct.split('-')[0]] = k
    arr = np.asarray(gd.data, dtype=float)  # numpy axes: group, then FITS axes NAXISn … NAXIS2
    nd = arr.ndim

    def npax(k):
        return nd - (k - 1)

    order = [0]
    for key in ('IF', 'FREQ', 'STOKES', 'COMPLEX'):
        if key in axis:
            order.append(npax(axis[key]))
        else:
            arr = arr[..., None]
            nd = arr.ndim
            order.append(nd - 1)
    rest = [i for i in range(arr.ndim) if i not in order]
    for i in rest:
        assert arr.shape[i] == 1, 'only one pointing'
    arr = np.transpose(arr, order + rest).reshape([arr.shape[i] for i in order])  # [g, if, ch, stokes, complex]
    ks = axis['STOKES']
    codes = [int(round(hdr[f'CRVAL{ks}'] + (i + 1 - hdr[f'CRPIX{ks}']) * hdr[f'CDELT{ks}'])) for i in range(arr.shape[3])]
    kf = axis['FREQ']
    nif, nch = arr.shape[1], arr.shape[2]
    ifoff = np.zeros(nif)
    if 'AIPS FQ' in h:
        ifoff = np.asarray(h['AIPS FQ'].data['IF FREQ'][0], dtype=float).reshape(-1)[:nif]
    freqs = hdr[f'CRVAL{kf}'] + ifoff[:, None] + (np.arange(nch)[None, :] + 1 - hdr[f'CRPIX{kf}']) * hdr[f'CDELT{kf}']
    names = [n.upper() for n in gd.parnames]
    uu = np.asarray(gd.par(gd.parnames[[i for i, n in enumerate(names) if n.startswith('UU')][0]]), dtype=float)
    vv = np.asarray(gd.par(gd.parnames[[i for i, n in enumerate(names) if n.startswith('VV')][0]]), dtype=float)
    if 'BASELINE' in names:
        code = np.floor(np.asarray(gd.par('BASELINE'), dtype=float) + 1e-6).astype(np.int64)
        big = code > 65535
        a1 = np.where(big, (code - 65536) // 2048, code // 256)
        a2 = np.where(big, (code - 65536) % 2048, code % 256)
    else:
        a1 = np.asarray(gd.par('ANTENNA1')).astype(int)
        a2 = np.asarray(gd.par('ANTENNA2')).astype(int)
    wt = arr[..., 2] if arr.shape[4] > 2 else np.ones(arr.shape[:4])
    if 1 in codes:
        i = codes.index(1)
        re, im, w = arr[..., i, 0], arr[..., i, 1], wt[..., i]
        ok = w > 0
    else:
        pa, pb = (-1, -2) if -1 in codes else (-5, -6)
        a, b = codes.index(pa), codes.index(pb)
        re = 0.5 * (arr[..., a, 0] + arr[..., b, 0])
        im = 0.5 * (arr[..., a, 1] + arr[..., b, 1])
        wa, wb = wt[..., a], wt[..., b]
        ok = (wa > 0) & (wb > 0)
        w = np.where(ok, 4 * wa * wb / np.where(ok, wa + wb, 1), 0)
    ok &= np.isfinite(re) & np.isfinite(im) & (a1 != a2)[:, None, None]
    # the stored UU, VV run antenna 1 - antenna 2 (AIPS): V = sum I exp(+2 pi i (UU l + VV m)); negated here into the
    # baseline antenna 2 - antenna 1 of the kernel exp(-2 pi i (u l + v m)) below
    u = -uu[:, None, None] * freqs[None]
    v = -vv[:, None, None] * freqs[None]
    return u[ok], v[ok], re[ok], im[ok], w[ok]


def dft_image(hdr, shape, u, v, vis, w):
    ny, nx = shape
    cell_x = abs(hdr['CDELT1']) * np.pi / 180
    cell_y = abs(hdr['CDELT2']) * np.pi / 180
    l = -(np.arange(nx) - (hdr['CRPIX1'] - 1)) * cell_x
    m = (np.arange(ny) - (hdr['CRPIX2'] - 1)) * cell_y
    out = np.zeros((ny, nx))
    step = 4096
    for s in range(0, u.size, step):
        el = np.exp(2j * np.pi * np.outer(u[s:s + step], l))  # [K, nx]
        em = np.exp(2j * np.pi * np.outer(m, v[s:s + step]))  # [ny, K]
        out += np.real(em @ ((w[s:s + step] * vis[s:s + step])[:, None] * el))
    return out / w.sum()


def main():
    uvf, name = sys.argv[1], sys.argv[2]
    u, v, re, im, w = stokes_i(uvf)
    print(f'{uvf}: {u.size} Stokes I visibilities, sum of weights {w.sum():.6g}, noise 1/sqrt(sum w) {1 / np.sqrt(w.sum()):.4g}')
    for kind, vis in (('dirty', re + 1j * im), ('psf', np.ones_like(re) + 0j)):
        f = fits.open(f'{name}-{kind}.fits')
        img = np.asarray(f[0].data, dtype=float)
        img = img.reshape(img.shape[-2:])
        ref = dft_image(f[0].header, img.shape, u, v, vis, w)
        err = np.abs(img - ref)
        peak = np.abs(ref).max()
        y, x = np.unravel_index(np.argmax(err), err.shape)
        print(
            f'{kind:5s} {img.shape[1]}x{img.shape[0]}: max |SkyScore - numpy DFT| = {err.max():.3e} at ({x}, {y}), '
            f'DFT peak {peak:.6g}, relative {err.max() / peak:.2e}; rms {np.sqrt((err ** 2).mean()) / peak:.2e} of the peak'
        )


if __name__ == '__main__':
    main()
