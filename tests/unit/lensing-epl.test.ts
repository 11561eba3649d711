import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { eplConvergenceLocal, eplDeflectionLocal } from '../../src-shared/operators/epl.js';
import { deflection, type LensParams } from '../../src-shared/operators/lens-model.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { lensCurves, jacobianDet } from '../../src-shared/operators/lens-curves.js';
import { lensingFields } from '../../src-shared/lensing/mass.js';
import { dotTest, randn, relErr, run } from './operators-ref.js';
import { lensParams, parseForwardModel, validateForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { buildForwardModel } from '../../src-shared/operators/forward-model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// The elliptical power law (src-shared/operators/epl.ts) against what defines it: its convergence (the divergence
// of the deflection is 2κ, the curl is 0), the deflection integral of the convergence by a 2-D quadrature, the SIE
// at γ = 2 and the circular power law at q = 1.

const BASE: LensParams = { thetaE: 1.1, q: 0.7, phi: 0.4, x0: 0.05, y0: -0.03, gamma1: 0, gamma2: 0 };

/** κ of the full parameters at (x, y) (rotation and centre as the deflection's). */
function kappa(p: LensParams, x: number, y: number): number {
  const c = Math.cos(p.phi);
  const s = Math.sin(p.phi);
  const dx = x - p.x0;
  const dy = y - p.y0;
  return eplConvergenceLocal(p.thetaE, p.q, p.gamma ?? 2, c * dx + s * dy, -s * dx + c * dy);
}

/** Gauss–Legendre nodes and weights on [−1, 1] (Newton on Pₙ). */
function gaussLegendre(n: number): { x: Float64Array; w: Float64Array } {
  const x = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1;
      let p1 = z;
      for (let k = 2; k <= n; k++) {
        const p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (z * p1 - p0)) / (z * z - 1);
      const dz = p1 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x[i] = z;
    w[i] = 2 / ((1 - z * z) * dp * dp);
  }
  return { x, w };
}

const GL = gaussLegendre(20);

/**
 * α(θ) = (1/π) ∫ κ(θ′) (θ − θ′)/|θ − θ′|² d²θ′ by quadrature, in elliptical polar coordinates about the lens centre:
 * θ′ = centre + R(φ)·(R cos ψ/√q, R √q sin ψ) (elliptical radius R, d²θ′ = R dR dψ). The shells outside θ's own
 * ellipse (R > Rθ) deflect nothing at θ (a homoeoid exerts no force inside it), so R runs over (0, Rθ):
 * tanh-sinh in s = R/Rθ (the ends' singularities: κR ∝ s^(2−γ) at 0, the kernel's at 1); in ψ a sinh substitution
 * ψ = ψθ + ε sinh u, ε = 1 − s, that spreads the kernel's peak at θ's own angle ψθ, composite 20-point Gauss–Legendre
 * in u.
 */
function deflectionByQuadrature(p: LensParams, x: number, y: number): [number, number] {
  const q = p.q;
  const c = Math.cos(p.phi);
  const s = Math.sin(p.phi);
  const dx = x - p.x0;
  const dy = y - p.y0;
  const xp = c * dx + s * dy;
  const yp = -s * dx + c * dy;
  const Rt = Math.sqrt(q * xp * xp + (yp * yp) / q);
  const psiT = Math.atan2(yp / Math.sqrt(q), xp * Math.sqrt(q));
  let ax = 0;
  let ay = 0;
  const h = 1 / 24;
  for (let tau = -4.5; tau <= 2.9; tau += h) {
    const e = Math.PI * Math.sinh(tau);
    const sv = 1 / (1 + Math.exp(-e));
    const oneMinus = 1 / (1 + Math.exp(e));
    const ds = Math.PI * Math.cosh(tau) * sv * oneMinus * h;
    const R = sv * Rt;
    const kR = eplConvergenceLocal(p.thetaE, q, p.gamma ?? 2, R / Math.sqrt(q), 0) * R; // κ on the shell (x′ = R/√q, y′ = 0 lies on it) times R
    // inner: ∫ dψ (θ − θ′)/|θ − θ′|² over ψ − ψθ ∈ [−π, π]
    const eps = oneMinus;
    const U = Math.asinh(Math.PI / eps);
    const panels = Math.max(8, Math.ceil(2 * U));
    let gx = 0;
    let gy = 0;
    for (let k = 0; k < panels; k++) {
      const a = -U + (2 * U * k) / panels;
      const b = a + (2 * U) / panels;
      for (let m = 0; m < GL.x.length; m++) {
        const u = 0.5 * (a + b) + 0.5 * (b - a) * GL.x[m];
        const wu = 0.5 * (b - a) * GL.w[m] * eps * Math.cosh(u);
        const psi = psiT + eps * Math.sinh(u);
        const lx = (R * Math.cos(psi)) / Math.sqrt(q);
        const ly = R * Math.sqrt(q) * Math.sin(psi);
        const ex = xp - lx;
        const ey = yp - ly;
        const d2 = ex * ex + ey * ey;
        gx += (wu * ex) / d2;
        gy += (wu * ey) / d2;
      }
    }
    ax += ds * Rt * kR * gx;
    ay += ds * Rt * kR * gy;
  }
  ax /= Math.PI;
  ay /= Math.PI;
  return [c * ax - s * ay, s * ax + c * ay];
}

