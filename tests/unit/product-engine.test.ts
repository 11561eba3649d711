/**
 * The likelihood's dense products on ONNX Runtime's CPU kernels (src-shared/linalg/product-engine.ts, the host
 * src-main/onnx/products.ts): a FourierFilter's apply and adjoint as one graph against the tfjs stages (real and
 * complex transfer functions, non-square and padded shapes, batches of 1 and 8), the adjoint identity through the
 * graphs, the normal matrix's product u·G against normalProduct, a posterior run with the engine registered against
 * the same run on tfjs, and constant tensor counts; a graph the engine cannot build leaves the filter on tfjs.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { OrtProductEngine, useOrtProducts } from '../../src-main/onnx/products.js';
import { productEngine, setProductEngine, type ProductEngine } from '../../src-shared/linalg/product-engine.js';
import { FourierFilter, type FourierFilterSpec } from '../../src-shared/operators/fourier.js';
import { halfSpectrumSize } from '../../src-shared/operators/dft-matrices.js';
import { ConjugateGradientSolver, NormalMatrixProducts, formNormalMatrix, normalProduct, type FormedNormalMatrix } from '../../src-shared/diffusion/likelihood/conjugate-gradients.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { PsfOperator, psfFromImage } from '../../src-shared/operators/psf.js';
import { MaskOperator } from '../../src-shared/operators/mask.js';
import { compose } from '../../src-shared/operators/compose.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { GaussianFieldPrior, powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { ellipticalKernel } from '../helpers/psf-kernels.js';
import { randn, randomSymmetric } from './operators-ref.js';

let ort: OrtProductEngine;

beforeAll(async () => {
  await initBackend('wasm');
  ort = new OrtProductEngine(1);
});

afterEach(() => setProductEngine(null));

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

function spec(inShape: [number, number], outShape: [number, number], padShape: [number, number], complex: boolean, seed: number): FourierFilterSpec {
  const kh = halfSpectrumSize(padShape[1]);
  const n = padShape[0] * kh;
  return {
    inShape,
    outShape,
    padShape,
    hRe: Float64Array.from(randn(n, seed)),
    ...(complex ? { hIm: Float64Array.from(randn(n, seed + 1)) } : {}),
  };
}

/** apply and adjoint of `f` on x [b, in] and y [b, out], as plain arrays, on whatever engine is registered. */
function run(f: FourierFilter, x: Float32Array, y: Float32Array, b: number): { ax: Float32Array; aty: Float32Array } {
  const [ny, nx] = f.spec.inShape;
  const [my, mx] = f.spec.outShape;
  const xt = tf.tensor3d(x, [b, ny, nx]);
  const yt = tf.tensor3d(y, [b, my, mx]);
  const before = tf.memory().numTensors;
  const ax = f.apply(xt);
  const aty = f.adjoint(yt);
  // one tensor each, as on tfjs
  expect(tf.memory().numTensors).toBe(before + 2);
  const out = { ax: Float32Array.from(ax.dataSync()), aty: Float32Array.from(aty.dataSync()) };
  tf.dispose([xt, yt, ax, aty]);
  return out;
}

describe('registration after the score engine', () => {
  it('ONNX Runtime on the CPU provider only, unless SKYSCORE_ONNX_PRODUCTS=0', () => {
    expect(useOrtProducts({ engine: 'onnx', provider: 'cpu', threads: 1 }, {})).toMatch(/^ONNX Runtime \S+ on the CPU \(MLAS\)$/);
    expect((productEngine() as OrtProductEngine).threads).toBe(1);
    expect(useOrtProducts({ engine: 'onnx', provider: 'cpu', threads: 2 }, {})).toMatch(/^ONNX Runtime/);
    expect((productEngine() as OrtProductEngine).threads).toBe(2);
    expect(useOrtProducts({ engine: 'onnx', provider: 'cpu', threads: 1 }, { SKYSCORE_ONNX_PRODUCTS: '0' })).toBe('tfjs (SKYSCORE_ONNX_PRODUCTS=0)');
    expect(productEngine()).toBeNull();
    useOrtProducts({ engine: 'onnx', provider: 'cpu', threads: 1 }, {});
    expect(useOrtProducts({ engine: 'onnx', provider: 'cuda', threads: null }, {})).toMatch(/^tfjs/);
    expect(productEngine()).toBeNull();
    useOrtProducts({ engine: 'onnx', provider: 'cpu', threads: 1 }, {});
    expect(useOrtProducts({ engine: 'tfjs' }, {})).toMatch(/^tfjs/);
    expect(productEngine()).toBeNull();
  });

  it('a runtime that cannot build the graphs leaves the products on tfjs, with the reason', () => {
    const compile = OrtProductEngine.prototype.compile;
    OrtProductEngine.prototype.compile = () => {
      throw new Error('ONNX Runtime could not load the model on cpu: (test) the model did not load synchronously');
    };
    try {
      expect(useOrtProducts({ engine: 'onnx', provider: 'cpu', threads: 1 }, {})).toBe('tfjs (ONNX Runtime could not load the model on cpu: (test) the model did not load synchronously)');
      expect(productEngine()).toBeNull();
    } finally {
      OrtProductEngine.prototype.compile = compile;
    }
  });
});

