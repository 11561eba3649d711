#!/usr/bin/env python3
"""`skyscore lens-fit` on real HST SLACS lenses (docs/lensing.md, *Measured on real SLACS lenses*). Not part of
`npm test`: it needs the cutouts, which are not in the repository.

    /usr/bin/python3 scripts/slacs-eval.py DATA_DIR PSF.fits OUT_DIR [--lenses NAME,…] [--t-scale F]
                                           [--threads N] [--extra "ARGS"] [--measure-only] [--report-only]

DATA_DIR holds one FITS file per lens, NAME.fits (e.g. SDSSJ0956+5100.fits), its science image in the HDU named
SCI (data in e⁻/s, a celestial WCS), the lens at the centre: the 198² cutouts of phdenzel/slacs-match
(HST ACS WFC F814W, drizzled, 0.05″ pixels). PSF.fits: the PSF image (e.g. TinyTim's ACS WFC F814W PSF).

For each lens:
1. the noise, measured from the cutout itself (the cutouts carry no noise map and no EXPTIME):
   - σ_sky, the per-pixel rms of the blank sky: the pixels more than 4.5″ from the centre minus their local mean
     (31×31 pixels; the deflector's wings, a sky gradient), clipped at 3 robust σ (six passes: other sources),
     their robust σ (1.4826 × MAD);
   - T, the electrons per e⁻/s of the sources' Poisson term (an effective exposure time) by photon transfer: the
     residual of every pixel about the least-squares quadratic surface of its 5×5 neighbourhood (a linear high-pass
     filter h), its robust variance in bins of the smooth flux s (the quadratic's value, 0.15–1.05 e⁻/s, within
     2.5″; less the clipped sky's median beyond 6″, whose photons σ_sky holds already) divided by the same filter's
     robust variance on the blank sky: var(h·y)/var(h·sky) = 1 + s/(T σ_sky²),
     the drizzle's correlation cancelling as the Poisson noise is drizzled as the sky's is; T from the weighted
     least-squares line through the origin of (ratio − 1) against s;
2. `skyscore lens-fit --obs NAME.fits[SCI] --noise-map σ_sky --exposure-time T·F --psf PSF.fits --threads N
   --out OUT_DIR/NAME` (F = --t-scale, default 1; --extra adds arguments), timed (CPU of the process and its
   threads, wall, the 1-minute load at its start and end);
3. from the products: θE, q, the major axis's position angle East of North — the unit vector (cos φ, sin φ) of the
   fit's frame (x along the image's first axis, y along its second: docs/forward-models.md, *lens*) pushed through
   the image's CD matrix to (ξ, η), ξ towards East, PA = atan2(ξ, η) mod 180° —, χ²/pixel over the fitted pixels
   (lens.json) and over those within 0.3″ of the Einstein radius (normalised-residual.fits), the evidence, the light
   components, the noise's correlation decision; against the published SIE models (Bolton et al. 2008, ApJ 682,
   964, Table 5: θE, q, PA; for the S4TM lenses of Shu et al. 2017 q and PA only).
Writes OUT_DIR/NAME/eval.json, OUT_DIR/NAME.log (lens-fit's stderr), OUT_DIR/NAME.png (data, model, normalised
residual, light-subtracted image, source inversion; with PIL) and prints a table.
"""
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
from astropy.io import fits

# the yardstick: published SIE models (θE intermediate-axis arcsec, q, PA of the major axis in degrees East of North)
PUBLISHED = {
    'SDSSJ0029-0055': (0.96, 0.89, 25.4, 'Bolton et al. 2008'),
    'SDSSJ0737+3216': (1.00, 0.67, 98.8, 'Bolton et al. 2008'),
    'SDSSJ0956+5100': (1.33, 0.63, 146.2, 'Bolton et al. 2008'),
    'SDSSJ1627-0053': (1.23, 0.91, 10.5, 'Bolton et al. 2008'),
    'SDSSJ0753+3416': (None, 0.86, 137.0, 'Shu et al. 2017'),
    'SDSSJ1051+4439': (None, 0.78, 15.0, 'Shu et al. 2017'),
    'SDSSJ1430+6104': (None, 0.79, 160.0, 'Shu et al. 2017'),
}
SKY_RADIUS = 4.5  # arcsec
SCALE = 0.05


def rmad(v):
    return 1.4826 * np.median(np.abs(v - np.median(v)))


