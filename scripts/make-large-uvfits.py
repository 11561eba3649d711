#!/usr/bin/python3
"""A synthetic VLA observation of real size, laid out as CASA exportuvfits writes it, for SkyScore's tests at scale.

    python3 scripts/make-large-uvfits.py OUT.uvfits --scans S --ints K --nchan C [--nif 2] [--seed 1]

Random groups, BITPIX -32; data axes COMPLEX(3), STOKES(4: RR LL RL LR; CRVAL -1, CDELT -1), FREQ(C), IF(nif),
RA(1), DEC(1); random parameters UU---SIN, VV---SIN, WW---SIN (seconds), DATE and a second DATE (the Julian day
split in two: the first with PZERO at the day's start, the second the fraction of the day, as CASA writes them),
BASELINE (256·a1 + a2) and INTTIM; an AIPS AN table (the 27 stations of ../shared/data/arrays/VLA_BNA.txt, ECEF)
and an AIPS FQ table (the IFs' offsets, channel widths, bandwidths, sidebands).

The uv tracks come from the stations' ECEF positions and the local hour angle (H = LST − RA, the source at
declination DEC): S scans of K integrations of 10 s each, the scans spread evenly over hour angles −4 h … +4 h,
one group per baseline (351, no autocorrelations) per integration. The sky is known: point sources and an elliptical
Gaussian, unpolarised (RR = LL = I, RL = LR = 0), its visibilities V = Σ I exp(+2πi (u l + v m)) for the stored u, v
(UVFITS's baseline antenna 1 − antenna 2, as AIPS and CASA write it) for each channel's own frequency. Thermal noise of variance 1/w per real and imaginary part is added,
w the weight written (per antenna pair: σ ∝ √(SEFD₁·SEFD₂), SEFDs varied ±30 %). A fraction of the correlations is
flagged as CASA writes them: the weight negated.

Also writes OUT.json: the counts (groups, samples, Stokes I visibilities expected after flags), the sky's components
and total flux, the noise, the frequencies — what the checks compare SkyScore's output against.
"""
import argparse
import json
import os
import sys

import numpy as np
from astropy.io import fits

C = 299792458.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, '..', 'shared', 'data', 'arrays', 'VLA_BNA.txt')
ARCSEC = np.pi / 180 / 3600

# the known sky: (flux Jy, l arcsec (East), m arcsec (North), FWHM major arcsec, FWHM minor arcsec, PA deg); FWHM 0 = point
SKY = [
    (0.50, 0.0, 0.0, 0, 0, 0),
    (0.20, -12.0, 7.0, 0, 0, 0),
    (0.10, 9.0, -15.0, 0, 0, 0),
    (0.30, 4.0, 10.0, 6.0, 3.0, 30.0),
]


def stations():
    names, xyz = [], []
    for line in open(TABLE):
        s = line.split()
        if not s or s[0].startswith('#'):
            continue
        names.append(s[0])
        xyz.append([float(s[1]), float(s[2]), float(s[3])])
    return names, np.array(xyz)