describe('EPL deflection', () => {
  it('γ = 2 is the SIE: the series against the SIE formula to 1e-10, and the slope 2 ± 1e-12 through the lens', () => {
    for (const q of [0.3, 0.7, 0.95]) {
      const sie = { ...BASE, q, phi: 0, x0: 0, y0: 0 };
      const r = randn(60, 11);
      for (let k = 0; k < 30; k++) {
        const [x, y] = [1.5 * r[2 * k], 1.5 * r[2 * k + 1]];
        const a = eplDeflectionLocal(BASE.thetaE, q, 2, x, y, [0, 0]);
        const b = deflection(sie, x, y);
        expect(Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1])).toBeLessThan(1e-10);
      }
    }
    for (const g of [2 - 1e-12, 2 + 1e-12]) {
      const a = deflection({ ...BASE, gamma: g, gamma1: 0.03, gamma2: -0.02 }, 0.7, -0.4);
      const b = deflection({ ...BASE, gamma1: 0.03, gamma2: -0.02 }, 0.7, -0.4);
      expect(Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1])).toBeLessThan(1e-10);
    }
  });

  it('the divergence of the deflection is 2κ (1e-6 relative) and its curl is 0, for several γ and q', () => {
    const h = 1e-5; // the central differences' error (h²) stays below 2e-8 at the points used
    for (const gamma of [1.3, 1.7, 2.2, 2.6, 2.8]) {
      for (const q of [0.25, 0.6, 0.9, 1]) {
        const p: LensParams = { ...BASE, q, gamma };
        for (const [x, y] of [[0.9, 0.3], [-0.2, 1.4], [0.3, -0.25], [-1.7, -0.6]]) {
          const ax1 = deflection(p, x + h, y);
          const ax0 = deflection(p, x - h, y);
          const ay1 = deflection(p, x, y + h);
          const ay0 = deflection(p, x, y - h);
          const div = (ax1[0] - ax0[0] + ay1[1] - ay0[1]) / (2 * h);
          const curl = (ax1[1] - ax0[1] - (ay1[0] - ay0[0])) / (2 * h);
          const k = kappa(p, x, y);
          expect(Math.abs(div - 2 * k) / (2 * k)).toBeLessThan(1e-6);
          expect(Math.abs(curl) / (2 * k)).toBeLessThan(1e-6);
          // the same through the lens fit's fields (shear-free: κ only)
          expect(lensingFields(p, x, y).kappa / k).toBeCloseTo(1, 6);
        }
      }
    }
  });

  it('equals the deflection integral of the convergence (2-D quadrature) to 1e-9', () => {
    for (const [gamma, q] of [[1.5, 0.6], [2.3, 0.45], [2.7, 0.85], [2, 0.7]]) {
      const p: LensParams = { ...BASE, q, gamma };
      for (const [x, y] of [[0.9, 0.3], [-0.2, 1.6], [0.35, -0.3]]) {
        const a = deflection(p, x, y);
        const b = deflectionByQuadrature(p, x, y);
        expect(Math.hypot(a[0] - b[0], a[1] - b[1]) / Math.hypot(b[0], b[1])).toBeLessThan(1e-9); // measured below 1e-10
      }
    }
  });

  it('q → 1 is the circular power law α(r) = θE (r/θE)^(2−γ) r̂', () => {
    for (const gamma of [1.4, 1.9, 2.5]) {
      for (const q of [1, 1 - 1e-9]) {
        const p: LensParams = { ...BASE, q, gamma };
        for (const [x, y] of [[0.9, 0.3], [-0.2, 1.6], [0.02, -0.03]]) {
          const dx = x - p.x0;
          const dy = y - p.y0;
          const r = Math.hypot(dx, dy);
          const m = p.thetaE * Math.pow(r / p.thetaE, 2 - gamma);
          const a = deflection(p, x, y);
          expect(Math.hypot(a[0] - (m * dx) / r, a[1] - (m * dy) / r) / m).toBeLessThan(1e-8);
        }
      }
    }
  });

  it('the mean convergence inside the Einstein ring of a round power law is 1 (θE is the Einstein radius)', () => {
    for (const gamma of [1.5, 2.5]) {
      const a = deflection({ ...BASE, q: 1, gamma, x0: 0, y0: 0 }, BASE.thetaE, 0);
      expect(a[0]).toBeCloseTo(BASE.thetaE, 12);
    }
  });
});

