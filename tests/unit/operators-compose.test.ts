import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { PsfOperator, gaussianPsf } from '../../src-shared/operators/psf.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { UvSamplingOperator, gridUv } from '../../src-shared/operators/uv.js';
import { ChainOperator, compose } from '../../src-shared/operators/compose.js';
import { SparseTensorMatrix, csrFromTriplets, csrMultiply, transposeCsr } from '../../src-shared/operators/sparse.js';
import { dotTest, randn, relErr, rng, run } from './operators-ref.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function mask(ny: number, nx: number, seed: number): Float32Array {
  return Float32Array.from(randn(ny * nx, seed), (v) => (v > -0.5 ? 1 : 0));
}

/** Random symmetric uv weights on an [ny, nx] grid (W(k) = W(−k) ≥ 0). */
function symWeights(ny: number, nx: number, seed: number): Float64Array {
  const r = rng(seed);
  const u = new Float64Array(400);
  const v = new Float64Array(400);
  for (let i = 0; i < 200; i++) {
    u[2 * i] = (r.uniform() - 0.5) * nx * 0.9;
    v[2 * i] = (r.uniform() - 0.5) * ny * 0.9;
    u[2 * i + 1] = -u[2 * i];
    v[2 * i + 1] = -v[2 * i];
  }
  // pixel scale such that u·N·Δ = u (Δ = 1/N rad … expressed in arcsec)
  return gridUv(u, v, [ny, nx], 1 / (nx * (Math.PI / 180 / 3600))).weights;
}

describe('MaskOperator', () => {
  it('zeros missing pixels, is its own adjoint, and A Aᵀ = diag(m) exactly', () => {
    const m = mask(9, 11, 1);
    const op = new MaskOperator([9, 11], m);
    const x = randn(99, 2);
    const y = run(op, x);
    for (let i = 0; i < 99; i++) expect(y[i] === (m[i] ? Math.fround(x[i]) : 0)).toBe(true);
    expect(dotTest(op, 3)).toBeLessThan(1e-6);
    const g = op.gram();
    expect(g.kind === 'pixel-diagonal' && g.exact && Array.from(g.diag)).toEqual(Array.from(m));
    expect(() => new MaskOperator([2, 2], [1, 0, 0.5, 1])).toThrow(/0 or 1/);
    op.dispose();
  });
});

