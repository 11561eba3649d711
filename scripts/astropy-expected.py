#!/usr/bin/python3
"""Expected values for SkyScore's FITS and WCS tests, produced with astropy.

Run from the repository root (uses the Debian astropy: /usr/bin/python3):

    /usr/bin/python3 scripts/astropy-expected.py

Writes
  tests/fixtures/fits/*.fits                small generated files (HCOMPRESS_1, dithered floats, ...)
  tests/fixtures/fits-expected/corpus.json  per file: HDU kinds, names, BITPIX, shapes, header cards, image stats,
                                            table column summaries, random-groups parameters
  tests/fixtures/fits-expected/pixels.json  full decoded pixel values of the generated compressed fixtures
  tests/fixtures/fits-expected/wcs.json     pixel -> world samples (astropy all_pix2world, origin 0) and
                                            world -> pixel (all_world2pix) for every image HDU with a celestial WCS,
                                            and for synthetic headers of each projection and matrix convention
The test suite reads these JSON files and never runs Python.
"""
import glob
import json
import math
import os
import sys
import warnings

import numpy as np
from astropy import __version__ as astropy_version
from astropy.io import fits
from astropy.wcs import WCS

warnings.simplefilter('ignore')

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
DATA = os.path.abspath(os.path.join(ROOT, '..', 'shared', 'data'))
FIX = os.path.join(ROOT, 'tests', 'fixtures', 'fits')
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'fits-expected')
# files whose pixels are only summarised (big)
BIG = 4_000_000


def kind_of(hdu):
    if isinstance(hdu, fits.GroupsHDU):
        return 'random-groups'
    if isinstance(hdu, fits.CompImageHDU):
        return 'compressed-image'
    if isinstance(hdu, fits.PrimaryHDU):
        return 'primary'
    if isinstance(hdu, fits.ImageHDU):
        return 'image'
    if isinstance(hdu, fits.BinTableHDU):
        return 'bintable'
    if isinstance(hdu, fits.TableHDU):
        return 'table'
    return 'unknown'


def jvalue(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, complex):
        return [v.real, v.imag]
    if isinstance(v, str):
        return v
    return None  # Undefined


def stats(data):
    d = np.asarray(data, dtype=np.float64).ravel()
    fin = np.isfinite(d)
    n_nan = int(np.isnan(d).sum())
    if not fin.any():
        return {'min': None, 'max': None, 'mean': None, 'nan': n_nan}
    f = d[fin]
    return {'min': float(f.min()), 'max': float(f.max()), 'mean': float(math.fsum(f) / f.size), 'nan': n_nan}


def column_summary(data, cols):
    out = []
    for c in cols:
        name = c.name
        arr = data[name]
        entry = {'name': name, 'format': str(c.format)}
        try:
            if arr.dtype.kind in 'SU':
                vals = [str(x) for x in np.asarray(arr).ravel()[:5]]
                entry.update({'kind': 'str', 'first': [v.rstrip() for v in vals]})
            elif arr.dtype.kind == 'b':
                entry.update({'kind': 'bool', 'true': int(np.asarray(arr).sum())})
            elif arr.dtype.kind == 'O':
                # variable-length arrays
                rows = [np.asarray(r, dtype=np.float64) for r in arr]
                entry.update({'kind': 'var', 'lengths': [int(r.size) for r in rows][:10],
                              'sum': float(sum(np.nansum(r) for r in rows))})
            elif arr.dtype.kind in 'iufc':
                a = np.asarray(arr)
                if a.dtype.kind == 'c':
                    a = np.stack([a.real, a.imag], axis=-1)
                a = a.astype(np.float64)
                entry.update({'kind': 'num', 'size': int(a.size), 'sum': float(np.nansum(a)),
                              'first': [float(x) for x in a.ravel()[:5]]})
            else:
                entry.update({'kind': 'other'})
        except Exception as e:  # keep going: the test skips what astropy could not decode
            entry.update({'kind': 'error', 'error': str(e)})
        out.append(entry)
    return out