def box_mean(a, m, k):
    """The mean of a over the pixels where m is true in the k×k box about each pixel."""
    p = k // 2
    A = np.pad(np.where(m, a, 0.0), p)
    M = np.pad(m.astype(float), p)
    cA = np.pad(A.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    cM = np.pad(M.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ny, nx = a.shape

    def s(c):
        return c[k:k + ny, k:k + nx] - c[0:ny, k:k + nx] - c[k:k + ny, 0:nx] + c[0:ny, 0:nx]

    return s(cA) / np.maximum(s(cM), 1)


def quadratic_residual(d):
    """Each pixel minus the least-squares quadratic surface of its 5×5 neighbourhood at its centre (NaN at the
    border); also that surface's value."""
    yy, xx = np.mgrid[-2:3, -2:3].astype(float)
    A = np.stack([np.ones(25), xx.ravel(), yy.ravel(), xx.ravel() ** 2, yy.ravel() ** 2, (xx * yy).ravel()], 1)
    w = np.linalg.pinv(A)[0].reshape(5, 5)
    ny, nx = d.shape
    smooth = np.full(d.shape, np.nan)
    acc = np.zeros((ny - 4, nx - 4))
    for i in range(5):
        for j in range(5):
            acc += w[i, j] * d[i:i + ny - 4, j:j + nx - 4]
    smooth[2:-2, 2:-2] = acc
    return d - smooth, smooth


def measure_noise(d):
    ny, nx = d.shape
    y, x = np.indices(d.shape)
    r = np.hypot(x - (nx - 1) / 2, y - (ny - 1) / 2) * SCALE
    sky = (r > SKY_RADIUS) & np.isfinite(d)
    z = d - box_mean(d, sky, 31)
    keep = sky.copy()
    for _ in range(6):
        s = rmad(z[keep])
        keep = sky & (np.abs(z - np.median(z[keep])) < 3 * s)
    sigma = rmad(z[keep])
    hp, smooth = quadratic_residual(d)
    var_sky = rmad(hp[keep & np.isfinite(hp)]) ** 2
    # the sky's own level (the clipped sky's median beyond 6″: a pedestal the cutout kept, plus the deflector's faint
    # wings): its photons are in σ_sky already, so the flux of the Poisson term is the smooth flux above it
    far = keep & (r > 6)
    sky_level = float(np.median(d[far])) if far.sum() > 50 else 0.0
    smooth = smooth - sky_level
    inner = (r < 2.5) & np.isfinite(hp)
    bins = []
    edges = [0.15, 0.25, 0.4, 0.6, 0.8, 1.05]
    for a, b in zip(edges[:-1], edges[1:]):
        m = inner & (smooth >= a) & (smooth < b)
        if m.sum() < 40:
            continue
        bins.append((float(np.median(smooth[m])), float(rmad(hp[m]) ** 2 / var_sky), int(m.sum())))
    xs = np.array([b[0] for b in bins])
    ys = np.array([b[1] for b in bins]) - 1
    w = np.array([b[2] / max(b[1], 1) ** 2 for b in bins])
    slope = (w * xs * ys).sum() / (w * xs * xs).sum()
    T = 1 / (slope * sigma ** 2)
    per_bin = [b[0] / ((b[1] - 1) * sigma ** 2) if b[1] > 1 else float('inf') for b in bins]
    return {'sigmaSky': float(sigma), 'exposureTime': float(T), 'bins': bins, 'TPerBin': per_bin,
            'skyPixels': int(keep.sum()), 'skyMedianBeyond6': sky_level}


def position_angle(phi, cd):
    """The direction phi (radians counter-clockwise from the image's +x, y along its second axis) as a position
    angle East of North in degrees, through the CD matrix (ξ towards East, η towards North)."""
    v = np.array([math.cos(phi), math.sin(phi)])
    xi, eta = cd @ v
    return math.degrees(math.atan2(xi, eta)) % 180


def cd_matrix(h):
    if 'CD1_1' in h:
        return np.array([[h['CD1_1'], h.get('CD1_2', 0.0)], [h.get('CD2_1', 0.0), h['CD2_2']]])
    pc = np.array([[h.get('PC1_1', 1.0), h.get('PC1_2', 0.0)], [h.get('PC2_1', 0.0), h.get('PC2_2', 1.0)]])
    return np.diag([h['CDELT1'], h['CDELT2']]) @ pc


def cpu_of_children():
    t = os.times()
    return t.children_user + t.children_system


def run_fit(obs, psf, out, sigma, T, threads, extra):
    cmd = ['nice', '-n', '5', 'node', '--import', 'tsx', 'src-main/cli/main.ts', 'lens-fit', '--obs', f'{obs}[SCI]',
           '--noise-map', f'{sigma:.6g}', '--exposure-time', f'{T:.6g}', '--psf', psf, '--threads', str(threads),
           '--out', out] + extra
    load0 = os.getloadavg()[0]
    c0 = cpu_of_children()
    t0 = time.time()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + '.log', 'w') as log:
        rc = subprocess.call(cmd, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), stderr=log, stdout=log)
    return {'command': ' '.join(cmd), 'rc': rc, 'wallS': time.time() - t0, 'cpuS': cpu_of_children() - c0,
            'load': [load0, os.getloadavg()[0]]}