describe('compositions', () => {
  it('lens → psf → mask and uv → mask pass the dot test at float32 precision, on batches', () => {
    const lens = new LensOperator(
      { thetaE: 0.5, q: 0.8, phi: 1, x0: 0.02, y0: 0, gamma1: 0.01, gamma2: 0.03 },
      { sourceShape: [20, 22], sourcePixelScale: 0.04, imageShape: [30, 28], imagePixelScale: 0.045, supersample: 2 },
    );
    const chain = compose(lens, new PsfOperator([30, 28], gaussianPsf(3)), new MaskOperator([30, 28], mask(30, 28, 5)));
    expect(chain.name).toBe('lens→psf→mask');
    expect(dotTest(chain, 11, 4)).toBeLessThan(1e-5);
    // apply = stage by stage
    const x = randn(440, 12);
    let t = run(chain.stages[0], x);
    t = run(chain.stages[1], t);
    t = run(chain.stages[2], t);
    expect(relErr(run(chain, x), t)).toBeLessThan(1e-6);
    chain.dispose();
    const uvm = compose(new UvSamplingOperator([24, 30], symWeights(24, 30, 3)), new MaskOperator([24, 30], mask(24, 30, 6)));
    expect(dotTest(uvm, 13, 3)).toBeLessThan(1e-5);
    uvm.dispose();
  });

  it('a shape mismatch between stages is refused', () => {
    const a = new PsfOperator([10, 10], gaussianPsf(2));
    const b = new MaskOperator([10, 12], mask(10, 12, 1));
    expect(() => new ChainOperator([a, b])).toThrow(/stage 1 \(mask\) expects \[10, 12\] but stage 0 \(psf\) gives \[10, 10\]/);
    a.dispose();
    b.dispose();
  });

  it('gram(): masks combine exactly in pixels, uv samplings exactly in Fourier modes, psf approximately, mixtures give none', () => {
    const m1 = mask(8, 10, 1);
    const m2 = mask(8, 10, 2);
    const mm = compose(new MaskOperator([8, 10], m1), new MaskOperator([8, 10], m2));
    const g = mm.gram();
    expect(g.kind).toBe('pixel-diagonal');
    if (g.kind === 'pixel-diagonal') expect(Array.from(g.diag)).toEqual(Array.from(m1, (v, i) => v * m2[i]));
    mm.dispose();

    const w1 = symWeights(8, 10, 1);
    const w2 = symWeights(8, 10, 2);
    const uu = compose(new UvSamplingOperator([8, 10], w1), new UvSamplingOperator([8, 10], w2));
    const gu = uu.gram();
    expect(gu.kind === 'fourier-diagonal' && gu.exact).toBe(true);
    if (gu.kind === 'fourier-diagonal') {
      // check against A Aᵀ applied to a random vector
      const x = randn(80, 4);
      const aat = run(uu, run(uu, x, true));
      const filt = new UvSamplingOperator([8, 10], Float64Array.from(gu.diag));
      expect(relErr(aat, run(filt, x))).toBeLessThan(1e-5);
      filt.dispose();
    }
    uu.dispose();

    const pu = compose(new PsfOperator([8, 10], gaussianPsf(2)), new UvSamplingOperator([8, 10], w1));
    const gp = pu.gram();
    expect(gp.kind === 'fourier-diagonal' && gp.exact === false).toBe(true);
    pu.dispose();

    const pm = compose(new PsfOperator([8, 10], gaussianPsf(2)), new MaskOperator([8, 10], m1));
    expect(pm.gram().kind).toBe('none');
    // diag(M P Pᵀ M) = m² ⊙ diag(P Pᵀ), exactly
    const d = pm.gramDiagonal()!;
    for (const i of [0, 17, 45, 79]) {
      const e = new Float32Array(80);
      e[i] = 1;
      const col = run(pm, e, true);
      expect(d[i]).toBeCloseTo(col.reduce((s, v) => s + v * v, 0), 6);
    }

    // a lens before the PSF and the mask: no exact diagonal, but the rows the mask removes are known to be zero
    const lpm = compose(
      new LensOperator({ thetaE: 0.3, q: 0.8, phi: 0.4, x0: 0, y0: 0, gamma1: 0, gamma2: 0 }, { sourceShape: [6, 6], sourcePixelScale: 0.12, imageShape: [8, 10], imagePixelScale: 0.1, supersample: 2 }),
      new PsfOperator([8, 10], gaussianPsf(1.5)),
      new MaskOperator([8, 10], m1),
    );
    expect(lpm.gramDiagonal()).toBeUndefined();
    const support = lpm.outputSupport()!;
    expect(support).toBeDefined();
    let zeroRows = 0;
    for (let i = 0; i < 80; i++) {
      const e = new Float32Array(80);
      e[i] = 1;
      const rowNorm = run(lpm, e, true).reduce((s, v) => s + v * v, 0);
      // every row the support calls unreached is zero; here every other row is reached (the lens covers the image)
      expect(support[i], `pixel ${i}`).toBe(rowNorm > 0 ? 1 : 0);
      expect(support[i]).toBe(m1[i]);
      if (!support[i]) zeroRows++;
    }
    expect(zeroRows).toBeGreaterThan(5);
    // where the exact diagonal is known the support is its non-zero pattern
    expect(Array.from(pm.outputSupport()!)).toEqual(Array.from(d, (v) => (v !== 0 ? 1 : 0)));
    // a chain that ends in a PSF knows nothing of an earlier mask's zeros (blurred into its neighbours)
    const lp = compose(new LensOperator({ thetaE: 0.3, q: 0.8, phi: 0.4, x0: 0, y0: 0, gamma1: 0, gamma2: 0 }, { sourceShape: [6, 6], sourcePixelScale: 0.12, imageShape: [8, 10], imagePixelScale: 0.1, supersample: 2 }), new PsfOperator([8, 10], gaussianPsf(1.5)));
    expect(lp.outputSupport()).toBeUndefined();
    lp.dispose();
    lpm.dispose();
    pm.dispose();

    const single = compose(new MaskOperator([8, 10], m1));
    expect(single.gram().kind).toBe('pixel-diagonal');
    single.dispose();
  });

  it('operators hold their tensor count constant, release them on dispose, and autodiff through a chain uses Aᵀ', () => {
    const start = tf.memory().numTensors;
    const chain = compose(new PsfOperator([12, 12], gaussianPsf(2), { method: 'fourier' }), new MaskOperator([12, 12], mask(12, 12, 3)));
    const held = tf.memory().numTensors;
    const x = tf.tensor3d(randn(2 * 144, 1), [2, 12, 12]);
    const y = tf.tensor3d(randn(2 * 144, 2), [2, 12, 12]);
    for (let k = 0; k < 3; k++) tf.tidy(() => void chain.adjoint(chain.apply(x)));
    expect(tf.memory().numTensors).toBe(held + 2);
    const grad = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(chain.apply(t), y)))(x));
    const aty = tf.tidy(() => chain.adjoint(y));
    expect(relErr(grad.dataSync(), aty.dataSync())).toBeLessThan(1e-6);
    tf.dispose([x, y, grad, aty]);
    expect(tf.memory().numTensors).toBe(held);
    chain.dispose();
    expect(tf.memory().numTensors).toBe(start);
    expect(() => chain.apply(tf.zeros([1, 12, 12]))).toThrow(/after dispose/);
  });

  it('wrong input shapes are refused with the expected shape; unbatched [ny, nx] inputs work', () => {
    const op = new MaskOperator([4, 5], mask(4, 5, 1));
    expect(() => tf.tidy(() => op.apply(tf.zeros([1, 5, 4])))).toThrow(/mask: apply expects \[B, 4, 5\], got \[1, 5, 4\]/);
    const y = tf.tidy(() => op.apply(tf.ones([4, 5])));
    expect(y.shape).toEqual([4, 5]);
    y.dispose();
    op.dispose();
  });
});

