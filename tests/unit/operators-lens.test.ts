import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { LensOperator, deflection, lensMatrix, type LensParams } from '../../src-shared/operators/lens.js';
import { lensCurves, jacobianDet } from '../../src-shared/operators/lens-curves.js';
import { csrMultiply } from '../../src-shared/operators/sparse.js';
import { dotTest, randn, refDeflection, refLens, relErr, run } from './operators-ref.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SIE: LensParams = { thetaE: 0.6, q: 0.7, phi: 0.4, x0: 0.05, y0: -0.03, gamma1: 0.03, gamma2: -0.02 };

/** Connected components (8-neighbour) of pixels above a threshold. */
function countBlobs(img: ArrayLike<number>, ny: number, nx: number, thr: number): number {
  const seen = new Uint8Array(ny * nx);
  let n = 0;
  for (let s = 0; s < ny * nx; s++) {
    if (seen[s] || !(img[s] > thr)) continue;
    n++;
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      const i = Math.floor(p / nx);
      const j = p % nx;
      for (let di = -1; di <= 1; di++)
        for (let dj = -1; dj <= 1; dj++) {
          const a = i + di;
          const b = j + dj;
          if (a < 0 || b < 0 || a >= ny || b >= nx) continue;
          const q = a * nx + b;
          if (!seen[q] && img[q] > thr) {
            seen[q] = 1;
            stack.push(q);
          }
        }
    }
  }
  return n;
}

describe('deflection', () => {
  it('matches the SIE + shear formulas of docs/forward-models.md, and the SIS for q = 1', () => {
    const r = randn(40, 3);
    for (let k = 0; k < 20; k++) {
      const [x, y] = [r[2 * k], r[2 * k + 1]];
      for (const p of [SIE, { ...SIE, q: 1 }, { ...SIE, q: 0.2, phi: -2 }]) {
        const a = deflection(p, x, y);
        const b = refDeflection(p, x, y);
        expect(a[0]).toBeCloseTo(b[0], 12);
        expect(a[1]).toBeCloseTo(b[1], 12);
      }
    }
    // SIS: |α| = θE everywhere; the SIE tends to it continuously as q → 1
    const a = deflection({ ...SIE, q: 1, gamma1: 0, gamma2: 0 }, 0.3 + SIE.x0, -0.7 + SIE.y0);
    expect(Math.hypot(a[0], a[1])).toBeCloseTo(SIE.thetaE, 12);
    const b = deflection({ ...SIE, q: 1 - 1e-7 }, 0.3, -0.7);
    const c = deflection({ ...SIE, q: 1 }, 0.3, -0.7);
    expect(Math.abs(b[0] - c[0]) + Math.abs(b[1] - c[1])).toBeLessThan(1e-6);
  });
});

