/**
 * The dense products' engine: where a host registers one (src-main/onnx/products.ts: ONNX Runtime's CPU kernels,
 * MLAS), the likelihood's two hottest dense products leave tfjs — a FourierFilter's whole apply or adjoint (four
 * DFT matrix products and the spectral multiply: every PSF convolution, the uv operator, the radio likelihood's K
 * product) and the normal matrix's product u·G of the conjugate-gradient solver (normalProduct) — and run as one
 * ONNX graph each, its matrices as initializers, built once per filter and direction (per G) at first use, the
 * batch dimension symbolic. Where none is registered (the default, the browser, tfjs or GPU score engines) the
 * tfjs path runs as before.
 *
 * The graphs are described here (plain TypeScript: ONNX protobuf bytes, no runtime import); the host compiles them.
 * Inside the callers' tf.tidy the input tensor is read (dataSync), the compiled graph runs synchronously, and the
 * result is one new tensor: the tensor count is that of the tfjs path.
 */
import { encodeModel, ONNX_FLOAT } from '../diffusion/nn/onnx-proto.js';
import { GraphBuilder } from '../diffusion/nn/onnx-graph.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../diffusion/nn/onnx-export.js';

/** A compiled graph with one float32 input `x` and one float32 output `y`; `run` is synchronous. */
export interface CompiledProduct {
  run(x: Float32Array, dims: number[]): Float32Array;
  dispose(): void;
}

export interface ProductEngine {
  /** How the products run, for reports: e.g. "ONNX Runtime 1.31.1 on the CPU (MLAS)" (threads: the score model's). */
  readonly name: string;
  /** Compiles an ONNX model (input `x`, output `y`, float32). Throws where it cannot. */
  compile(model: Uint8Array): CompiledProduct;
}

let current: ProductEngine | null = null;

/** Registers the engine for this thread's dense products (null: tfjs again). Compiled graphs are per engine. */
export function setProductEngine(engine: ProductEngine | null): void {
  current = engine;
}

/** The registered engine, or null (tfjs). */
export function productEngine(): ProductEngine | null {
  return current;
}

/** A product graph: its nodes and initializers, input `x` and output `y` (dims given as sizes or symbolic names). */
function encodeProduct(g: GraphBuilder, name: string, inDims: (number | string)[], outDims: (number | string)[]): Uint8Array {
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producer: { name: 'skyscore', version: 'products' },
    graph: {
      name,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [{ name: 'x', elemType: ONNX_FLOAT, dims: inDims }],
      outputs: [{ name: 'y', elemType: ONNX_FLOAT, dims: outDims }],
    },
  });
}

/** The matrices of one direction of a FourierFilter (apply: m1, m2, m3, m4; adjoint: m4ᵀ, m3ᵀ, m2ᵀ, m1ᵀ). */
export interface FourierGraphSpec {
  /** input [B, n0, n1]; output [B, o0, o1] */
  inShape: [number, number];
  outShape: [number, number];
  /** kh: half-spectrum columns; py: padded rows */
  kh: number;
  py: number;
  /** [n1, 2kh], [2n0, 2py], [2py, 2o0], [2kh, o1] row-major */
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  d: Float32Array;
  /** the transfer function as [kh, 2, py] (Hr, Hr), and (−Hi, Hi) or null when real */
  hr: Float32Array;
  hi: Float32Array | null;
  /** the adjoint's spectral multiply (swap after the product with (−Hi, Hi), not before) */
  transpose: boolean;
}

/**
 * One direction of a FourierFilter as an ONNX graph, the tfjs stages one for one: x [B, n0, n1] · a → swap axes
 * → · b → Z·H → · c → swap back → · d = y [B, o0, o1].
 */
export function fourierFilterModel(s: FourierGraphSpec): Uint8Array {
  const [n0, n1] = s.inShape;
  const [o0, o1] = s.outShape;
  const { kh, py } = s;
  const g = new GraphBuilder();
  let t = g.op('MatMul', ['x', g.weight('a', [n1, 2 * kh], s.a)]); // [B, n0, 2kh]
  t = g.op('Reshape', [t, g.ints([0, n0, 2, kh])]);
  t = g.op('Transpose', [t], { perm: { kind: 'ints', v: [0, 3, 2, 1] } }); // [B, kh, 2, n0]
  t = g.op('Reshape', [t, g.ints([0, kh, 2 * n0])]);
  t = g.op('MatMul', [t, g.weight('b', [2 * n0, 2 * py], s.b)]); // [B, kh, 2py]
  let z = g.op('Reshape', [t, g.ints([0, kh, 2, py])]);
  const hr = g.weight('hr', [kh, 2, py], s.hr);
  const zr = g.op('Mul', [z, hr]);
  if (s.hi) {
    const hi = g.weight('hi', [kh, 2, py], s.hi);
    // swap(v): (re, im) → (im, re) along axis 2
    const swap = (v: string) => {
      const [re, im] = g.ops('Split', [v], 2, { axis: { kind: 'int', v: 2 } });
      return g.op('Concat', [im!, re!], { axis: { kind: 'int', v: 2 } });
    };
    const zi = s.transpose ? swap(g.op('Mul', [z, hi])) : g.op('Mul', [swap(z), hi]);
    z = g.op('Add', [zr, zi]);
  } else z = zr;
  t = g.op('Reshape', [z, g.ints([0, kh, 2 * py])]);
  t = g.op('MatMul', [t, g.weight('c', [2 * py, 2 * o0], s.c)]); // [B, kh, 2o0]
  t = g.op('Reshape', [t, g.ints([0, kh, 2, o0])]);
  t = g.op('Transpose', [t], { perm: { kind: 'ints', v: [0, 3, 2, 1] } }); // [B, o0, 2, kh]
  t = g.op('Reshape', [t, g.ints([0, o0, 2 * kh])]);
  g.op('MatMul', [t, g.weight('d', [2 * kh, o1], s.d)], undefined, 'MatMul', 'y'); // [B, o0, o1]
  return encodeProduct(g, 'fourier_filter', ['B', n0, n1], ['B', o0, o1]);
}

/** u·G for rows u [B, n] and G [n, n] as an initializer (G's right product; G symmetric: the normal product). */
export function rightProductModel(G: Float32Array, n: number): Uint8Array {
  if (G.length !== n * n) throw new RangeError(`rightProductModel: ${G.length} values for [${n}, ${n}]`);
  const g = new GraphBuilder();
  g.op('MatMul', ['x', g.weight('G', [n, n], G)], undefined, 'MatMul', 'y');
  return encodeProduct(g, 'normal_product', ['B', n], ['B', n]);
}
