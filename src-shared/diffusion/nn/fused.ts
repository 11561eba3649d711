/**
 * GroupNorm (+ SiLU) as one kernel with a hand-written gradient, for the CPU backends (wasm, cpu).
 *
 * Why: on wasm every tfjs element-wise op is a separate pass over the activations at ~1 GB/s, and autodiff of
 * GroupNorm + SiLU costs ~30 such passes and keeps ~6 activation-sized tensors alive for the backward pass.
 * Measured on a 8×64×64×32 activation: 27 ms forward + 105 ms backward as tfjs ops, against a few ms here
 * (two passes forward, two backward, plain JavaScript loops over the backend's own memory), and only the input
 * and per-group statistics are kept. On other backends (webgpu, tensorflow) the composite ops are used.
 *
 * Forward, per sample n and group g (M = H·W·C/G elements): μ, r = 1/√(var + ε); u = γ (x − μ) r + β;
 * y = u·σ(u) (or y = u without SiLU). Backward: du = dy·σ(u)(1 + u(1 − σ(u))); dβ = Σ du; dγ = Σ du·x̂;
 * with ĝ = du·γ: dx = r (ĝ − mean_g ĝ − x̂ mean_g(ĝ x̂)).
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { groupNorm, silu } from './layers.js';

const FWD = 'SkyGroupNormAct';
const BWD = 'SkyGroupNormActGrad';
const BACKENDS = ['wasm', 'cpu'];

interface Attrs {
  groups: number;
  eps: number;
  silu: boolean;
}

/** Minimal view of the two CPU backends' storage. */
interface Store {
  read(t: tf.TensorInfo): Float32Array;
  alloc(shape: number[]): tf.TensorInfo;
}

function store(backend: unknown): Store {
  const b = backend as {
    typedArrayFromHeap?: (t: tf.TensorInfo) => Float32Array;
    makeOutput?: (shape: number[], dtype: 'float32') => tf.TensorInfo;
    data?: { get(id: unknown): { values: Float32Array } };
    makeTensorInfo?: (shape: number[], dtype: 'float32', values: Float32Array) => tf.TensorInfo;
  };
  if (b.typedArrayFromHeap && b.makeOutput) {
    const heap = b.typedArrayFromHeap.bind(b);
    const make = b.makeOutput.bind(b);
    return { read: (t) => heap(t), alloc: (shape) => make(shape, 'float32') };
  }
  if (b.data && b.makeTensorInfo) {
    const data = b.data;
    const make = b.makeTensorInfo.bind(b);
    return { read: (t) => data.get(t.dataId).values, alloc: (shape) => make(shape, 'float32', new Float32Array(shape.reduce((p, q) => p * q, 1))) };
  }
  throw new Error('GroupNorm kernel: unsupported backend storage');
}

// ---- a fast, accurate exp for the sigmoid -------------------------------------------------------------------
// e^t = 2^k e^r with k = round(t/ln2), |r| ≤ ln2/2, e^r by its Taylor polynomial to degree 7 (relative error
// < 3e-9, below float32 resolution), 2^k from a table. ~5× faster than Math.exp in V8.
const POW2 = new Float64Array(256);
for (let k = -127; k <= 128; k++) POW2[k + 127] = 2 ** k;
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.428606820309417e-6;
const ROUND = 6755399441055744; // 1.5·2^52: adding and subtracting rounds a double to an integer

function fastExp(t: number): number {
  if (t > 88) t = 88;
  else if (t < -87) t = -87;
  const k = t * Math.LOG2E + ROUND - ROUND;
  const r = t - k * LN2_HI - k * LN2_LO;
  const p = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))));
  return p * POW2[k + 127];
}

/** For tests: the fast exp against Math.exp. */
export const fastExpForTest = fastExp;

function groupOf(c: number, groups: number): Int32Array {
  const cg = c / groups;
  const g = new Int32Array(c);
  for (let i = 0; i < c; i++) g[i] = Math.floor(i / cg);
  return g;
}

// The hot loops below keep per-channel accumulators (no group indirection, no store-to-load chains), fold the
// affine maps into per-channel coefficients, and inline the exp (Horner to degree 7 after range reduction).

function forwardKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const { groups, eps, silu: act } = args.attrs as unknown as Attrs;
  const st = store(args.backend);
  const [n, h, w, c] = x.shape;
  const yInfo = st.alloc(x.shape);
  const sInfo = st.alloc([n, groups, 2]);
  // views after all allocations (an allocation may grow and move the wasm heap)
  const X = st.read(x);
  const Y = st.read(yInfo);
  const S = st.read(sInfo);
  const G = st.read(gamma);
  const B = st.read(beta);
  const gi = groupOf(c, groups);
  const p = h * w;
  const m = p * (c / groups);
  const c1 = new Float64Array(c);
  const c2 = new Float64Array(c);
  const s1 = new Float64Array(groups);
  const s2 = new Float64Array(groups);
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    const base = s * p * c;
    c1.fill(0);
    c2.fill(0);
    for (let q = 0; q < p; q++) {
      const o = base + q * c;
      for (let k = 0; k < c; k++) {
        const v = X[o + k];
        c1[k] += v;
        c2[k] += v * v;
      }
    }
    s1.fill(0);
    s2.fill(0);
    for (let k = 0; k < c; k++) {
      s1[gi[k]] += c1[k];
      s2[gi[k]] += c2[k];
    }
    for (let g = 0; g < groups; g++) {
      const mu = s1[g] / m;
      const variance = Math.max(s2[g] / m - mu * mu, 0);
      S[(s * groups + g) * 2] = mu;
      S[(s * groups + g) * 2 + 1] = 1 / Math.sqrt(variance + eps);
    }
    for (let k = 0; k < c; k++) {
      const g = gi[k];
      const r = S[(s * groups + g) * 2 + 1];
      a[k] = G[k] * r;
      b[k] = B[k] - S[(s * groups + g) * 2] * a[k];
    }
    if (act) {
      for (let q = 0; q < p; q++) {
        const o = base + q * c;
        for (let k = 0; k < c; k++) {
          const u = X[o + k] * a[k] + b[k];
          let t = -u;
          if (t > 88) t = 88;
          else if (t < -87) t = -87;
          const kk = t * Math.LOG2E + ROUND - ROUND;
          const r = t - kk * LN2_HI - kk * LN2_LO;
          const e = (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))))) * POW2[kk + 127];
          Y[o + k] = u / (1 + e);
        }
      }
    } else {
      for (let q = 0; q < p; q++) {
        const o = base + q * c;
        for (let k = 0; k < c; k++) Y[o + k] = X[o + k] * a[k] + b[k];
      }
    }
  }
  return [yInfo, sInfo];
}

function backwardKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { dy, x, gamma, beta, stats } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo; stats: tf.TensorInfo };
  const { groups, silu: act } = args.attrs as unknown as Attrs;
  const st = store(args.backend);
  const [n, h, w, c] = x.shape;
  const dxInfo = st.alloc(x.shape);
  const dgInfo = st.alloc([c]);
  const dbInfo = st.alloc([c]);
  const DY = st.read(dy);
  const X = st.read(x);
  const G = st.read(gamma);
  const B = st.read(beta);
  const S = st.read(stats);
  const DX = st.read(dxInfo);
  const DG = st.read(dgInfo);
  const DB = st.read(dbInfo);
  const gi = groupOf(c, groups);
  const p = h * w;
  const m = p * (c / groups);
  const dgam = new Float64Array(c);
  const dbet = new Float64Array(c);
  // per channel and sample: Σ du (→ dβ and mean ĝ), Σ du·x̂ (→ dγ and mean ĝx̂)
  const sdu = new Float64Array(c);
  const sdux = new Float64Array(c);
  const A = new Float64Array(groups);
  const Bs = new Float64Array(groups);
  const mu = new Float64Array(c);
  const rr = new Float64Array(c);
  const k0 = new Float64Array(c);
  const k1 = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    const base = s * p * c;
    for (let k = 0; k < c; k++) {
      mu[k] = S[(s * groups + gi[k]) * 2];
      rr[k] = S[(s * groups + gi[k]) * 2 + 1];
    }
    sdu.fill(0);
    sdux.fill(0);
    // pass 1: du (parked in DX) and its per-channel sums
    for (let q = 0; q < p; q++) {
      const o = base + q * c;
      for (let k = 0; k < c; k++) {
        const xh = (X[o + k] - mu[k]) * rr[k];
        let du = DY[o + k];
        if (act) {
          const u = G[k] * xh + B[k];
          let t = -u;
          if (t > 88) t = 88;
          else if (t < -87) t = -87;
          const kk = t * Math.LOG2E + ROUND - ROUND;
          const r = t - kk * LN2_HI - kk * LN2_LO;
          const e = (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)))))))) * POW2[kk + 127];
          const sg = 1 / (1 + e);
          du *= sg * (1 + u * (1 - sg));
        }
        DX[o + k] = du;
        sdu[k] += du;
        sdux[k] += du * xh;
      }
    }
    // ĝ = du·γ: mean_g ĝ = Σ_k γ_k Σdu_k / M, mean_g ĝx̂ = Σ_k γ_k Σdu x̂_k / M
    A.fill(0);
    Bs.fill(0);
    for (let k = 0; k < c; k++) {
      dbet[k] += sdu[k];
      dgam[k] += sdux[k];
      A[gi[k]] += G[k] * sdu[k];
      Bs[gi[k]] += G[k] * sdux[k];
    }
    // pass 2: dx = r (γ du − A − x̂ B) = (rγ) du + x·(−r² B) + (r² μ B − r A)
    for (let k = 0; k < c; k++) {
      const g = gi[k];
      const a = A[g] / m;
      const b2 = Bs[g] / m;
      const r = rr[k];
      k0[k] = r * r * mu[k] * b2 - r * a;
      k1[k] = -r * r * b2;
      mu[k] = r * G[k]; // reused: the coefficient of du
    }
    for (let q = 0; q < p; q++) {
      const o = base + q * c;
      for (let k = 0; k < c; k++) DX[o + k] = mu[k] * DX[o + k] + X[o + k] * k1[k] + k0[k];
    }
  }
  for (let k = 0; k < c; k++) {
    DG[k] = dgam[k];
    DB[k] = dbet[k];
  }
  return [dxInfo, dgInfo, dbInfo];
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const be of BACKENDS) {
    if (!tf.getKernel(FWD, be)) tf.registerKernel({ kernelName: FWD, backendName: be, kernelFunc: forwardKernel as unknown as tf.KernelFunc });
    if (!tf.getKernel(BWD, be)) tf.registerKernel({ kernelName: BWD, backendName: be, kernelFunc: backwardKernel as unknown as tf.KernelFunc });
  }
  if (!tf.getGradient(FWD)) {
    tf.registerGradient({
      kernelName: FWD,
      inputsToSave: ['x', 'gamma', 'beta'],
      outputsToSave: [false, true],
      gradFunc: (dy, saved, attrs) => {
        const [x, gamma, beta, stats] = saved;
        const d = Array.isArray(dy) ? dy[0] : dy;
        // one kernel gives all three; run it here (in the backward scope), not inside one input's closure,
        // whose own scope would dispose the other two
        const [dx, dg, db] = tf.engine().runKernel(BWD, { dy: d, x, gamma, beta, stats }, attrs) as tf.Tensor[];
        return { x: () => dx, gamma: () => dg, beta: () => db };
      },
    } as tf.GradConfig);
  }
}

register();

let enabled = true;

/** Turns the fused kernel off (tests compare it with the composite ops). */
export function setFusedGroupNorm(on: boolean): void {
  enabled = on;
}

/** Whether the current backend runs the fused kernel. */
export function fusedGroupNormActive(): boolean {
  return enabled && BACKENDS.includes(tf.getBackend());
}

/** GroupNorm over (H, W, C/G) per sample and group, per-channel affine, then SiLU if `act`. NHWC. */
export function groupNormAct(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, act: boolean, eps = 1e-6): tf.Tensor4D {
  const c = x.shape[3];
  if (c % groups !== 0) throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
  if (!fusedGroupNormActive()) return tf.tidy(() => (act ? silu(groupNorm(x, gamma, beta, groups, eps)) : groupNorm(x, gamma, beta, groups, eps)));
  const attrs: Attrs = { groups, eps, silu: act };
  const [y, stats] = tf.engine().runKernel(FWD, { x, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  stats.dispose();
  return y as tf.Tensor4D;
}
