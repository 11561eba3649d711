import { describe, expect, it } from 'vitest';
import { lensMatrix, pixelCentre, deflection, type LensParams } from '../../src-shared/operators/lens-model.js';
import { csrMultiply } from '../../src-shared/operators/sparse.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import {
  blurredLensMatrix,
  convolve,
  defaultSourceGrid,
  ellipticityFromQPhi,
  lensParamsFromMass,
  lensingFields,
  massFromLensParams,
  qPhiFromEllipticity,
  rayShoot,
} from '../../src-shared/lensing/mass.js';
import { sersicB, sersicImage, sersicProfile } from '../../src-shared/lensing/light.js';

const LENS: LensParams = { thetaE: 1.1, q: 0.7, phi: 0.4, x0: 0.05, y0: -0.03, gamma1: 0.03, gamma2: -0.02 };

describe('mass model', () => {
  it('ellipticity components round-trip with q and φ (φ modulo π)', () => {
    for (const [q, phi] of [[0.7, 0.4], [0.5, -1.2], [0.95, 2.0], [1, 0.3]]) {
      const [e1, e2] = ellipticityFromQPhi(q, phi);
      const back = qPhiFromEllipticity(e1, e2);
      expect(back.q).toBeCloseTo(q, 12);
      if (q < 1) expect(Math.cos(2 * (back.phi - phi))).toBeCloseTo(1, 12);
    }
    const m = massFromLensParams(LENS);
    const p = lensParamsFromMass(m);
    expect(p.q).toBeCloseTo(LENS.q, 12);
    expect(p.phi).toBeCloseTo(LENS.phi, 12);
  });

  it('the convergence of the SIE is θE / (2√(q x′² + y′²/q)); the shear adds no convergence', () => {
    for (const [x, y] of [[0.7, 0.2], [-0.4, 1.3], [0.1, -0.9]]) {
      const c = Math.cos(LENS.phi);
      const s = Math.sin(LENS.phi);
      const dx = x - LENS.x0;
      const dy = y - LENS.y0;
      const xp = c * dx + s * dy;
      const yp = -s * dx + c * dy;
      const want = LENS.thetaE / (2 * Math.sqrt(LENS.q * xp * xp + (yp * yp) / LENS.q));
      expect(lensingFields(LENS, x, y).kappa).toBeCloseTo(want, 7);
    }
    // SIS: κ = γ = θE/(2r), μ = 1/(1 − θE/r)
    const sis: LensParams = { thetaE: 1, q: 1, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 };
    const f = lensingFields(sis, 2, 0);
    expect(f.kappa).toBeCloseTo(0.25, 7);
    expect(f.gamma1).toBeCloseTo(-0.25, 7);
    expect(f.magnification).toBeCloseTo(2, 6);
    // external shear alone: γ as given
    const shear = lensingFields({ ...sis, thetaE: 1e-12, gamma1: 0.05, gamma2: -0.02 }, 1, 1);
    expect(shear.gamma1).toBeCloseTo(0.05, 7);
    expect(shear.gamma2).toBeCloseTo(-0.02, 7);
  });

  it('ray shooting follows the lens equation at pixel centres', () => {
    const grid = { shape: [6, 7] as [number, number], scale: 0.1 };
    const pix = [0, 5, 17, 41];
    const b = rayShoot(LENS, grid, pix);
    pix.forEach((k, t) => {
      const x = pixelCentre(k % 7, 7, 0.1);
      const y = pixelCentre(Math.floor(k / 7), 6, 0.1);
      const a = deflection(LENS, x, y);
      expect(b[2 * t]).toBeCloseTo(x - a[0], 14);
      expect(b[2 * t + 1]).toBeCloseTo(y - a[1], 14);
    });
  });

  it('the default source grid holds the rays of the annulus θE/2 … 3θE/2', () => {
    const image = { shape: [60, 60] as [number, number], scale: 0.05 };
    const g = defaultSourceGrid(LENS, image, { n: 40 });
    expect(g.shape).toEqual([40, 40]);
    const all = Array.from({ length: 3600 }, (_, k) => k);
    const b = rayShoot(LENS, image, all);
    let inside = 0;
    let ann = 0;
    for (let k = 0; k < 3600; k++) {
      const r = Math.hypot(pixelCentre(k % 60, 60, 0.05) - LENS.x0, pixelCentre(Math.floor(k / 60), 60, 0.05) - LENS.y0);
      if (r < 0.5 * LENS.thetaE || r > 1.5 * LENS.thetaE) continue;
      ann++;
      if (Math.abs(b[2 * k]) < 20 * g.scale && Math.abs(b[2 * k + 1]) < 20 * g.scale) inside++;
    }
    expect(inside).toBe(ann);
    // and not much wider than needed (the margin is 10 %)
    let maxB = 0;
    for (let k = 0; k < 3600; k++) {
      const r = Math.hypot(pixelCentre(k % 60, 60, 0.05) - LENS.x0, pixelCentre(Math.floor(k / 60), 60, 0.05) - LENS.y0);
      if (r >= 0.5 * LENS.thetaE && r <= 1.5 * LENS.thetaE) maxB = Math.max(maxB, Math.abs(b[2 * k]), Math.abs(b[2 * k + 1]));
    }
    expect(20 * g.scale).toBeCloseTo(1.1 * maxB, 10);
  });

  it('convolve is the zero-padded convolution of the psf stage (direct sum, even and odd kernels)', () => {
    const shape: [number, number] = [7, 9];
    const img = Float64Array.from({ length: 63 }, (_, k) => Math.sin(k * 0.37) + (k % 5));
    for (const ks of [[3, 3], [4, 5]] as [number, number][]) {
      const data = Float64Array.from({ length: ks[0] * ks[1] }, (_, k) => 1 + Math.cos(k));
      const psf = { data, shape: ks, center: [Math.floor(ks[0] / 2), Math.floor(ks[1] / 2)] as [number, number] };
      const got = convolve(img, shape, psf);
      for (let i = 0; i < 7; i++) {
        for (let j = 0; j < 9; j++) {
          let s = 0;
          for (let a = 0; a < ks[0]; a++) {
            for (let b = 0; b < ks[1]; b++) {
              const ii = i - (a - psf.center[0]);
              const jj = j - (b - psf.center[1]);
              if (ii >= 0 && ii < 7 && jj >= 0 && jj < 9) s += data[a * ks[1] + b] * img[ii * 9 + jj];
            }
          }
          expect(got[i * 9 + j]).toBeCloseTo(s, 12);
        }
      }
    }
  });

  it('the blurred, masked lensing matrix is rows of P·L: B s = (P (L s))[pixels]', () => {
    const image = { shape: [30, 32] as [number, number], scale: 0.08 };
    const source = { shape: [16, 14] as [number, number], scale: 0.06 };
    const psf = gaussianPsf(2.2);
    const pixels = Array.from({ length: 960 }, (_, k) => k).filter((k) => k % 3 !== 1);
    const B = blurredLensMatrix(LENS, image, source, 2, psf, pixels);
    const L = lensMatrix(LENS, { sourceShape: source.shape, sourcePixelScale: source.scale, imageShape: image.shape, imagePixelScale: image.scale, supersample: 2 });
    const s = Float64Array.from({ length: 224 }, (_, k) => Math.exp(-(((k % 14) - 7) ** 2) / 8 - (Math.floor(k / 14) - 8) ** 2 / 10));
    const want = convolve(csrMultiply(L, s), image.shape, psf);
    const got = csrMultiply(B, s);
    expect(B.nRows).toBe(pixels.length);
    let maxAbs = 0;
    pixels.forEach((p, r) => {
      maxAbs = Math.max(maxAbs, Math.abs(got[r] - want[p]));
    });
    expect(maxAbs).toBeLessThan(1e-12);
    expect(Math.max(...want)).toBeGreaterThan(0.1);
  });
});

