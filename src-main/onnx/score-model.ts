/**
 * A ScoreModel evaluated by ONNX Runtime: SkyScore's own U-Net (its exported graph, onnx-export.ts) or a community
 * prior (model.json kind "onnx", docs/onnx-priors.md). `score` is synchronous like every ScoreModel's (the session's
 * native run, runtime.ts): it reads the images from the tfjs tensor, pads them by reflection to the network's size
 * multiple where needed, runs the session, turns the declared output (score, noise ε or denoised x̂) into the
 * score, crops, and returns a new tfjs tensor. No tfjs tensor is kept between calls (tensor counts stay flat).
 *
 * Gradients: the value comes from ONNX Runtime, so autodiff cannot see through it. Inside a gradient computation
 * (tf.grad: DPS differentiates through the network) score() is evaluated by the tfjs twin of the network where
 * there is one (SkyScore's U-Net: DPS works on every engine, at tfjs's speed for its differentiated evaluation);
 * without a twin (an ONNX prior) that is an error that says so.
 *
 * With the 'auto' engine and the CPU provider, a tfjs backend on a GPU (webgpu, tensorflow) is left to do the
 * evaluations through the twin: ONNX Runtime on the CPU is for machines whose tfjs runs on the CPU too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Invariance, ScoreModel } from '../../src-shared/diffusion/types.js';
import type { OnnxOutputKind } from '../../src-shared/diffusion/nn/onnx-meta.js';
import { ScoreModelInputError } from '../../src-shared/diffusion/nn/unet.js';
import type { OnnxSession, ProviderInfo } from './runtime.js';

/** Which engine evaluates a prior's score, as report.json and the bench state it. */
export interface ScoreEngineReport {
  engine: 'onnx' | 'tfjs';
  /** ONNX Runtime's execution provider, threads and device (engine 'onnx'). */
  provider?: string;
  threads?: number | null;
  device?: string;
  onnxruntime?: string;
  /** Why this engine (a fallback, a choice). */
  note?: string;
  /** What the likelihood's dense products run on (src-main/onnx/products.ts), with the reason where not ONNX Runtime. */
  products?: string;
}

/** Reflection padding (numpy 'reflect': the edge pixel is not repeated) of [b, ny, nx] to [b, ny + py, nx + px]. */
export function reflectPad(src: Float32Array, b: number, ny: number, nx: number, y: [number, number], x: [number, number]): Float32Array {
  const Y = ny + y[0] + y[1];
  const X = nx + x[0] + x[1];
  const out = new Float32Array(b * Y * X);
  const refl = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const cols = new Int32Array(X);
  for (let j = 0; j < X; j++) cols[j] = refl(j - x[0], nx);
  for (let k = 0; k < b; k++) {
    for (let i = 0; i < Y; i++) {
      const si = refl(i - y[0], ny);
      const srow = (k * ny + si) * nx;
      const drow = (k * Y + i) * X;
      for (let j = 0; j < X; j++) out[drow + j] = src[srow + cols[j]];
    }
  }
  return out;
}

/** Padding of ny×nx to the next multiple of f, split as evenly as possible (the odd pixel after), as unet.ts does. */
export function padTo(f: number, ny: number, nx: number): { y: [number, number]; x: [number, number]; shape: [number, number] } {
  const py = (f - (ny % f)) % f;
  const px = (f - (nx % f)) % f;
  return { y: [Math.floor(py / 2), py - Math.floor(py / 2)], x: [Math.floor(px / 2), px - Math.floor(px / 2)], shape: [ny + py, nx + px] };
}

export interface OnnxScoreModelOptions {
  session: OnnxSession;
  kind: string;
  output: OnnxOutputKind;
  outputName?: string;
  /** Image sides the network accepts are multiples of this. */
  sizeMultiple: number;
  trainedShape: [number, number] | null;
  invariance?: Invariance | null;
  /** The same network in tfjs (gradients; GPU tfjs backends in auto mode); disposed with this model. */
  twin?: ScoreModel | null;
  /** 'auto': leave evaluations to the twin when tfjs runs on a GPU and ONNX Runtime on the CPU. */
  auto?: boolean;
  onnxruntimeVersion: string;
  note?: string;
}

