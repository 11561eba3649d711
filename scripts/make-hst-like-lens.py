#!/usr/bin/env python3
"""An HST/ACS-like strong-lens cutout, made as a SLACS user would receive it (docs/lensing.md, *A SLACS-like
ACS cutout*).

    /usr/bin/python3 scripts/make-hst-like-lens.py OUTDIR [--seed S] [--galaxy K] [--size N]
                                                 [--drizzle-noise K [--pixfrac P]] [--wht full|sky]
                                                 [--layout pyautolens [--mask-shape circular|annular]]

Writes into OUTDIR:
  sci.fits      the drizzled-style science image (primary HDU), e⁻/s, 0.05″/px, a rotated CD-matrix TAN WCS
  wht.fits      its inverse-variance weight map (s²/e⁻², 0 where no data), as drizzle's final_wht_type=IVM
  mef.fits      the same as one multi-extension file: PRIMARY (header only), SCI, ERR (σ), WHT
  truth.json    the lens, the light, the companions, the hot pixels, the noise model

With --layout pyautolens, the files of a PyAutoLens dataset folder instead of sci/wht/mef (truth.json as above,
its lens position also in the cutout's frame, `pyautolens`):
  data.fits       151×151 pixels around the lens (the 360² simulation's rows and columns 104–254: the lens's
                  centre pixel 179, the cutout's 75), e⁻/s, float64, no WCS and no header keywords
  noise_map.fits  σ per pixel (e⁻/s, float64: the full σ, the sources' Poisson term included, as PyAutoLens's
                  noise maps are); a 4 × 4 patch of flagged pixels 2″ from the lens holds data 0 and σ 1e8, as
                  PyAutoLens marks pixels to ignore
  psf.fits        11×11: the central pixels of the PSF the data were convolved with, not renormalised (sum 0.894)
  mask.fits       PyAutoLens's Mask2D convention: 1 = masked (left out), 0 = used; --mask-shape circular
                  (default: 1 outside a 3″ circle) or annular (1 outside 0.6–3″)

The data:
- the deflector's light: a de Vaucouleurs bulge (n = 4) whose axis ratio and position angle change with radius
  (an ellipticity gradient and an isophote twist: no single Sérsic fits it) plus a rounder exponential disc;
  10–50× the arcs' surface brightness at the Einstein radius;
- the source: a Galaxy Zoo validation-split galaxy (SDSS, never a training image), its sky removed, on 0.01″
  pixels, ray-shot through an SIE + external shear (θE 1.2–1.5″, q 0.7–0.9) with 4² rays per image pixel;
- the PSF: the TinyTim ACS PSF of the shared data (147², FWHM ≈ 2 px), convolved with the noise-free image;
- a companion galaxy, a star, eight hot pixels (cosmic-ray residuals that the weight map does not flag; three
  within 2.5″ of the lens) and a NaN chip edge (weight 0);
- noise: the ACS/WFC values of ../shared/data/fits/j94f05bgq_flt.fits's header (sky MDRIZSKY / EXPTIME =
  0.29 e⁻/s/px, read noise 4.9 e⁻; the file holds no pixel data, so the sky's texture is simulated) for a
  4 × 520 s F814W visit: σ² = (sky·t + 4 RN² + signal·t)/t², Gaussian, white. The WHT holds 1/σ² of the
  pixel's true variance (signal included), the ERR extension σ.
- --drizzle-noise K: the noise is drizzle-like instead of white: K exposures of unit white noise on input
  pixels shifted by seeded uniform sub-pixel offsets, each drizzled onto the output grid (same pixel size) with a
  square kernel of side pixfrac P (default 1: each output pixel takes the overlap-weighted mean of the drops that
  cover it), averaged over the K exposures, and scaled so that its large-scale (aperture) variance is σ² per pixel:
  n = σ·m. The WHT is then what drizzle's IVM weighting gives, Σ over exposures of (overlap area × input weight):
  1/σ² for P = 1, ignoring the correlation; the per-pixel rms of m is below 1 and neighbouring pixels correlate.
  truth.json's noise block gives the measured neighbour correlation and per-pixel rms/σ_WHT of the sky.
- --wht sky: the WHT as drizzle's IVM weighting gives it for real data: 1/σ² of the sky and the read noise only,
  (sky·t + 4 RN²)/t², without the signal's variance (the noise drawn is the same, signal included); the ERR
  extension keeps the full σ. mef.fits then carries EXPTIME/TEXPTIME in its primary header only and BUNIT
  ELECTRONS/S in SCI, as an ACS drz file does. Default full: the WHT of the full variance (signal included).
  Only the noise is drizzled: the signal is the PSF-convolved truth on the output grid, as before.
"""
import argparse
import json
import os

