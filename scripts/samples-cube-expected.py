#!/usr/bin/python3
"""Expected values for the WCS of posterior-samples.fits on a SIP image, produced with astropy.

posterior-samples.fits is a cube [nx, ny, N]: astropy refuses SIP on a WCS of more than two axes, so SkyScore
writes the observation's SIP distortion in the cube as the same TPV polynomial (src-main/reconstruct/headers.ts,
sipAsTpvHeader). This script records how astropy reads such a cube with a plain WCS(header), for
tests/unit/samples-cube-wcs.test.ts (which never runs Python).

Run from the repository root on a cube written by `skyscore reconstruct` on the shared IRAC file, e.g.

    skyscore reconstruct --obs ../shared/data/fits/galsim_sipsample_spitzer_irac.fits --model M.json \\
        --prior models/galaxy-64 --noise 0.05 --n 2 --steps 20 --out OUT
    /usr/bin/python3 scripts/samples-cube-expected.py OUT/posterior-samples.fits

Writes tests/fixtures/fits-expected/samples-cube-wcs.json: the cube's WCS cards, astropy's pixel -> world
(all_pix2world, origin 0, the sample axis at 0) and world -> pixel of a plain WCS(header), and the largest
difference from the 2-D SIP WCS of the observation itself.
"""
import json
import os
import re
import sys
import warnings

import numpy as np
from astropy import __version__ as astropy_version
from astropy.io import fits
from astropy.wcs import WCS

warnings.simplefilter('ignore')

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
DATA = os.path.abspath(os.path.join(ROOT, '..', 'shared', 'data'))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'fits-expected', 'samples-cube-wcs.json')
OBS = 'fits/galsim_sipsample_spitzer_irac.fits'
WCS_CARD = re.compile(r'^(NAXIS\d*|WCSAXES|CTYPE\d|CRPIX\d|CRVAL\d|CDELT\d|CUNIT\d|CD\d_\d|PC\d_\d|PV\d_\d+|LONPOLE|LATPOLE|RADESYS|EQUINOX|A_\w+|B_\w+|AP_\w+|BP_\w+)$')


def main():
    cube = sys.argv[1]
    h = fits.getheader(cube)
    w = WCS(h)  # the plain call that raised on the cube with SIP keywords
    obs = WCS(fits.getheader(os.path.join(DATA, OBS)))
    nx, ny = h['NAXIS1'], h['NAXIS2']
    rng = np.random.default_rng(7)
    pix = [(0, 0), (nx - 1, 0), (0, ny - 1), (nx - 1, ny - 1), ((nx - 1) / 2, (ny - 1) / 2), (-0.5, -0.5), (nx - 0.5, ny - 0.5)]
    pix += [(float(x), float(y)) for x, y in zip(rng.uniform(-0.5, nx - 0.5, 24), rng.uniform(-0.5, ny - 0.5, 24))]
    pix = np.array(pix)
    zeros = np.zeros((len(pix), 1))
    world = w.all_pix2world(np.hstack([pix, zeros]), 0)
    back = w.all_world2pix(world, 0, tolerance=1e-12, maxiter=100)
    sip_world = obs.all_pix2world(pix, 0)
    out = {
        'generator': {'astropy': astropy_version, 'numpy': np.__version__, 'python': sys.version.split()[0]},
        'observation': OBS,
        'naxis': int(w.naxis),
        'cards': [[k, h[k]] for k in h if WCS_CARD.match(k)],
        'pixels': pix.tolist(),
        'world': world[:, :2].tolist(),
        'pixelsBack': back[:, :2].tolist(),
        'maxDegreesFromObservationSip': float(np.abs(world[:, :2] - sip_world).max()),
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(f'wrote {OUT}: {len(pix)} pixels, astropy naxis {w.naxis}, largest difference from the SIP WCS {out["maxDegreesFromObservationSip"] * 3600:.3g} arcsec')


if __name__ == '__main__':
    main()
