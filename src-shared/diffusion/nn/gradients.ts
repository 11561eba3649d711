/**
 * Gradient functions for the tfjs kernels the score networks, objectives and samplers use.
 *
 * Why this file exists: in Node, `@tensorflow/tfjs-core` resolves to its CommonJS bundle, which registers no
 * gradients (the union package `@tensorflow/tfjs` normally imports `register_all_gradients`, and that ESM file
 * cannot be loaded by Node: extension-less imports). So autodiff (`tf.grad`, `tf.variableGrads`) fails with
 * "gradient function not found". `ensureGradients()` registers ours for every kernel that has none yet (it never
 * overrides one already registered), written with public ops only so that they are themselves differentiable
 * (Hyvärinen score matching differentiates a gradient). They save inputs only, never outputs: tfjs tapes the
 * saved copy of an output before the op that made it, so a gradient using a saved output is cut off from the
 * tape and second derivatives through it fail ("Cannot compute gradient of y=f(x)").
 */
import * as tf from '@tensorflow/tfjs-core';
import { matmul } from './linalg.js';

type Grads = Record<string, () => tf.Tensor> | Array<() => tf.Tensor>;
type GradFn = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: Record<string, unknown>) => Grads;
interface Config {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  gradFunc: GradFn;
}

/** Sums a broadcast gradient back to the input's shape. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? tf.sum(g, axes) : g;
  return tf.reshape(s, shape);
}

function one(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(dy) ? dy[0] : dy;
}

/** dy of a multi-output kernel: the engine passes a bare tensor when the kernel produced a single output. */
function many(dy: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(dy) ? dy : [dy];
}

/** Normalised reduction axes of a Sum/Mean/Max call. */
function reduceAxes(axis: unknown, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  const list = Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** dy of a reduction, reshaped with kept dimensions and broadcast to the input shape. */
function expandReduced(dy: tf.Tensor, xShape: number[], axes: number[]): tf.Tensor {
  const keep = xShape.slice();
  for (const a of axes) keep[a] = 1;
  return tf.mul(tf.reshape(dy, keep), tf.ones(xShape));
}

const unary = (name: string, f: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor): Config => ({
  kernelName: name,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => f(one(dy), saved[0]) }),
});