import numpy as np
from astropy.io import fits

DATA = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data')
if not os.path.isdir(DATA):
    DATA = '/work/shared/data'


def sie_deflection(x, y, b, q, phi, x0, y0, g1, g2):
    """The product's SIE + shear (src-shared/operators/lens-model.ts's formulas, written independently)."""
    c, s = np.cos(phi), np.sin(phi)
    dx, dy = x - x0, y - y0
    xp = c * dx + s * dy
    yp = -s * dx + c * dy
    f = np.sqrt(1 - q * q)
    w = np.sqrt(q * q * xp * xp + yp * yp)
    w = np.where(w > 0, w, 1e-12)
    pre = b * np.sqrt(q) / f
    axp = pre * np.arctan(f * xp / w)
    ayp = pre * np.arctanh(f * yp / w)
    ax = c * axp - s * ayp + g1 * dx + g2 * dy
    ay = s * axp + c * ayp + g2 * dx - g1 * dy
    return ax, ay


def sersic_b(n):
    return 2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n * n)


def twisted_devauc(x, y, re, q_in, q_out, pa_in, pa_out, a_mid):
    """n = 4 profile on elliptical radii whose q and PA vary with the semi-major axis a (fixed-point for a)."""
    a = np.hypot(x, y)
    for _ in range(8):
        t = a / (a + a_mid)  # 0 at the centre, → 1 far out
        q = q_in + (q_out - q_in) * t
        pa = pa_in + (pa_out - pa_in) * t
        c, s = np.cos(pa), np.sin(pa)
        xp = c * x + s * y
        yp = -s * x + c * y
        a = np.sqrt(xp * xp + (yp / q) ** 2)
    r = np.sqrt(q) * a  # intermediate-axis radius, as the product's Sérsic
    return np.exp(-sersic_b(4) * ((np.maximum(r, 1e-4) / re) ** 0.25 - 1))


def sersic(x, y, re, n, q, pa):
    c, s = np.cos(pa), np.sin(pa)
    xp = c * x + s * y
    yp = -s * x + c * y
    r = np.sqrt(q * xp * xp + yp * yp / q)
    return np.exp(-sersic_b(n) * ((np.maximum(r, 1e-4) / re) ** (1 / n) - 1))


def fft_convolve(img, psf):
    ny, nx = img.shape
    ky, kx = psf.shape
    P = np.zeros((ny + ky, nx + kx))
    P[:ny, :nx] = img
    K = np.zeros_like(P)
    K[:ky, :kx] = psf
    out = np.fft.irfft2(np.fft.rfft2(P) * np.fft.rfft2(K), s=P.shape)
    cy, cx = ky // 2, kx // 2
    return out[cy:cy + ny, cx:cx + nx]


def drizzle_taps(d, p):
    """1-D overlaps of drops of side p centred at m + d (m = -2..2, input pixel spacing 1) with the output pixel [-0.5, 0.5]."""
    ms = np.arange(-2, 3)
    lo = np.maximum(ms + d - p / 2, -0.5)
    hi = np.minimum(ms + d + p / 2, 0.5)
    return np.clip(hi - lo, 0, None)