describe('Sérsic light', () => {
  it('b(n) puts half the light inside rEff (numerical integral, n = 0.5 … 6)', () => {
    for (const n of [0.5, 1, 2.5, 4, 6]) {
      const b = sersicB(n);
      // ∫ exp(−b (r^{1/n} − 1)) r dr in u = r^{1/n}: n ∫ exp(−b(u − 1)) u^{2n−1} du
      const f = (u: number) => n * Math.exp(-b * (u - 1)) * u ** (2 * n - 1);
      const integ = (a: number, c: number, m: number) => {
        let s = 0;
        const h = (c - a) / m;
        for (let k = 0; k < m; k++) s += f(a + (k + 0.5) * h) * h;
        return s;
      };
      const inner = integ(0, 1, 20000);
      const total = inner + integ(1, 200 / b + 2, 200000);
      expect(inner / total).toBeCloseTo(0.5, 3);
    }
  });
  it('the profile is 1 at rEff on the intermediate axis and elliptical with q and φ', () => {
    const q = 0.6;
    const phi = 0.3;
    const [e1, e2] = ellipticityFromQPhi(q, phi);
    const f = sersicProfile({ x0: 0.1, y0: 0.2, e1, e2, rEff: 0.5, n: 2 });
    // along the major axis r = rEff/√q, along the minor axis r = rEff·√q give I = 1
    const a = 0.5 / Math.sqrt(q);
    const bq = 0.5 * Math.sqrt(q);
    expect(f(0.1 + a * Math.cos(phi), 0.2 + a * Math.sin(phi))).toBeCloseTo(1, 12);
    expect(f(0.1 - bq * Math.sin(phi), 0.2 + bq * Math.cos(phi))).toBeCloseTo(1, 12);
    const img = sersicImage({ x0: 0, y0: 0, e1, e2, rEff: 0.5, n: 2 }, { shape: [21, 21], scale: 0.1 });
    let peak = 0;
    for (let k = 0; k < img.length; k++) if (img[k] > img[peak]) peak = k;
    expect(peak).toBe(10 * 21 + 10);
  });
});

describe('src-shared/lensing is free of tfjs', () => {
  it('no module it loads at run time imports @tensorflow (type-only imports are erased)', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const path = await import('node:path');
    const dir = path.resolve(__dirname, '../../src-shared/lensing');
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
        const spec = m[1];
        expect(spec.startsWith('@tensorflow'), `${path.basename(file)} imports ${spec}`).toBe(false);
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    for (const f of readdirSync(dir)) if (f.endsWith('.ts')) visit(path.join(dir, f));
    expect(seen.size).toBeGreaterThan(5);
    // and the check can fail: lens.ts (the operator) does load tfjs
    const op = readFileSync(path.resolve(dir, '../operators/lens.ts'), 'utf8');
    expect(/^import \* as tf from '@tensorflow\/tfjs-core'/m.test(op)).toBe(true);
  });
});