def sky_vis(u, v):
    """V(u, v) of SKY, u, v in wavelengths (float64 arrays)."""
    re = np.zeros_like(u)
    im = np.zeros_like(u)
    for s, l, m, bmaj, bmin, pa in SKY:
        ph = 2 * np.pi * (u * l * ARCSEC + v * m * ARCSEC)  # exp(-2 pi i (u' l + v' m)) at u' = -u, v' = -v
        amp = s
        if bmaj > 0:
            # Gaussian of FWHM (bmaj, bmin), major axis at PA east of north: its Fourier transform
            p = np.radians(pa)
            # axis along the major axis direction (east = +l, north = +m): (sin p, cos p)
            ua = u * np.sin(p) + v * np.cos(p)
            ub = u * np.cos(p) - v * np.sin(p)
            k = np.pi ** 2 / (4 * np.log(2))
            amp = s * np.exp(-k * ((bmaj * ARCSEC * ua) ** 2 + (bmin * ARCSEC * ub) ** 2))
        re += amp * np.cos(ph)
        im += amp * np.sin(ph)
    return re, im


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--scans', type=int, required=True)
    ap.add_argument('--ints', type=int, required=True)
    ap.add_argument('--nchan', type=int, required=True)
    ap.add_argument('--nif', type=int, default=2)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--freq', type=float, default=1.4e9, help='first channel of IF 1 (Hz)')
    ap.add_argument('--chan-width', type=float, default=1e6)
    ap.add_argument('--if-step', type=float, default=128e6)
    ap.add_argument('--sigma', type=float, default=0.1, help='noise per real/imag part of one correlation, mean SEFD (Jy)')
    ap.add_argument('--flag', type=float, default=0.02, help='fraction of correlations flagged (weight negated)')
    ap.add_argument('--dec', type=float, default=35.0)
    ap.add_argument('--multi-source', action='store_true',
                    help='a SOURCE random parameter and an AIPS SU table: odd scans are source 2 (SYNTH), even ones source 1 (CAL)')
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    names, xyz = stations()
    na = len(names)
    ra = 150.0
    dec = np.radians(a.dec)
    lon = np.arctan2(xyz[:, 1].mean(), xyz[:, 0].mean())
    pairs = [(i, j) for i in range(na) for j in range(i + 1, na)]
    nb = len(pairs)
    p1 = np.array([p[0] for p in pairs])
    p2 = np.array([p[1] for p in pairs])
    # baseline vector (ECEF), rotated to the local equatorial frame (X at the array's meridian, Y 6 h east, Z pole)
    # UVFITS (AIPS) stores the baseline antenna 1 - antenna 2; the sky's visibilities are computed for the physical
    # baseline antenna 2 - antenna 1, i.e. at (-UU, -VV) (sky_vis below)
    B = xyz[p1] - xyz[p2]
    bx = np.cos(lon) * B[:, 0] + np.sin(lon) * B[:, 1]
    by = -np.sin(lon) * B[:, 0] + np.cos(lon) * B[:, 1]
    bz = B[:, 2]
    tint = 10.0
    # hour angles of the integrations (radians): scans centred evenly over -4 h .. +4 h
    centres = np.linspace(-4, 4, a.scans) if a.scans > 1 else np.array([0.0])
    ha = []
    for c in centres:
        for k in range(a.ints):
            ha.append(c + (k - (a.ints - 1) / 2) * tint / 3600 * 1.0027379)
    ha = np.radians(np.array(ha) * 15)
    nt = len(ha)
    ngroups = nt * nb
    H = np.repeat(ha, nb)
    BX, BY, BZ = np.tile(bx, nt), np.tile(by, nt), np.tile(bz, nt)
    uu = (np.sin(H) * BX + np.cos(H) * BY) / C
    vv = (-np.sin(dec) * np.cos(H) * BX + np.sin(dec) * np.sin(H) * BY + np.cos(dec) * BZ) / C
    ww = (np.cos(dec) * np.cos(H) * BX - np.cos(dec) * np.sin(H) * BY + np.sin(dec) * BZ) / C
    a1 = np.tile(p1 + 1, nt)
    a2 = np.tile(p2 + 1, nt)
    # time: JD of the day's start + the fraction (hour angle → UT roughly; sidereal rate ignored for the date)
    jd0 = 2460000.5
    t0 = 0.4
    tfrac = t0 + np.repeat(ha, nb) / (2 * np.pi) / 1.0027379
    nif, nch = a.nif, a.nchan
    ifoff = np.arange(nif) * a.if_step
    freqs = a.freq + ifoff[:, None] + np.arange(nch)[None, :] * a.chan_width  # [nif, nch]
    sefd = 1 + 0.3 * (2 * rng.random(na) - 1)
    sig_bl = a.sigma * np.sqrt(sefd[p1] * sefd[p2])  # per baseline
    sig = np.tile(sig_bl, nt)  # per group
    wgt = (1 / sig ** 2).astype(np.float32)
    data = np.zeros((ngroups, 1, 1, nif, nch, 4, 3), dtype=np.float32)
    chunk = max(1, 2_000_000 // (nif * nch))
    for g0 in range(0, ngroups, chunk):
        g1 = min(ngroups, g0 + chunk)
        U = uu[g0:g1, None, None] * freqs[None]
        V = vv[g0:g1, None, None] * freqs[None]
        re, im = sky_vis(U, V)
        s = sig[g0:g1, None, None, None]
        n = rng.standard_normal((g1 - g0, nif, nch, 4, 2)) * s[..., None]
        d = data[g0:g1, 0, 0]
        d[..., 0:2, 0] = re[..., None] + n[..., 0:2, 0]
        d[..., 0:2, 1] = im[..., None] + n[..., 0:2, 1]
        d[..., 2:4, 0] = n[..., 2:4, 0]
        d[..., 2:4, 1] = n[..., 2:4, 1]
        d[..., 2] = wgt[g0:g1, None, None, None]
    flag = rng.random((ngroups, nif, nch, 4)) < a.flag
    w = data[:, 0, 0, :, :, :, 2]
    w[flag] = -w[flag]
    # Stokes I used: RR and LL both unflagged
    i_ok = ~(flag[..., 0] | flag[..., 1])
    n_i = int(i_ok.sum())
    par = {
        'UU---SIN': uu, 'VV---SIN': vv, 'WW---SIN': ww,
        'DATE': np.full(ngroups, jd0), 'DATE2': tfrac,
        'BASELINE': (256 * a1 + a2).astype(np.float64), 'INTTIM': np.full(ngroups, tint),
    }
    pnames = ['UU---SIN', 'VV---SIN', 'WW---SIN', 'DATE', 'DATE2', 'BASELINE', 'INTTIM']
    pdata = [par['UU---SIN'], par['VV---SIN'], par['WW---SIN'], par['DATE'], par['DATE2'], par['BASELINE'], par['INTTIM']]
    pz = [0, 0, 0, jd0, 0, 0, 0]
    if a.multi_source:
        scan = np.repeat(np.arange(nt) // a.ints, nb)
        pnames.append('SOURCE')
        pdata.append((1 + scan % 2).astype(np.float64))
        pz.append(0)
    npar = len(pnames)
    gd = fits.GroupData(data, parnames=pnames, pardata=pdata, bitpix=-32,
                        parbzeros=pz, parbscales=[1] * npar)
    hdu = fits.GroupsHDU(gd)
    h = hdu.header
    h['BSCALE'] = 1.0
    h['BZERO'] = 0.0
    h['BUNIT'] = 'JY'
    axes = [('COMPLEX', 1.0, 1.0, 1.0), ('STOKES', -1.0, -1.0, 1.0), ('FREQ', a.freq, a.chan_width, 1.0),
            ('IF', 1.0, 1.0, 1.0), ('RA', ra, 1.0, 1.0), ('DEC', a.dec, 1.0, 1.0)]
    for k, (ct, cv, cd, cp) in enumerate(axes):
        h[f'CTYPE{k + 2}'] = ct
        h[f'CRVAL{k + 2}'] = cv
        h[f'CDELT{k + 2}'] = cd
        h[f'CRPIX{k + 2}'] = cp
        h[f'CROTA{k + 2}'] = 0.0
    h['OBJECT'] = 'SYNTH'
    h['TELESCOP'] = 'VLA'
    h['INSTRUME'] = 'VLA'
    h['DATE-OBS'] = '2023-02-24'
    h['EQUINOX'] = 2000.0
    h['OBSRA'] = ra
    h['OBSDEC'] = a.dec
    h['SPECSYS'] = 'TOPOCENT'
    h['ORIGIN'] = 'make-large-uvfits.py (CASA exportuvfits layout)'
    # AN table
    cols = [
        fits.Column('ANNAME', '8A', array=np.array(names)),
        fits.Column('STABXYZ', '3D', unit='METERS', array=xyz),
        fits.Column('ORBPARM', '0D', array=np.zeros((na, 0))),
        fits.Column('NOSTA', '1J', array=np.arange(1, na + 1)),
        fits.Column('MNTSTA', '1J', array=np.zeros(na, dtype=np.int32)),
        fits.Column('STAXOF', '1E', unit='METERS', array=np.zeros(na)),
        fits.Column('POLTYA', '1A', array=np.array(['R'] * na)),
        fits.Column('POLAA', '1E', unit='DEGREES', array=np.zeros(na)),
        fits.Column('POLCALA', '2E', array=np.zeros((na, 2))),
        fits.Column('POLTYB', '1A', array=np.array(['L'] * na)),
        fits.Column('POLAB', '1E', unit='DEGREES', array=np.zeros(na)),
        fits.Column('POLCALB', '2E', array=np.zeros((na, 2))),
        fits.Column('DIAMETER', '1E', unit='METERS', array=np.full(na, 25.0)),
    ]
    an = fits.BinTableHDU.from_columns(cols)
    ah = an.header
    ah['EXTNAME'] = 'AIPS AN'
    ah['EXTVER'] = 1
    ah['ARRAYX'] = 0.0
    ah['ARRAYY'] = 0.0
    ah['ARRAYZ'] = 0.0
    ah['GSTIA0'] = 0.0
    ah['DEGPDY'] = 360.9856
    ah['FREQ'] = a.freq
    ah['RDATE'] = '2023-02-24'
    ah['POLARX'] = 0.0
    ah['POLARY'] = 0.0
    ah['UT1UTC'] = 0.0
    ah['DATUTC'] = 0.0
    ah['TIMSYS'] = 'UTC'
    ah['ARRNAM'] = 'VLA'
    ah['XYZHAND'] = 'RIGHT'
    ah['FRAME'] = 'ITRF'
    ah['NUMORB'] = 0
    ah['NOPCAL'] = 2
    ah['POLTYPE'] = 'APPROX'
    ah['FREQID'] = 1
    fq = fits.BinTableHDU.from_columns([
        fits.Column('FRQSEL', '1J', array=np.array([1])),
        fits.Column('IF FREQ', f'{nif}D', unit='HZ', array=ifoff[None, :]),
        fits.Column('CH WIDTH', f'{nif}E', unit='HZ', array=np.full((1, nif), a.chan_width)),
        fits.Column('TOTAL BANDWIDTH', f'{nif}E', unit='HZ', array=np.full((1, nif), a.chan_width * nch)),
        fits.Column('SIDEBAND', f'{nif}J', array=np.ones((1, nif), dtype=np.int32)),
    ])
    fq.header['EXTNAME'] = 'AIPS FQ'
    fq.header['EXTVER'] = 1
    fq.header['NO_IF'] = nif
    hdus = [hdu, an, fq]
    if a.multi_source:
        su = fits.BinTableHDU.from_columns([
            fits.Column('ID. NO.', '1J', array=np.array([1, 2])),
            fits.Column('SOURCE', '16A', array=np.array(['CAL', 'SYNTH'])),
            fits.Column('QUAL', '1J', array=np.zeros(2, dtype=np.int32)),
            fits.Column('CALCODE', '4A', array=np.array(['A', ''])),
            fits.Column('RAEPO', '1D', unit='DEGREES', array=np.array([ra, ra])),
            fits.Column('DECEPO', '1D', unit='DEGREES', array=np.array([a.dec, a.dec])),
        ])
        su.header['EXTNAME'] = 'AIPS SU'
        su.header['EXTVER'] = 1
        hdus.append(su)
    fits.HDUList(hdus).writeto(a.out, overwrite=True)
    # astropy garbles parameters with a PZERO on writing (and two of one name): the header is astropy's, with the second
    # DATE written as DATE2 and renamed in place (same card length), and the groups are written here, raw
    with fits.open(a.out) as hl:
        off = hl[0]._data_offset
    raw = np.empty((ngroups, npar + data[0].size), dtype='>f4')
    for k in range(npar):
        raw[:, k] = pdata[k] - pz[k]
    raw[:, npar:] = data.reshape(ngroups, -1)
    with open(a.out, 'r+b') as fh:
        fh.seek(off)
        fh.write(raw.tobytes())
        fh.seek(0)
        head = fh.read(2880 * 4)
        card = b"PTYPE5  = 'DATE2   '"
        at = head.find(card)
        assert at >= 0 and at % 80 == 0, 'PTYPE5 card not found'
        fh.seek(at)
        fh.write(b"PTYPE5  = 'DATE    '")
    total_flux = sum(s[0] for s in SKY)
    uvd = np.hypot(uu[:, None, None] * freqs[None], vv[:, None, None] * freqs[None])
    meta = {
        'file': a.out, 'groups': ngroups, 'integrations': nt, 'baselines': nb, 'nif': nif, 'nchan': nch,
        'samples': int(ngroups * nif * nch * 4), 'stokesI': n_i, 'stokesIFlagged': int(ngroups * nif * nch - n_i),
        'flux': total_flux, 'sky': SKY, 'sigma': a.sigma, 'freqMin': float(freqs.min()), 'freqMax': float(freqs.max()),
        'uvMax': float(uvd.max()), 'uvMin': float(uvd.min()), 'bytes': os.path.getsize(a.out),
    }
    json.dump(meta, open(a.out.rsplit('.', 1)[0] + '.json', 'w'), indent=1)
    print(json.dumps(meta))


if __name__ == '__main__':
    sys.exit(main())