function convAttrs(attrs: Record<string, unknown>) {
  return {
    strides: attrs.strides as [number, number] | number,
    pad: attrs.pad as 'valid' | 'same' | number,
    dataFormat: (attrs.dataFormat as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC',
    dimRoundingMode: attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  };
}

function checkPlainConv(attrs: Record<string, unknown>): void {
  const d = attrs.dilations;
  const dil = d === undefined ? [1, 1] : Array.isArray(d) ? d : [d, d];
  if (dil.some((v) => v !== 1)) throw new Error('conv2d gradient: dilations other than 1 are not supported');
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error('conv2d gradient: only NHWC is supported');
}

function convGrads(x: tf.Tensor, filter: tf.Tensor, dy: tf.Tensor, attrs: Record<string, unknown>) {
  checkPlainConv(attrs);
  const a = convAttrs(attrs);
  return {
    x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...a, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
    filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...a, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
  };
}

const CONFIGS: Config[] = [
  { kernelName: 'Identity', gradFunc: (dy) => ({ x: () => tf.clone(one(dy)) }) },
  { kernelName: 'Cast', gradFunc: (dy) => ({ x: () => tf.clone(one(dy)) }) },
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(one(dy), a.shape), b: () => unbroadcast(one(dy), b.shape) }),
  },
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: (dy, saved) => saved.map(() => () => tf.clone(one(dy))),
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(one(dy), a.shape), b: () => unbroadcast(tf.neg(one(dy)), b.shape) }),
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(one(dy), b), a.shape),
      b: () => unbroadcast(tf.mul(one(dy), a), b.shape),
    }),
  },
  {
    kernelName: 'RealDiv',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(one(dy), b), a.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(one(dy), a), tf.square(b))), b.shape),
    }),
  },
  {
    kernelName: 'SquaredDifference',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const d = () => tf.mul(tf.mul(one(dy), tf.sub(a, b)), 2);
      return { a: () => unbroadcast(d(), a.shape), b: () => unbroadcast(tf.neg(d()), b.shape) };
    },
  },
  {
    kernelName: 'Maximum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(one(dy), tf.cast(tf.greaterEqual(a, b), 'float32')), a.shape),
      b: () => unbroadcast(tf.mul(one(dy), tf.cast(tf.less(a, b), 'float32')), b.shape),
    }),
  },
  {
    kernelName: 'Minimum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(one(dy), tf.cast(tf.lessEqual(a, b), 'float32')), a.shape),
      b: () => unbroadcast(tf.mul(one(dy), tf.cast(tf.greater(a, b), 'float32')), b.shape),
    }),
  },
  {
    kernelName: 'Pow',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(one(dy), tf.mul(b, tf.pow(a, tf.sub(b, 1)))), a.shape),
      b: () => {
        const pos = tf.greater(a, 0);
        const logA = tf.where(pos, tf.log(tf.where(pos, a, tf.onesLike(a))), tf.zerosLike(a));
        return unbroadcast(tf.mul(one(dy), tf.mul(tf.pow(a, b), logA)), b.shape);
      },
    }),
  },
  unary('Neg', (dy) => tf.neg(dy)),
  unary('Square', (dy, x) => tf.mul(dy, tf.mul(x, 2))),
  unary('Sqrt', (dy, x) => tf.div(dy, tf.mul(tf.sqrt(x), 2))),
  unary('Rsqrt', (dy, x) => tf.mul(dy, tf.mul(tf.div(tf.rsqrt(x), x), -0.5))),
  unary('Reciprocal', (dy, x) => tf.neg(tf.div(dy, tf.square(x)))),
  unary('Exp', (dy, x) => tf.mul(dy, tf.exp(x))),
  unary('Expm1', (dy, x) => tf.mul(dy, tf.exp(x))),
  unary('Log', (dy, x) => tf.div(dy, x)),
  unary('Log1p', (dy, x) => tf.div(dy, tf.add(x, 1))),
  unary('Sin', (dy, x) => tf.mul(dy, tf.cos(x))),
  unary('Cos', (dy, x) => tf.neg(tf.mul(dy, tf.sin(x)))),
  unary('Tanh', (dy, x) => tf.mul(dy, tf.sub(1, tf.square(tf.tanh(x))))),
  unary('Sigmoid', (dy, x) => {
    const y = tf.sigmoid(x);
    return tf.mul(dy, tf.mul(y, tf.sub(1, y)));
  }),
  unary('Softplus', (dy, x) => tf.mul(dy, tf.sigmoid(x))),
  unary('Relu', (dy, x) => tf.mul(dy, tf.cast(tf.greater(x, 0), 'float32'))),
  unary('Abs', (dy, x) => tf.mul(dy, tf.sign(x))),
  unary('Atan', (dy, x) => tf.div(dy, tf.add(tf.square(x), 1))),
  unary('Erf', (dy, x) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))),
  ...['Sign', 'Floor', 'Ceil', 'Round', 'Step'].map((n) => unary(n, (dy) => tf.zerosLike(dy))),
  // Comparisons and logical ops: piecewise constant, zero gradient to their inputs.
  ...['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr'].map(
    (n): Config => ({
      kernelName: n,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, [a, b]) => ({ a: () => tf.zeros(a.shape), b: () => tf.zeros(b.shape) }),
    }),
  ),
  ...['LogicalNot', 'IsNan', 'IsInf', 'IsFinite'].map((n): Config => ({ kernelName: n, inputsToSave: ['x'], gradFunc: (_dy, [x]) => ({ x: () => tf.zeros(x.shape) }) })),
  {
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () =>
        tf.mul(
          one(dy),
          tf.cast(tf.logicalAnd(tf.greaterEqual(x, attrs.clipValueMin as number), tf.lessEqual(x, attrs.clipValueMax as number)), 'float32'),
        ),
    }),
  },
  {
    kernelName: 'Select',
    inputsToSave: ['condition'],
    gradFunc: (dy, [cond]) => ({
      condition: () => tf.zeros(cond.shape),
      t: () => tf.mul(one(dy), tf.cast(cond, 'float32')),
      e: () => tf.mul(one(dy), tf.cast(tf.logicalNot(cond), 'float32')),
    }),
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => expandReduced(one(dy), x.shape, reduceAxes(attrs.axis, x.rank)) }),
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = reduceAxes(attrs.axis, x.rank);
      const n = axes.reduce((p, a) => p * x.shape[a], 1);
      return { x: () => tf.div(expandReduced(one(dy), x.shape, axes), n) };
    },
  },
  {
    kernelName: 'Max',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = reduceAxes(attrs.reductionIndices, x.rank);
      const keep = x.shape.slice();
      for (const a of axes) keep[a] = 1;
      return { x: () => tf.mul(expandReduced(one(dy), x.shape, axes), tf.cast(tf.equal(x, tf.reshape(tf.max(x, axes), keep)), 'float32')) };
    },
  },
  {
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(one(dy), x.shape) }),
  },
  {
    kernelName: 'ExpandDims',
    inputsToSave: ['input'],
    gradFunc: (dy, [x]) => ({ input: () => tf.reshape(one(dy), x.shape) }),
  },
  {
    kernelName: 'Transpose',
    gradFunc: (dy, _s, attrs) => {
      const perm = attrs.perm as number[];
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return { x: () => tf.transpose(one(dy), inv) };
    },
  },
  {
    kernelName: 'Reverse',
    gradFunc: (dy, _s, attrs) => ({ x: () => tf.reverse(one(dy), attrs.dims as number[]) }),
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const rank = saved[0].rank;
      const axis = ((attrs.axis as number) + rank) % rank;
      const parts = tf.split(one(dy), saved.map((t) => t.shape[axis]), axis);
      return parts.map((p) => () => p);
    },
  },
  {
    kernelName: 'SplitV',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axis = ((attrs.axis as number) + x.rank) % x.rank;
      return { x: () => tf.concat(many(dy), axis) };
    },
  },
  {
    kernelName: 'Pack',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => tf.unstack(one(dy), attrs.axis as number).map((t) => () => tf.reshape(t, saved[0].shape)),
  },
  {
    kernelName: 'Unpack',
    gradFunc: (dy, _s, attrs) => ({ value: () => tf.stack(many(dy), attrs.axis as number) }),
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const g = one(dy);
      const rank = x.rank;
      const beginRaw = attrs.begin as number | number[];
      const begin = Array.isArray(beginRaw) ? beginRaw : [beginRaw];
      const pads: Array<[number, number]> = [];
      for (let i = 0; i < rank; i++) {
        const b = begin[i] ?? 0;
        pads.push([b, x.shape[i] - b - g.shape[i]]);
      }
      return { x: () => tf.pad(g, pads) };
    },
  },
  {
    kernelName: 'PadV2',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const pads = attrs.paddings as Array<[number, number]>;
      return { x: () => tf.slice(one(dy), pads.map((p) => p[0]), x.shape) };
    },
  },
  {
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const reps = attrs.reps as number[];
      const inter: number[] = [];
      const axes: number[] = [];
      x.shape.forEach((d, i) => {
        axes.push(inter.length);
        inter.push(reps[i], d);
      });
      return { x: () => tf.reshape(tf.sum(tf.reshape(one(dy), inter), axes), x.shape) };
    },
  },
  {
    kernelName: 'BroadcastTo',
    gradFunc: (dy, _s, attrs) => ({ x: () => unbroadcast(one(dy), attrs.inputShape as number[]) }),
  },
  {
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const g = one(dy);
      const tA = attrs.transposeA as boolean;
      const tB = attrs.transposeB as boolean;
      let da: () => tf.Tensor;
      let db: () => tf.Tensor;
      if (!tA && !tB) {
        da = () => matmul(g, b, false, true);
        db = () => matmul(a, g, true, false);
      } else if (!tA && tB) {
        da = () => matmul(g, b, false, false);
        db = () => matmul(g, a, true, false);
      } else if (tA && !tB) {
        da = () => matmul(b, g, false, true);
        db = () => matmul(a, g, false, false);
      } else {
        da = () => matmul(b, g, true, true);
        db = () => matmul(g, a, true, true);
      }
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
    },
  },
  {
    kernelName: 'Softmax',
    inputsToSave: ['logits'],
    gradFunc: (dy, [logits], attrs) => {
      const dim = attrs.dim as number;
      return {
        logits: () => {
          const y = tf.softmax(logits, dim);
          return tf.mul(y, tf.sub(one(dy), tf.sum(tf.mul(one(dy), y), dim, true)));
        },
      };
    },
  },
  {
    kernelName: 'AvgPool',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () =>
        tf.engine().runKernel('AvgPoolGrad', { dy: one(dy), input: x }, {
          filterSize: attrs.filterSize,
          strides: attrs.strides,
          pad: attrs.pad,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    }),
  },
  {
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => convGrads(x, filter, one(dy), attrs),
  },
  {
    kernelName: 'FusedConv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      if (attrs.activation && attrs.activation !== 'linear') throw new Error(`fused conv2d gradient: activation ${String(attrs.activation)} not supported`);
      const g = one(dy);
      return { ...convGrads(x, filter, g, attrs), bias: () => tf.sum(g, [0, 1, 2]) };
    },
  },
];

let done = false;

/** Registers the gradients above for every kernel that has none. Idempotent. */
export function ensureGradients(): void {
  if (done) return;
  for (const c of CONFIGS) {
    if (!tf.getGradient(c.kernelName)) tf.registerGradient(c as unknown as tf.GradConfig);
  }
  done = true;
}

ensureGradients();