def drizzled_unit_noise(rng, shape, k, p):
    """Drizzle-like noise m with aperture variance 1 per output pixel: each of k exposures is unit white noise on
    input pixels shifted by (dy, dx) ~ U[0, 1)², drizzled with a square kernel of side p (separable overlaps, the
    output value the overlap-weighted mean), and the k images are averaged. Returns m, drizzle's IVM weight in units
    of 1/σ² (Σ over exposures of the overlap area p² × the input weight 1/k: p²), and the shifts."""
    ny, nx = shape
    acc = np.zeros(shape)
    shifts = []
    for _ in range(k):
        dy, dx = rng.uniform(0, 1, size=2)
        shifts.append([float(dy), float(dx)])
        ty, tx = drizzle_taps(dy, p), drizzle_taps(dx, p)
        # input white noise of variance k (k such images averaged: aperture variance 1)
        v = rng.normal(size=(ny + 4, nx + 4)) * np.sqrt(k)
        out = np.zeros(shape)
        for a, wy in enumerate(ty):
            if wy == 0:
                continue
            for b, wx in enumerate(tx):
                if wx == 0:
                    continue
                out += wy * wx * v[4 - a:4 - a + ny, 4 - b:4 - b + nx]
        acc += out / (ty.sum() * tx.sum())
    m = acc / k
    # the drops cover p² of each output pixel per exposure: IVM weight Σ_exposures p² · (1/k) relative to 1/σ²
    wht_rel = p * p
    return m, wht_rel, shifts


PAL_SIZE, PAL_PSF = 151, 11


