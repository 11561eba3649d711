import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UvSamplingOperator, arrayLongitude, dirtyBeam, gridUv, hourAngles, parseStationTable, uvCoverage, type UvSpec } from '../../src-shared/operators/uv.js';
import { ForwardModelInputError } from '../../src-shared/operators/errors.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { dataPath } from '../helpers/data.js';
import { dotTest, randn, refFourierFilter, refUvWeights, relErr, run } from './operators-ref.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const vla = parseStationTable(readFileSync(dataPath('arrays', 'VLA_BNA.txt'), 'utf8'), 'VLA_BNA.txt');
const SPEC: UvSpec = { declinationDeg: 34, hourAngleH: [-4, 4], stepMin: 5, wavelengthM: 0.06 };

function refSpec(pix: number, spec = SPEC) {
  const stations: [number, number, number][] = vla.names.map((_, i) => [vla.xyz[3 * i], vla.xyz[3 * i + 1], vla.xyz[3 * i + 2]]);
  return { stations, decDeg: spec.declinationDeg, h0: spec.hourAngleH[0], h1: spec.hourAngleH[1], stepMin: spec.stepMin, lambda: spec.wavelengthM, pixArcsec: pix };
}

/** purify_M31.fits (256×256×1, 1″/px) block-averaged to n×n. */
function m31(n: number): Float32Array {
  const img = readFitsImage(new Uint8Array(readFileSync(dataPath('radio', 'purify_M31.fits'))));
  const [w, h] = img.shape;
  const f = w / n;
  const out = new Float32Array(n * n);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out[Math.floor(i / f) * n + Math.floor(j / f)] += img.data[i * w + j] / (f * f);
  return out;
}

describe('station tables', () => {
  it('parses NAME X Y Z lines, skipping comments; refuses malformed tables', () => {
    expect(vla.names.length).toBe(27);
    expect(vla.names[0]).toBe('W04');
    expect(vla.xyz[0]).toBeCloseTo(-1601315.87428, 5);
    expect(vla.xyz[2]).toBeCloseTo(3554808.26378, 5);
    const eht = parseStationTable(readFileSync(dataPath('arrays', 'EHT2017.txt'), 'utf8'));
    expect(eht.names).toContain('ALMA');
    expect(() => parseStationTable('# only a comment\nA 1 2 3\n')).toThrow(/at least two stations/);
    expect(() => parseStationTable('A 1 2 3\nB 1 two 3\n', 't.txt')).toThrow(ForwardModelInputError);
    expect(() => parseStationTable('A 1 2 3\nB 1 two 3\n', 't.txt')).toThrow(/t\.txt line 2/);
  });
});

