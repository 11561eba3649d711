#!/usr/bin/env python3
"""Figures of a `reconstruct --vis` run's products (docs/radio.md, *The total flux at zero spacing*).

usage: python3 scripts/radio-posterior-figures.py OUTDIR [RADIUS_MAS]

Reads OUTDIR/posterior-mean.fits, posterior-samples.fits and report.json and prints: the total flux of the mean
and of every draw, the mean's flux within RADIUS_MAS of the phase centre (a square of that half-width; default the
survey's extent from report.json) split into its positive and negative pixels, the flux beyond it, the deepest
pixel against the peak, the peak and where it is, and the flux-weighted position angle (east of north) of the
mean's positive emission between 1 mas and RADIUS_MAS from the phase centre — unsmoothed, and after a 3-pixel
boxcar beyond 2 mas. Pixel (y, x) lies at l = −(x − ⌊nx/2⌋)·cell (east), m = (y − ⌊ny/2⌋)·cell (north).
"""
import json
import sys

import numpy as np
from astropy.io import fits

out = sys.argv[1]
rep = json.load(open(f"{out}/report.json"))
mean = fits.getdata(f"{out}/posterior-mean.fits").astype(np.float64)
mean = mean.reshape(mean.shape[-2:])
samples = fits.getdata(f"{out}/posterior-samples.fits").astype(np.float64)
ny, nx = mean.shape
cell = rep["image"]["cellArcsec"] * 1e3  # mas
ext = rep["image"].get("sourceExtent")
radius = float(sys.argv[2]) if len(sys.argv) > 2 else (ext["radiusArcsec"] * 1e3 if ext else nx * cell / 2)
y, x = np.mgrid[0:ny, 0:nx]
dl = -(x - nx // 2) * cell
dm = (y - ny // 2) * cell
cheb = np.maximum(np.abs(dl), np.abs(dm))
inside = cheb <= radius
r = np.hypot(dl, dm)


def pa(img, rmin):
    sel = inside & (r > rmin) & (img > 0)
    f = img[sel]
    return float(np.degrees(np.arctan2((f * dl[sel]).sum(), (f * dm[sel]).sum()))), float(f.sum())


k = np.ones(3) / 3
smooth = np.apply_along_axis(lambda a: np.convolve(a, k, mode="same"), 0, mean)
smooth = np.apply_along_axis(lambda a: np.convolve(a, k, mode="same"), 1, smooth)
py, px = np.unravel_index(np.argmax(mean), mean.shape)
c2 = rep.get("chi2PerVisibility") or {}
zs = rep.get("zeroSpacing")
print(f"grid {nx}² × {cell:.4g} mas; radius {radius:.3g} mas")
print(f"chi2 per visibility dof: mean {c2.get('mean'):.4f}, draws {', '.join(f'{v:.3f}' for v in c2.get('samples', []))}")
if zs:
    print(f"zero spacing {zs['fluxJy']:.4g} ± {zs['sigmaJy']:.3g} Jy; its chi2: mean {zs['chi2Mean']:.3f}, draws {', '.join(f'{v:.3f}' for v in zs['chi2Samples'])}")
print(f"total flux: mean {mean.sum():.3f} Jy, draws {', '.join(f'{s.sum():.3f}' for s in samples)} ({np.mean([s.sum() for s in samples]):.3f} ± {np.std([s.sum() for s in samples], ddof=1):.3f})")
print(f"within {radius:.3g} mas: {mean[inside].sum():.3f} Jy (positive {mean[inside & (mean > 0)].sum():.3f}, negative {mean[inside & (mean < 0)].sum():.3f}); beyond: {mean[~inside].sum():.3f} Jy, mean {mean[~inside].mean() if (~inside).any() else 0:.3g} Jy/pixel")
print(f"peak {mean.max():.4f} Jy/pixel at ({dl[py, px]:+.2f}, {dm[py, px]:+.2f}) mas (east, north); deepest {mean.min():.4g} Jy/pixel ({100 * mean.min() / mean.max():.2f} % of the peak)")
a1, f1 = pa(mean, 1.0)
a2, f2 = pa(smooth, 2.0)
print(f"positive emission beyond 1 mas within the radius: {f1:.3f} Jy at PA {a1:.1f}°; smoothed (3 px) beyond 2 mas: {f2:.3f} Jy at PA {a2:.1f}°")
