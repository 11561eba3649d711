import { describe, expect, it } from 'vitest';
import { finiteDifferenceGradient, finiteDifferenceHessian, invertSpd, nelderMead } from '../../src-shared/lensing/optimise.js';
import { annulusMask, fitPixels, ringRadius } from '../../src-shared/lensing/fit.js';
import { pixelCentre } from '../../src-shared/operators/lens-model.js';

describe('optimisation helpers', () => {
  it('Nelder–Mead finds the minimum of a 5-D Rosenbrock function and of a shifted quadratic', () => {
    const rosen = (x: Float64Array) => {
      let s = 0;
      for (let i = 0; i + 1 < x.length; i++) s += 100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2;
      return s;
    };
    const r = nelderMead(rosen, [0.2, 0.5, -0.2, 0.4, 0.1], { steps: [0.5, 0.5, 0.5, 0.5, 0.5], maxEvaluations: 20000, fTol: 1e-12, xTol: [1e-7, 1e-7, 1e-7, 1e-7, 1e-7] });
    expect(r.converged).toBe(true);
    for (const v of r.x) expect(v).toBeCloseTo(1, 4);
    const q = nelderMead((x) => (x[0] - 3) ** 2 + 10 * (x[1] + 2) ** 2 + (x[0] > 10 ? Infinity : 0), [0, 0], { steps: [1, 1], fTol: 1e-14, xTol: [1e-8, 1e-8] });
    expect(q.x[0]).toBeCloseTo(3, 6);
    expect(q.x[1]).toBeCloseTo(-2, 6);
  });

  it('Nelder–Mead\'s stall rule ends a run that gains next to nothing, and leaves one that gains alone', () => {
    // a shallow bowl: each step gains far below 0.01 per 40 evaluations after the first few
    const shallow = (x: Float64Array) => 1e-4 * ((x[0] - 5) ** 2 + (x[1] + 3) ** 2 + x[2] ** 2);
    const free = nelderMead(shallow, [0, 0, 0], { steps: [1, 1, 1], maxEvaluations: 5000, fTol: 1e-12, xTol: [1e-6, 1e-6, 1e-6] });
    const cut = nelderMead(shallow, [0, 0, 0], { steps: [1, 1, 1], maxEvaluations: 5000, fTol: 1e-12, xTol: [1e-6, 1e-6, 1e-6], stall: { evaluations: 40, gain: 0.01 } });
    expect(free.converged).toBe(true);
    expect(cut.stalled).toBe(true);
    expect(cut.converged).toBe(false);
    expect(cut.evaluations).toBeLessThan(free.evaluations / 2);
    expect(cut.evaluations).toBeGreaterThanOrEqual(40);
    // a run that keeps gaining more than the threshold is not cut: the same path and end as without the rule
    const bowl = (x: Float64Array) => 100 * ((x[0] - 5) ** 2 + (x[1] + 3) ** 2 + x[2] ** 2);
    const a = nelderMead(bowl, [0, 0, 0], { steps: [1, 1, 1], fTol: 1e-3, xTol: [1e-3, 1e-3, 1e-3] });
    const b = nelderMead(bowl, [0, 0, 0], { steps: [1, 1, 1], fTol: 1e-3, xTol: [1e-3, 1e-3, 1e-3], stall: { evaluations: 200, gain: 1e-9 } });
    expect(b.stalled).toBe(false);
    expect(b.evaluations).toBe(a.evaluations);
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
  });

  it('the finite-difference Hessian of a quadratic is exact, and its inverse is the covariance', () => {
    const A = [4, 1, 0.5, 1, 3, -0.2, 0.5, -0.2, 2];
    const f = (x: Float64Array) => {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += 0.5 * (x[i] - 1) * A[i * 3 + j] * (x[j] - 1);
      return s + 7;
    };
    const x0 = [0.3, -0.1, 2];
    const { H, g, evaluations } = finiteDifferenceHessian(f, x0, [0.1, 0.05, 0.2]);
    expect(evaluations).toBe(1 + 6 + 6);
    for (let k = 0; k < 9; k++) expect(H[k]).toBeCloseTo(A[k], 8);
    // the gradient A (x − 1), exact for a quadratic by central differences, from the Hessian's evaluations and alone
    const g2 = finiteDifferenceGradient(f, x0, [0.1, 0.05, 0.2]);
    for (let i = 0; i < 3; i++) {
      let want = 0;
      for (let j = 0; j < 3; j++) want += A[i * 3 + j] * (x0[j] - 1);
      expect(g[i]).toBeCloseTo(want, 8);
      expect(g2[i]).toBeCloseTo(want, 8);
    }
    const C = invertSpd(H, 3)!;
    // C·A = I
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += C[i * 3 + k] * A[k * 3 + j];
      expect(s).toBeCloseTo(i === j ? 1 : 0, 8);
    }
    expect(invertSpd(Float64Array.of(1, 2, 2, 1), 2)).toBeNull();
  });
});

describe('lens fit set-up', () => {
  it('annulus masks, the fitted pixels (NaN data or σ left out) and the ring radius of a thin ring', () => {
    const image = { shape: [41, 41] as [number, number], scale: 0.1 };
    const mask = annulusMask(image, 0.5, 1.5);
    let n = 0;
    for (let k = 0; k < mask.length; k++) {
      const r = Math.hypot(pixelCentre(k % 41, 41, 0.1), pixelCentre(Math.floor(k / 41), 41, 0.1));
      expect(mask[k]).toBe(r >= 0.5 && r <= 1.5 ? 1 : 0);
      n += mask[k];
    }
    // a ring of radius 1.1″ (Gaussian profile, width 0.05″) plus a compact core the ring radius ignores
    const data = new Float64Array(41 * 41);
    for (let k = 0; k < data.length; k++) {
      const x = pixelCentre(k % 41, 41, 0.1) - 0.1;
      const y = pixelCentre(Math.floor(k / 41), 41, 0.1) + 0.05;
      data[k] = 5 * Math.exp(-((Math.hypot(x, y) - 1.1) ** 2) / (2 * 0.05 ** 2));
    }
    const sigma = new Float64Array(41 * 41).fill(0.1);
    sigma[5] = NaN;
    data[7] = NaN;
    const d = { data, sigma, image, mask: null, psf: null };
    const pix = fitPixels(d);
    expect(pix.length).toBe(41 * 41 - 2);
    expect(Array.from(pix)).not.toContain(5);
    expect(fitPixels({ ...d, mask }).length).toBe(n);
    const r = ringRadius(d, pix, null, [0.1, -0.05])!;
    expect(r).toBeGreaterThan(1.08);
    expect(r).toBeLessThan(1.12);
    expect(ringRadius({ ...d, data: new Float64Array(41 * 41) }, pix, null, [0, 0])).toBeNull();
  });
});
