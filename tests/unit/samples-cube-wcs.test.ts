/**
 * posterior-samples.fits on an observation with a SIP distortion (the shared IRAC file): astropy's WCS refuses SIP
 * on a WCS of more than two axes (WCSAXES = 2 does not lower the count below NAXIS = 3), so the cube carries the
 * same distortion as a TPV polynomial. Checked against astropy without Python: the cube's WCS cards are those of
 * the cube astropy read (tests/fixtures/fits-expected/samples-cube-wcs.json, scripts/samples-cube-expected.py: a
 * plain WCS(header) of `skyscore reconstruct`'s product), the repository's reader gives astropy's coordinates of
 * that cube, and those of the observation's own 2-D SIP WCS (wcs.json, scripts/astropy-expected.py).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readFits, readFitsImage, type FitsHeader } from '../../src-shared/fits/index.js';
import { celestialWcs } from '../../src-shared/wcs/index.js';
import { sipAsTpv, tpvForward, tpvInverse } from '../../src-shared/wcs/tpv.js';
import { productFiles, type HeaderContext } from '../../src-main/reconstruct/products.js';
import { sipAsTpvHeader } from '../../src-main/reconstruct/headers.js';
import type { PosteriorProducts } from '../../src-shared/diffusion/products.js';
import { dataPath } from '../helpers/data.js';
import { loadJson } from './fits-expected.js';

interface CubeExpected {
  naxis: number;
  cards: Array<[string, string | number]>;
  pixels: Array<[number, number]>;
  world: Array<[number, number]>;
  pixelsBack: Array<[number, number]>;
  maxDegreesFromObservationSip: number;
}
interface WcsCase {
  file?: string;
  hdu?: number;
  pixels: Array<[number, number]>;
  world: Array<[number, number]>;
  pixelsBack: Array<[number, number]>;
}

const cube = loadJson<CubeExpected>('samples-cube-wcs.json');
const corpus = loadJson<{ corpus: WcsCase[] }>('wcs.json').corpus;
const IRAC = 'fits/galsim_sipsample_spitzer_irac.fits';
const header = (file: string, hdu = 0): FitsHeader => readFits(new Uint8Array(readFileSync(dataPath(...file.split('/')))), { name: file }).hdus[hdu].header;

/** The products of a 2-sample run on the IRAC image's grid (the values do not matter, the headers do). */
function products(): Map<string, Uint8Array> {
  const n = 2;
  const [ny, nx] = [256, 256];
  const ctx: HeaderContext = {
    observation: { header: header(IRAC), fitsShape: [nx, ny] },
    grid: { sameAsInput: true },
    inShape: [ny, nx],
    outShape: [ny, nx],
    n,
    provenance: { command: 'reconstruct --obs galsim_sipsample_spitzer_irac.fits', modelPath: 'M.json', modelHash: '0'.repeat(64), backend: 'cpu' },
    history: [],
    meanNote: '',
    drawsNote: [],
    chi2PerPixel: 1,
  };
  const px = nx * ny;
  const p = { shape: [ny, nx], dataShape: [ny, nx], n, samples: new Float32Array(n * px), mean: new Float32Array(px), meanOfDraws: new Float32Array(px), std: new Float32Array(px), residual: new Float32Array(px) } as unknown as PosteriorProducts;
  return new Map(productFiles(ctx, p, {}).map((f) => [f.name, f.bytes]));
}

const SIP_CARD = /^(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+)$/;