describe('a FourierFilter on the product engine', () => {
  const cases: { name: string; s: FourierFilterSpec }[] = [
    { name: 'real H, square, padded', s: spec([12, 12], [12, 12], [23, 23], false, 1) },
    { name: 'complex H, square, padded', s: spec([12, 12], [12, 12], [23, 23], true, 3) },
    { name: 'complex H, non-square in, out and pad', s: spec([9, 14], [11, 7], [16, 21], true, 5) },
    { name: 'real H, not padded (periodic, the uv operator)', s: spec([10, 16], [10, 16], [10, 16], false, 7) },
  ];
  for (const c of cases) {
    for (const b of [1, 8]) {
      it(`${c.name}, batch ${b}: apply and adjoint equal the tfjs stages to float32 rounding, and the adjoint identity holds`, () => {
        const f = new FourierFilter(c.s);
        const [ny, nx] = c.s.inShape;
        const [my, mx] = c.s.outShape;
        const x = Float32Array.from(randn(b * ny * nx, 11 + b));
        const y = Float32Array.from(randn(b * my * mx, 13 + b));
        const ref = run(f, x, y, b);
        setProductEngine(ort);
        const got = run(f, x, y, b);
        // float32 sums in another order: relative to the output's scale
        expect(maxDiff(got.ax, ref.ax)).toBeLessThan(2e-6 * maxAbs(ref.ax));
        expect(maxDiff(got.aty, ref.aty)).toBeLessThan(2e-6 * maxAbs(ref.aty));
        // not the tfjs result itself (the graph ran): some rounding differs
        expect(maxDiff(got.ax, ref.ax) + maxDiff(got.aty, ref.aty)).toBeGreaterThan(0);
        // <A x, y> = <x, Aᵀ y> through the graphs
        const lhs = dot(got.ax, y);
        const rhs = dot(x, got.aty);
        expect(Math.abs(lhs - rhs)).toBeLessThan(1e-5 * Math.sqrt(dot(got.ax, got.ax) * dot(y, y)));
        // the graphs are built once: a second product reuses them and the tensor count stays flat
        const again = run(f, x, y, b);
        expect(maxDiff(again.ax, got.ax)).toBe(0);
        f.dispose();
      });
    }
  }

  it('a graph the engine cannot build leaves the filter on tfjs, with the tfjs result', () => {
    const f = new FourierFilter(spec([8, 8], [8, 8], [15, 15], true, 21));
    const x = Float32Array.from(randn(2 * 64, 22));
    const y = Float32Array.from(randn(2 * 64, 23));
    const ref = run(f, x, y, 2);
    let tries = 0;
    const broken: ProductEngine = {
      name: 'broken',
      compile: () => {
        tries++;
        throw new Error('cannot');
      },
    };
    setProductEngine(broken);
    const got = run(f, x, y, 2);
    expect(maxDiff(got.ax, ref.ax)).toBe(0);
    expect(maxDiff(got.aty, ref.aty)).toBe(0);
    run(f, x, y, 2);
    expect(tries).toBe(1);
    f.dispose();
  });
});

describe('the normal matrix product on the product engine', () => {
  it('u·G equals normalProduct (tfjs) for 1, 8 and 16 chains, with no tfjs copy of G', () => {
    const n = 300;
    const G = randomSymmetric(n, 31);
    const Gt = tf.tensor2d(G, [n, n]);
    setProductEngine(ort);
    const before = tf.memory().numTensors;
    const P = NormalMatrixProducts.of(G, n);
    expect(P.onEngine).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    for (const b of [1, 8, 16]) {
      const u = tf.tensor2d(Float32Array.from(randn(b * n, 32 + b)), [b, n]);
      const n0 = tf.memory().numTensors;
      const got = P.product(u);
      expect(tf.memory().numTensors).toBe(n0 + 1);
      const ref = normalProduct(Gt, u);
      expect(got.shape).toEqual([b, n]);
      expect(maxDiff(got.dataSync(), ref.dataSync())).toBeLessThan(2e-6 * maxAbs(ref.dataSync()));
      tf.dispose([u, got, ref]);
    }
    P.dispose();
    // unregistered: a tfjs tensor
    setProductEngine(null);
    const T = NormalMatrixProducts.of(G, n);
    expect(T.onEngine).toBe(false);
    expect(tf.memory().numTensors).toBe(before + 1);
    T.dispose();
    Gt.dispose();
    expect(productEngine()).toBeNull();
  });
});