describe('LensOperator', () => {
  for (const strategy of ['segment', 'ell'] as const) {
    it(`apply matches ray shooting with bilinear sampling by the definition (${strategy}); adjoint passes the dot test`, () => {
      const geom = { sourceShape: [24, 20] as [number, number], sourcePixelScale: 0.06, imageShape: [30, 34] as [number, number], imagePixelScale: 0.05, supersample: 2 };
      const op = new LensOperator(SIE, geom, { strategy });
      expect(op.strategy).toBe(strategy);
      const x = randn(24 * 20, 1);
      const ref = refLens(SIE, x, 24, 20, 2, 30, 34, 0.05, 0.06);
      expect(relErr(run(op, x), ref)).toBeLessThan(1e-6);
      expect(dotTest(op, 5, 3)).toBeLessThan(1e-5);
      // the adjoint is the transpose of the same matrix: compare with the CSR in float64
      const y = randn(30 * 34, 2);
      const aty = run(op, y, true);
      const m = op.matrix;
      const want = new Float64Array(m.nCols);
      for (let r = 0; r < m.nRows; r++) for (let p = m.rowPtr[r]; p < m.rowPtr[r + 1]; p++) want[m.colIdx[p]] += m.values[p] * y[r];
      expect(relErr(aty, want)).toBeLessThan(1e-6);
      op.dispose();
    });
  }

  it('odd supersampling, an odd grid with a pixel on the lens centre, and a source grid partly outside the rays', () => {
    const p = { ...SIE, x0: 0, y0: 0 };
    const op = new LensOperator(p, { sourceShape: [15, 15], sourcePixelScale: 0.02, imageShape: [21, 25], imagePixelScale: 0.07, supersample: 3 });
    const x = randn(225, 8);
    expect(relErr(run(op, x), refLens(p, x, 15, 15, 3, 21, 25, 0.07, 0.02))).toBeLessThan(1e-6);
    expect(dotTest(op, 9)).toBeLessThan(1e-5);
    op.dispose();
  });

  it('an SIS maps a source at the origin onto a ring of radius θE', () => {
    const thetaE = 0.8;
    const sis: LensParams = { thetaE, q: 1, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 };
    const sn = 41;
    const ss = 0.02;
    const n = 90;
    const s = 0.025;
    const op = new LensOperator(sis, { sourceShape: [sn, sn], sourcePixelScale: ss, imageShape: [n, n], imagePixelScale: s, supersample: 2 });
    const src = new Float32Array(sn * sn);
    src[20 * sn + 20] = 1; // the pixel at (0, 0)
    const img = run(op, src);
    // a sub-pixel reaches the lit source pixel only if |β| < √2·ss, and |β| = |r − θE| for an SIS;
    // sub-pixel centres lie within s·√2/4 of their pixel centre
    const tol = Math.SQRT2 * ss + (s * Math.SQRT2) / 4 + 1e-9;
    const bins = new Float64Array(36);
    let wsum = 0;
    let rsum = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const v = img[i * n + j];
        if (v === 0) continue;
        const x = (j - (n - 1) / 2) * s;
        const y = (i - (n - 1) / 2) * s;
        const r = Math.hypot(x, y);
        expect(v).toBeGreaterThan(0);
        expect(Math.abs(r - thetaE)).toBeLessThan(tol);
        bins[Math.floor(((Math.atan2(y, x) + Math.PI) / (2 * Math.PI)) * 36) % 36] += v;
        wsum += v;
        rsum += v * r;
      }
    expect(Math.min(...bins)).toBeGreaterThan(0); // a complete ring
    expect(Math.abs(rsum / wsum - thetaE)).toBeLessThan(s / 4);
    op.dispose();
  });

  it('a point source behind an SIE gives 4 images inside the tangential caustic, 2 outside it, 1 far away', () => {
    const p: LensParams = { thetaE: 1, q: 0.6, phi: 0.3, x0: 0, y0: 0, gamma1: 0, gamma2: 0 };
    const curves = lensCurves(p, { n: 200 });
    expect(curves.critical.length).toBe(1);
    const caustic = curves.caustics[0].points;
    const inside = (x: number, y: number): boolean => {
      let c = false;
      for (let i = 0, j = caustic.length - 1; i < caustic.length; j = i++) {
        const [xi, yi] = caustic[i];
        const [xj, yj] = caustic[j];
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
      }
      return c;
    };
    const sn = 201;
    const sps = 0.012;
    const n = 300;
    const ips = 0.01;
    const op = new LensOperator(p, { sourceShape: [sn, sn], sourcePixelScale: sps, imageShape: [n, n], imagePixelScale: ips, supersample: 2 });
    // a wider field for the source outside the cut, whose single image lies at |θ| ≈ |β| + θE
    const wide = new LensOperator(p, { sourceShape: [sn, sn], sourcePixelScale: sps, imageShape: [n, n], imagePixelScale: 2 * ips, supersample: 2 });
    const cases: { bx: number; by: number; expect: number }[] = [
      { bx: 0.048, by: 0.036, expect: 4 },
      { bx: -0.06, by: 0.024, expect: 4 },
      { bx: 0.36, by: 0.36, expect: 2 },
      { bx: -0.6, by: 0.0, expect: 2 },
      { bx: 1.08, by: 0.96, expect: 1 },
    ];
    for (const c of cases) {
      expect(inside(c.bx, c.by)).toBe(c.expect === 4);
      // a small Gaussian blob (σ = 1.5 source pixels); lensing conserves surface brightness, so every image
      // (however demagnified) peaks near the blob's peak when resolved: count blobs above 20 %
      const src = new Float32Array(sn * sn);
      for (let i = 0; i < sn; i++)
        for (let j = 0; j < sn; j++) {
          const x = (j - (sn - 1) / 2) * sps - c.bx;
          const y = (i - (sn - 1) / 2) * sps - c.by;
          src[i * sn + j] = Math.exp(-(x * x + y * y) / (2 * (1.5 * sps) ** 2));
        }
      const img = run(c.expect === 1 ? wide : op, src);
      expect(countBlobs(img, n, n, 0.2), `source at (${c.bx}, ${c.by})`).toBe(c.expect);
    }
    op.dispose();
    wide.dispose();
  });

  it('gramDiagonal is Σ_j A_ij² and gram() says none', () => {
    const op = new LensOperator(SIE, { sourceShape: [10, 12], sourcePixelScale: 0.1, imageShape: [14, 14], imagePixelScale: 0.08, supersample: 2 });
    expect(op.gram().kind).toBe('none');
    const d = op.gramDiagonal();
    for (const r of [0, 50, 97, 150]) {
      const e = new Float32Array(14 * 14);
      e[r] = 1;
      const col = run(op, e, true);
      let s = 0;
      for (const v of col) s += v * v;
      expect(d[r]).toBeCloseTo(s, 6);
    }
    op.dispose();
  });

  it('lensMatrix rows sum to the covered fraction (bilinear weights of a constant source)', () => {
    const m = lensMatrix(SIE, { sourceShape: [60, 60], sourcePixelScale: 0.05, imageShape: [20, 20], imagePixelScale: 0.05, supersample: 3 });
    const ones = new Float64Array(3600).fill(1);
    const y = csrMultiply(m, ones);
    // the central image pixels map well inside the 3″ source grid: exactly 1
    for (let i = 5; i < 15; i++) for (let j = 5; j < 15; j++) expect(y[i * 20 + j]).toBeCloseTo(1, 12);
  });
});

