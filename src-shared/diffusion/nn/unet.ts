/**
 * A noise-conditional U-Net in the NCSN++ spirit (Song et al. 2021), NHWC, one image channel:
 * Gaussian Fourier embedding of log σ → 2-layer MLP; residual blocks (GroupNorm, SiLU, 3×3 convs, the
 * embedding added between the convs, 1×1 skip when channels change, skip rescaled by 1/√2); 2× average-pool
 * down-sampling and nearest up-sampling each followed by a 3×3 conv; skip connections from every down block
 * to the up path; optional self-attention at the coarsest level (in the middle block); output divided by σ.
 * Fully convolutional: any image whose sides are divisible by 2^(levels−1) can be evaluated.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Invariance, ScoreModel } from '../types.js';
import { conv2d, convMacs } from './conv.js';
import { dense, downsample, fourierEmbedding, groupsFor, siluFast as silu, upsample, type Get } from './layers.js';
import { attention } from './attention.js';
import { groupNormAct } from './fused.js';
import { ParamLayout, ParamStore, type ParamSpec } from './params.js';
import { UserInputError } from '../../errors.js';

export interface UnetArch {
  /** Base channel count. */
  nf: number;
  /** Channel multiplier per resolution level (its length is the number of levels). */
  chMult: number[];
  /** Residual blocks per level on the way down (the way up has one more, as in DDPM/NCSN++). */
  numResBlocks: number;
  /** Self-attention in the middle block (the coarsest level). */
  attention: boolean;
  /** Length of the Fourier embedding of log σ (sin and cos halves: embeddingDim/2 random frequencies). */
  embeddingDim: number;
  /** Standard deviation of the random Fourier frequencies. */
  fourierScale: number;
}

export const DEFAULT_ARCH: UnetArch = { nf: 32, chMult: [1, 2, 2], numResBlocks: 2, attention: true, embeddingDim: 64, fourierScale: 16 };

export class ScoreModelInputError extends UserInputError {
  override name = 'ScoreModelInputError';
}

export function validateArch(a: UnetArch): void {
  const bad = (what: string) => {
    throw new ScoreModelInputError(`U-Net architecture: ${what}`);
  };
  if (!Number.isInteger(a.nf) || a.nf < 4 || a.nf % 4 !== 0) bad(`nf must be a positive multiple of 4, got ${a.nf}`);
  if (!Array.isArray(a.chMult) || a.chMult.length < 1 || a.chMult.length > 6 || a.chMult.some((m) => !Number.isInteger(m) || m < 1)) {
    bad(`chMult must list 1–6 positive integers, got ${JSON.stringify(a.chMult)}`);
  }
  if (!Number.isInteger(a.numResBlocks) || a.numResBlocks < 1 || a.numResBlocks > 8) bad(`numResBlocks must be 1..8, got ${a.numResBlocks}`);
  if (!Number.isInteger(a.embeddingDim) || a.embeddingDim < 2 || a.embeddingDim % 2 !== 0) bad(`embeddingDim must be a positive even integer, got ${a.embeddingDim}`);
  if (!(a.fourierScale > 0)) bad(`fourierScale must be positive, got ${a.fourierScale}`);
  if (typeof a.attention !== 'boolean') bad('attention must be true or false');
}

/** The image sides must be divisible by this. */
export function downFactor(a: UnetArch): number {
  return 2 ** (a.chMult.length - 1);
}

/**
 * How an image of ny×nx is padded for the network: up to the next multiple of the down-sampling factor, split
 * as evenly as possible ([before, after] per axis, the odd pixel after). Zero padding when the size divides.
 */
export function unetPadding(a: UnetArch, ny: number, nx: number): { y: [number, number]; x: [number, number]; shape: [number, number] } {
  const f = downFactor(a);
  const py = (f - (ny % f)) % f;
  const px = (f - (nx % f)) % f;
  const y: [number, number] = [Math.floor(py / 2), py - Math.floor(py / 2)];
  const x: [number, number] = [Math.floor(px / 2), px - Math.floor(px / 2)];
  return { y, x, shape: [ny + py, nx + px] };
}

