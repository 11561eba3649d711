/**
 * Sparse matrices in compressed-row form on plain float64 arrays, free of tfjs (set-up work, the lens fit, tests);
 * sparse.ts puts them on tensors.
 */
/** A sparse matrix in compressed-row form (rows sorted, columns sorted and unique within a row). */
export interface CsrMatrix {
  nRows: number;
  nCols: number;
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float64Array;
}

/** Builds a CSR matrix from (row, col, value) triplets, summing duplicates and dropping exact zeros. */
export function csrFromTriplets(
  nRows: number,
  nCols: number,
  rows: ArrayLike<number>,
  cols: ArrayLike<number>,
  vals: ArrayLike<number>,
  count = rows.length,
): CsrMatrix {
  const counts = new Int32Array(nRows + 1);
  for (let k = 0; k < count; k++) counts[rows[k] + 1]++;
  for (let r = 0; r < nRows; r++) counts[r + 1] += counts[r];
  const start = counts.slice();
  const c = new Int32Array(count);
  const v = new Float64Array(count);
  const fill = counts.slice(0, nRows);
  for (let k = 0; k < count; k++) {
    const p = fill[rows[k]]++;
    c[p] = cols[k];
    v[p] = vals[k];
  }
  // sort each row by column, merge duplicates
  const rowPtr = new Int32Array(nRows + 1);
  const outC: number[] = [];
  const outV: number[] = [];
  const order: number[] = [];
  for (let r = 0; r < nRows; r++) {
    order.length = 0;
    for (let p = start[r]; p < start[r + 1]; p++) order.push(p);
    order.sort((a, b) => c[a] - c[b]);
    let last = -1;
    for (const p of order) {
      if (c[p] === last) outV[outV.length - 1] += v[p];
      else {
        outC.push(c[p]);
        outV.push(v[p]);
        last = c[p];
      }
    }
    // drop entries that summed to zero
    let w = rowPtr[r];
    for (let p = rowPtr[r]; p < outC.length; p++) {
      if (outV[p] !== 0) {
        outC[w] = outC[p];
        outV[w] = outV[p];
        w++;
      }
    }
    outC.length = w;
    outV.length = w;
    rowPtr[r + 1] = w;
  }
  return { nRows, nCols, rowPtr, colIdx: Int32Array.from(outC), values: Float64Array.from(outV) };
}

export function transposeCsr(a: CsrMatrix): CsrMatrix {
  const nnz = a.rowPtr[a.nRows];
  const counts = new Int32Array(a.nCols + 1);
  for (let k = 0; k < nnz; k++) counts[a.colIdx[k] + 1]++;
  for (let c = 0; c < a.nCols; c++) counts[c + 1] += counts[c];
  const rowPtr = counts.slice();
  const fill = counts.slice(0, a.nCols);
  const colIdx = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  for (let r = 0; r < a.nRows; r++) {
    for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) {
      const q = fill[a.colIdx[p]]++;
      colIdx[q] = r; // rows visited in order: columns of the transpose come out sorted
      values[q] = a.values[p];
    }
  }
  return { nRows: a.nCols, nCols: a.nRows, rowPtr, colIdx, values };
}

/** y = A x for x [nCols, B] on plain arrays (float64): tests, setup-time work. */
export function csrMultiply(a: CsrMatrix, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(a.nRows);
  for (let r = 0; r < a.nRows; r++) {
    let s = 0;
    for (let p = a.rowPtr[r]; p < a.rowPtr[r + 1]; p++) s += a.values[p] * x[a.colIdx[p]];
    y[r] = s;
  }
  return y;
}

/** The column-index and value buffers of a CSR matrix being built, with room for `need` entries (at least doubled; the first `used` kept). */
export function growCsrBuffers(colIdx: Int32Array<ArrayBuffer>, values: Float64Array<ArrayBuffer>, used: number, need: number): { colIdx: Int32Array<ArrayBuffer>; values: Float64Array<ArrayBuffer> } {
  if (need <= colIdx.length) return { colIdx, values };
  const size = Math.max(colIdx.length * 2, need);
  const c2 = new Int32Array(size);
  c2.set(colIdx.subarray(0, used));
  const v2 = new Float64Array(size);
  v2.set(values.subarray(0, used));
  return { colIdx: c2, values: v2 };
}

/**
 * The matrix whose rows are those of `parts` one after another (the same columns): the blocks of rows made apart
 * joined. `alloc`: the buffers' maker (a host's shared memory; default: ArrayBuffer).
 */
export function stackRows(parts: readonly CsrMatrix[], alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b)): CsrMatrix {
  if (!parts.length) throw new Error('stackRows: no parts');
  const nCols = parts[0].nCols;
  let nRows = 0;
  let nnz = 0;
  for (const p of parts) {
    if (p.nCols !== nCols) throw new Error(`stackRows: ${p.nCols} columns where the first part has ${nCols}`);
    nRows += p.nRows;
    nnz += p.rowPtr[p.nRows];
  }
  const rowPtr = new Int32Array(alloc(4 * (nRows + 1)));
  const colIdx = new Int32Array(alloc(4 * nnz));
  const values = new Float64Array(alloc(8 * nnz));
  let r0 = 0;
  let q0 = 0;
  for (const p of parts) {
    const m = p.rowPtr[p.nRows];
    colIdx.set(p.colIdx.subarray(0, m), q0);
    values.set(p.values.subarray(0, m), q0);
    for (let r = 1; r <= p.nRows; r++) rowPtr[r0 + r] = q0 + p.rowPtr[r];
    r0 += p.nRows;
    q0 += m;
  }
  return { nRows, nCols, rowPtr, colIdx, values };
}
