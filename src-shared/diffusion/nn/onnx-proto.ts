/**
 * A minimal Protocol Buffers writer for the parts of the ONNX format (onnx.proto, proto2 wire format) that the
 * score-model exporter needs: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and
 * their type/shape messages. Encoding only; field numbers as in onnx.proto:
 *   ModelProto        ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7, opset_import 8,
 *                     metadata_props 14
 *   OperatorSetIdProto domain 1, version 2
 *   GraphProto        node 1, name 2, initializer 5, doc_string 10, input 11, output 12
 *   NodeProto         input 1, output 2, name 3, op_type 4, attribute 5, domain 7
 *   AttributeProto    name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20
 *   TensorProto       dims 1, data_type 2, name 8, raw_data 9 (little-endian values)
 *   ValueInfoProto    name 1, type 2;  TypeProto tensor_type 1;  TypeProto.Tensor elem_type 1, shape 2
 *   TensorShapeProto  dim 1;  Dimension dim_value 1, dim_param 2
 *   StringStringEntryProto key 1, value 2
 */

/** Wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit. */
const VARINT = 0;
const LEN = 2;
const I32 = 5;

const utf8 = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Appends protobuf fields to a growing list of byte chunks. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  /** A varint of a non-negative or negative integer (negative int64 as its 10-byte two's complement). */
  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, VARINT);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, LEN);
    this.varint(b.length);
    this.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  /** A nested message: its chunks are taken over, not copied (a 64 MB initializer is copied once, by finish). */
  message(field: number, m: ProtoWriter): this {
    this.tag(field, LEN);
    this.varint(m.length);
    for (const c of m.chunks) this.push(c);
    return this;
  }

  /** Packed repeated varints (proto2 readers accept the packed form for repeated scalars). */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of vs) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(4 * vs.length);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

/** TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

export type AttrValue =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'ints'; v: number[] }
  | { kind: 'floats'; v: number[] }
  | { kind: 'string'; v: string };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** float32 values or int64 values (as numbers: small integers only). */
  data: Float32Array | { int64: number[] };
}

/** A graph input or output: float32 with dims given as sizes or symbolic names. */
export interface OnnxValueInfo {
  name: string;
  elemType: number;
  dims: (number | string)[];
}

export interface OnnxModel {
  irVersion: number;
  opset: number;
  producer: { name: string; version: string };
  doc?: string;
  graph: { name: string; nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] };
  metadata?: Record<string, string>;
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

function attribute(name: string, a: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name).int(20, ATTR_TYPE[a.kind]);
  switch (a.kind) {
    case 'int':
      return w.int(3, a.v);
    case 'float':
      return w.float(2, a.v);
    case 'string':
      return w.bytes(4, utf8.encode(a.v));
    case 'ints':
      return w.packedInts(8, a.v);
    case 'floats':
      return w.packedFloats(7, a.v);
  }
}

function node(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

function tensor(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter().packedInts(1, t.dims);
  if (t.data instanceof Float32Array) {
    // little-endian hosts: the values' own bytes (copied once, into the model, by finish)
    let raw: Uint8Array;
    if (LITTLE_ENDIAN) raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    else {
      raw = new Uint8Array(t.data.length * 4);
      const dv = new DataView(raw.buffer);
      for (let i = 0; i < t.data.length; i++) dv.setFloat32(4 * i, t.data[i], true);
    }
    return w.int(2, ONNX_FLOAT).string(8, t.name).bytes(9, raw);
  }
  const vals = t.data.int64;
  const raw = new Uint8Array(vals.length * 8);
  const dv = new DataView(raw.buffer);
  vals.forEach((v, i) => dv.setBigInt64(8 * i, BigInt(v), true));
  return w.int(2, ONNX_INT64).string(8, t.name).bytes(9, raw);
}

function valueInfo(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, v.elemType).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

/** The serialised ModelProto (the bytes of a .onnx file). */
export function encodeModel(m: OnnxModel): Uint8Array {
  const g = new ProtoWriter();
  for (const n of m.graph.nodes) g.message(1, node(n));
  g.string(2, m.graph.name);
  for (const t of m.graph.initializers) g.message(5, tensor(t));
  for (const i of m.graph.inputs) g.message(11, valueInfo(i));
  for (const o of m.graph.outputs) g.message(12, valueInfo(o));
  const w = new ProtoWriter()
    .int(1, m.irVersion)
    .string(2, m.producer.name)
    .string(3, m.producer.version);
  if (m.doc) w.string(6, m.doc);
  w.message(7, g);
  w.message(8, new ProtoWriter().string(1, '').int(2, m.opset));
  for (const [k, v] of Object.entries(m.metadata ?? {})) w.message(14, new ProtoWriter().string(1, k).string(2, v));
  return w.finish();
}