describe('sparse products', () => {
  it('CSR building merges duplicates; both tensor strategies agree with the float64 product, with empty rows', () => {
    const r = rng(5);
    const n = 300;
    const rows = Int32Array.from({ length: n }, () => Math.floor(r.uniform() * 40) + 5); // rows 0..4 and 45..49 empty
    const cols = Int32Array.from({ length: n }, () => Math.floor(r.uniform() * 30));
    const vals = Float64Array.from({ length: n }, () => r.normal());
    const a = csrFromTriplets(50, 30, rows, cols, vals);
    const dense = new Float64Array(50 * 30);
    for (let k = 0; k < n; k++) dense[rows[k] * 30 + cols[k]] += vals[k];
    const x = randn(30 * 3, 7);
    for (const strategy of ['segment', 'ell'] as const) {
      const m = new SparseTensorMatrix(a, strategy);
      const t = new SparseTensorMatrix(transposeCsr(a), strategy);
      const out = tf.tidy(() => m.multiply(tf.tensor2d(x, [30, 3])).dataSync().slice());
      expect(out.length).toBe(150);
      for (let i = 0; i < 50; i++)
        for (let b = 0; b < 3; b++) {
          let s = 0;
          for (let j = 0; j < 30; j++) s += dense[i * 30 + j] * x[j * 3 + b];
          expect(out[i * 3 + b]).toBeCloseTo(s, 4);
        }
      const y = randn(50, 8);
      const back = tf.tidy(() => t.multiply(tf.tensor2d(y, [50, 1])).dataSync().slice());
      const want = new Float64Array(30);
      for (let i = 0; i < 50; i++) for (let j = 0; j < 30; j++) want[j] += dense[i * 30 + j] * y[i];
      expect(relErr(back, want)).toBeLessThan(1e-6);
      m.dispose();
      t.dispose();
    }
    expect(relErr(csrMultiply(a, x.filter((_, i) => i % 3 === 0)), Array.from({ length: 50 }, (_, i) => dense.slice(i * 30, i * 30 + 30).reduce((s, v, j) => s + v * x[j * 3], 0)))).toBeLessThan(1e-12);
  });
});