def evaluate(name, obs, out):
    lens = json.load(open(os.path.join(out, 'lens.json')))
    p = lens['parameters']
    h = fits.getheader(obs, 'SCI')
    val = lambda k: p[k]['value']
    err = lambda k: p[k].get('error')
    pa = position_angle(val('phi'), cd_matrix(h))
    res = fits.getdata(os.path.join(out, 'normalised-residual.fits')).astype(float)
    ny, nx = res.shape
    y, x = np.indices(res.shape)
    xs = (x - (nx - 1) / 2) * SCALE - val('x0')
    ys = (y - (ny - 1) / 2) * SCALE - val('y0')
    r = np.hypot(xs, ys)
    ring = np.isfinite(res) & (np.abs(r - val('thetaE')) < 0.3)
    inner = np.isfinite(res) & (r < 0.3)
    pub = PUBLISHED.get(name)
    e = {
        'thetaE': val('thetaE'), 'thetaEError': err('thetaE'), 'q': val('q'), 'qError': err('q'),
        'phi': val('phi'), 'paEastOfNorth': pa,
        'chi2PerPixel': lens['chi2PerPixel'], 'nPixels': lens['nPixels'],
        'chi2PerPixelRing': float(np.mean(res[ring] ** 2)) if ring.any() else None, 'ringPixels': int(ring.sum()),
        'chi2PerPixelCentre': float(np.mean(res[inner] ** 2)) if inner.any() else None,
        'shear': [val('gamma1'), val('gamma2')],
        'logEvidence': lens['logEvidence'],
        'lightComponents': sum(1 for k in p if re.fullmatch(r'light\d+\.n', k)),
        'lightSelection': lens.get('lightSelection'),
        'noiseCorrelation': (lens.get('noiseCorrelation') or {}).get('decision'),
        'notes': lens.get('notes'),
    }
    if pub:
        t, q, pa_pub, ref = pub
        e['published'] = {'thetaE': t, 'q': q, 'pa': pa_pub, 'reference': ref}
        if t:
            e['thetaEOffsetPercent'] = 100 * (val('thetaE') / t - 1)
        d = (pa - pa_pub + 90) % 180 - 90
        e['paOffsetDeg'] = d
    return e


