/**
 * A small multi-layer perceptron score model for low-dimensional densities (the 2-D test problems):
 * s(x, σ) = net([x, emb(σ)]) / σ when noise-conditioned (DSM), or s(x) = net(x) for the noise-free objectives
 * (Hyvärinen, sliced score matching). With no hidden layers it is the linear model s(x) = W x + b.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import type { ScoreModel } from '../types.js';
import { dense, fourierEmbedding, silu } from './layers.js';
import { ParamLayout, ParamStore, type ParamSpec } from './params.js';

export type Activation = 'silu' | 'softplus' | 'tanh';

export interface MlpArch {
  dim: number;
  hidden: number[];
  activation: Activation;
  /** Condition on σ through random Fourier features of log σ (and divide the output by σ). */
  sigmaConditioned: boolean;
  embeddingDim: number;
  fourierScale: number;
}

export function mlpParamSpecs(a: MlpArch): ParamSpec[] {
  const specs: ParamSpec[] = [];
  let cin = a.dim;
  if (a.sigmaConditioned) {
    specs.push({ name: 'fourier.W', shape: [a.embeddingDim / 2], init: { kind: 'normal', std: a.fourierScale }, trainable: false });
    cin += a.embeddingDim;
  }
  const widths = [...a.hidden, a.dim];
  widths.forEach((w, i) => {
    const last = i === widths.length - 1;
    specs.push(
      { name: `l${i}.w`, shape: [cin, w], init: last && a.hidden.length === 0 ? { kind: 'zeros' } : { kind: 'fan-avg', scale: 1, fanIn: cin, fanOut: w }, trainable: true },
      { name: `l${i}.b`, shape: [w], init: { kind: 'zeros' }, trainable: true },
    );
    cin = w;
  });
  return specs;
}

function act(a: Activation, x: tf.Tensor2D): tf.Tensor2D {
  if (a === 'silu') return silu(x);
  if (a === 'softplus') return tf.softplus(x);
  return tf.tanh(x);
}

export class MlpScoreModel implements ScoreModel {
  readonly kind = 'mlp';
  readonly trainedShape = null;
  readonly arch: MlpArch;
  readonly params: ParamStore;

  constructor(arch: MlpArch, values?: Float32Array, seed = 0) {
    if (!Number.isInteger(arch.dim) || arch.dim < 1) throw new Error(`MLP: dim must be a positive integer, got ${arch.dim}`);
    if (arch.sigmaConditioned && (arch.embeddingDim < 2 || arch.embeddingDim % 2 !== 0)) throw new Error('MLP: embeddingDim must be even and ≥ 2');
    this.arch = arch;
    const layout = new ParamLayout(mlpParamSpecs(arch));
    this.params = new ParamStore(layout, values ?? layout.initialise(seed));
  }

  supportsShape(shape: number[]): boolean {
    return shape.length === 2 && shape[1] === this.arch.dim;
  }

  /** The network output before any 1/σ: [B, d]. */
  forward(x: tf.Tensor2D, sigma?: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const get = (n: string) => this.params.get(n);
      let h: tf.Tensor2D = x;
      if (this.arch.sigmaConditioned) {
        if (!sigma) throw new Error('MLP: a noise-conditioned model needs σ');
        h = tf.concat([x, fourierEmbedding(sigma, get('fourier.W'))], 1);
      }
      const n = this.arch.hidden.length;
      for (let i = 0; i < n; i++) h = act(this.arch.activation, dense(h, get(`l${i}.w`), get(`l${i}.b`)));
      return dense(h, get(`l${n}.w`), get(`l${n}.b`));
    });
  }

  score(x: tf.Tensor, sigma: tf.Tensor1D): tf.Tensor {
    if (!this.supportsShape(x.shape)) throw new Error(`MLP score: expected [B, ${this.arch.dim}], got [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const out = this.forward(x as tf.Tensor2D, sigma);
      return this.arch.sigmaConditioned ? tf.div(out, tf.reshape(sigma, [-1, 1])) : out;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}
