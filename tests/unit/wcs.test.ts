/**
 * Celestial WCS against astropy (tests/fixtures/fits-expected/wcs.json, produced by scripts/astropy-expected.py
 * with astropy.wcs all_pix2world / all_world2pix, origin 0): every corpus HDU with a celestial WCS, and
 * synthetic headers for each projection with CDELT, CD, PC and CROTA2 matrices.
 */
import { describe, expect, it } from 'vitest';
import { FitsHeader, readFits } from '../../src-shared/fits/index.js';
import { celestialWcs, WcsInputError } from '../../src-shared/wcs/index.js';
import { loadJson, readBytes } from './fits-expected.js';

interface WcsCase {
  file?: string;
  hdu?: number;
  name?: string;
  header?: string;
  axes: [number, number];
  pixels: Array<[number, number]>;
  world: Array<[number, number]>;
  pixelsBack: Array<[number, number]>;
  ctype: string[];
  radesys: string;
  equinox: number | null;
  lonpole: number;
  latpole: number;
  sip: boolean;
}

const expected = loadJson<{ corpus: WcsCase[]; synthetic: WcsCase[] }>('wcs.json');

/** Degrees of tolerance on world coordinates (the required accuracy), pixels on the inverse. */
const DEG = 1e-7;
const PIX = 1e-6;

function lonDiff(a: number, b: number): number {
  let d = (a - b) % 360;
  if (d > 180) d -= 360;
  if (d < -180) d += 360;
  return Math.abs(d);
}

function check(h: FitsHeader, c: WcsCase, label: string): { worst: number; worstPix: number } {
  const w = celestialWcs(h);
  expect(w, `${label}: celestial WCS found`).not.toBeNull();
  const wcs = w!;
  const [lon, lat] = c.axes;
  expect([wcs.lonAxis, wcs.latAxis]).toEqual([lon, lat]);
  expect(wcs.sip !== null).toBe(c.sip);
  expect(wcs.radesys ?? '').toBe(c.radesys);
  if (c.equinox !== null) expect(wcs.equinox).toBe(c.equinox);
  expect(wcs.lonpole, `${label}: LONPOLE`).toBeCloseTo(c.lonpole, 9);
  // astropy orders the world columns like the header axes: longitude first unless latitude is the lower axis
  const lonCol = lon < lat ? 0 : 1;
  let worst = 0;
  let worstPix = 0;
  c.pixels.forEach(([x, y], i) => {
    const [L, B] = wcs.pixelToWorld(x, y);
    const wantL = c.world[i][lonCol];
    const wantB = c.world[i][1 - lonCol];
    const dl = lonDiff(L, wantL);
    const db = Math.abs(B - wantB);
    worst = Math.max(worst, dl, db);
    expect(dl <= DEG && db <= DEG, `${label}: pixel (${x}, ${y}) → (${L}, ${B}), astropy (${wantL}, ${wantB})`).toBe(true);
    const [px, py] = wcs.worldToPixel(wantL, wantB);
    const [bx, by] = c.pixelsBack[i];
    const dp = Math.max(Math.abs(px - bx), Math.abs(py - by));
    worstPix = Math.max(worstPix, dp);
    expect(dp <= PIX, `${label}: world (${wantL}, ${wantB}) → pixel (${px}, ${py}), astropy (${bx}, ${by})`).toBe(true);
  });
  return { worst, worstPix };
}

describe('celestial WCS agrees with astropy on the corpus', () => {
  for (const c of expected.corpus) {
    it(`${c.file}[${c.hdu}] ${c.ctype.join(' ')}`, () => {
      const f = readFits(readBytes(c.file!), { name: c.file });
      check(f.hdus[c.hdu!].header, c, `${c.file}[${c.hdu}]`);
    });
  }
});

describe('celestial WCS agrees with astropy on synthetic headers', () => {
  for (const c of expected.synthetic) {
    it(c.name!, () => {
      check(FitsHeader.fromString(c.header!), c, c.name!);
    });
  }
  it('covers every required projection and matrix convention', () => {
    const names = expected.synthetic.map((c) => c.name!);
    for (const p of ['TAN', 'SIN', 'ARC', 'ZEA', 'STG', 'CAR', 'AIT']) {
      for (const v of ['cdelt', 'cd', 'pc', 'crota']) expect(names.some((n) => n.startsWith(`${p}-${v}-`)), `${p} ${v}`).toBe(true);
    }
  });
});

describe('WCS edge cases', () => {
  const base = (extra: string[]): FitsHeader => {
    const cards = [
      "CTYPE1  = 'RA---TAN'",
      "CTYPE2  = 'DEC--TAN'",
      'CRPIX1  = 50.0',
      'CRPIX2  = 50.0',
      'CRVAL1  = 10.0',
      'CRVAL2  = 20.0',
      'CDELT1  = -0.001',
      'CDELT2  = 0.001',
      ...extra,
    ];
    return FitsHeader.fromString(cards.map((c) => c.padEnd(80)).join(''));
  };
  it('the reference pixel maps to CRVAL and back', () => {
    const w = celestialWcs(base([]))!;
    const [l, b] = w.pixelToWorld(49, 49);
    expect(l).toBeCloseTo(10, 12);
    expect(b).toBeCloseTo(20, 12);
    const [x, y] = w.worldToPixel(10, 20);
    expect(x).toBeCloseTo(49, 10);
    expect(y).toBeCloseTo(49, 10);
  });
  it('returns null without celestial axes', () => {
    expect(celestialWcs(FitsHeader.fromString("CTYPE1  = 'FREQ'".padEnd(80)))).toBeNull();
  });
  it('refuses unsupported projections and singular matrices with WcsInputError', () => {
    const h = base([]);
    h.set('CTYPE1', 'RA---XYZ');
    h.set('CTYPE2', 'DEC--XYZ');
    expect(() => celestialWcs(h)).toThrow(WcsInputError);
    const s = base(['CD1_1   = 0.0', 'CD1_2   = 0.0', 'CD2_1   = 0.0', 'CD2_2   = 0.0']);
    expect(() => celestialWcs(s)).toThrow(WcsInputError);
  });
  it('a point behind a TAN projection has no pixel', () => {
    const w = celestialWcs(base([]))!;
    const [x, y] = w.worldToPixel(190, -20);
    expect(Number.isNaN(x) && Number.isNaN(y)).toBe(true);
  });
});
