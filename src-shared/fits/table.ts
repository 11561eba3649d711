import { FitsInputError } from './errors.js';
import type { FitsHeader } from './header.js';
import { int64ToNumber } from './image.js';
import type { ColumnData, FitsColumn, FitsTable } from './types.js';

const SIZES: Record<string, number> = { L: 1, X: 0, B: 1, I: 2, J: 4, K: 8, A: 1, E: 4, D: 8, C: 8, M: 16, P: 8, Q: 16 };

export interface BinForm {
  repeat: number;
  type: string;
  /** Element type of a P/Q descriptor column. */
  varType?: string;
  /** Bytes in a row. */
  width: number;
}

export function parseBinForm(tform: string, col: number): BinForm {
  const m = /^\s*(\d*)\s*([LXBIJKAEDCMPQ])\s*(.*)$/.exec(tform.toUpperCase());
  if (!m) throw new FitsInputError(`TFORM${col} = '${tform}' is not a binary-table format`);
  const repeat = m[1] === '' ? 1 : Number(m[1]);
  const type = m[2];
  if (!Number.isSafeInteger(repeat)) throw new FitsInputError(`TFORM${col} = '${tform}': bad repeat count`);
  if (type === 'P' || type === 'Q') {
    const v = /^([LXBIJKAEDCM])/.exec(m[3]);
    if (!v) throw new FitsInputError(`TFORM${col} = '${tform}': variable-length column without an element type`);
    return { repeat: Math.min(repeat, 1), type, varType: v[1], width: Math.min(repeat, 1) * SIZES[type] };
  }
  const width = type === 'X' ? Math.ceil(repeat / 8) : repeat * SIZES[type];
  return { repeat, type, width };
}

function numberKey(h: FitsHeader, key: string): number | undefined {
  const v = h.get(key);
  return typeof v === 'number' ? v : undefined;
}

function strKey(h: FitsHeader, key: string): string | undefined {
  const v = h.get(key);
  return typeof v === 'string' ? v : undefined;
}

/** Decodes `n` elements of binary type `type` at `pos` (big-endian) with optional scaling. */
function decodeElements(
  dv: DataView,
  pos: number,
  n: number,
  type: string,
  scale: { tscal: number; tzero: number; tnull?: number },
): ColumnData {
  const scaled = scale.tscal !== 1 || scale.tzero !== 0;
  switch (type) {
    case 'L': {
      const out: Array<boolean | null> = new Array(n);
      for (let i = 0; i < n; i++) {
        const c = dv.getUint8(pos + i);
        out[i] = c === 0x54 ? true : c === 0x46 ? false : null;
      }
      return out;
    }
    case 'A': {
      let s = '';
      for (let i = 0; i < n; i++) {
        const c = dv.getUint8(pos + i);
        if (c === 0) break;
        s += String.fromCharCode(c);
      }
      return [s.replace(/ +$/, '')];
    }
    case 'X': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (dv.getUint8(pos + (i >> 3)) >> (7 - (i & 7))) & 1;
      return out;
    }
    case 'C':
    case 'M': {
      const sz = type === 'C' ? 4 : 8;
      const out = type === 'C' ? new Float32Array(2 * n) : new Float64Array(2 * n);
      for (let i = 0; i < 2 * n; i++) out[i] = sz === 4 ? dv.getFloat32(pos + i * 4) : dv.getFloat64(pos + i * 8);
      return out;
    }
  }
  const get = (i: number): number => {
    switch (type) {
      case 'B':
        return dv.getUint8(pos + i);
      case 'I':
        return dv.getInt16(pos + 2 * i);
      case 'J':
        return dv.getInt32(pos + 4 * i);
      case 'K':
        return int64ToNumber(dv.getInt32(pos + 8 * i), dv.getUint32(pos + 8 * i + 4));
      case 'E':
        return dv.getFloat32(pos + 4 * i);
      case 'D':
        return dv.getFloat64(pos + 8 * i);
    }
    throw new FitsInputError(`unknown column type ${type}`);
  };
  if (scaled || (scale.tnull !== undefined && 'BIJK'.includes(type))) {
    const out = new Float64Array(n);
    const isInt = 'BIJK'.includes(type);
    if (type === 'K' && scale.tscal === 1 && scale.tzero === 9223372036854775808) {
      for (let i = 0; i < n; i++) out[i] = ((dv.getInt32(pos + 8 * i) ^ 0x80000000) >>> 0) * 4294967296 + dv.getUint32(pos + 8 * i + 4);
      return out;
    }
    for (let i = 0; i < n; i++) {
      const r = get(i);
      out[i] = isInt && scale.tnull !== undefined && r === scale.tnull ? NaN : scale.tzero + scale.tscal * r;
    }
    return out;
  }
  switch (type) {
    case 'B': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = get(i);
      return out;
    }
    case 'I': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = get(i);
      return out;
    }
    case 'J': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = get(i);
      return out;
    }
    case 'K': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getBigInt64(pos + 8 * i);
      return out;
    }
    case 'E': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = get(i);
      return out;
    }
    default: {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = get(i);
      return out;
    }
  }
}