describe('lensCurves', () => {
  it('SIS: the critical curve is the circle r = θE and the caustic degenerates to the origin', () => {
    const p: LensParams = { thetaE: 1.3, q: 1, phi: 0, x0: 0.2, y0: -0.1, gamma1: 0, gamma2: 0 };
    const c = lensCurves(p, { n: 120 });
    expect(c.critical.length).toBe(1);
    expect(c.critical[0].closed).toBe(true);
    for (const [x, y] of c.critical[0].points) expect(Math.hypot(x - 0.2, y + 0.1)).toBeCloseTo(1.3, 6);
    for (const [x, y] of c.caustics[0].points) expect(Math.hypot(x - 0.2, y + 0.1)).toBeLessThan(1e-6);
  });

  it('SIE with shear: points on the critical curve have det ∂β/∂θ = 0, the caustic is point-symmetric', () => {
    const c = lensCurves(SIE, { n: 160 });
    expect(c.critical.length).toBeGreaterThanOrEqual(1);
    const main = c.critical.reduce((a, b) => (a.points.length > b.points.length ? a : b));
    expect(main.closed).toBe(true);
    for (const [x, y] of main.points.filter((_, i) => i % 10 === 0)) expect(Math.abs(jacobianDet(SIE, x, y))).toBeLessThan(1e-4);
    // SIE + shear about the same centre is symmetric under θ → 2θ0 − θ; so is its caustic about β0 = θ0 (α odd)
    const ca = c.caustics[c.critical.indexOf(main)].points;
    const cx = ca.reduce((s, p) => s + p[0], 0) / ca.length;
    const cy = ca.reduce((s, p) => s + p[1], 0) / ca.length;
    expect(cx).toBeCloseTo(SIE.x0, 3);
    expect(cy).toBeCloseTo(SIE.y0, 3);
  });
});