def write_pyautolens(a, sci, sigma, psf, lens, N, scale, hot):
    """The simulation as a PyAutoLens dataset folder: a 151² cutout around the lens without any header keywords,
    σ, an 11² PSF crop and a mask in PyAutoLens's convention (1 = masked)."""
    c = N // 2 - 1 if N % 2 == 0 else N // 2  # the big image's pixel nearest the lens (179 for 360)
    h = PAL_SIZE // 2
    r0 = c - h
    data = sci[r0:r0 + PAL_SIZE, r0:r0 + PAL_SIZE].astype(np.float64).copy()
    noise = sigma[r0:r0 + PAL_SIZE, r0:r0 + PAL_SIZE].astype(np.float64).copy()
    if not np.all(np.isfinite(data)):
        raise SystemExit('the 151² cutout holds NaN pixels: use a larger --size')
    # the cutout's frame: its pixel h at (0, 0); the big frame's pixel c at (c − (N−1)/2)·scale
    shift = (c - (N - 1) / 2) * scale
    lens_cut = dict(lens, x0=lens['x0'] - shift, y0=lens['y0'] - shift)
    # flagged pixels: data 0, σ 1e8 (PyAutoLens's way of leaving pixels out), 2″ from the lens along −y
    fi = h - int(round(2.0 / scale))
    flagged = [fi - 2, fi + 2, h - 2, h + 2]
    data[flagged[0]:flagged[1], flagged[2]:flagged[3]] = 0.0
    noise[flagged[0]:flagged[1], flagged[2]:flagged[3]] = 1e8
    ky, kx = np.unravel_index(np.argmax(psf), psf.shape)
    k = PAL_PSF // 2
    psf11 = psf[ky - k:ky + k + 1, kx - k:kx + k + 1].astype(np.float64)
    yy, xx = (np.mgrid[0:PAL_SIZE, 0:PAL_SIZE] - h) * scale
    rr = np.hypot(xx, yy)
    if a.mask_shape == 'circular':
        masked = rr > 3.0
        mask_text = dict(shape='circular', radius=3.0)
    else:
        masked = (rr > 3.0) | (rr < 0.6)
        mask_text = dict(shape='annular', inner_radius=0.6, outer_radius=3.0)
    for name, arr in (('data.fits', data), ('noise_map.fits', noise), ('psf.fits', psf11), ('mask.fits', masked.astype(np.float64))):
        hdu = fits.PrimaryHDU(arr)
        hdu.writeto(os.path.join(a.out, name), overwrite=True)
    truth = dict(lens=lens_cut, lens_in_big_frame=lens, size=PAL_SIZE, pixel_scale=scale,
                 pyautolens=dict(cutout_rows_columns=[int(r0), int(r0 + PAL_SIZE - 1)], big_size=N,
                                 flagged_pixels_rows_columns=flagged, flagged_value=dict(data=0.0, sigma=1e8),
                                 psf_shape=[PAL_PSF, PAL_PSF], psf_sum=float(psf11.sum()),
                                 mask=dict(convention='1 = masked (left out)', **mask_text),
                                 data_unit='e-/s', header='none',
                                 hot_pixels_rows_columns=[[i - r0, j - r0, v] for i, j, v in hot if 0 <= i - r0 < PAL_SIZE and 0 <= j - r0 < PAL_SIZE]),
                 seed=a.seed, galaxy_validation_index=a.galaxy)
    with open(os.path.join(a.out, 'truth.json'), 'w') as f:
        json.dump(truth, f, indent=1)
    print(json.dumps(truth))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--galaxy', type=int, default=11, help='index into the validation split')
    ap.add_argument('--size', type=int, default=360)
    ap.add_argument('--arc-ratio', type=float, default=1.0, help='scale of the source brightness')
    ap.add_argument('--drizzle-noise', type=int, default=0, help='K > 0: drizzle-like correlated noise from K dithered exposures')
    ap.add_argument('--pixfrac', type=float, default=1.0, help='the drizzle kernel\'s side in input pixels (with --drizzle-noise)')
    ap.add_argument('--wht', choices=('full', 'sky'), default='full', help='sky: the WHT without the signal\'s variance (drizzle IVM)')
    ap.add_argument('--layout', choices=('acs', 'pyautolens'), default='acs', help='pyautolens: data.fits, noise_map.fits, psf.fits, mask.fits as a PyAutoLens dataset folder')
    ap.add_argument('--mask-shape', choices=('circular', 'annular'), default='circular', help='with --layout pyautolens: the mask\'s shape')
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    N, scale, sub = a.size, 0.05, 4

    # the lens (SIE + shear), drawn in SLACS's range
    lens = dict(thetaE=float(rng.uniform(1.2, 1.5)), q=float(rng.uniform(0.7, 0.9)), phi=float(rng.uniform(0, np.pi)),
                x0=float(rng.uniform(-0.05, 0.05)), y0=float(rng.uniform(-0.05, 0.05)),
                gamma1=float(rng.uniform(-0.04, 0.04)), gamma2=float(rng.uniform(-0.04, 0.04)))

    # image-plane sub-pixel centres, arcsec (pixel i's centre at (i − (N−1)/2)·scale)
    off = ((np.arange(sub) + 0.5) / sub - 0.5) * scale
    c1 = (np.arange(N) - (N - 1) / 2) * scale
    xs = (c1[None, :, None, None] + off[None, None, None, :]) + 0 * off[None, None, :, None]
    ys = (c1[:, None, None, None] + off[None, None, :, None]) + 0 * off[None, None, None, :]
    xs = np.broadcast_to(xs, (N, N, sub, sub))
    ys = np.broadcast_to(ys, (N, N, sub, sub))

    # the source: a validation-split Galaxy Zoo galaxy, sky removed, peak 1, on 0.01″ pixels
    with fits.open(os.path.join(DATA, 'train', 'galaxyzoo_kaggle2000_gray64.fits')) as h:
        split = np.array([s.strip() for s in h[1].data['SPLIT']])
        vidx = np.nonzero(split == 'validation')[0]
        gidx = int(vidx[a.galaxy])
        gal = h[0].data[gidx].astype(np.float64) / 255
        galid = int(h[1].data['GALAXYID'][gidx])
    border = np.concatenate([gal[:4].ravel(), gal[-4:].ravel(), gal[:, :4].ravel(), gal[:, -4:].ravel()])
    gal = np.clip(gal - np.median(border) - 2 * border.std(), 0, None)
    gal /= gal.max()
    src_scale = 0.01
    src_c = (float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.08, 0.08)))  # near the caustic centre

    ax, ay = sie_deflection(xs, ys, lens['thetaE'], lens['q'], lens['phi'], lens['x0'], lens['y0'], lens['gamma1'], lens['gamma2'])
    bx = xs - ax - src_c[0]
    by = ys - ay - src_c[1]
    # bilinear sampling of the 64² source (pixel centres (k − 31.5)·0.01″)
    u = bx / src_scale + 31.5
    v = by / src_scale + 31.5
    i0 = np.floor(v).astype(int)
    j0 = np.floor(u).astype(int)
    fv = v - i0
    fu = u - j0
    lensed = np.zeros_like(u)
    for di, wi in ((0, 1 - fv), (1, fv)):
        for dj, wj in ((0, 1 - fu), (1, fu)):
            ii = i0 + di
            jj = j0 + dj
            ok = (ii >= 0) & (ii < 64) & (jj >= 0) & (jj < 64)
            lensed += np.where(ok, gal[np.clip(ii, 0, 63), np.clip(jj, 0, 63)], 0) * wi * wj
    lensed = lensed.mean(axis=(2, 3))

    # the deflector's light (e⁻/s/px): a twisted, ellipticity-graded de Vaucouleurs bulge + an exponential disc
    lx, ly = lens['x0'] + 0.01, lens['y0'] - 0.008
    light_par = dict(re=1.1, q_in=0.85, q_out=0.62, pa_in=lens['phi'] + 0.15, pa_out=lens['phi'] + 0.65, a_mid=1.0,
                     disc_re=2.2, disc_q=0.55, disc_pa=lens['phi'] + 0.4, disc_frac=0.18, centre=[lx, ly])
    bulge = twisted_devauc(xs - lx, ys - ly, light_par['re'], light_par['q_in'], light_par['q_out'], light_par['pa_in'], light_par['pa_out'], light_par['a_mid']).mean(axis=(2, 3))
    disc = sersic(xs - lx, ys - ly, light_par['disc_re'], 1.0, light_par['disc_q'], light_par['disc_pa']).mean(axis=(2, 3))
    # the centre pixels more finely (the de Vaucouleurs cusp)
    light = bulge / bulge.max() + light_par['disc_frac'] * disc / disc.max()
    # deflector total ≈ F814W 17.2 mag (AB zero point 25.94): ≈ 3100 e⁻/s
    light *= 3100 / light.sum()
    x1 = (np.arange(N) - (N - 1) / 2) * scale
    R = np.hypot(x1[None, :] - lens['x0'], x1[:, None] - lens['y0'])
    ring = (np.abs(R - lens['thetaE']) < 0.1)
    light_at_ring = float(np.median(light[ring]))
    # the arcs: 50 e⁻/s in all (F814W ≈ 21.7 mag, a SLACS source magnified ×10–30), which puts the light at
    # the arcs 10–50× above them (truth.json light_over_arcs_at_arcs)
    lensed *= a.arc_ratio * 50.0 / lensed.sum()

    truth_img = light + lensed

    # a companion galaxy and a star
    comp = dict(x=3.6, y=-2.4, re=0.45, n=1.5, q=0.6, pa=0.9, flux=180.0)
    cimg = sersic(xs - comp['x'], ys - comp['y'], comp['re'], comp['n'], comp['q'], comp['pa']).mean(axis=(2, 3))
    truth_img += cimg * comp['flux'] / cimg.sum()
    star = dict(x=-2.9, y=3.3, flux=400.0)
    star_img = np.zeros((N, N))
    sj = star['x'] / scale + (N - 1) / 2
    si = star['y'] / scale + (N - 1) / 2
    star_img[int(round(si)), int(round(sj))] = star['flux']

    psf = fits.getdata(os.path.join(DATA, 'psf', 'lenstronomy_tinytim_psf_example.fits')).astype(np.float64)
    psf /= psf.sum()
    clean = fft_convolve(truth_img, psf) + fft_convolve(star_img, psf)

    # noise (the FLT header's ACS/WFC sky rate and read noise; a 4 × 520 s visit)
    t, nexp, rn, sky_rate = 2080.0, 4, 4.9, 115.92 / 400.0
    var_e = sky_rate * t + nexp * rn * rn + np.clip(clean, 0, None) * t
    sigma = np.sqrt(var_e) / t
    sigma_sky = np.sqrt(sky_rate * t + nexp * rn * rn) / t * np.ones_like(sigma)
    if a.drizzle_noise > 0:
        m, wht_rel, shifts = drizzled_unit_noise(np.random.default_rng(a.seed + 1000), clean.shape, a.drizzle_noise, a.pixfrac)
        sci = clean + m * sigma
        # drizzle's IVM weight: Σ overlap area × input weight (input σ chosen so that it is 1/σ² for pixfrac 1)
        sigma = sigma / np.sqrt(wht_rel)
        sigma_sky = sigma_sky / np.sqrt(wht_rel)
    else:
        sci = clean + rng.normal(size=clean.shape) * sigma

    # hot pixels (cosmic-ray residuals, unflagged): three within 2.5″ of the lens, five elsewhere
    hot = []
    for k in range(8):
        rr = rng.uniform(0.6, 2.4) if k < 3 else rng.uniform(3, 7)
        ang = rng.uniform(0, 2 * np.pi)
        j = int(round((lens['x0'] + rr * np.cos(ang)) / scale + (N - 1) / 2))
        i = int(round((lens['y0'] + rr * np.sin(ang)) / scale + (N - 1) / 2))
        if not (0 <= i < N and 0 <= j < N):
            continue
        val = float(rng.uniform(0.3, 3.0))
        sci[i, j] += val
        if k % 2 == 0 and j + 1 < N:
            sci[i, j + 1] += 0.5 * val
        hot.append([i, j, val])

    wht = 1 / sigma ** 2 if a.wht == 'full' else 1 / sigma_sky ** 2
    noise_extra = {}
    if a.drizzle_noise > 0:
        # the sky's measured statistics (far from the lens, the companion and the star)
        z = (sci - clean) / sigma
        far = (R > 5.0)
        far[:, :20] = False
        zz = np.where(far, z, np.nan)
        # the hot pixels out (|z| above 8 robust σ, and their neighbours)
        mad = 1.4826 * np.nanmedian(np.abs(zz - np.nanmedian(zz)))
        hotm = np.abs(np.nan_to_num(zz)) > 8 * mad
        hotm = hotm | np.roll(hotm, 1, 0) | np.roll(hotm, -1, 0) | np.roll(hotm, 1, 1) | np.roll(hotm, -1, 1)
        zz[hotm] = np.nan
        rx = np.nanmean(zz[:, 1:] * zz[:, :-1]) / np.nanmean(zz * zz)
        ry = np.nanmean(zz[1:, :] * zz[:-1, :]) / np.nanmean(zz * zz)
        noise_extra = dict(drizzle=dict(exposures=a.drizzle_noise, pixfrac=a.pixfrac, shifts=shifts,
                                        sky_lag1_x=float(rx), sky_lag1_y=float(ry),
                                        sky_rms_over_sigma_wht=float(np.sqrt(np.nanmean(zz * zz))),
                                        sky_pixels=int(np.isfinite(zz).sum())))
        print(json.dumps(noise_extra))
    # a NaN chip edge: the first 14 columns (no data, weight 0)
    edge = 14
    sci[:, :edge] = np.nan
    wht[:, :edge] = 0
    err = sigma.copy()
    err[:, :edge] = np.nan

    # the header of a drizzled ACS product: a rotated CD matrix (ORIENTAT 37°), TAN, RA/Dec of the target
    orient = np.deg2rad(37.0)
    cd = scale / 3600
    hdr = fits.Header()
    hdr['TELESCOP'] = 'HST'
    hdr['INSTRUME'] = 'ACS'
    hdr['DETECTOR'] = 'WFC'
    hdr['FILTER2'] = 'F814W'
    hdr['EXPTIME'] = t
    hdr['NCOMBINE'] = nexp
    hdr['BUNIT'] = 'ELECTRONS/S'
    hdr['PHOTFLAM'] = 7.0723e-20
    hdr['WCSAXES'] = 2
    hdr['CTYPE1'] = 'RA---TAN'
    hdr['CTYPE2'] = 'DEC--TAN'
    hdr['CRPIX1'] = (N + 1) / 2
    hdr['CRPIX2'] = (N + 1) / 2
    hdr['CRVAL1'] = 143.50337
    hdr['CRVAL2'] = 10.11461
    hdr['CD1_1'] = -cd * np.cos(orient)
    hdr['CD1_2'] = cd * np.sin(orient)
    hdr['CD2_1'] = cd * np.sin(orient)
    hdr['CD2_2'] = cd * np.cos(orient)
    hdr['ORIENTAT'] = 37.0
    hdr['COMMENT'] = 'simulated SLACS-like lens (scripts/make-hst-like-lens.py); not an observation'

    if a.layout == 'pyautolens':
        write_pyautolens(a, sci, sigma, psf, lens, N, scale, hot)
        return
    fits.PrimaryHDU(sci.astype(np.float32), hdr).writeto(os.path.join(a.out, 'sci.fits'), overwrite=True)
    wh = hdr.copy()
    wh['BUNIT'] = 'UNITLESS'
    wh['COMMENT'] = ('inverse variance (final_wht_type=IVM): 1/sigma^2 in (e-/s)^-2' if a.wht == 'full' else
                     'inverse variance (final_wht_type=IVM): sky + read noise only, no source Poisson variance')
    fits.PrimaryHDU(wht.astype(np.float32), wh).writeto(os.path.join(a.out, 'wht.fits'), overwrite=True)
    ph = fits.Header()
    for k in ('TELESCOP', 'INSTRUME', 'DETECTOR', 'FILTER2', 'EXPTIME', 'NCOMBINE'):
        ph[k] = hdr[k]
    sh = hdr.copy()
    if a.wht == 'sky':
        # as an ACS drz: the exposure times in the primary header, the unit in SCI
        ph['TEXPTIME'] = t
        ph['CCDGAIN'] = 2.0
        for k in ('EXPTIME', 'NCOMBINE'):
            del sh[k]
    eh = hdr.copy()
    eh['BUNIT'] = 'ELECTRONS/S'
    fits.HDUList([fits.PrimaryHDU(header=ph), fits.ImageHDU(sci.astype(np.float32), sh, name='SCI'),
                  fits.ImageHDU(err.astype(np.float32), eh, name='ERR'), fits.ImageHDU(wht.astype(np.float32), wh, name='WHT')]).writeto(
        os.path.join(a.out, 'mef.fits'), overwrite=True)

    lensed_conv = fft_convolve(lensed, psf)
    light_conv = fft_convolve(light, psf)
    arcs = lensed_conv > 0.05 * lensed_conv.max()
    truth = dict(lens=lens, light=light_par, source=dict(galaxy_validation_index=a.galaxy, galaxy_id=galid, pixel_scale=src_scale, centre=src_c),
                 companion=comp, star=star, hot_pixels=hot, nan_edge_columns=edge,
                 noise=dict(wht=a.wht, exptime=t, nexp=nexp, read_noise=rn, sky_rate=sky_rate, sky_sigma=float(np.sqrt(sky_rate * t + nexp * rn * rn) / t), **noise_extra),
                 light_at_thetaE=light_at_ring, arc_peak=float(lensed_conv.max()),
                 light_over_arcs_at_arcs=float(np.median(light_conv[arcs] / lensed_conv[arcs])),
                 light_over_arcs_at_peak=float(light_conv.flat[np.argmax(lensed_conv)] / lensed_conv.max()),
                 arcs_snr=float(np.sqrt(np.sum((lensed_conv[arcs] / sigma[arcs]) ** 2))),
                 arc_peak_snr=float(np.max(lensed_conv / sigma)), size=N, pixel_scale=scale)
    with open(os.path.join(a.out, 'truth.json'), 'w') as f:
        json.dump(truth, f, indent=1)
    np.save(os.path.join(a.out, 'lensed_true.npy'), lensed_conv)
    np.save(os.path.join(a.out, 'light_true.npy'), light_conv)
    print(json.dumps({k: truth[k] for k in ('lens', 'light_at_thetaE', 'arc_peak', 'light_over_arcs_at_arcs', 'light_over_arcs_at_peak', 'arcs_snr', 'arc_peak_snr')}))


if __name__ == '__main__':
    main()
