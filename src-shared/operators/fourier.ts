import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import type { Shape2 } from './types.js';
import { dft2Matrices, halfSpectrumSize } from './dft-matrices.js';
import { fourierFilterModel, productEngine, type CompiledProduct, type ProductEngine } from '../linalg/product-engine.js';

/**
 * A real 2-D Fourier filter on tensors, y = crop(F⁻¹ H F pad(x)), written as four dense matrix products
 * (real DFT along x, complex DFT along y, their inverses) so that it runs on every tfjs backend —
 * wasm has no FFT kernel and cpu's is O(N²) per row for sizes that are not powers of two — and uses
 * the fastest primitive each backend has (matMul: XNNPACK on wasm, tensor cores on GPUs).
 *
 * The input [B, ny, nx] is embedded at the origin of a [py, px] periodic grid (zero padding) and the
 * output is the [my, mx] corner of the result. H is given in numpy rfft2 layout ([py, ⌊px/2⌋+1]).
 * The padded sizes need not be powers of two: dense DFTs cost the same for any size.
 *
 * The adjoint runs the transposed stages in reverse order, so <A x, y> = <x, Aᵀ y> holds to float32
 * rounding whatever the accuracy of the transform itself.
 *
 * Where a product engine is registered (../linalg/product-engine.ts: ONNX Runtime's CPU kernels in SkyScore's
 * workers when the score runs there), the whole apply (or adjoint) is one graph of the same stages on it, built at
 * its first use from the same matrices; a graph that cannot be built leaves the filter on tfjs.
 */
export interface FourierFilterSpec {
  inShape: Shape2;
  outShape: Shape2;
  padShape: Shape2;
  /** Transfer function, rfft layout [py, ⌊px/2⌋+1] row-major. */
  hRe: Float64Array;
  /** Imaginary part; omit (or all zeros) for a real transfer function. */
  hIm?: Float64Array;
}

export class FourierFilter {
  readonly kh: number;
  private readonly m1: Tensor2D; // [nx, 2kh]: real DFT along x
  private readonly m2: Tensor2D; // [2ny, 2py]: complex DFT along y
  private readonly m3: Tensor2D; // [2py, 2my]: inverse complex DFT along y (rows restricted to the output)
  private readonly m4: Tensor2D; // [2kh, mx]: inverse real DFT along x
  // explicit transposes for the adjoint: matMul with transposeB is several times slower on wasm
  private readonly m1t: Tensor2D;
  private readonly m2t: Tensor2D;
  private readonly m3t: Tensor2D;
  private readonly m4t: Tensor2D;
  private readonly hr: Tensor3D; // [kh, 2, py]
  private readonly hi: Tensor3D | null; // [kh, 2, py] = (-Hi, +Hi), null when H is real
  readonly spec: FourierFilterSpec;
  /** the engine's compiled graphs (apply, adjoint), made at first use; null: that engine failed for this filter */
  private compiled: { engine: ProductEngine; apply?: CompiledProduct; adjoint?: CompiledProduct } | null = null;
  private failedEngine: ProductEngine | null = null;

  constructor(spec: FourierFilterSpec) {
    this.spec = spec;
    const [ny, nx] = spec.inShape;
    const [my, mx] = spec.outShape;
    const [py, px] = spec.padShape;
    if (ny > py || nx > px || my > py || mx > px) throw new Error('FourierFilter: shapes larger than the padded grid');
    const kh = halfSpectrumSize(px);
    this.kh = kh;
    if (spec.hRe.length !== py * kh || (spec.hIm && spec.hIm.length !== py * kh)) {
      throw new Error('FourierFilter: transfer function size does not match the padded grid');
    }
    const { m1, m2, m3, m4 } = dft2Matrices(spec.inShape, spec.outShape, spec.padShape);
    const { hr, hi, complex } = spectralLayout(spec, kh);
    this.m1 = tf.tensor2d(m1, [nx, 2 * kh]);
    this.m2 = tf.tensor2d(m2, [2 * ny, 2 * py]);
    this.m3 = tf.tensor2d(m3, [2 * py, 2 * my]);
    this.m4 = tf.tensor2d(m4, [2 * kh, mx]);
    this.m1t = tf.tensor2d(transpose(m1, nx, 2 * kh), [2 * kh, nx]);
    this.m2t = tf.tensor2d(transpose(m2, 2 * ny, 2 * py), [2 * py, 2 * ny]);
    this.m3t = tf.tensor2d(transpose(m3, 2 * py, 2 * my), [2 * my, 2 * py]);
    this.m4t = tf.tensor2d(transpose(m4, 2 * kh, mx), [mx, 2 * kh]);
    this.hr = tf.tensor3d(hr, [kh, 2, py]);
    this.hi = complex ? tf.tensor3d(hi, [kh, 2, py]) : null;
  }