function concat(parts: ColumnData[], type: string, scaled: boolean): ColumnData {
  if (type === 'A' || type === 'L') return ([] as Array<string | boolean | null>).concat(...(parts as Array<Array<string | boolean | null>>)) as ColumnData;
  const total = parts.reduce((a, p) => a + p.length, 0);
  const first = parts[0];
  let out: ColumnData;
  if (first === undefined) out = scaled ? new Float64Array(0) : new Float64Array(0);
  else out = new (first.constructor as new (n: number) => Exclude<ColumnData, unknown[]>)(total);
  let o = 0;
  for (const p of parts) {
    (out as Float64Array).set(p as Float64Array, o);
    o += p.length;
  }
  return out;
}

function makeTable(nrows: number, columns: FitsColumn[]): FitsTable {
  return {
    nrows,
    columns,
    column(name: string) {
      const n = name.trim().toUpperCase();
      return columns.find((c) => c.name.trim().toUpperCase() === n);
    },
  };
}

/** Decodes a BINTABLE's columns. `data` holds the table and its heap (NAXIS1×NAXIS2 + PCOUNT bytes). */
export function decodeBinTable(h: FitsHeader, data: Uint8Array): FitsTable {
  const naxis1 = numberKey(h, 'NAXIS1') ?? 0;
  const nrows = numberKey(h, 'NAXIS2') ?? 0;
  const tfields = numberKey(h, 'TFIELDS') ?? 0;
  const pcount = numberKey(h, 'PCOUNT') ?? 0;
  if (!Number.isInteger(tfields) || tfields < 0 || tfields > 999) throw new FitsInputError(`TFIELDS = ${tfields} is not valid`);
  if (nrows > 0 && naxis1 * nrows > data.length) throw new FitsInputError(`BINTABLE has ${nrows} rows of ${naxis1} bytes but only ${data.length} data bytes`);
  if (naxis1 === 0 && nrows > 1e7) throw new FitsInputError(`BINTABLE with zero-width rows declares an absurd ${nrows} rows`);
  const theap = numberKey(h, 'THEAP') ?? naxis1 * nrows;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const heapStart = theap;
  const heapEnd = naxis1 * nrows + pcount;
  const forms: BinForm[] = [];
  let width = 0;
  for (let c = 1; c <= tfields; c++) {
    const tform = strKey(h, `TFORM${c}`);
    if (tform === undefined) throw new FitsInputError(`BINTABLE column ${c} has no TFORM${c}`);
    const f = parseBinForm(tform, c);
    forms.push(f);
    width += f.width;
  }
  if (width > naxis1) throw new FitsInputError(`BINTABLE columns need ${width} bytes per row but NAXIS1 = ${naxis1}`);
  const columns: FitsColumn[] = [];
  let offset = 0;
  for (let c = 1; c <= tfields; c++) {
    const f = forms[c - 1];
    const name = strKey(h, `TTYPE${c}`) ?? `col${c}`;
    const tscal = numberKey(h, `TSCAL${c}`) ?? 1;
    const tzero = numberKey(h, `TZERO${c}`) ?? 0;
    const tnull = numberKey(h, `TNULL${c}`);
    const scale = { tscal, tzero, tnull };
    const col: FitsColumn = { name, format: strKey(h, `TFORM${c}`) ?? '', type: f.varType ?? f.type, repeat: f.repeat, data: [] as string[] };
    const unit = strKey(h, `TUNIT${c}`);
    if (unit !== undefined && unit !== '') col.unit = unit;
    if (tnull !== undefined) col.nullValue = tnull;
    const tdim = strKey(h, `TDIM${c}`);
    if (tdim !== undefined) {
      const dims = tdim.replace(/[()\s]/g, '').split(',').filter((x) => x !== '').map(Number);
      if (dims.every((d) => Number.isInteger(d) && d >= 0)) col.dim = dims;
    }
    if (f.type === 'P' || f.type === 'Q') {
      const rows: ColumnData[] = [];
      const t = f.varType!;
      const esize = t === 'X' ? 0 : SIZES[t];
      for (let r = 0; r < nrows; r++) {
        const p = r * naxis1 + offset;
        if (f.repeat === 0) {
          rows.push(new Float64Array(0));
          continue;
        }
        const n = f.type === 'P' ? dv.getUint32(p) : int64ToNumber(dv.getInt32(p), dv.getUint32(p + 4));
        const off = f.type === 'P' ? dv.getUint32(p + 4) : int64ToNumber(dv.getInt32(p + 8), dv.getUint32(p + 12));
        const nb = t === 'X' ? Math.ceil(n / 8) : n * esize;
        const start = heapStart + off;
        if (!(start >= 0 && start + nb <= heapEnd && start + nb <= data.length)) {
          throw new FitsInputError(`BINTABLE column ${c} row ${r + 1}: variable-length array outside the heap`);
        }
        rows.push(decodeElements(dv, start, n, t, scale));
      }
      col.rows = rows;
      col.data = concat(rows, t, tscal !== 1 || tzero !== 0);
    } else {
      const parts: ColumnData[] = [];
      if (f.type === 'A') {
        const out: string[] = new Array(nrows);
        for (let r = 0; r < nrows; r++) out[r] = (decodeElements(dv, r * naxis1 + offset, f.repeat, 'A', scale) as string[])[0];
        col.data = out;
      } else {
        for (let r = 0; r < nrows; r++) parts.push(decodeElements(dv, r * naxis1 + offset, f.repeat, f.type, scale));
        col.data = nrows ? concat(parts, f.type, tscal !== 1 || tzero !== 0) : decodeElements(dv, 0, 0, f.type, scale);
      }
    }
    columns.push(col);
    offset += f.width;
  }
  return makeTable(nrows, columns);
}

