/** The ONNX graph builder of the score-model exporter (onnx-export.ts) and the likelihood's product graphs (../../linalg/product-engine.ts). */
import type { AttrValue, OnnxNode, OnnxTensor } from './onnx-proto.js';
import { sizeOf } from './params.js';

/** Builds a graph node by node, naming every intermediate value. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;
  private readonly consts = new Map<string, string>();

  /** One node; its output named `out` where given (a graph output), else `${hint}_k`. */
  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, hint = op, out?: string): string {
    const name = out ?? `${hint}_${this.count++}`;
    this.nodes.push({ op, inputs, outputs: [name], name, attrs });
    return name;
  }

  /** One node of `outputs` outputs (Split). */
  ops(op: string, inputs: string[], outputs: number, attrs?: Record<string, AttrValue>): string[] {
    const names = Array.from({ length: outputs }, () => `${op}_${this.count++}`);
    this.nodes.push({ op, inputs, outputs: names, name: names[0], attrs });
    return names;
  }

  weight(name: string, dims: number[], data: Float32Array): string {
    if (data.length !== sizeOf(dims)) throw new Error(`ONNX export: ${name} has ${data.length} values for [${dims.join(', ')}]`);
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** A shared int64 constant (shapes, axes). */
  ints(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_i64_${this.consts.size}`;
      this.initializers.push({ name, dims: [values.length], data: { int64: values } });
      this.consts.set(key, name);
    }
    return name;
  }

  /** A shared float32 constant (a scalar when dims is []). */
  floats(values: number[], dims: number[] = [values.length]): string {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_f32_${this.consts.size}`;
      this.initializers.push({ name, dims, data: Float32Array.from(values) });
      this.consts.set(key, name);
    }
    return name;
  }
}