  /** Floating-point multiply–adds per image for apply (or adjoint). */
  get macsPerImage(): number {
    const [ny, nx] = this.spec.inShape;
    const [my, mx] = this.spec.outShape;
    const [py] = this.spec.padShape;
    const kh = this.kh;
    return ny * nx * 2 * kh + kh * 2 * ny * 2 * py + kh * 2 * py * 2 * my + my * 2 * kh * mx;
  }

  apply(x: Tensor3D): Tensor3D {
    const run = this.engineRun(false);
    if (run) return tf.tidy(() => tf.tensor3d(run.run(x.dataSync() as Float32Array, x.shape), [x.shape[0], this.spec.outShape[0], this.spec.outShape[1]]));
    return tf.tidy(() => {
      const b = x.shape[0];
      const [ny, nx] = this.spec.inShape;
      const [my, mx] = this.spec.outShape;
      const [py] = this.spec.padShape;
      const kh = this.kh;
      let t: tf.Tensor2D = tf.matMul(tf.reshape(x, [b * ny, nx]), this.m1); // [b·ny, 2kh]
      t = swapAxes(t, b, ny, kh); // [b·kh, 2ny]
      t = tf.matMul(t, this.m2); // [b·kh, 2py]
      let z: tf.Tensor4D = tf.reshape(t, [b, kh, 2, py]);
      z = this.multiplyH(z, false);
      t = tf.matMul(tf.reshape(z, [b * kh, 2 * py]), this.m3); // [b·kh, 2my]
      t = swapAxesBack(t, b, my, kh); // [b·my, 2kh]
      t = tf.matMul(t, this.m4); // [b·my, mx]
      return tf.reshape(t, [b, my, mx]);
    });
  }

  adjoint(y: Tensor3D): Tensor3D {
    const run = this.engineRun(true);
    if (run) return tf.tidy(() => tf.tensor3d(run.run(y.dataSync() as Float32Array, y.shape), [y.shape[0], this.spec.inShape[0], this.spec.inShape[1]]));
    return tf.tidy(() => {
      const b = y.shape[0];
      const [ny, nx] = this.spec.inShape;
      const [my, mx] = this.spec.outShape;
      const [py] = this.spec.padShape;
      const kh = this.kh;
      let t: tf.Tensor2D = tf.matMul(tf.reshape(y, [b * my, mx]), this.m4t); // [b·my, 2kh]
      t = swapAxes(t, b, my, kh); // [b·kh, 2my]
      t = tf.matMul(t, this.m3t); // [b·kh, 2py]
      let z: tf.Tensor4D = tf.reshape(t, [b, kh, 2, py]);
      z = this.multiplyH(z, true);
      t = tf.matMul(tf.reshape(z, [b * kh, 2 * py]), this.m2t); // [b·kh, 2ny]
      t = swapAxesBack(t, b, ny, kh); // [b·ny, 2kh]
      t = tf.matMul(t, this.m1t); // [b·ny, nx]
      return tf.reshape(t, [b, ny, nx]);
    });
  }