const GPU_BACKENDS = new Set(['webgpu', 'tensorflow', 'webgl']);

export class OnnxScoreModel implements ScoreModel {
  readonly kind: string;
  readonly trainedShape: [number, number] | null;
  readonly invariance: Invariance | null;
  readonly session: OnnxSession;
  private readonly o: OnnxScoreModelOptions;
  /** Fixed sizes of the file's x input (null where dynamic). */
  private readonly fixed: { batch: number | null; ny: number | null; nx: number | null };

  constructor(o: OnnxScoreModelOptions) {
    this.o = o;
    this.kind = o.kind;
    this.session = o.session;
    this.trainedShape = o.trainedShape;
    this.invariance = o.invariance ?? null;
    const inputs = o.session.inputs;
    const xIn = inputs.find((i) => i.name === 'x');
    const sIn = inputs.find((i) => i.name === 'sigma');
    if (!xIn || !sIn || inputs.length !== 2) {
      throw new ScoreModelInputError(`the ONNX model's inputs must be x [batch, 1, height, width] and sigma [batch], it has ${inputs.map((i) => `${i.name} [${i.shape.join(', ')}]`).join(', ')}`);
    }
    if (xIn.shape.length !== 4 || (typeof xIn.shape[1] === 'number' && xIn.shape[1] !== 1)) throw new ScoreModelInputError(`the ONNX model's input x must be [batch, 1, height, width], it is [${xIn.shape.join(', ')}]`);
    if (sIn.shape.length !== 1) throw new ScoreModelInputError(`the ONNX model's input sigma must be [batch], it is [${sIn.shape.join(', ')}]`);
    if (o.outputName && !o.session.outputs.some((p) => p.name === o.outputName)) throw new ScoreModelInputError(`the ONNX model has no output '${o.outputName}' (it has ${o.session.outputs.map((p) => p.name).join(', ')})`);
    const num = (d: number | string | undefined) => (typeof d === 'number' && d > 0 ? d : null);
    this.fixed = { batch: num(xIn.shape[0]), ny: num(xIn.shape[2]), nx: num(xIn.shape[3]) };
  }

  /** Whether ONNX Runtime evaluates now (false: the twin, in auto mode with tfjs on a GPU). */
  private onnxActive(): boolean {
    return !(this.o.auto && this.o.twin && this.session.info.provider === 'cpu' && GPU_BACKENDS.has(tf.getBackend()));
  }

  /** The engine that evaluates the score with the current tfjs backend. */
  engineReport(): ScoreEngineReport {
    if (!this.onnxActive()) return { engine: 'tfjs', note: `auto: tfjs on ${tf.getBackend()} rather than ONNX Runtime on the CPU` };
    const i: ProviderInfo = this.session.info;
    const notes = [...this.session.notes.map((n) => `provider ${n}`), ...(this.o.note ? [this.o.note] : [])];
    return { engine: 'onnx', provider: i.provider, threads: i.threads, device: i.device, onnxruntime: this.o.onnxruntimeVersion, ...(notes.length ? { note: notes.join('; ') } : {}) };
  }

  get info(): ProviderInfo {
    return this.session.info;
  }

  supportsShape(shape: number[]): boolean {
    if (shape.length < 2) return false;
    const ny = shape[shape.length - 2];
    const nx = shape[shape.length - 1];
    if (!Number.isInteger(ny) || !Number.isInteger(nx)) return false;
    if (this.fixed.ny !== null || this.fixed.nx !== null) return ny === (this.fixed.ny ?? ny) && nx === (this.fixed.nx ?? nx);
    return ny >= this.o.sizeMultiple && nx >= this.o.sizeMultiple;
  }