describe('EPL in the lens operator and the curves', () => {
  const EPL: LensParams = { thetaE: 0.6, q: 0.7, phi: 0.4, x0: 0.05, y0: -0.03, gamma1: 0.03, gamma2: -0.02, gamma: 2.3 };

  it('apply is ray shooting with bilinear sampling through the EPL; the adjoint passes the dot test', () => {
    const [sny, snx, my, mx, ss, si, sc] = [24, 20, 30, 34, 2, 0.05, 0.06];
    const op = new LensOperator(EPL, { sourceShape: [sny, snx], sourcePixelScale: sc, imageShape: [my, mx], imagePixelScale: si, supersample: ss });
    const x = randn(sny * snx, 1);
    // the definition, pixel by pixel
    const ref = new Float64Array(my * mx);
    const at = (i: number, j: number): number => (i < 0 || j < 0 || i >= sny || j >= snx ? 0 : x[i * snx + j]);
    for (let i = 0; i < my; i++)
      for (let j = 0; j < mx; j++) {
        let acc = 0;
        for (let a = 0; a < ss; a++)
          for (let b = 0; b < ss; b++) {
            const px = (j - (mx - 1) / 2 + (b + 0.5) / ss - 0.5) * si;
            const py = (i - (my - 1) / 2 + (a + 0.5) / ss - 0.5) * si;
            const d = deflection(EPL, px, py);
            const fx = (px - d[0]) / sc + (snx - 1) / 2;
            const fy = (py - d[1]) / sc + (sny - 1) / 2;
            const j0 = Math.floor(fx);
            const i0 = Math.floor(fy);
            const tx = fx - j0;
            const ty = fy - i0;
            acc += (1 - ty) * (1 - tx) * at(i0, j0) + (1 - ty) * tx * at(i0, j0 + 1) + ty * (1 - tx) * at(i0 + 1, j0) + ty * tx * at(i0 + 1, j0 + 1);
          }
        ref[i * mx + j] = acc / (ss * ss);
      }
    expect(relErr(run(op, x), ref)).toBeLessThan(1e-6);
    expect(dotTest(op, 5, 3)).toBeLessThan(1e-5);
    // it differs from the SIE's
    const sie = new LensOperator({ ...EPL, gamma: undefined }, op.geometry);
    expect(relErr(run(sie, x), ref)).toBeGreaterThan(1e-2);
    op.dispose();
    sie.dispose();
  });

  it('critical curves lie where det(∂β/∂θ) = 0 and caustics are their images; a shallow slope adds a radial curve', () => {
    const steep = lensCurves({ ...EPL, gamma: 2.3 }, { n: 160 });
    const shallow = lensCurves({ ...EPL, gamma: 1.6 }, { n: 160 });
    expect(steep.critical.length).toBe(1);
    expect(shallow.critical.length).toBe(2);
    for (const [p, cv] of [[{ ...EPL, gamma: 2.3 }, steep], [{ ...EPL, gamma: 1.6 }, shallow]] as const) {
      for (let c = 0; c < cv.critical.length; c++) {
        const pts = cv.critical[c].points;
        for (let k = 0; k < pts.length; k += 7) {
          const [x, y] = pts[k];
          // det changes sign across the curve: |det| at the point is small against its value a step away
          const d0 = Math.abs(jacobianDet(p, x, y));
          const d1 = Math.abs(jacobianDet(p, x + 0.01, y)) + Math.abs(jacobianDet(p, x, y + 0.01));
          expect(d0).toBeLessThan(1e-3 * Math.max(d1, 1e-3));
          const a = deflection(p, x, y);
          expect(cv.caustics[c].points[k][0]).toBeCloseTo(x - a[0], 12);
        }
      }
    }
  });
});