def describe(path):
    rel = os.path.relpath(path, DATA)
    res = {'file': rel}
    try:
        hl = fits.open(path, memmap=False)
        hl.readall()
    except Exception as e:
        res['error'] = f'{type(e).__name__}: {e}'
        return res
    hdus = []
    for i, hdu in enumerate(hl):
        kind = kind_of(hdu)
        h = hdu.header
        if kind == 'compressed-image':
            bitpix = int(hdu._header['ZBITPIX'])
            shape = [int(hdu._header[f'ZNAXIS{k}']) for k in range(1, int(hdu._header['ZNAXIS']) + 1)]
        else:
            bitpix = int(h['BITPIX'])
            shape = [int(h.get(f'NAXIS{k}', 0)) for k in range(1, int(h.get('NAXIS', 0)) + 1)]
        name = (hdu._header if kind == 'compressed-image' else h).get('EXTNAME')
        entry = {
            'index': i,
            'kind': kind,
            'name': name.strip() if isinstance(name, str) and name.strip() else None,
            'bitpix': bitpix,
            'shape': shape,
            'cards': [[c.keyword, jvalue(c.value)] for c in h.cards],
            'stats': None,
        }
        if kind in ('primary', 'image', 'compressed-image'):
            d = hdu.data
            if d is not None and d.size > 0:
                entry['stats'] = stats(d)
                entry['dtype'] = str(d.dtype)
                if d.size <= 64:
                    entry['values'] = [None if not np.isfinite(x) else float(x) for x in np.asarray(d, dtype=np.float64).ravel()]
        elif kind in ('bintable', 'table'):
            d = hdu.data
            entry['nrows'] = int(h.get('NAXIS2', 0))
            if d is not None:
                entry['columns'] = column_summary(d, hdu.columns)
        elif kind == 'random-groups':
            d = hdu.data
            if d is not None and len(d) > 0:
                names = list(d.parnames)
                uniq = []
                for n in names:
                    if n not in uniq:
                        uniq.append(n)
                entry['groups'] = {
                    'gcount': int(len(d)),
                    'paramNames': names,
                    'parSums': {n: float(np.sum(np.asarray(d.par(n), dtype=np.float64))) for n in uniq},
                    'parFirst': {n: float(np.asarray(d.par(n), dtype=np.float64)[0]) for n in uniq},
                    'dataShape': list(d.data.shape),
                    'dataStats': stats(d.data),
                }
        hdus.append(entry)
    res['hdus'] = hdus
    return res


# ------------------------------------------------------------------ generated fixtures