describe('uv coverage and gridding', () => {
  it('hour angles include both ends; uv points follow docs/forward-models.md: (u, v) and (−u, −v)', () => {
    expect(hourAngles(SPEC).length).toBe(97);
    expect(hourAngles({ ...SPEC, hourAngleH: [0, 1], stepMin: 25 })).toEqual([0, 25 / 60, 50 / 60]);
    const c = uvCoverage(vla, SPEC);
    expect(c.baselines).toBe(351);
    expect(c.u.length).toBe(2 * 351 * 97);
    // baseline W04→W08 at local H = −4 h: against Greenwich (the ECEF baseline's frame) H − λ, λ the
    // centroid's longitude (the VLA's: 107.62° W)
    const L = [0, 1, 2].map((k) => vla.xyz[3 + k] - vla.xyz[k]);
    expect((arrayLongitude(vla) * 180) / Math.PI).toBeCloseTo(-107.62, 2);
    expect(c.longitude).toBe(arrayLongitude(vla));
    const H = (-4 * 15 * Math.PI) / 180 - arrayLongitude(vla);
    const d = (34 * Math.PI) / 180;
    expect(c.u[0]).toBeCloseTo((Math.sin(H) * L[0] + Math.cos(H) * L[1]) / 0.06, 6);
    expect(c.v[0]).toBeCloseTo((-Math.sin(d) * Math.cos(H) * L[0] + Math.sin(d) * Math.sin(H) * L[1] + Math.cos(d) * L[2]) / 0.06, 6);
    expect(c.u[1]).toBe(-c.u[0]);
    expect(c.v[1]).toBe(-c.v[0]);
  });

  it('tracks match an independent numpy computation (vector geometry, scripts/uv-tracks-expected.py) for the VLA at three declinations', () => {
    const fx = JSON.parse(readFileSync(new URL('../fixtures/uv-tracks/vla.json', import.meta.url), 'utf8')) as {
      longitudeDeg: number;
      wavelengthM: number;
      pairs: [number, number][];
      cases: { declinationDeg: number; hourAngleH: [number, number]; stepMin: number; hours: number[]; u: number[][]; v: number[][] }[];
    };
    expect((arrayLongitude(vla) * 180) / Math.PI).toBeCloseTo(fx.longitudeDeg, 9);
    const n = vla.names.length;
    const pairIndex = (a: number, b: number) => a * n - (a * (a + 1)) / 2 + (b - a - 1);
    let checked = 0;
    for (const cs of fx.cases) {
      const spec: UvSpec = { declinationDeg: cs.declinationDeg, hourAngleH: cs.hourAngleH, stepMin: cs.stepMin, wavelengthM: fx.wavelengthM };
      const c = uvCoverage(vla, spec);
      expect(hourAngles(spec)).toHaveLength(cs.hours.length);
      fx.pairs.forEach(([a, b], p) => {
        const L = Math.hypot(...[0, 1, 2].map((k) => vla.xyz[3 * b + k] - vla.xyz[3 * a + k])) / fx.wavelengthM;
        for (let t = 0; t < cs.hours.length; t++) {
          const k = 2 * (pairIndex(a, b) * c.times + t);
          expect(Math.abs(c.u[k] - cs.u[p][t]) / L, `dec ${cs.declinationDeg} pair ${a}-${b} t ${t} u`).toBeLessThan(1e-10);
          expect(Math.abs(c.v[k] - cs.v[p][t]) / L, `dec ${cs.declinationDeg} pair ${a}-${b} t ${t} v`).toBeLessThan(1e-10);
          checked++;
        }
      });
    }
    expect(checked).toBeGreaterThan(100);
    // the old reading (hour angles against Greenwich, no longitude) is far off: the tracks are not the same
    const cs = fx.cases[0];
    const [a, b] = fx.pairs[1];
    const L = [0, 1, 2].map((k) => vla.xyz[3 * b + k] - vla.xyz[3 * a + k]);
    const H = (cs.hours[0] * 15 * Math.PI) / 180;
    expect(Math.abs((Math.sin(H) * L[0] + Math.cos(H) * L[1]) / fx.wavelengthM - cs.u[1][0])).toBeGreaterThan(0.1 * Math.hypot(...L) / fx.wavelengthM);
  });

  for (const [ny, nx, pix] of [
    [64, 64, 0.5],
    [31, 45, 0.7],
  ] as const) {
    it(`natural weights on the ${ny}×${nx} FFT grid equal the definition's, are symmetric, and the dirty beam peaks at 1`, () => {
      const c = uvCoverage(vla, SPEC);
      const g = gridUv(c.u, c.v, [ny, nx], pix);
      const W = refUvWeights(refSpec(pix), ny, nx);
      expect(g.kept).toBeGreaterThan(1000);
      expect(g.kept + g.dropped).toBe(c.u.length);
      expect(relErr(g.weights, W)).toBeLessThan(1e-12);
      for (let l = 0; l < ny; l++)
        for (let k = 0; k < nx; k++) expect(g.weights[l * nx + k]).toBe(g.weights[((ny - l) % ny) * nx + ((nx - k) % nx)]);
      const beam = dirtyBeam(g.weights, [ny, nx]);
      const cy = Math.floor(ny / 2);
      const cx = Math.floor(nx / 2);
      expect(beam[cy * nx + cx]).toBeCloseTo(1, 6);
      expect(Math.max(...beam)).toBeCloseTo(1, 6);
      for (let dy = -cy + (ny % 2 === 0 ? 1 : 0); dy <= ny - 1 - cy; dy++)
        for (let dx = -cx + (nx % 2 === 0 ? 1 : 0); dx <= nx - 1 - cx; dx++) {
          expect(Math.abs(beam[(cy + dy) * nx + cx + dx] - beam[(cy - dy) * nx + cx - dx])).toBeLessThan(1e-6);
        }
    });
  }

  it('drops points with |k| ≥ N/2: a coarse pixel scale keeps only short baselines', () => {
    const c = uvCoverage(vla, SPEC);
    const fine = gridUv(c.u, c.v, [64, 64], 0.5);
    const coarse = gridUv(c.u, c.v, [64, 64], 4);
    expect(coarse.dropped).toBeGreaterThan(fine.dropped);
    expect(relErr(coarse.weights, refUvWeights(refSpec(4), 64, 64))).toBeLessThan(1e-12);
  });
});

describe('UvSamplingOperator', () => {
  const shapes: [number, number, number][] = [
    [64, 64, 0.5],
    [31, 45, 0.7],
  ];
  for (const [ny, nx, pix] of shapes) {
    it(`${ny}×${nx}: the dirty image of a real radio image matches F⁻¹ W F x by the definition; Aᵀ = A`, () => {
      const c = uvCoverage(vla, SPEC);
      const g = gridUv(c.u, c.v, [ny, nx], pix);
      const op = new UvSamplingOperator([ny, nx], g.weights);
      const x = ny === 64 ? m31(64) : randn(ny * nx, 4);
      const want = refFourierFilter(x, ny, nx, refUvWeights(refSpec(pix), ny, nx));
      expect(relErr(run(op, x), want)).toBeLessThan(1e-5);
      expect(relErr(run(op, x, true), want)).toBeLessThan(1e-5);
      expect(dotTest(op, 7, 2)).toBeLessThan(1e-5);
      op.dispose();
    });
  }

  it('a delta at the centre returns the dirty beam; gram() is F⁻¹ W² F, exactly', () => {
    const c = uvCoverage(vla, SPEC);
    const g = gridUv(c.u, c.v, [48, 40], 0.6);
    const op = new UvSamplingOperator([48, 40], g.weights);
    const d = new Float32Array(48 * 40);
    d[24 * 40 + 20] = 1;
    const beam = op.dirtyBeam();
    expect(relErr(run(op, d), beam)).toBeLessThan(1e-5);
    const gram = op.gram();
    expect(gram.kind).toBe('fourier-diagonal');
    if (gram.kind !== 'fourier-diagonal') return;
    expect(gram.exact).toBe(true);
    const x = randn(48 * 40, 3);
    const aat = run(op, run(op, x, true));
    expect(relErr(aat, refFourierFilter(x, 48, 40, gram.diag))).toBeLessThan(1e-5);
    // diag(A Aᵀ) is constant ΣW²/N: check one pixel against ‖A e_i‖²
    const e = new Float32Array(48 * 40);
    e[100] = 1;
    const col = run(op, e);
    let s = 0;
    for (const v of col) s += v * v;
    expect(op.gramDiagonal()[100]).toBeCloseTo(s, 5);
    op.dispose();
  });
});