describe('EPL in M.json', () => {
  const stage = (lens: object) => ({ shape: [12, 12], operators: [{ type: 'lens', imageShape: [16, 18], imagePixelScale: 0.1, sourcePixelScale: 0.08, supersample: 2, lens, shear: { gamma1: 0.02 } }] });
  const noFiles = { loadImage: async () => Promise.reject(new Error('no files')), loadText: async () => Promise.reject(new Error('no files')) };

  it('"model": "EPL" with "gamma" builds the EPL lens; an SIE file reads as before (no slope)', async () => {
    const spec = validateForwardModel(stage({ model: 'EPL', thetaE: 0.6, q: 0.8, phi: 0.3, gamma: 2.25 }));
    const st = spec.operators[0]!;
    if (st.type !== 'lens') throw new Error('not a lens');
    expect(st.lens).toEqual({ model: 'EPL', thetaE: 0.6, q: 0.8, phi: 0.3, gamma: 2.25 });
    expect(lensParams(st)).toEqual({ model: 'EPL', thetaE: 0.6, q: 0.8, phi: 0.3, x0: 0, y0: 0, gamma1: 0.02, gamma2: 0, gamma: 2.25 });
    const built = await buildForwardModel(spec, noFiles);
    const x = randn(144, 4);
    const want = new LensOperator({ thetaE: 0.6, q: 0.8, phi: 0.3, x0: 0, y0: 0, gamma1: 0.02, gamma2: 0, gamma: 2.25 }, { sourceShape: [12, 12], sourcePixelScale: 0.08, imageShape: [16, 18], imagePixelScale: 0.1, supersample: 2 });
    const sie = new LensOperator({ thetaE: 0.6, q: 0.8, phi: 0.3, x0: 0, y0: 0, gamma1: 0.02, gamma2: 0 }, want.geometry);
    expect(relErr(run(built.operator, x), run(want, x))).toBeLessThan(1e-7);
    expect(relErr(run(built.operator, x), run(sie, x))).toBeGreaterThan(1e-2);
    expect(built.info[0].summary).toMatch(/EPL lens θE=0\.6″ q=0\.8 γ=2\.25/);
    built.operator.dispose();
    want.dispose();
    sie.dispose();
    const old = parseForwardModel(JSON.stringify(stage({ model: 'SIE', thetaE: 0.6, q: 0.8 })));
    const o = old.operators[0]!;
    if (o.type !== 'lens') throw new Error('not a lens');
    expect('gamma' in lensParams(o)).toBe(false);
  });

  it('refuses a missing or out-of-range slope, and a slope on an SIE', () => {
    expect(() => validateForwardModel(stage({ model: 'EPL', thetaE: 0.6, q: 0.8 }))).toThrow(/lens\.gamma is required/);
    expect(() => validateForwardModel(stage({ model: 'EPL', thetaE: 0.6, q: 0.8, gamma: 3 }))).toThrow(/lens\.gamma \(the EPL's slope\) must be in \(1, 3\), got 3/);
    expect(() => validateForwardModel(stage({ model: 'EPL', thetaE: 0.6, q: 0.8, gamma: 'steep' }))).toThrow(/lens\.gamma must be a number/);
    expect(() => validateForwardModel(stage({ thetaE: 0.6, q: 0.8, gamma: 2.1 }))).toThrow(/lens\.gamma is the slope of an EPL: give "model": "EPL" with it/);
    expect(() => validateForwardModel(stage({ model: 'NFW', thetaE: 0.6, q: 0.8 }))).toThrow(/lens\.model must be "SIE", "SIS" or "EPL"/);
  });
});