def make_fixtures():
    os.makedirs(FIX, exist_ok=True)
    rng = np.random.default_rng(20240611)
    pixels = {}
    yy, xx = np.mgrid[0:30, 0:40]
    smooth = (1000 + 800 * np.exp(-((xx - 17.3) ** 2 + (yy - 12.1) ** 2) / 30.0)).astype(np.float64)
    ints = (smooth + rng.normal(0, 20, smooth.shape)).round().astype(np.int16)
    floats = (smooth / 100 + rng.normal(0, 0.3, smooth.shape)).astype(np.float32)
    floats_nan = floats.copy()
    floats_nan[3, 5] = np.nan
    floats_nan[10, 11:14] = np.nan
    floats_nan[20, 20] = 0.0
    floats_nan[21, 20:25] = 0.0
    ints32 = (ints.astype(np.int32) * 1000 - 500000)

    specs = [
        ('hcompress_i16.fits', ints, dict(compression_type='HCOMPRESS_1', tile_shape=(16, 40))),
        ('hcompress_i16_odd.fits', ints[:, :37][:29], dict(compression_type='HCOMPRESS_1', tile_shape=(29, 37))),
        ('hcompress_i32.fits', ints32, dict(compression_type='HCOMPRESS_1', tile_shape=(30, 40))),
        ('hcompress_i16_lossy.fits', ints, dict(compression_type='HCOMPRESS_1', tile_shape=(30, 40), hcomp_scale=2.5)),
        ('hcompress_i16_smooth.fits', ints, dict(compression_type='HCOMPRESS_1', tile_shape=(30, 40), hcomp_scale=4, hcomp_smooth=1)),
        ('hcompress_f32.fits', floats, dict(compression_type='HCOMPRESS_1', tile_shape=(16, 40), quantize_level=16)),
        ('rice_f32_dither2.fits', floats_nan, dict(compression_type='RICE_1', quantize_method=2, quantize_level=8, dither_seed=77)),
        ('gzip2_i16.fits', ints, dict(compression_type='GZIP_2', tile_shape=(7, 40))),
        ('gzip1_f32_nodither.fits', floats_nan, dict(compression_type='GZIP_1', quantize_method=-1, quantize_level=8)),
        ('rice_u8.fits', (ints % 256).astype(np.uint8), dict(compression_type='RICE_1', tile_shape=(5, 11))),
        ('plio_i32.fits', np.abs(ints32 // 1000).astype(np.int32), dict(compression_type='PLIO_1')),
    ]
    for name, data, kw in specs:
        path = os.path.join(FIX, name)
        hdr = fits.Header()
        hdr['OBJECT'] = ('fixture', 'generated by scripts/astropy-expected.py')
        comp = fits.CompImageHDU(data=data, header=hdr, **kw)
        fits.HDUList([fits.PrimaryHDU(), comp]).writeto(path, overwrite=True, checksum=True)
        with fits.open(path) as hl:
            d = np.asarray(hl[1].data, dtype=np.float64)
            pixels[name] = {
                'shape': list(reversed(d.shape)),
                'values': [None if np.isnan(x) else float(x) for x in d.ravel()],
            }
    # a small uncompressed file with long strings, HIERARCH, a blank card and HISTORY for header tests
    h = fits.Header()
    h['OBJECT'] = 'long string test'
    h['LONGSTR'] = ('This is a long string value that needs more than one card so it continues with CONTINUE cards &c.', 'a comment that is also long enough to need continuation')
    h['HIERARCH ESO DET CHIP NAME'] = ('CCD-42', 'hierarch keyword')
    h['QUOTE'] = "O'Brien"
    h['NEG'] = -1.5e-300
    h['BIGINT'] = 1234567890123
    h['CMPLX'] = complex(1.5, -2.0)
    h['UNDEF'] = None
    h.add_history('first history line')
    h.add_history('second history line, quite long: ' + 'x' * 60)
    h.add_comment('a comment card')
    h.add_blank('blank keyword commentary')
    fits.PrimaryHDU(data=ints[:4, :5].copy(), header=h).writeto(os.path.join(FIX, 'header_cards.fits'), overwrite=True)
    return pixels


# ------------------------------------------------------------------ WCS samples


def sample_pixels(nx, ny, seed):
    rng = np.random.default_rng(seed)
    pts = [(0, 0), (nx - 1, 0), (0, ny - 1), (nx - 1, ny - 1), ((nx - 1) / 2, (ny - 1) / 2), (-0.5, -0.5), (nx - 0.5, ny - 0.5)]
    for x, y in zip(rng.uniform(-0.5, nx - 0.5, 16), rng.uniform(-0.5, ny - 0.5, 16)):
        pts.append((float(x), float(y)))
    return np.array(pts, dtype=np.float64)


def wcs_case(w, nx, ny, seed):
    pix = sample_pixels(nx, ny, seed)
    world = w.all_pix2world(pix, 0)
    ok = np.all(np.isfinite(world), axis=1)
    pix = pix[ok]
    world = world[ok]
    back = w.all_world2pix(world, 0, tolerance=1e-12, maxiter=100) if w.sip is not None else w.wcs_world2pix(world, 0)
    return {
        'pixels': pix.tolist(),
        'world': world.tolist(),
        'pixelsBack': back.tolist(),
        'ctype': list(w.wcs.ctype),
        'radesys': w.wcs.radesys,
        'equinox': None if not np.isfinite(w.wcs.equinox) else float(w.wcs.equinox),
        'lonpole': float(w.wcs.lonpole),
        'latpole': float(w.wcs.latpole),
        'sip': w.sip is not None,
    }


def synthetic_headers():
    cases = []
    projections = ['TAN', 'SIN', 'ARC', 'ZEA', 'STG', 'CAR', 'AIT']
    crvals = {
        'TAN': [(150.1, 2.2), (10.0, -45.0), (359.9, 89.5)],
        'SIN': [(83.6, 22.0), (200.0, -70.0)],
        'ARC': [(30.0, 60.0), (0.0, -30.0)],
        'ZEA': [(266.4, -29.0), (120.0, 80.0)],
        'STG': [(45.0, 10.0), (300.0, -85.0)],
        'CAR': [(0.0, 0.0), (180.0, 0.0), (120.0, 30.0)],
        'AIT': [(0.0, 0.0), (266.4, -28.9)],
    }
    big = {'CAR', 'AIT'}
    n = 0
    for p in projections:
        for crval in crvals[p]:
            for variant in ['cdelt', 'cd', 'pc', 'crota']:
                n += 1
                nx, ny = (360, 180) if p in big else (512, 400)
                scale = 1.0 if p in big else 2.7e-4 * (1 + n % 5)
                rot = 0.0 if variant == 'cdelt' else (17.0 + 13 * (n % 7))
                h = fits.Header()
                h['NAXIS'] = 2
                h['NAXIS1'] = nx
                h['NAXIS2'] = ny
                h['CTYPE1'] = f'RA---{p}'
                h['CTYPE2'] = f'DEC--{p}'
                h['CRPIX1'] = nx / 2 + 0.5 + (n % 3) * 3.25
                h['CRPIX2'] = ny / 2 + 0.5 - (n % 4) * 2.5
                h['CRVAL1'] = crval[0]
                h['CRVAL2'] = crval[1]
                c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
                cd1, cd2 = -scale, scale * (1.1 if variant != 'crota' else 1.0)
                if variant == 'cdelt':
                    h['CDELT1'] = cd1
                    h['CDELT2'] = cd2
                elif variant == 'crota':
                    h['CDELT1'] = cd1
                    h['CDELT2'] = cd2
                    h['CROTA2'] = rot
                elif variant == 'pc':
                    h['CDELT1'] = cd1
                    h['CDELT2'] = cd2
                    h['PC1_1'] = c
                    h['PC1_2'] = -s
                    h['PC2_1'] = s
                    h['PC2_2'] = c
                else:
                    h['CD1_1'] = cd1 * c
                    h['CD1_2'] = -cd2 * s
                    h['CD2_1'] = cd1 * s
                    h['CD2_2'] = cd2 * c
                if n % 3 == 0:
                    h['RADESYS'] = 'FK5'
                    h['EQUINOX'] = 2000.0
                elif n % 3 == 1:
                    h['RADESYS'] = 'ICRS'
                else:
                    h['RADESYS'] = 'FK4'
                    h['EQUINOX'] = 1950.0
                if p == 'TAN' and crval[1] == 2.2 and variant == 'pc':
                    h['LONPOLE'] = 170.0
                if p == 'ARC' and crval[1] == -30.0 and variant == 'cd':
                    h['LONPOLE'] = 195.0
                cases.append((f'{p}-{variant}-{crval[0]}-{crval[1]}', h, nx, ny))
    # galactic, celestial axes swapped and a spectral axis in between
    h = fits.Header()
    h['NAXIS'] = 3
    h['NAXIS1'] = 200
    h['NAXIS2'] = 10
    h['NAXIS3'] = 150
    h['CTYPE1'] = 'GLON-TAN'
    h['CTYPE2'] = 'FREQ'
    h['CTYPE3'] = 'GLAT-TAN'
    h['CRPIX1'] = 100.5
    h['CRPIX2'] = 1
    h['CRPIX3'] = 75.5
    h['CRVAL1'] = 30.0
    h['CRVAL2'] = 1.4e9
    h['CRVAL3'] = -1.0
    h['CDELT1'] = -0.01
    h['CDELT2'] = 1e6
    h['CDELT3'] = 0.01
    cases.append(('GAL-3axis', h, 200, 150))
    h = fits.Header()
    h['NAXIS'] = 2
    h['NAXIS1'] = 300
    h['NAXIS2'] = 200
    h['CTYPE1'] = 'DEC--TAN'
    h['CTYPE2'] = 'RA---TAN'
    h['CRPIX1'] = 150
    h['CRPIX2'] = 100
    h['CRVAL1'] = -20.0
    h['CRVAL2'] = 45.0
    h['CDELT1'] = 1e-3
    h['CDELT2'] = -1e-3
    cases.append(('TAN-swapped', h, 300, 200))
    return cases


def wcs_expected():
    out = {'corpus': [], 'synthetic': []}
    seed = 1
    for path in sorted(glob.glob(os.path.join(DATA, '*', '*.fits')) + glob.glob(os.path.join(DATA, '*', '*.fits.fz'))):
        rel = os.path.relpath(path, DATA)
        try:
            hl = fits.open(path)
        except Exception:
            continue
        for i, hdu in enumerate(hl):
            if not hdu.is_image or isinstance(hdu, fits.GroupsHDU):
                continue
            try:
                w = WCS(hdu.header)
            except Exception:
                continue
            if not w.has_celestial:
                continue
            wc = w.celestial
            h = hdu.header
            lon, lat = w.wcs.lng, w.wcs.lat
            nx = int(h.get(f'NAXIS{lon + 1}', 0))
            ny = int(h.get(f'NAXIS{lat + 1}', 0))
            if nx <= 1:
                nx = int(2 * float(h.get(f'CRPIX{lon + 1}', 50)))
            if ny <= 1:
                ny = int(2 * float(h.get(f'CRPIX{lat + 1}', 50)))
            seed += 1
            case = wcs_case(wc, nx, ny, seed)
            case.update({'file': rel, 'hdu': i, 'axes': [lon, lat]})
            out['corpus'].append(case)
    for name, h, nx, ny in synthetic_headers():
        seed += 1
        w = WCS(h)
        wc = w.celestial
        case = wcs_case(wc, nx, ny, seed)
        case.update({'name': name, 'header': h.tostring(), 'axes': [w.wcs.lng, w.wcs.lat]})
        out['synthetic'].append(case)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    pixels = make_fixtures()
    files = []
    for sub in ['fits', 'psf', 'radio', 'uvfits', 'train']:
        for p in sorted(glob.glob(os.path.join(DATA, sub, '*'))):
            files.append(describe(p))
    for p in sorted(glob.glob(os.path.join(FIX, '*.fits'))):
        d = describe(p)
        d['file'] = 'fixtures/' + os.path.basename(p)
        files.append(d)
    meta = {'astropy': astropy_version, 'numpy': np.__version__, 'python': sys.version.split()[0]}
    with open(os.path.join(OUT, 'corpus.json'), 'w') as f:
        json.dump({'generator': meta, 'files': files}, f, indent=0, allow_nan=False)
    with open(os.path.join(OUT, 'pixels.json'), 'w') as f:
        json.dump({'generator': meta, 'files': pixels}, f, allow_nan=False)
    with open(os.path.join(OUT, 'wcs.json'), 'w') as f:
        json.dump({'generator': meta, **wcs_expected()}, f, indent=0, allow_nan=False)
    print('wrote', OUT)


if __name__ == '__main__':
    main()