  score(x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor {
    if (x.rank !== 3) throw new ScoreModelInputError(`${this.kind} score: expected images [B, ny, nx], got shape [${x.shape.join(', ')}]`);
    if (!this.supportsShape(x.shape)) throw new ScoreModelInputError(`${this.kind} score: the ONNX model cannot evaluate ${x.shape[1]}×${x.shape[2]} images`);
    if (sigma.shape[0] !== x.shape[0]) throw new ScoreModelInputError(`${this.kind} score: ${sigma.shape[0]} noise levels for a batch of ${x.shape[0]}`);
    if (tf.engine().state.gradientDepth > 0) {
      // inside tf.grad (dps): autodiff needs the network's own ops
      if (!this.o.twin) throw new ScoreModelInputError(`the ${this.kind} prior runs on ONNX Runtime and has no gradient: samplers that differentiate through the network (dps) need a SkyScore U-Net prior`);
      return this.o.twin.score(x, sigma);
    }
    if (!this.onnxActive()) return this.o.twin!.score(x, sigma);
    return this.evaluate(x, sigma);
  }

  /** The score of x [b, ny, nx] at σ [b] through the session, as a new tensor. */
  private evaluate(x: tf.Tensor, sigma: tf.Tensor): tf.Tensor {
    const [b, ny, nx] = x.shape as [number, number, number];
    const xs = x.dataSync() as Float32Array;
    const ss = sigma.dataSync() as Float32Array;
    const pad = padTo(this.o.sizeMultiple, ny, nx);
    const padded = pad.shape[0] !== ny || pad.shape[1] !== nx;
    const [Y, X] = pad.shape;
    const xin = padded ? reflectPad(xs, b, ny, nx, pad.y, pad.x) : xs;
    const per = Y * X;
    const raw = new Float32Array(b * per);
    const chunk = this.fixed.batch ?? b;
    for (let k0 = 0; k0 < b; k0 += chunk) {
      const m = Math.min(chunk, b - k0);
      let xc = xin.subarray(k0 * per, (k0 + m) * per);
      let sc = ss.subarray(k0, k0 + m);
      if (m < chunk) {
        // a fixed batch size: the last chunk is filled up with copies of its first image
        const fx = new Float32Array(chunk * per);
        const fs = new Float32Array(chunk).fill(sc[0]);
        fx.set(xc);
        fs.set(sc);
        for (let k = m; k < chunk; k++) fx.set(xc.subarray(0, per), k * per);
        xc = fx;
        sc = fs;
      }
      const out = this.session.run({ x: { data: xc, dims: [chunk, 1, Y, X] }, sigma: { data: sc, dims: [chunk] } }, this.o.outputName);
      if (out.data.length !== chunk * per) throw new ScoreModelInputError(`${this.kind}: the ONNX model returned shape [${out.dims.join(', ')}] for inputs [${chunk}, 1, ${Y}, ${X}]`);
      raw.set(out.data.subarray(0, m * per), k0 * per);
    }
    // the declared output → the score
    if (this.o.output !== 'score') {
      for (let k = 0; k < b; k++) {
        const s = ss[k];
        const base = k * per;
        if (this.o.output === 'epsilon') {
          const c = -1 / s;
          for (let i = 0; i < per; i++) raw[base + i] *= c;
        } else {
          const c = 1 / (s * s);
          for (let i = 0; i < per; i++) raw[base + i] = (raw[base + i] - xin[base + i]) * c;
        }
      }
    }
    if (!padded) return tf.tensor3d(raw, [b, ny, nx]);
    const out = new Float32Array(b * ny * nx);
    for (let k = 0; k < b; k++) for (let i = 0; i < ny; i++) out.set(raw.subarray((k * Y + i + pad.y[0]) * X + pad.x[0], (k * Y + i + pad.y[0]) * X + pad.x[0] + nx), (k * ny + i) * nx);
    return tf.tensor3d(out, [b, ny, nx]);
  }

  dispose(): void {
    this.session.dispose();
    this.o.twin?.dispose();
  }
}
