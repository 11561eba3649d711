/**
 * Named parameter sets: an ordered list of (name, shape) specs, deterministic initialisation from a seed,
 * and conversion to and from one flat Float32Array (the unit that optimisers, checkpoints, worker threads
 * and the weight files exchange).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  /** Variance scaling, fan-average, uniform (the NCSN++ default_init): U(±√(3·scale/fan_avg)). */
  | { kind: 'fan-avg'; scale: number; fanIn: number; fanOut: number }
  | { kind: 'normal'; std: number };

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  /** Fixed parameters (the random Fourier features) are stored but never trained. */
  trainable: boolean;
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class ParamLayout {
  readonly specs: ParamSpec[];
  readonly offsets: number[];
  readonly size: number;
  private readonly index = new Map<string, number>();

  constructor(specs: ParamSpec[]) {
    this.specs = specs;
    this.offsets = [];
    let off = 0;
    specs.forEach((s, i) => {
      if (this.index.has(s.name)) throw new Error(`duplicate parameter name ${s.name}`);
      this.index.set(s.name, i);
      this.offsets.push(off);
      off += sizeOf(s.shape);
    });
    this.size = off;
  }

  spec(name: string): ParamSpec {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`no parameter ${name}`);
    return this.specs[i];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** Number of trainable scalars. */
  trainableSize(): number {
    return this.specs.filter((s) => s.trainable).reduce((a, s) => a + sizeOf(s.shape), 0);
  }

  /** A mask over the flat vector: 1 for trainable entries. */
  trainableMask(): Uint8Array {
    const m = new Uint8Array(this.size);
    this.specs.forEach((s, i) => {
      if (s.trainable) m.fill(1, this.offsets[i], this.offsets[i] + sizeOf(s.shape));
    });
    return m;
  }

  /** Deterministic initial values. */
  initialise(seed: number): Float32Array {
    const rng = new Rng(seed);
    const out = new Float32Array(this.size);
    this.specs.forEach((s, i) => {
      const view = out.subarray(this.offsets[i], this.offsets[i] + sizeOf(s.shape));
      const init = s.init;
      switch (init.kind) {
        case 'zeros':
          break;
        case 'ones':
          view.fill(1);
          break;
        case 'normal':
          rng.fillNormal(view, init.std);
          break;
        case 'fan-avg': {
          const scale = Math.max(init.scale, 1e-10);
          const lim = Math.sqrt((3 * scale) / ((init.fanIn + init.fanOut) / 2));
          rng.fillUniform(view, -lim, lim);
          break;
        }
      }
    });
    return out;
  }
}

/**
 * Parameters held as tfjs variables (trainable ones marked so), readable by name.
 * `flat()` / `assign()` move all of them to and from one Float32Array.
 */
export class ParamStore {
  readonly layout: ParamLayout;
  private readonly vars: tf.Variable[];
  private readonly byName = new Map<string, tf.Variable>();

  constructor(layout: ParamLayout, values: Float32Array) {
    if (values.length !== layout.size) throw new Error(`parameter vector has ${values.length} values, the layout needs ${layout.size}`);
    this.layout = layout;
    this.vars = layout.specs.map((s, i) => {
      // the variable shares the initial tensor's data; the initial tensor itself is freed, or every model made
      // (a prior resolved per job) would leave its weights behind after dispose()
      const init = tf.tensor(values.subarray(layout.offsets[i], layout.offsets[i] + sizeOf(s.shape)), s.shape, 'float32');
      const v = tf.variable(init, s.trainable, undefined, 'float32');
      init.dispose();
      this.byName.set(s.name, v);
      return v;
    });
  }

  get(name: string): tf.Tensor {
    const v = this.byName.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  trainable(): tf.Variable[] {
    return this.vars.filter((_, i) => this.layout.specs[i].trainable);
  }

  /** Replaces every value (no new variables: the tensor count stays flat). */
  assign(values: Float32Array): void {
    if (values.length !== this.layout.size) throw new Error(`parameter vector has ${values.length} values, expected ${this.layout.size}`);
    this.vars.forEach((v, i) => {
      const s = this.layout.specs[i];
      tf.tidy(() => v.assign(tf.tensor(values.subarray(this.layout.offsets[i], this.layout.offsets[i] + sizeOf(s.shape)), s.shape, 'float32')));
    });
  }

  flat(): Float32Array {
    const out = new Float32Array(this.layout.size);
    this.vars.forEach((v, i) => out.set(v.dataSync() as Float32Array, this.layout.offsets[i]));
    return out;
  }

  /**
   * Gradients keyed by variable name (as tf.variableGrads returns them) as one flat tensor laid out like the
   * parameters (entries without a gradient, the fixed parameters, are 0), built on the backend: one read-back
   * per batch instead of one per variable, and no synchronous reads (which GPU backends cannot do well).
   */
  gradsToFlat(grads: Record<string, tf.Tensor>): tf.Tensor1D {
    return tf.tidy(() =>
      tf.concat(
        this.vars.map((v, i) => {
          const g = grads[v.name];
          return g ? tf.reshape(g, [-1]) : tf.zeros([sizeOf(this.layout.specs[i].shape)]);
        }),
      ) as tf.Tensor1D,
    );
  }

  /** The same as a Float32Array (a synchronous read: for tests and CPU backends). */
  flattenGrads(grads: Record<string, tf.Tensor>, out = new Float32Array(this.layout.size)): Float32Array {
    const flat = this.gradsToFlat(grads);
    out.set(flat.dataSync() as Float32Array);
    flat.dispose();
    return out;
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
  }
}