def render_png(obs, out, png):
    """data, model, normalised residual (±5, blue–white–red), light-subtracted (the fitted pixels) and the source
    inversion side by side (the fitted region's bounding box; north as the image's +y, not the sky's)."""
    from PIL import Image, ImageDraw

    def to8(a, lo, hi):
        return (np.clip(np.nan_to_num((a - lo) / (hi - lo), nan=0.0), 0, 1) * 255).astype(np.uint8)

    def panel(a, mode, size=240):
        if mode == 'asinh':
            v = np.arcsinh(a / (np.nanpercentile(np.abs(a), 50) + 1e-9))
            im = Image.fromarray(to8(v, np.nanpercentile(v, 1), np.nanpercentile(v, 99.7))[::-1]).convert('RGB')
        elif mode == 'lin':
            im = Image.fromarray(to8(a, np.nanpercentile(a, 1), np.nanpercentile(a, 99.5))[::-1]).convert('RGB')
        else:
            b = np.clip(np.nan_to_num(a) / 5, -1, 1)
            rgb = (np.stack([np.where(b > 0, 1, 1 + b), 1 - np.abs(b), np.where(b < 0, 1, 1 - b)], -1) * 255).astype(np.uint8)
            rgb[np.isnan(a)] = (60, 60, 60)
            im = Image.fromarray(rgb[::-1])
        return im.resize((size, size), Image.NEAREST)

    data = fits.getdata(obs, 'SCI').astype(float)
    get = lambda f: fits.getdata(os.path.join(out, f)).astype(float)
    mask = get('mask.fits')
    ys, xs = np.where(mask > 0)
    crop = lambda a: a[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    ims = [panel(crop(data), 'asinh'), panel(crop(get('model-image.fits')), 'asinh'), panel(crop(get('normalised-residual.fits')), 'res'),
           panel(crop(np.where(mask > 0, get('light-subtracted.fits'), np.nan)), 'lin'), panel(get('source-inversion.fits'), 'lin')]
    W = Image.new('RGB', (248 * 5, 262), (0, 0, 0))
    dr = ImageDraw.Draw(W)
    for k, (im, t) in enumerate(zip(ims, ['data', 'model', 'normalised residual (±5)', 'light-subtracted', 'source inversion'])):
        W.paste(im, (k * 248, 20))
        dr.text((k * 248 + 4, 4), t, fill=(255, 255, 0))
    W.save(png)


def main(argv):
    flags = ('--measure-only', '--report-only')
    opts, pos = {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in flags:
            opts[a[2:]] = True
        elif a.startswith('--'):
            opts[a[2:]] = argv[i + 1]
            i += 1
        else:
            pos.append(a)
        i += 1
    if len(pos) != 3:
        print(__doc__)
        return 2
    data_dir, psf, out_dir = pos
    names = opts['lenses'].split(',') if 'lenses' in opts else sorted(f[:-5] for f in os.listdir(data_dir) if re.fullmatch(r'SDSSJ.*\.fits', f))
    t_scale = float(opts.get('t-scale', 1))
    threads = int(opts.get('threads', 2))
    extra = opts['extra'].split() if 'extra' in opts else []
    rows = []
    for name in names:
        obs = os.path.abspath(os.path.join(data_dir, name + '.fits'))
        out = os.path.abspath(os.path.join(out_dir, name))
        d = fits.getdata(obs, 'SCI').astype(float)
        noise = measure_noise(d)
        print(f'{name}: σ_sky {noise["sigmaSky"]:.5f} e⁻/s, T {noise["exposureTime"]:.0f} s (per bin: '
              + ', '.join(f'{t:.0f}' for t in noise['TPerBin']) + f'), sky beyond 6″ {noise["skyMedianBeyond6"]:.4f} e⁻/s', flush=True)
        if opts.get('measure-only'):
            continue
        run = None
        prev = os.path.join(out, 'eval.json')
        if opts.get('report-only') and os.path.exists(prev):
            run = json.load(open(prev)).get('run')
        if not opts.get('report-only'):
            run = run_fit(obs, os.path.abspath(psf), out, noise['sigmaSky'], noise['exposureTime'] * t_scale, threads, extra)
            if run['rc'] != 0:
                print(f'{name}: lens-fit failed (rc {run["rc"]}); see {out}.log', flush=True)
                continue
        e = evaluate(name, obs, out)
        e['noise'] = noise
        e['tScale'] = t_scale
        e['run'] = run
        json.dump(e, open(os.path.join(out, 'eval.json'), 'w'), indent=1)
        try:
            render_png(obs, out, out + '.png')
        except ImportError:
            pass
        rows.append((name, e))
        te = e['thetaEError']
        print(f'{name}: θE {e["thetaE"]:.4f} ± {te if te is None else round(te, 4)}″'
              + (f' ({e["thetaEOffsetPercent"]:+.1f} %)' if 'thetaEOffsetPercent' in e else '')
              + f', q {e["q"]:.3f}, PA {e["paEastOfNorth"]:.1f}° (Δ {e.get("paOffsetDeg", float("nan")):+.1f}°), χ²/px {e["chi2PerPixel"]:.3f}'
              f' (ring {e["chi2PerPixelRing"]:.3f}), log Z {e["logEvidence"]:.1f}, light {e["lightComponents"]}, noise {e["noiseCorrelation"]}'
              + (f', CPU {run["cpuS"]:.0f} s / wall {run["wallS"]:.0f} s (load {run["load"][0]:.1f}–{run["load"][1]:.1f})' if run else ''), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
