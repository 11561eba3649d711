#!/usr/bin/python3
"""Expected uv tracks for SkyScore's uv-sampling test, computed independently with numpy.

Run from the repository root:

    python3 scripts/uv-tracks-expected.py

Writes tests/fixtures/uv-tracks/vla.json: for the VLA station table (../shared/data/arrays/VLA_BNA.txt), a few
baselines (station pairs a < b, 0-based rows of the table), declinations and local hour angles, the (u, v) of
each baseline at each time in wavelengths. The geometry is done with vectors, not with the closed form the
code uses: the array's longitude is that of the stations' centroid; the source's direction in the Earth-fixed
(ECEF) frame at local hour angle H is s = R_z(-(H - lon)) (cos dec, 0, sin dec), i.e. on the meridian of
longitude lon - H; east = z x s / |z x s|, north = s x east; u = B.east / lambda, v = B.north / lambda. The
script also checks that at H = 0 the source lies in the plane of the array's meridian (s . east_local = 0).
The test suite reads the JSON and never runs Python.
"""
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, '..', 'shared', 'data', 'arrays', 'VLA_BNA.txt')
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'uv-tracks', 'vla.json')

names, xyz = [], []
for line in open(TABLE):
    line = line.strip()
    if not line or line.startswith('#'):
        continue
    tok = line.split()
    names.append(tok[0])
    xyz.append([float(t) for t in tok[1:4]])
xyz = np.array(xyz, dtype=np.float64)
centroid = xyz.mean(axis=0)
lon = np.arctan2(centroid[1], centroid[0])
east_local = np.array([-np.sin(lon), np.cos(lon), 0.0])

wavelength = 0.06
pairs = [(0, 1), (0, 9), (8, 17), (9, 18), (17, 26), (5, 22), (3, 12)]
cases = []
for dec_deg, h0, h1, step_min in [(34.0, -4.0, 4.0, 30.0), (-20.0, -3.0, 5.0, 40.0), (80.0, -11.0, 11.0, 120.0)]:
    dec = np.radians(dec_deg)
    hours = h0 + np.arange(int(np.floor((h1 - h0) / (step_min / 60) + 1e-9)) + 1) * step_min / 60
    u = np.zeros((len(pairs), len(hours)))
    v = np.zeros((len(pairs), len(hours)))
    for t, h in enumerate(hours):
        ang = np.radians(15.0 * h) - lon  # hour angle against Greenwich
        rz = np.array([[np.cos(ang), np.sin(ang), 0.0], [-np.sin(ang), np.cos(ang), 0.0], [0.0, 0.0, 1.0]])
        s = rz @ np.array([np.cos(dec), 0.0, np.sin(dec)])
        if abs(h) < 1e-12:
            assert abs(s @ east_local) < 1e-12, 'at H = 0 the source must transit the array meridian'
        east = np.cross([0.0, 0.0, 1.0], s)
        east /= np.linalg.norm(east)
        north = np.cross(s, east)
        for p, (a, b) in enumerate(pairs):
            bl = xyz[b] - xyz[a]
            u[p, t] = bl @ east / wavelength
            v[p, t] = bl @ north / wavelength
    cases.append({
        'declinationDeg': dec_deg,
        'hourAngleH': [h0, h1],
        'stepMin': step_min,
        'hours': hours.tolist(),
        'u': u.tolist(),
        'v': v.tolist(),
    })

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump({
        'source': 'scripts/uv-tracks-expected.py (numpy %s)' % np.__version__,
        'table': 'VLA_BNA.txt',
        'longitudeDeg': float(np.degrees(lon)),
        'wavelengthM': wavelength,
        'pairs': pairs,
        'cases': cases,
    }, f, indent=1)
print('wrote', OUT, 'longitude %.6f deg' % np.degrees(lon))