  /**
   * The registered engine's graph of apply (or the adjoint), built at its first use from the same matrices as the
   * tfjs stages (remade here, not kept: the tensors hold them); null: no engine, or it cannot build the graph.
   */
  private engineRun(adjoint: boolean): CompiledProduct | null {
    const engine = productEngine();
    if (!engine || engine === this.failedEngine) return null;
    if (this.compiled?.engine !== engine) {
      this.disposeCompiled();
      this.compiled = { engine };
    }
    const key = adjoint ? 'adjoint' : 'apply';
    const have = this.compiled[key];
    if (have) return have;
    const spec = this.spec;
    const [py] = spec.padShape;
    const kh = this.kh;
    const { m1, m2, m3, m4 } = dft2Matrices(spec.inShape, spec.outShape, spec.padShape);
    const { hr, hi, complex } = spectralLayout(spec, kh);
    const [ny, nx] = spec.inShape;
    const [my, mx] = spec.outShape;
    const model = adjoint
      ? fourierFilterModel({
          inShape: [my, mx],
          outShape: [ny, nx],
          kh,
          py,
          a: transpose(m4, 2 * kh, mx),
          b: transpose(m3, 2 * py, 2 * my),
          c: transpose(m2, 2 * ny, 2 * py),
          d: transpose(m1, nx, 2 * kh),
          hr,
          hi: complex ? hi : null,
          transpose: true,
        })
      : fourierFilterModel({ inShape: [ny, nx], outShape: [my, mx], kh, py, a: m1, b: m2, c: m3, d: m4, hr, hi: complex ? hi : null, transpose: false });
    try {
      const compiled = engine.compile(model);
      this.compiled[key] = compiled;
      return compiled;
    } catch {
      this.disposeCompiled();
      this.failedEngine = engine;
      return null;
    }
  }

  private disposeCompiled(): void {
    this.compiled?.apply?.dispose();
    this.compiled?.adjoint?.dispose();
    this.compiled = null;
  }

  /** Z·H (or its transpose) with Z stored as [b, kh, (re, im), py]. */
  private multiplyH(z: tf.Tensor4D, transpose: boolean): tf.Tensor4D {
    const zr = tf.mul(z, this.hr) as tf.Tensor4D;
    if (!this.hi) return zr;
    // forward: Y = Z·Hr + swap(Z)·(−Hi, Hi); transpose: Z̄ = Ȳ·Hr + swap(Ȳ·(−Hi, Hi))
    const swapped = transpose ? tf.reverse(tf.mul(z, this.hi), 2) : tf.mul(tf.reverse(z, 2), this.hi);
    return tf.add(zr, swapped) as tf.Tensor4D;
  }

  dispose(): void {
    for (const t of [this.m1, this.m2, this.m3, this.m4, this.m1t, this.m2t, this.m3t, this.m4t, this.hr]) t.dispose();
    this.hi?.dispose();
    this.disposeCompiled();
  }
}

/** H transposed to [kh, py] and doubled along the re/im axis: (Hr, Hr) and (−Hi, Hi), [kh, 2, py]; complex: Hi ≠ 0. */
function spectralLayout(spec: FourierFilterSpec, kh: number): { hr: Float32Array; hi: Float32Array; complex: boolean } {
  const [py] = spec.padShape;
  const hr = new Float32Array(kh * 2 * py);
  let complex = false;
  const hi = new Float32Array(kh * 2 * py);
  for (let l = 0; l < py; l++) {
    for (let k = 0; k < kh; k++) {
      const r = spec.hRe[l * kh + k];
      const im = spec.hIm ? spec.hIm[l * kh + k] : 0;
      if (im !== 0) complex = true;
      hr[k * 2 * py + l] = r;
      hr[k * 2 * py + py + l] = r;
      hi[k * 2 * py + l] = -im;
      hi[k * 2 * py + py + l] = im;
    }
  }
  return { hr, hi, complex };
}

/** [b·n, 2kh] laid out (row n, [re | im] over k) → [b·kh, 2n] laid out (column k, [re | im] over n). */
function swapAxes(t: tf.Tensor2D, b: number, n: number, kh: number): tf.Tensor2D {
  const r = tf.transpose(tf.reshape(t, [b, n, 2, kh]), [0, 3, 2, 1]);
  return tf.reshape(r, [b * kh, 2 * n]);
}

/** The inverse layout change of swapAxes. */
function swapAxesBack(t: tf.Tensor2D, b: number, n: number, kh: number): tf.Tensor2D {
  const r = tf.transpose(tf.reshape(t, [b, kh, 2, n]), [0, 3, 2, 1]);
  return tf.reshape(r, [b * n, 2 * kh]);
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}
