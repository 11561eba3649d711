import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';

import type { CsrMatrix } from './csr.js';

export { csrFromTriplets, transposeCsr, csrMultiply, type CsrMatrix } from './csr.js';

/**
 * How sparse products run on tensors:
 *  - 'segment': gather and row sums both through SparseSegmentSum (a fused kernel in wasm, a tight loop on cpu;
 *    the fastest formulation on both, measured), no padding.
 *  - 'ell': GatherNd + multiply + reshape/sum over rows grouped by length (sliced ELLPACK), then one
 *    GatherNd to restore the row order. Only dense, data-independent kernels: the GPU path (webgpu's
 *    SparseSegmentSum reads its segment ids back to the CPU on every call).
 */
export type SparseStrategy = 'segment' | 'ell';

export function defaultSparseStrategy(backend: string = tf.getBackend()): SparseStrategy {
  return backend === 'cpu' || backend === 'wasm' ? 'segment' : 'ell';
}

interface SegmentTensors {
  kind: 'segment';
  cols: Tensor1D; // int32 [nnz']
  rowIds: Tensor1D; // int32 [nnz'] sorted, last = nRows − 1
  iota: Tensor1D; // int32 0..nnz'−1
  w: Tensor2D; // [nnz', 1]
}

interface EllBucket {
  rows: number;
  width: number;
  cols: Tensor2D; // int32 [rows·width, 1]
  w: Tensor2D; // [rows·width, 1]
}

interface EllTensors {
  kind: 'ell';
  buckets: EllBucket[];
  emptyRows: number;
  inversePerm: Tensor2D | null; // int32 [nRows, 1]; null when buckets are already in row order
}

/** A fixed sparse matrix on tensors: y [nRows, B] = A x [nCols, B]. */
export class SparseTensorMatrix {
  readonly nRows: number;
  readonly nCols: number;
  readonly nnz: number;
  readonly strategy: SparseStrategy;
  private readonly t: SegmentTensors | EllTensors;

  constructor(a: CsrMatrix, strategy: SparseStrategy = defaultSparseStrategy()) {
    this.nRows = a.nRows;
    this.nCols = a.nCols;
    this.nnz = a.rowPtr[a.nRows];
    this.strategy = strategy;
    this.t = strategy === 'segment' ? buildSegment(a) : buildEll(a);
  }

  /** x: [nCols, B] float32 → [nRows, B]. */
  multiply(x: Tensor2D): Tensor2D {
    return tf.tidy(() => {
      const b = x.shape[1];
      const t = this.t;
      if (t.kind === 'segment') {
        const g = tf.sparse.sparseSegmentSum(x, t.cols, t.iota); // x[cols] : [nnz', B]
        return tf.sparse.sparseSegmentSum(tf.mul(g, t.w), t.iota, t.rowIds) as Tensor2D;
      }
      const parts: Tensor[] = [];
      for (const bk of t.buckets) {
        const g = tf.mul(tf.gatherND(x, bk.cols), bk.w); // [rows·width, B]
        parts.push(bk.width === 1 ? g : tf.sum(tf.reshape(g, [bk.rows, bk.width, b]), 1));
      }
      if (t.emptyRows > 0) parts.push(tf.zeros([t.emptyRows, b]));
      const stacked = (parts.length === 1 ? parts[0] : tf.concat(parts, 0)) as Tensor2D;
      return t.inversePerm ? (tf.gatherND(stacked, t.inversePerm) as Tensor2D) : stacked;
    });
  }

  dispose(): void {
    const t = this.t;
    if (t.kind === 'segment') tf.dispose([t.cols, t.rowIds, t.iota, t.w]);
    else {
      for (const b of t.buckets) tf.dispose([b.cols, b.w]);
      t.inversePerm?.dispose();
    }
  }
}

function buildSegment(a: CsrMatrix): SegmentTensors {
  const nnz = a.rowPtr[a.nRows];
  const lastEmpty = a.nRows > 0 && a.rowPtr[a.nRows] === a.rowPtr[a.nRows - 1];
  // the output has (last segment id + 1) rows: pin the size with a zero entry when the last row is empty
  const n = nnz + (lastEmpty || nnz === 0 ? 1 : 0);
  const cols = new Int32Array(n);
  const rowIds = new Int32Array(n);
  const w = new Float32Array(n);
  for (let r = 0; r < a.nRows; r++) {
    for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) {
      cols[p] = a.colIdx[p];
      rowIds[p] = r;
      w[p] = a.values[p];
    }
  }
  if (n > nnz) {
    cols[nnz] = 0;
    rowIds[nnz] = a.nRows - 1;
    w[nnz] = 0;
  }
  const iota = new Int32Array(n);
  for (let k = 0; k < n; k++) iota[k] = k;
  return {
    kind: 'segment',
    cols: tf.tensor1d(cols, 'int32'),
    rowIds: tf.tensor1d(rowIds, 'int32'),
    iota: tf.tensor1d(iota, 'int32'),
    w: tf.tensor2d(w, [n, 1]),
  };
}

function buildEll(a: CsrMatrix): EllTensors {
  // bucket rows by the power of two ≥ their length
  const groups = new Map<number, number[]>();
  const empty: number[] = [];
  for (let r = 0; r < a.nRows; r++) {
    const len = a.rowPtr[r + 1] - a.rowPtr[r];
    if (len === 0) {
      empty.push(r);
      continue;
    }
    let w = 1;
    while (w < len) w <<= 1;
    let g = groups.get(w);
    if (!g) groups.set(w, (g = []));
    g.push(r);
  }
  const widths = [...groups.keys()].sort((x, y) => x - y);
  const buckets: EllBucket[] = [];
  const order: number[] = [];
  for (const width of widths) {
    const rows = groups.get(width)!;
    const cols = new Int32Array(rows.length * width);
    const w = new Float32Array(rows.length * width);
    rows.forEach((r, i) => {
      let q = i * width;
      for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++, q++) {
        cols[q] = a.colIdx[p];
        w[q] = a.values[p];
      }
      // padding: column 0 with weight 0
      order.push(r);
    });
    buckets.push({ rows: rows.length, width, cols: tf.tensor2d(cols, [cols.length, 1], 'int32'), w: tf.tensor2d(w, [w.length, 1]) });
  }
  order.push(...empty);
  const inv = new Int32Array(a.nRows);
  let identity = true;
  order.forEach((r, pos) => {
    inv[r] = pos;
    if (r !== pos) identity = false;
  });
  return {
    kind: 'ell',
    buckets,
    emptyRows: empty.length,
    inversePerm: identity ? null : tf.tensor2d(inv, [a.nRows, 1], 'int32'),
  };
}