/** Decodes an ASCII TABLE's columns (A, I, F, E, D formats). */
export function decodeAsciiTable(h: FitsHeader, data: Uint8Array): FitsTable {
  const naxis1 = numberKey(h, 'NAXIS1') ?? 0;
  const nrows = numberKey(h, 'NAXIS2') ?? 0;
  const tfields = numberKey(h, 'TFIELDS') ?? 0;
  if (!Number.isInteger(tfields) || tfields < 0 || tfields > 999) throw new FitsInputError(`TFIELDS = ${tfields} is not valid`);
  if (nrows > 0 && naxis1 * nrows > data.length) throw new FitsInputError(`TABLE has ${nrows} rows of ${naxis1} bytes but only ${data.length} data bytes`);
  if (naxis1 === 0 && nrows > 1e7) throw new FitsInputError(`TABLE with zero-width rows declares an absurd ${nrows} rows`);
  const columns: FitsColumn[] = [];
  for (let c = 1; c <= tfields; c++) {
    const tform = strKey(h, `TFORM${c}`);
    const tbcol = numberKey(h, `TBCOL${c}`);
    if (tform === undefined || tbcol === undefined) throw new FitsInputError(`TABLE column ${c} lacks TFORM${c} or TBCOL${c}`);
    const m = /^\s*([AIFED])\s*(\d+)(?:\.(\d+))?/.exec(tform.toUpperCase());
    if (!m) throw new FitsInputError(`TFORM${c} = '${tform}' is not an ASCII-table format`);
    const type = m[1];
    const w = Number(m[2]);
    if (tbcol < 1 || tbcol - 1 + w > naxis1) throw new FitsInputError(`TABLE column ${c} (TBCOL${c} = ${tbcol}, width ${w}) lies outside NAXIS1 = ${naxis1}`);
    const name = strKey(h, `TTYPE${c}`) ?? `col${c}`;
    const tscal = numberKey(h, `TSCAL${c}`) ?? 1;
    const tzero = numberKey(h, `TZERO${c}`) ?? 0;
    const tnull = strKey(h, `TNULL${c}`);
    const texts: string[] = new Array(nrows);
    for (let r = 0; r < nrows; r++) {
      const p = r * naxis1 + tbcol - 1;
      texts[r] = String.fromCharCode.apply(null, data.subarray(p, p + w) as unknown as number[]);
    }
    const col: FitsColumn = { name, format: tform, type, repeat: 1, data: [] as string[] };
    const unit = strKey(h, `TUNIT${c}`);
    if (unit !== undefined && unit !== '') col.unit = unit;
    if (type === 'A') {
      col.data = texts.map((t) => t.replace(/\0.*$/s, '').replace(/ +$/, ''));
    } else {
      const out = new Float64Array(nrows);
      for (let r = 0; r < nrows; r++) {
        const t = texts[r].trim();
        if (t === '' || (tnull !== undefined && texts[r].trim() === tnull.trim())) {
          out[r] = NaN;
          continue;
        }
        let v = Number(t.replace(/[Dd]/, 'E'));
        if (type !== 'I' && m[3] !== undefined && !/[.EeDd]/.test(t)) v = v / 10 ** Number(m[3]); // implied decimal point
        if (Number.isNaN(v)) throw new FitsInputError(`TABLE column ${name} row ${r + 1}: '${t}' is not a number`);
        out[r] = tzero + tscal * v;
      }
      col.data = out;
    }
    columns.push(col);
  }
  return makeTable(nrows, columns);
}