/** "padded by reflection to A×B for the network" when the size needs padding, else null (for warnings). */
export function paddingNote(a: UnetArch, ny: number, nx: number): string | null {
  const [py, px] = unetPadding(a, ny, nx).shape;
  return py !== ny || px !== nx ? `padded by reflection to ${py}×${px} for the network` : null;
}

function resBlockSpecs(p: string, cin: number, cout: number, temb: number): ParamSpec[] {
  const s: ParamSpec[] = [
    { name: `${p}.norm0.gamma`, shape: [cin], init: { kind: 'ones' }, trainable: true },
    { name: `${p}.norm0.beta`, shape: [cin], init: { kind: 'zeros' }, trainable: true },
    { name: `${p}.conv0.w`, shape: [3, 3, cin, cout], init: { kind: 'fan-avg', scale: 1, fanIn: 9 * cin, fanOut: 9 * cout }, trainable: true },
    { name: `${p}.conv0.b`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
    { name: `${p}.temb.w`, shape: [temb, cout], init: { kind: 'fan-avg', scale: 1, fanIn: temb, fanOut: cout }, trainable: true },
    { name: `${p}.temb.b`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
    { name: `${p}.norm1.gamma`, shape: [cout], init: { kind: 'ones' }, trainable: true },
    { name: `${p}.norm1.beta`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
    { name: `${p}.conv1.w`, shape: [3, 3, cout, cout], init: { kind: 'fan-avg', scale: 0, fanIn: 9 * cout, fanOut: 9 * cout }, trainable: true },
    { name: `${p}.conv1.b`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
  ];
  if (cin !== cout) {
    s.push(
      { name: `${p}.skip.w`, shape: [1, 1, cin, cout], init: { kind: 'fan-avg', scale: 1, fanIn: cin, fanOut: cout }, trainable: true },
      { name: `${p}.skip.b`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
    );
  }
  return s;
}

function convSpecs(p: string, cin: number, cout: number, k: number, scale = 1): ParamSpec[] {
  return [
    { name: `${p}.w`, shape: [k, k, cin, cout], init: { kind: 'fan-avg', scale, fanIn: k * k * cin, fanOut: k * k * cout }, trainable: true },
    { name: `${p}.b`, shape: [cout], init: { kind: 'zeros' }, trainable: true },
  ];
}

/** Walks the architecture once; `visit` sees every block with its channel counts and resolution divisor. */
type Block =
  | { kind: 'conv_in'; cout: number }
  | { kind: 'res'; name: string; cin: number; cout: number; div: number }
  | { kind: 'down'; name: string; ch: number; div: number }
  | { kind: 'up'; name: string; ch: number; div: number }
  | { kind: 'attn'; name: string; ch: number; div: number }
  | { kind: 'out'; cin: number };

function walk(a: UnetArch): Block[] {
  const blocks: Block[] = [];
  const L = a.chMult.length;
  let ch = a.nf;
  const hs: number[] = [ch];
  blocks.push({ kind: 'conv_in', cout: ch });
  for (let i = 0; i < L; i++) {
    const div = 2 ** i;
    for (let r = 0; r < a.numResBlocks; r++) {
      const out = a.nf * a.chMult[i];
      blocks.push({ kind: 'res', name: `down.${i}.res.${r}`, cin: ch, cout: out, div });
      ch = out;
      hs.push(ch);
    }
    if (i < L - 1) {
      blocks.push({ kind: 'down', name: `down.${i}.down`, ch, div: div * 2 });
      hs.push(ch);
    }
  }
  const dmax = 2 ** (L - 1);
  blocks.push({ kind: 'res', name: 'mid.res.0', cin: ch, cout: ch, div: dmax });
  if (a.attention) blocks.push({ kind: 'attn', name: 'mid.attn', ch, div: dmax });
  blocks.push({ kind: 'res', name: 'mid.res.1', cin: ch, cout: ch, div: dmax });
  for (let i = L - 1; i >= 0; i--) {
    const div = 2 ** i;
    for (let r = 0; r <= a.numResBlocks; r++) {
      const out = a.nf * a.chMult[i];
      const skip = hs.pop();
      if (skip === undefined) throw new Error('U-Net skip stack underflow');
      blocks.push({ kind: 'res', name: `up.${i}.res.${r}`, cin: ch + skip, cout: out, div });
      ch = out;
    }
    if (i > 0) blocks.push({ kind: 'up', name: `up.${i}.up`, ch, div: div / 2 });
  }
  blocks.push({ kind: 'out', cin: ch });
  return blocks;
}

export function unetParamSpecs(a: UnetArch): ParamSpec[] {
  validateArch(a);
  const temb = 4 * a.nf;
  const specs: ParamSpec[] = [
    { name: 'fourier.W', shape: [a.embeddingDim / 2], init: { kind: 'normal', std: a.fourierScale }, trainable: false },
    { name: 'temb.0.w', shape: [a.embeddingDim, temb], init: { kind: 'fan-avg', scale: 1, fanIn: a.embeddingDim, fanOut: temb }, trainable: true },
    { name: 'temb.0.b', shape: [temb], init: { kind: 'zeros' }, trainable: true },
    { name: 'temb.1.w', shape: [temb, temb], init: { kind: 'fan-avg', scale: 1, fanIn: temb, fanOut: temb }, trainable: true },
    { name: 'temb.1.b', shape: [temb], init: { kind: 'zeros' }, trainable: true },
  ];
  for (const b of walk(a)) {
    switch (b.kind) {
      case 'conv_in':
        specs.push(...convSpecs('conv_in', 1, b.cout, 3));
        break;
      case 'res':
        specs.push(...resBlockSpecs(b.name, b.cin, b.cout, temb));
        break;
      case 'down':
      case 'up':
        specs.push(...convSpecs(`${b.name}.conv`, b.ch, b.ch, 3));
        break;
      case 'attn':
        specs.push(
          { name: `${b.name}.norm.gamma`, shape: [b.ch], init: { kind: 'ones' }, trainable: true },
          { name: `${b.name}.norm.beta`, shape: [b.ch], init: { kind: 'zeros' }, trainable: true },
          ...convSpecs(`${b.name}.qkv`, b.ch, 3 * b.ch, 1),
          ...convSpecs(`${b.name}.proj`, b.ch, b.ch, 1, 0),
        );
        break;
      case 'out':
        specs.push(
          { name: 'out.norm.gamma', shape: [b.cin], init: { kind: 'ones' }, trainable: true },
          { name: 'out.norm.beta', shape: [b.cin], init: { kind: 'zeros' }, trainable: true },
          ...convSpecs('out.conv', b.cin, 1, 3, 0),
        );
        break;
    }
  }
  return specs;
}

export function unetLayout(a: UnetArch): ParamLayout {
  return new ParamLayout(unetParamSpecs(a));
}

function resBlock(x: tf.Tensor4D, temb: tf.Tensor2D, get: Get, p: string, cout: number): tf.Tensor4D {
  return tf.tidy(() => {
    const cin = x.shape[3];
    let h = groupNormAct(x, get(`${p}.norm0.gamma`), get(`${p}.norm0.beta`), groupsFor(cin), true);
    h = conv2d(h, get(`${p}.conv0.w`) as tf.Tensor4D, get(`${p}.conv0.b`) as tf.Tensor1D);
    const t = dense(temb, get(`${p}.temb.w`), get(`${p}.temb.b`));
    h = tf.add(h, tf.reshape(t, [-1, 1, 1, cout]));
    h = groupNormAct(h, get(`${p}.norm1.gamma`), get(`${p}.norm1.beta`), groupsFor(cout), true);
    h = conv2d(h, get(`${p}.conv1.w`) as tf.Tensor4D, get(`${p}.conv1.b`) as tf.Tensor1D);
    const skip = cin === cout ? x : conv2d(x, get(`${p}.skip.w`) as tf.Tensor4D, get(`${p}.skip.b`) as tf.Tensor1D);
    return tf.mul(tf.add(skip, h), Math.SQRT1_2) as tf.Tensor4D;
  });
}

/**
 * The network's output before the 1/σ: x [B, ny, nx] → [B, ny, nx]. `get` reads parameters by name.
 */
export function unetForward(a: UnetArch, get: Get, x: tf.Tensor3D, sigma: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, ny, nx] = x.shape;
    const embIn = fourierEmbedding(sigma, get('fourier.W'));
    let temb = dense(embIn, get('temb.0.w'), get('temb.0.b'));
    temb = dense(silu(temb), get('temb.1.w'), get('temb.1.b'));
    const tact = silu(temb);
    let h: tf.Tensor4D = tf.reshape(x, [n, ny, nx, 1]);
    const hs: tf.Tensor4D[] = [];
    for (const b of walk(a)) {
      switch (b.kind) {
        case 'conv_in':
          h = conv2d(h, get('conv_in.w') as tf.Tensor4D, get('conv_in.b') as tf.Tensor1D);
          hs.push(h);
          break;
        case 'res': {
          const input = b.name.startsWith('up.') ? tf.concat([h, hs.pop() as tf.Tensor4D], 3) : h;
          h = resBlock(input, tact, get, b.name, b.cout);
          if (b.name.startsWith('down.')) hs.push(h);
          break;
        }
        case 'down':
          h = conv2d(downsample(h), get(`${b.name}.conv.w`) as tf.Tensor4D, get(`${b.name}.conv.b`) as tf.Tensor1D);
          hs.push(h);
          break;
        case 'up':
          h = conv2d(upsample(h), get(`${b.name}.conv.w`) as tf.Tensor4D, get(`${b.name}.conv.b`) as tf.Tensor1D);
          break;
        case 'attn':
          h = attention(h, get, b.name);
          break;
        case 'out': {
          h = groupNormAct(h, get('out.norm.gamma'), get('out.norm.beta'), groupsFor(b.cin), true);
          h = conv2d(h, get('out.conv.w') as tf.Tensor4D, get('out.conv.b') as tf.Tensor1D);
          break;
        }
      }
    }
    return tf.reshape(h, [n, ny, nx]) as tf.Tensor3D;
  });
}

/** s(x, σ) = net(x, σ)/σ. */
export function unetScore(a: UnetArch, get: Get, x: tf.Tensor3D, sigma: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => tf.div(unetForward(a, get, x, sigma), tf.reshape(sigma, [-1, 1, 1])) as tf.Tensor3D);
}

/**
 * Floating-point operations (2 × multiply–accumulates of the convolutions, dense layers and attention
 * products; element-wise work not counted) of one forward evaluation for one ny×nx image.
 */
export function unetFlops(a: UnetArch, ny: number, nx: number): number {
  let macs = 0;
  const temb = 4 * a.nf;
  macs += a.embeddingDim * temb + temb * temb;
  for (const b of walk(a)) {
    switch (b.kind) {
      case 'conv_in':
        macs += convMacs(1, ny, nx, 1, b.cout, 3);
        break;
      case 'res': {
        const h = ny / b.div;
        const w = nx / b.div;
        macs += convMacs(1, h, w, b.cin, b.cout, 3) + convMacs(1, h, w, b.cout, b.cout, 3) + temb * b.cout;
        if (b.cin !== b.cout) macs += convMacs(1, h, w, b.cin, b.cout, 1);
        break;
      }
      case 'down':
      case 'up':
        macs += convMacs(1, ny / b.div, nx / b.div, b.ch, b.ch, 3);
        break;
      case 'attn': {
        const p = (ny / b.div) * (nx / b.div);
        macs += p * b.ch * 3 * b.ch + 2 * p * p * b.ch + p * b.ch * b.ch;
        break;
      }
      case 'out':
        macs += convMacs(1, ny, nx, b.cin, 1, 3);
        break;
    }
  }
  return 2 * macs;
}

/**
 * Reflection padding of [B, ny, nx] along one axis (the edge pixel is not repeated, as numpy's 'reflect'), built
 * from slices, reversals and a concatenation so that it is differentiable with the gradients we register
 * (tfjs-core's CommonJS bundle has no MirrorPad gradient). Needs before, after < the axis length.
 */
function reflectPad(x: tf.Tensor3D, axis: 1 | 2, [before, after]: [number, number]): tf.Tensor3D {
  if (before === 0 && after === 0) return x;
  const n = x.shape[axis];
  const part = (from: number, len: number): tf.Tensor3D => {
    const begin = [0, 0, 0];
    const size = [-1, -1, -1];
    begin[axis] = from;
    size[axis] = len;
    return tf.reverse(tf.slice(x, begin, size), axis);
  };
  const pieces: tf.Tensor3D[] = [];
  if (before > 0) pieces.push(part(1, before));
  pieces.push(x);
  if (after > 0) pieces.push(part(n - 1 - after, after));
  return tf.concat(pieces, axis);
}

/** A U-Net score model holding its parameters as tfjs variables. */
export class UnetScoreModel implements ScoreModel {
  readonly kind = 'unet';
  readonly trainedShape: [number, number] | null;
  readonly arch: UnetArch;
  readonly params: ParamStore;
  private readonly getter: Get;

  constructor(
    arch: UnetArch,
    values: Float32Array,
    trainedShape: [number, number] | null,
    /** The flips/rotations it was trained with as augmentation (model.json training.augment). */
    readonly invariance: Invariance | null = null,
  ) {
    validateArch(arch);
    this.arch = arch;
    this.trainedShape = trainedShape;
    this.params = new ParamStore(unetLayout(arch), values);
    this.getter = (name) => this.params.get(name);
  }

  /**
   * Any image of at least f×f pixels (f: the down-sampling factor). A size f does not divide is padded by
   * reflection to the next multiple of f for the network, and the score is cropped back:
   * s(x) = crop(s_net(pad(x))). The network sees the mirrored border (fewer than f pixels a side) as part of the
   * image, which a draw from the prior would not repeat: an approximation whose effect is largest next to the
   * edges (the network's receptive field spans the image, so it is not confined to them).
   */
  supportsShape(shape: number[]): boolean {
    if (shape.length < 2) return false;
    const ny = shape[shape.length - 2];
    const nx = shape[shape.length - 1];
    const f = downFactor(this.arch);
    return Number.isInteger(ny) && Number.isInteger(nx) && ny >= f && nx >= f;
  }

  /** A warning when the model is used on an image size other than the one it was trained on, else null. */
  shapeWarning(shape: number[]): string | null {
    if (!this.trainedShape) return null;
    const ny = shape[shape.length - 2];
    const nx = shape[shape.length - 1];
    const [ty, tx] = this.trainedShape;
    if (ny === ty && nx === tx) return null;
    const note = paddingNote(this.arch, ny, nx);
    const padded = note ? ` (${note})` : '';
    return `the U-Net prior was trained on ${ty}×${tx} images and is used on ${ny}×${nx}${padded}: it is fully convolutional, but its statistics outside the training size are not guaranteed`;
  }

  score(x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor {
    if (x.rank !== 3) throw new ScoreModelInputError(`U-Net score: expected images [B, ny, nx], got shape [${x.shape.join(', ')}]`);
    if (!this.supportsShape(x.shape)) {
      const f = downFactor(this.arch);
      throw new ScoreModelInputError(`U-Net score: image size ${x.shape[1]}×${x.shape[2]} is smaller than the network's down-sampling factor ${f} (at least ${f}×${f})`);
    }
    if (sigma.shape[0] !== x.shape[0]) throw new ScoreModelInputError(`U-Net score: ${sigma.shape[0]} noise levels for a batch of ${x.shape[0]}`);
    const [b, ny, nx] = x.shape as [number, number, number];
    const pad = unetPadding(this.arch, ny, nx);
    if (pad.shape[0] === ny && pad.shape[1] === nx) return unetScore(this.arch, this.getter, x as tf.Tensor3D, sigma);
    return tf.tidy(() => {
      const big = reflectPad(reflectPad(x as tf.Tensor3D, 1, pad.y), 2, pad.x);
      return tf.slice(unetScore(this.arch, this.getter, big, sigma), [0, pad.y[0], pad.x[0]], [b, ny, nx]);
    });
  }

  /** The network's raw output net(x, σ) = σ·s(x, σ) (what denoising score matching regresses onto −z). */
  forward(x: tf.Tensor3D, sigma: tf.Tensor1D): tf.Tensor3D {
    return unetForward(this.arch, this.getter, x, sigma);
  }

  get getParam(): Get {
    return this.getter;
  }

  dispose(): void {
    this.params.dispose();
  }
}