const SRC: [number, number] = [16, 16];
const IMG: [number, number] = [30, 32];

/** lens → Fourier PSF → mask, with its normal matrix formed at the first products (both engine paths). */
function problem(normalMatrix: { minBatch: number; after?: number; formed?: FormedNormalMatrix } = { minBatch: 2, after: 20 }) {
  const lens = new LensOperator(
    { thetaE: 0.4, q: 0.8, phi: 0.3, x0: 0.02, y0: -0.01, gamma1: 0.01, gamma2: 0 },
    { sourceShape: SRC, sourcePixelScale: 0.04, imageShape: IMG, imagePixelScale: 0.05, supersample: 1 },
  );
  const mask = Float32Array.from({ length: IMG[0] * IMG[1] }, (_, i) => (i % 13 === 5 ? 0 : 1));
  const op = compose(lens, new PsfOperator(IMG, psfFromImage(ellipticalKernel(9, 1.8, 0.9, 0.5), [9, 9]), { method: 'fourier' }), new MaskOperator(IMG, mask));
  const data = Float32Array.from(randn(IMG[0] * IMG[1], 41), (v) => 0.05 + 0.02 * v);
  const lik = new ConvolvedLikelihood({ operator: op, data, dataShape: IMG, noise: { kind: 'scalar', sigma: 0.02 }, cgTol: 1e-6, cgMaxIter: 400, normalMatrix });
  return { op, lik };
}

describe('G formed on the product engine', () => {
  it('its Lanczos pairs through the engine are the tfjs ones to float32 rounding, and its graph is built once for the solver', () => {
    const n = 256;
    const z = randn(n * n, 51);
    // G = B Bᵀ / n + I: symmetric positive definite, a spread spectrum
    const G = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let v = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) v += (z[i * n + k] * z[j * n + k]) / n;
        G[i * n + j] = G[j * n + i] = v;
      }
    }
    const ref = formNormalMatrix(() => G, n, 10)!;
    let compiles = 0;
    const counting: ProductEngine = {
      name: ort.name,
      compile: (m) => {
        compiles++;
        return ort.compile(m);
      },
    };
    setProductEngine(counting);
    const before = tf.memory().numTensors;
    const got = formNormalMatrix(() => G, n, 10)!;
    expect(tf.memory().numTensors).toBe(before);
    expect(compiles).toBe(1);
    for (let i = 0; i < 10; i++) expect(Math.abs(got.pairs!.values[i] - ref.pairs!.values[i])).toBeLessThan(1e-4 * ref.pairs!.values[0]);
    // the solver that adopts this G takes the graph over: no second build
    const { op, lik } = problem({ minBatch: 1, formed: got });
    const solver = (lik as unknown as { solver: ConjugateGradientSolver }).solver;
    expect(solver.normalOnEngine).toBe(true);
    expect(compiles).toBe(1);
    lik.dispose();
    op.dispose();
  });
});

describe('a posterior run with the dense products on ONNX Runtime', () => {
  it('gives the tfjs run’s samples to 10⁻³ of their scale (solves to 10⁻⁶), G formed and used, the tensor count flat', async () => {
    const prior = new GaussianFieldPrior(powerLawSpectrum(SRC[0], SRC[1], 10, 3, 2), SRC);
    const sample = async (engine: ProductEngine | null) => {
      setProductEngine(engine);
      const { op, lik } = problem();
      const counts: number[] = [];
      const res = await runSampling(
        { prior, sde: prior.defaultSde(), shape: SRC, likelihood: lik },
        { sampler: 'pc', steps: 40, n: 4, seed: 3, onStep: (i) => counts.push(i.numTensors), onProgress: () => {}, progressIntervalMs: 0 },
      );
      const solver = (lik as unknown as { solver: ConjugateGradientSolver }).solver;
      const formed = solver.normalFormed && solver.normalOnEngine === (engine !== null);
      const stats = { ...lik.cgStats };
      lik.dispose();
      op.dispose();
      return { samples: res.samples, counts, formed, stats };
    };
    const before = tf.memory().numTensors;
    const ref = await sample(null);
    const got = await sample(ort);
    expect(tf.memory().numTensors).toBe(before);
    expect(got.formed).toBe(true);
    // constant over the run once G is in use (its formation adds no tensor on the engine)
    expect(new Set(got.counts.slice(-20)).size).toBe(1);
    const scale = maxAbs(ref.samples);
    const d = maxDiff(got.samples, ref.samples);
    // float32 rounding in other orders, carried through 40 steps of a stochastic sampler (2.3·10⁻⁴ measured)
    expect(d).toBeLessThan(1e-3 * scale);
    expect(d).toBeGreaterThan(0);
  });
});