describe('posterior-samples.fits of a SIP image', () => {
  const files = products();
  const samples = readFitsImage(files.get('posterior-samples.fits')!);
  const h = samples.header;

  it('is a cube [nx, ny, N] whose WCS cards are those of the cube astropy reads with a plain WCS(header)', () => {
    expect(samples.shape).toEqual([256, 256, 2]);
    expect(cube.naxis).toBe(3); // astropy's WCS(header) did not raise: three axes, the third the sample index
    for (const [k, v] of cube.cards) {
      if (/^NAXIS3$/.test(k)) continue; // the fixture's run drew its own number of samples
      expect(h.get(k), k).toBe(v);
    }
    expect(h.get('CTYPE1')).toBe('RA---TPV');
    expect(h.get('CTYPE2')).toBe('DEC--TPV');
    expect(h.get('WCSAXES')).toBe(2);
    expect(h.keys().filter((k) => SIP_CARD.test(k))).toEqual([]);
    expect(h.history().join(' ')).toMatch(/SIP distortion of the input written as the same TPV polynomial/);
  });

  it("reads back as astropy reads it, and as the observation's own SIP WCS (astropy's 2-D coordinates)", () => {
    const w = celestialWcs(h)!;
    expect(w.sip).toBeNull();
    expect(w.tpv).not.toBeNull();
    // astropy's plain WCS(header) of the cube (within 1e-9° = 4 µas; pixels within 1e-6)
    cube.pixels.forEach(([x, y], i) => {
      const [l, b] = w.pixelToWorld(x, y);
      expect(Math.abs(l - cube.world[i][0]), `(${x}, ${y})`).toBeLessThan(1e-9);
      expect(Math.abs(b - cube.world[i][1]), `(${x}, ${y})`).toBeLessThan(1e-9);
      const [px, py] = w.worldToPixel(cube.world[i][0], cube.world[i][1]);
      expect(Math.abs(px - cube.pixelsBack[i][0])).toBeLessThan(1e-6);
      expect(Math.abs(py - cube.pixelsBack[i][1])).toBeLessThan(1e-6);
    });
    // astropy's cube and the observation's SIP WCS agree (the forward map is exact)
    expect(cube.maxDegreesFromObservationSip).toBeLessThan(1e-12);
    // the observation's 2-D SIP WCS as astropy gives it (wcs.json's corpus entry of the IRAC file)
    const sip = corpus.find((c) => c.file === IRAC && c.hdu === 0)!;
    sip.pixels.forEach(([x, y], i) => {
      const [l, b] = w.pixelToWorld(x, y);
      expect(Math.abs(l - sip.world[i][0])).toBeLessThan(1e-9);
      expect(Math.abs(b - sip.world[i][1])).toBeLessThan(1e-9);
      const [px, py] = w.worldToPixel(sip.world[i][0], sip.world[i][1]);
      expect(Math.abs(px - sip.pixelsBack[i][0])).toBeLessThan(1e-6);
      expect(Math.abs(py - sip.pixelsBack[i][1])).toBeLessThan(1e-6);
    });
  });

  it('the 2-D products keep the observation’s SIP keywords as they are', () => {
    for (const name of ['posterior-mean.fits', 'posterior-std.fits', 'residual.fits']) {
      const m = readFitsImage(files.get(name)!).header;
      expect(m.get('CTYPE1'), name).toBe('RA---TAN-SIP');
      expect(m.get('A_ORDER'), name).toBe(3);
      expect(m.get('BP_3_0'), name).toBe(2.0482e-8);
    }
  });
});

describe('SIP as TPV (wcs/tpv.ts)', () => {
  it("gives astropy's coordinates of the corpus's SIP headers (sip-wcs.fits, the IRAC file) through a 3-axis header", () => {
    for (const c of corpus.filter((x) => x.file === 'fits/sip-wcs.fits' || x.file === IRAC)) {
      const h = header(c.file!, c.hdu).clone();
      h.set('NAXIS', 3);
      h.set('NAXIS3', 4);
      expect(sipAsTpvHeader(h), c.file).toBe(true);
      const w = celestialWcs(h)!;
      c.pixels.forEach(([x, y], i) => {
        const [l, b] = w.pixelToWorld(x, y);
        expect(Math.abs(l - c.world[i][0]), `${c.file} (${x}, ${y})`).toBeLessThan(1e-9);
        expect(Math.abs(b - c.world[i][1]), `${c.file} (${x}, ${y})`).toBeLessThan(1e-9);
        const [px, py] = w.worldToPixel(c.world[i][0], c.world[i][1]);
        expect(Math.abs(px - c.pixelsBack[i][0])).toBeLessThan(1e-6);
        expect(Math.abs(py - c.pixelsBack[i][1])).toBeLessThan(1e-6);
      });
    }
  });

  it('is exact for a polynomial with every term to the 3rd order, and inverts; refuses orders above TPV’s 7th; leaves a header without SIP alone', () => {
    const a = [[0, 1e-4, -2e-6, 3e-8], [2e-4, 5e-6, -1e-8], [-3e-6, 4e-8], [1e-8]];
    const b = [[0, -1e-4, 1e-6, 2e-8], [3e-5, -4e-6, 2e-8], [2e-6, -3e-8], [-2e-8]];
    const cd: [[number, number], [number, number]] = [[-2.5e-4, 1.1e-4], [0.9e-4, 2.4e-4]];
    const t = sipAsTpv(a, b, cd)!;
    const poly = (m: number[][], u: number, v: number) => m.reduce((s, row, p) => s + row.reduce((r, c, q) => r + c * u ** p * v ** q, 0), 0);
    for (const [u, v] of [[0, 0], [100, -50], [-128, 127], [37.5, 80.25]]) {
      const us = u + poly(a, u, v);
      const vs = v + poly(b, u, v);
      const want = [cd[0][0] * us + cd[0][1] * vs, cd[1][0] * us + cd[1][1] * vs];
      const x = cd[0][0] * u + cd[0][1] * v;
      const y = cd[1][0] * u + cd[1][1] * v;
      const got = tpvForward(t, x, y);
      expect(Math.abs(got[0] - want[0])).toBeLessThan(1e-15);
      expect(Math.abs(got[1] - want[1])).toBeLessThan(1e-15);
      const back = tpvInverse(t, got[0], got[1]);
      expect(Math.abs(back[0] - x)).toBeLessThan(1e-14);
      expect(Math.abs(back[1] - y)).toBeLessThan(1e-14);
    }
    const order8 = Array.from({ length: 9 }, (_, p) => new Array<number>(9 - p).fill(0));
    expect(sipAsTpv(order8, order8, cd)).toBeNull();
    const plain = header('fits/m13.fits');
    const before = JSON.stringify(plain.cards);
    expect(sipAsTpvHeader(plain)).toBe(false);
    expect(JSON.stringify(plain.cards)).toBe(before);
  });
});
