/**
 * 2-D convolution (NHWC, stride 1, 'same' zero padding, odd square kernel) with a gradient made of forward ops.
 *
 * The wasm backend has no Conv2DBackpropFilter kernel, and its Conv2DBackpropInput is a slow reference loop,
 * so training there needs gradients expressed with the fast XNNPACK forward convolution:
 *  - dX = conv2d(dY, W̃) with W̃[a,b,o,c] = W[k−1−a, k−1−b, c, o] (kernel flipped, in/out swapped);
 *  - dW = conv2d(Xpadᵀ, dYᵀ, 'valid') with the roles of batch and channels swapped:
 *    input I[c,u,v,n] = Xpad[n,u,v,c], filter F[i,j,n,o] = dY[n,i,j,o], output [c,a,b,o] → W's layout [a,b,c,o];
 *  - db = Σ dY over batch and pixels.
 * Measured on wasm (16×64×64×32→32, 3×3): forward 16 GFLOP/s, dX 16 GFLOP/s, dW 9 GFLOP/s, against 1.5 GFLOP/s for
 * Conv2DBackpropInput and im2col-with-transposed-matMul formulations (XNNPACK only has a fast untransposed GEMM).
 *
 * On webgpu, tfjs's Conv2DBackpropFilter is the bottleneck of training: measured on an H200 through Dawn (U-Net
 * nf 16, batch 64), it took 1.36 s of a 1.50 s gradient step, growing linearly with the batch, while every other
 * kernel together took ~0.1 s (its output, the k×k×C×O filter, is too small to occupy a GPU when the reduction runs
 * over all batch pixels). There 'auto' computes dW as a batched matrix product of image patches instead
 * (convFilterGradMatMul: one product per image, then a sum), and dX with the forward convolution.
 * On the other backends with native gradients (cpu, tensorflow) 'auto' uses tfjs's own ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';

export type ConvGradMode = 'auto' | 'forward-ops' | 'matmul' | 'native';

let mode: ConvGradMode = 'auto';

/** Chooses how conv2d computes gradients ('auto': forward ops where the backend lacks Conv2DBackpropFilter). */
export function setConvGradMode(m: ConvGradMode): void {
  mode = m;
}

/** The gradient formulation conv2d uses now: 'auto' resolved for the current backend. */
export function convGradPath(): Exclude<ConvGradMode, 'auto'> {
  if (mode !== 'auto') return mode;
  const be = tf.getBackend();
  if (be === 'webgpu') return 'matmul';
  return tf.getKernel('Conv2DBackpropFilter', be) === undefined || tf.getKernel('Conv2DBackpropInput', be) === undefined || be === 'wasm' ? 'forward-ops' : 'native';
}

/** Whether the current backend will use a gradient made of forward ops (forward-op or matmul path). */
export function usesForwardOpGrad(): boolean {
  return convGradPath() !== 'native';
}

function checkShapes(x: tf.Tensor4D, w: tf.Tensor4D): number {
  const k = w.shape[0];
  if (w.shape[1] !== k || k % 2 !== 1) throw new Error(`conv2d: kernel must be square and odd, got ${w.shape[0]}×${w.shape[1]}`);
  if (x.shape[3] !== w.shape[2]) throw new Error(`conv2d: input has ${x.shape[3]} channels, kernel expects ${w.shape[2]}`);
  return k;
}

/** The filter gradient dW[a,b,c,o] = Σ_{n,i,j} Xpad[n,i+a,j+b,c] dY[n,i,j,o], with forward ops only. */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  return tf.tidy(() => {
    const p = (k - 1) / 2;
    const xp = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    const input = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [C, H+2p, W+2p, N]
    const filter = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, N, O]
    const out = tf.conv2d(input, filter, 1, 'valid'); // [C, k, k, O]
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * The same filter gradient as a batched matrix product: patches P[n] of shape [H·W, k·k·C] (the k² shifted views of
 * the padded input side by side, (a, b) major and c minor: W's own layout), dW = Σ_n P[n]ᵀ dY[n] reshaped to
 * [k, k, C, O]. One product per image keeps enough work items busy on a GPU; memory: k² copies of the input.
 */
export function convFilterGradMatMul(x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const o = dy.shape[3];
    const p = (k - 1) / 2;
    const xp = p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
    const views: tf.Tensor4D[] = [];
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) views.push(p > 0 ? tf.slice(xp, [0, a, b, 0], [n, h, w, c]) : xp);
    const patches = tf.reshape(views.length > 1 ? tf.concat(views, 3) : views[0], [n, h * w, k * k * c]) as tf.Tensor3D;
    const per = tf.matMul(patches, tf.reshape(dy, [n, h * w, o]) as tf.Tensor3D, true, false); // [n, k·k·C, O]
    return tf.reshape(tf.sum(per, 0), [k, k, c, o]) as tf.Tensor4D;
  });
}

/** The input gradient dX = conv2d(dY, flipped and transposed W), forward ops only. */
export function convInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const k = w.shape[0];
    const wf = k > 1 ? tf.reverse(w, [0, 1]) : w;
    const wt = tf.transpose(wf, [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(dy, wt, 1, 'same');
  });
}

type GradArgs = Array<tf.Tensor | tf.GradSaveFunc>;

const filterGrad = (x: tf.Tensor4D, dy: tf.Tensor4D, k: number): tf.Tensor4D => (convGradPath() === 'matmul' ? convFilterGradMatMul(x, dy, k) : convFilterGrad(x, dy, k));

const convBiasFwdOps = tf.customGrad((...args: GradArgs) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor1D, tf.GradSaveFunc];
  const x4 = x as tf.Tensor4D;
  const w4 = w as tf.Tensor4D;
  const k = checkShapes(x4, w4);
  save([x4, w4]);
  const value = tf.fused.conv2d({ x: x4, filter: w4, bias: b, strides: 1, pad: 'same' });
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor4D[];
      const dy4 = dy as tf.Tensor4D;
      return [convInputGrad(dy4, ws), filterGrad(xs, dy4, k), tf.sum(dy4, [0, 1, 2])];
    },
  };
});

const convFwdOps = tf.customGrad((...args: GradArgs) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const x4 = x as tf.Tensor4D;
  const w4 = w as tf.Tensor4D;
  const k = checkShapes(x4, w4);
  save([x4, w4]);
  return {
    value: tf.conv2d(x4, w4, 1, 'same'),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as tf.Tensor4D[];
      const dy4 = dy as tf.Tensor4D;
      return [convInputGrad(dy4, ws), filterGrad(xs, dy4, k)];
    },
  };
});

/**
 * y = conv(x, w) + b, NHWC, stride 1, 'same' padding. x [N,H,W,C], w [k,k,C,O], b [O] (optional).
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, b?: tf.Tensor1D): tf.Tensor4D {
  if (usesForwardOpGrad()) {
    return (b ? convBiasFwdOps(x, w, b) : convFwdOps(x, w)) as tf.Tensor4D;
  }
  checkShapes(x, w);
  return b ? tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' }) : tf.conv2d(x, w, 1, 'same');
}

/** Multiply–accumulate count of conv2d on an [n, h, w, c] input with a [k,k,c,o] kernel. */
export function convMacs(n: number, h: number, w: number, c: number, o: number, k: number): number {
  return n * h * w * c * o * k * k;
}
