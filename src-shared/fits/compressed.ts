/**
 * Tile-compressed images (the FITS tiled image compression convention, FITS Standard 4.0 §10):
 * a BINTABLE with ZIMAGE = T whose rows are tiles of the image, each compressed with RICE_1, GZIP_1, GZIP_2,
 * PLIO_1, HCOMPRESS_1 or stored (NOCOMPRESS); floating-point images are usually quantised to integers with
 * per-tile ZSCALE/ZZERO and optional subtractive dithering.
 */
import { decompressSync } from 'fflate';
import { FitsInputError } from './errors.js';
import { FitsHeader, type Card } from './header.js';
import { parseBinForm } from './table.js';
import { int64ToNumber, type Scaling } from './image.js';
import { riceDecode } from './rice.js';
import { plioDecode } from './plio.js';
import { hcompressDecode } from './hcompress.js';
import { ditherSequence } from './dither.js';

export type Algorithm = 'RICE_1' | 'GZIP_1' | 'GZIP_2' | 'PLIO_1' | 'HCOMPRESS_1' | 'NOCOMPRESS';
export type Quantize = 'NO_DITHER' | 'SUBTRACTIVE_DITHER_1' | 'SUBTRACTIVE_DITHER_2' | 'NONE';

interface ColInfo {
  index: number;
  offset: number;
  form: ReturnType<typeof parseBinForm>;
}

export interface CompressedInfo {
  algorithm: Algorithm;
  bitpix: number;
  shape: number[];
  tile: number[];
  params: Record<string, number | string>;
  quantize: Quantize;
  dither0: number;
  /** ZBLANK keyword (null value of the quantised/stored integers). */
  zblank?: number;
  zscale?: number;
  zzero?: number;
  cols: Record<string, ColInfo>;
  /** THEAP − NAXIS1×NAXIS2 (0 when the heap follows the table). */
  heapOffset?: number;
  rowBytes: number;
  nrows: number;
  imageHeader: FitsHeader;
}

const TABLE_KEYS = /^(XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|THEAP|T(TYPE|FORM|UNIT|DIM|SCAL|ZERO|NULL|DISP)\d+|ZIMAGE|ZTILE\d+|ZCMPTYPE|ZNAME\d+|ZVAL\d+|ZQUANTIZ|ZMASKCMP|ZBLANK|ZSCALE|ZZERO)$/;
const RENAME: Record<string, string> = {
  ZSIMPLE: 'SIMPLE',
  ZTENSION: 'XTENSION',
  ZBITPIX: 'BITPIX',
  ZNAXIS: 'NAXIS',
  ZPCOUNT: 'PCOUNT',
  ZGCOUNT: 'GCOUNT',
  ZEXTEND: 'EXTEND',
  ZBLOCKED: 'BLOCKED',
  ZHECKSUM: 'CHECKSUM',
  ZDATASUM: 'DATASUM',
};

function num(h: FitsHeader, key: string): number | undefined {
  const v = h.get(key);
  return typeof v === 'number' ? v : undefined;
}

/** The header of the uncompressed image, as astropy presents it (Z keywords renamed, table keywords dropped). */
function imageHeaderOf(h: FitsHeader, zbitpix: number, shape: number[]): FitsHeader {
  const head: Card[] = [];
  const rest: Card[] = [];
  const hasZ = (k: string) => h.has(k);
  const first = hasZ('ZSIMPLE') ? { key: 'SIMPLE', card: h.card('ZSIMPLE') } : { key: 'XTENSION', card: h.card('ZTENSION') };
  head.push(first.card ? { ...first.card, key: first.key, images: undefined } : { key: 'XTENSION', value: 'IMAGE', comment: 'Image extension' });
  const bp = h.card('ZBITPIX');
  head.push({ key: 'BITPIX', value: zbitpix, comment: bp?.comment });
  head.push({ key: 'NAXIS', value: shape.length, comment: h.card('ZNAXIS')?.comment });
  shape.forEach((n, i) => head.push({ key: `NAXIS${i + 1}`, value: n, comment: h.card(`ZNAXIS${i + 1}`)?.comment }));
  if (first.key === 'XTENSION') {
    head.push({ key: 'PCOUNT', value: num(h, 'ZPCOUNT') ?? 0, comment: h.card('ZPCOUNT')?.comment });
    head.push({ key: 'GCOUNT', value: num(h, 'ZGCOUNT') ?? 1, comment: h.card('ZGCOUNT')?.comment });
  }
  const hasZsum = h.has('ZHECKSUM') || h.has('ZDATASUM');
  for (const c of h.cards) {
    if (TABLE_KEYS.test(c.key)) continue;
    if (/^ZNAXIS\d*$/.test(c.key) || ['ZSIMPLE', 'ZTENSION', 'ZBITPIX', 'ZPCOUNT', 'ZGCOUNT'].includes(c.key)) continue;
    if (c.key === 'EXTNAME' && typeof c.value === 'string' && c.value.trim() === 'COMPRESSED_IMAGE') continue;
    if (hasZsum && (c.key === 'CHECKSUM' || c.key === 'DATASUM')) continue;
    const to = RENAME[c.key];
    rest.push(to ? { ...c, key: to, images: undefined } : { ...c, images: c.images ? [...c.images] : undefined });
  }
  for (const c of head) if (c.comment === undefined) delete c.comment;
  // astropy appends the renamed ZEXTEND / ZBLOCKED cards at the end; do the same so headers compare equal
  const tail = rest.filter((c) => c.key === 'EXTEND' || c.key === 'BLOCKED');
  return new FitsHeader([...head, ...rest.filter((c) => !tail.includes(c)), ...tail]);
}

export function compressedImageInfo(h: FitsHeader): CompressedInfo {
  const cmp = String(h.get('ZCMPTYPE') ?? '').trim().toUpperCase();
  const alg = (cmp === 'RICE_ONE' ? 'RICE_1' : cmp) as Algorithm;
  if (!['RICE_1', 'GZIP_1', 'GZIP_2', 'PLIO_1', 'HCOMPRESS_1', 'NOCOMPRESS'].includes(alg)) {
    throw new FitsInputError(`unsupported tile compression ZCMPTYPE = '${cmp}' (supported: RICE_1, GZIP_1, GZIP_2, PLIO_1, HCOMPRESS_1, NOCOMPRESS)`);
  }
  const bitpix = num(h, 'ZBITPIX');
  if (bitpix === undefined || ![8, 16, 32, 64, -32, -64].includes(bitpix)) throw new FitsInputError(`compressed image: ZBITPIX = ${String(h.get('ZBITPIX'))} is not valid`);
  const naxis = num(h, 'ZNAXIS');
  if (naxis === undefined || !Number.isInteger(naxis) || naxis < 0 || naxis > 999) throw new FitsInputError(`compressed image: ZNAXIS = ${String(h.get('ZNAXIS'))} is not valid`);
  const shape: number[] = [];
  const tile: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const n = num(h, `ZNAXIS${i}`);
    if (n === undefined || !Number.isInteger(n) || n < 0) throw new FitsInputError(`compressed image: ZNAXIS${i} = ${String(h.get(`ZNAXIS${i}`))} is not valid`);
    shape.push(n);
    const t = num(h, `ZTILE${i}`) ?? (i === 1 ? n : 1);
    if (!Number.isInteger(t) || t < 1) throw new FitsInputError(`compressed image: ZTILE${i} = ${t} is not valid`);
    tile.push(Math.min(t, Math.max(n, 1)));
  }
  const params: Record<string, number | string> = {};
  for (let i = 1; i < 1000; i++) {
    const n = h.get(`ZNAME${i}`);
    if (typeof n !== 'string') break;
    const v = h.get(`ZVAL${i}`);
    if (typeof v === 'number' || typeof v === 'string') params[n.trim().toUpperCase()] = v;
  }
  const q = String(h.get('ZQUANTIZ') ?? 'NO_DITHER').trim().toUpperCase();
  const quantize: Quantize = q === 'SUBTRACTIVE_DITHER_1' || q === 'SUBTRACTIVE_DITHER_2' || q === 'NONE' ? q : 'NO_DITHER';
  if (!['NO_DITHER', 'SUBTRACTIVE_DITHER_1', 'SUBTRACTIVE_DITHER_2', 'NONE'].includes(q)) throw new FitsInputError(`unsupported ZQUANTIZ = '${q}'`);
  const dither0 = num(h, 'ZDITHER0') ?? 1;
  // columns
  const tfields = num(h, 'TFIELDS') ?? 0;
  const cols: Record<string, ColInfo> = {};
  let off = 0;
  for (let c = 1; c <= tfields; c++) {
    const tf = h.get(`TFORM${c}`);
    if (typeof tf !== 'string') throw new FitsInputError(`compressed image: TFORM${c} missing`);
    const form = parseBinForm(tf, c);
    const name = String(h.get(`TTYPE${c}`) ?? '').trim().toUpperCase();
    cols[name] = { index: c, offset: off, form };
    off += form.width;
  }
  const rowBytes = num(h, 'NAXIS1') ?? 0;
  const nrows = num(h, 'NAXIS2') ?? 0;
  if (off > rowBytes) throw new FitsInputError(`compressed image: columns need ${off} bytes per row but NAXIS1 = ${rowBytes}`);
  if (!cols.COMPRESSED_DATA && !cols.UNCOMPRESSED_DATA && !cols.GZIP_COMPRESSED_DATA) throw new FitsInputError('compressed image without a COMPRESSED_DATA column');
  const ntiles = shape.length === 0 ? 0 : shape.reduce((a, n, i) => a * Math.ceil(n / tile[i]), 1);
  if (ntiles !== nrows) throw new FitsInputError(`compressed image: ${ntiles} tiles expected from ZNAXISn/ZTILEn but the table has ${nrows} rows`);
  const info: CompressedInfo = { algorithm: alg, bitpix, shape, tile, params, quantize, dither0, cols, rowBytes, nrows, imageHeader: imageHeaderOf(h, bitpix, shape) };
  const zb = num(h, 'ZBLANK');
  if (zb !== undefined) info.zblank = zb;
  const zs = num(h, 'ZSCALE');
  if (zs !== undefined) info.zscale = zs;
  const zz = num(h, 'ZZERO');
  if (zz !== undefined) info.zzero = zz;
  return info;
}

const NULL_VALUE = -2147483647;
const ZERO_VALUE = -2147483646;

function readScalar(dv: DataView, pos: number, type: string): number {
  switch (type) {
    case 'B':
      return dv.getUint8(pos);
    case 'I':
      return dv.getInt16(pos);
    case 'J':
      return dv.getInt32(pos);
    case 'K':
      return int64ToNumber(dv.getInt32(pos), dv.getUint32(pos + 4));
    case 'E':
      return dv.getFloat32(pos);
    case 'D':
      return dv.getFloat64(pos);
  }
  throw new FitsInputError(`unsupported column type ${type} in a compressed image`);
}

/** The bytes of a variable-length (or fixed) column cell. */
function cellBytes(data: Uint8Array, dv: DataView, info: CompressedInfo, col: ColInfo, row: number): { bytes: Uint8Array; n: number; type: string } {
  const p = row * info.rowBytes + col.offset;
  const f = col.form;
  if (f.type === 'P' || f.type === 'Q') {
    if (f.repeat === 0) return { bytes: new Uint8Array(0), n: 0, type: f.varType! };
    const n = f.type === 'P' ? dv.getUint32(p) : int64ToNumber(dv.getInt32(p), dv.getUint32(p + 4));
    const off = f.type === 'P' ? dv.getUint32(p + 4) : int64ToNumber(dv.getInt32(p + 8), dv.getUint32(p + 12));
    const esize = { B: 1, I: 2, J: 4, K: 8, E: 4, D: 8, L: 1, A: 1, X: 1, C: 8, M: 16 }[f.varType!] ?? 1;
    const heap = info.rowBytes * info.nrows + (info.heapOffset ?? 0);
    const start = heap + off;
    const end = start + n * esize;
    if (!(off >= 0 && end <= data.length)) throw new FitsInputError(`tile ${row + 1}: compressed data lie outside the heap`);
    return { bytes: data.subarray(start, end), n, type: f.varType! };
  }
  const esize = { B: 1, I: 2, J: 4, K: 8, E: 4, D: 8 }[f.type] ?? 1;
  return { bytes: data.subarray(p, p + f.repeat * esize), n: f.repeat, type: f.type };
}

function gunzipTile(bytes: Uint8Array, expected: number[], tile: number): Uint8Array {
  const want = expected.join(' or ');
  if (bytes.length >= 18 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const n = bytes.length;
    const isize = (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
    if (!expected.some((e) => isize === e % 2 ** 32)) throw new FitsInputError(`tile ${tile}: gzip data decompress to ${isize} bytes, expected ${want}`);
  }
  let out: Uint8Array;
  try {
    out = decompressSync(bytes);
  } catch (e) {
    throw new FitsInputError(`tile ${tile}: corrupt gzip data (${(e as Error).message})`);
  }
  if (!expected.some((e) => out.length === e)) throw new FitsInputError(`tile ${tile}: gzip data decompress to ${out.length} bytes, expected ${want}`);
  return out;
}

/** Big-endian integers (size 1, 2, 4 or 8 bytes) to an Int32Array/Float64Array of tile values. */
function beInts(bytes: Uint8Array, n: number, size: number, unsignedByte: boolean): Float64Array | Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 8) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = int64ToNumber(dv.getInt32(8 * i), dv.getUint32(8 * i + 4));
    return out;
  }
  const out = new Int32Array(n);
  if (size === 1) for (let i = 0; i < n; i++) out[i] = unsignedByte ? bytes[i] : (bytes[i] << 24) >> 24;
  else if (size === 2) for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i);
  else for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i);
  return out;
}

function unshuffle(bytes: Uint8Array, n: number, size: number): Uint8Array {
  const out = new Uint8Array(n * size);
  for (let b = 0; b < size; b++) for (let i = 0; i < n; i++) out[i * size + b] = bytes[b * n + i];
  return out;
}

/**
 * Decompresses the whole image. `data` is the BINTABLE data area (table + heap).
 * raw = true: the stored integers (integer images only) as Uint8Array/Int16Array/Int32Array/BigInt64Array;
 * otherwise physical values (Float32Array for unscaled float32 and small integer images, else Float64Array).
 */
export function decompressImage(
  info: CompressedInfo,
  h: FitsHeader,
  data: Uint8Array,
  scaling: Scaling,
  raw: boolean,
): Float32Array | Float64Array | Uint8Array | Int16Array | Int32Array | BigInt64Array {
  const theap = num(h, 'THEAP');
  info.heapOffset = theap !== undefined ? theap - info.rowBytes * info.nrows : 0;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (info.rowBytes * info.nrows > data.length) throw new FitsInputError('compressed image table is truncated');
  const { shape, tile, bitpix } = info;
  const npix = shape.reduce((a, b) => a * b, 1);
  const isFloat = bitpix < 0;
  const scaled = scaling.bscale !== 1 || scaling.bzero !== 0;
  let out: Float32Array | Float64Array | Uint8Array | Int16Array | Int32Array | BigInt64Array;
  if (raw) {
    if (isFloat) throw new Error('raw integers requested from a floating-point image');
    out = bitpix === 8 ? new Uint8Array(npix) : bitpix === 16 ? new Int16Array(npix) : bitpix === 32 ? new Int32Array(npix) : new BigInt64Array(npix);
  } else {
    out = !scaled && (bitpix === -32 || bitpix === 8 || bitpix === 16) ? new Float32Array(npix) : new Float64Array(npix);
  }
  const ndim = shape.length;
  const ntile = shape.map((n, i) => Math.ceil(n / tile[i]));
  const strides: number[] = [];
  let s = 1;
  for (let i = 0; i < ndim; i++) {
    strides.push(s);
    s *= shape[i];
  }
  const dither = info.quantize === 'SUBTRACTIVE_DITHER_1' || info.quantize === 'SUBTRACTIVE_DITHER_2' ? ditherSequence() : undefined;
  const zblankCol = info.cols.ZBLANK;
  const zscaleCol = info.cols.ZSCALE;
  const zzeroCol = info.cols.ZZERO;
  const tileIdx = new Array<number>(ndim).fill(0);
  const blankPhys = scaling.blank;
  for (let t = 0; t < info.nrows; t++) {
    // tile geometry
    const start: number[] = [];
    const size: number[] = [];
    for (let i = 0; i < ndim; i++) {
      start.push(tileIdx[i] * tile[i]);
      size.push(Math.min(tile[i], shape[i] - tileIdx[i] * tile[i]));
    }
    const tn = size.reduce((a, b) => a * b, 1);
    // per-tile parameters
    const zscale = zscaleCol ? readScalar(dv, t * info.rowBytes + zscaleCol.offset, zscaleCol.form.type) : info.zscale;
    const zzero = zzeroCol ? readScalar(dv, t * info.rowBytes + zzeroCol.offset, zzeroCol.form.type) : info.zzero ?? 0;
    const zblank = zblankCol ? readScalar(dv, t * info.rowBytes + zblankCol.offset, zblankCol.form.type) : info.zblank;
    const quantised = isFloat && zscale !== undefined && info.quantize !== 'NONE';
    // decode the tile into values
    let values: Float64Array | Float32Array | Int32Array | undefined; // integers (quantised or raw) or floats
    let floats = false;
    const cd = info.cols.COMPRESSED_DATA ? cellBytes(data, dv, info, info.cols.COMPRESSED_DATA, t) : undefined;
    if (cd && cd.n > 0) {
      values = decodeTile(info, cd, tn, size, quantised, t + 1);
      if (isFloat && !quantised) floats = true;
    } else {
      const gz = info.cols.GZIP_COMPRESSED_DATA ? cellBytes(data, dv, info, info.cols.GZIP_COMPRESSED_DATA, t) : undefined;
      const un = info.cols.UNCOMPRESSED_DATA ? cellBytes(data, dv, info, info.cols.UNCOMPRESSED_DATA, t) : undefined;
      if (gz && gz.n > 0) {
        const esz = Math.abs(bitpix) / 8;
        const b = gunzipTile(gz.bytes, [tn * esz], t + 1);
        values = floatsOf(b, tn, bitpix);
        floats = isFloat;
      } else if (un && un.n > 0) {
        if (un.n < tn) throw new FitsInputError(`tile ${t + 1}: UNCOMPRESSED_DATA has ${un.n} values, expected ${tn}`);
        values = new Float64Array(tn);
        const udv = new DataView(un.bytes.buffer, un.bytes.byteOffset, un.bytes.byteLength);
        const esz = { B: 1, I: 2, J: 4, K: 8, E: 4, D: 8 }[un.type] ?? 1;
        for (let i = 0; i < tn; i++) values[i] = readScalar(udv, i * esz, un.type);
        floats = isFloat;
      } else {
        throw new FitsInputError(`tile ${t + 1} has no data`);
      }
    }
    // scatter into the image
    const put = makeWriter(out, raw, isFloat, floats, quantised, info, zscale ?? 1, zzero, zblank, blankPhys, scaling, dither, t + 1);
    scatter(values, put, start, size, strides, ndim);
    // next tile index
    for (let i = 0; i < ndim; i++) {
      if (++tileIdx[i] < ntile[i]) break;
      tileIdx[i] = 0;
    }
  }
  return out;
}

function floatsOf(b: Uint8Array, n: number, bitpix: number): Float64Array | Float32Array | Int32Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (bitpix === -32) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i);
    return out;
  }
  if (bitpix === -64) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i);
    return out;
  }
  return beInts(b, n, bitpix / 8, bitpix === 8);
}

function decodeTile(
  info: CompressedInfo,
  cd: { bytes: Uint8Array; n: number; type: string },
  tn: number,
  size: number[],
  quantised: boolean,
  tileNo: number,
): Float64Array | Float32Array | Int32Array {
  const { bitpix } = info;
  // size in bytes of the integers the algorithm produced
  const intSize = quantised ? 4 : Math.abs(bitpix) / 8;
  switch (info.algorithm) {
    case 'RICE_1': {
      if (bitpix === 64 || (bitpix < 0 && !quantised)) throw new FitsInputError(`RICE_1 cannot hold ${bitpix === 64 ? '64-bit integers' : 'unquantised floats'}`);
      // CFITSIO's default is 4 bytes per pixel when BYTEPIX is not given (old files code 16-bit images so)
      const bytepix = Number(info.params.BYTEPIX ?? 4);
      const blocksize = Number(info.params.BLOCKSIZE ?? 32);
      if (![1, 2, 4].includes(bytepix)) throw new FitsInputError(`RICE_1: BYTEPIX = ${bytepix} is not 1, 2 or 4`);
      if (!Number.isInteger(blocksize) || blocksize < 1) throw new FitsInputError(`RICE_1: BLOCKSIZE = ${blocksize} is not valid`);
      return riceDecode(cd.bytes, tn, blocksize, bytepix as 1 | 2 | 4, tileNo);
    }
    case 'GZIP_1':
    case 'GZIP_2': {
      // old CFITSIO versions stored 8- and 16-bit tiles as 32-bit integers: accept either size
      const b = gunzipTile(cd.bytes, intSize < 4 ? [tn * intSize, tn * 4] : [tn * intSize], tileNo);
      const size = b.length >= tn * 4 && intSize < 4 ? 4 : intSize;
      const bb = info.algorithm === 'GZIP_2' ? unshuffle(b, tn, size) : b;
      if (bitpix < 0 && !quantised) return floatsOf(bb, tn, bitpix);
      return beInts(bb, tn, size, size === 1);
    }
    case 'PLIO_1': {
      if (bitpix < 0 && !quantised) throw new FitsInputError('PLIO_1 cannot hold unquantised floats');
      if (cd.type !== 'I') throw new FitsInputError('PLIO_1 data must be a 16-bit column');
      const dv = new DataView(cd.bytes.buffer, cd.bytes.byteOffset, cd.bytes.byteLength);
      const words = new Int16Array(cd.n);
      for (let i = 0; i < cd.n; i++) words[i] = dv.getInt16(2 * i);
      return plioDecode(words, tn, tileNo);
    }
    case 'HCOMPRESS_1': {
      if (bitpix < 0 && !quantised) throw new FitsInputError('HCOMPRESS_1 cannot hold unquantised floats');
      const nx = size[0];
      const ny = size.length > 1 ? size[1] : 1;
      if (size.slice(2).some((n) => n !== 1)) throw new FitsInputError('HCOMPRESS_1 tiles must be 2-dimensional');
      const smooth = Number(info.params.SMOOTH ?? 0) !== 0;
      return hcompressDecode(cd.bytes, nx, ny, smooth, tileNo);
    }
    case 'NOCOMPRESS': {
      if (bitpix < 0 && !quantised) return floatsOf(cd.bytes, tn, bitpix);
      if (cd.bytes.length < tn * intSize) throw new FitsInputError(`tile ${tileNo}: too few bytes`);
      return beInts(cd.bytes, tn, intSize, intSize === 1);
    }
  }
}

type Writer = (dst: number, v: number) => void;

function makeWriter(
  out: Float32Array | Float64Array | Uint8Array | Int16Array | Int32Array | BigInt64Array,
  raw: boolean,
  isFloat: boolean,
  floats: boolean,
  quantised: boolean,
  info: CompressedInfo,
  zscale: number,
  zzero: number,
  zblank: number | undefined,
  blank: number | bigint | undefined,
  scaling: Scaling,
  dither: Float64Array | undefined,
  tileNo: number,
): Writer {
  const { bscale, bzero } = scaling;
  const scaled = bscale !== 1 || bzero !== 0;
  if (raw) {
    const o = out as Uint8Array | Int16Array | Int32Array | BigInt64Array;
    if (o instanceof BigInt64Array) return (d, v) => (o[d] = BigInt(v));
    return (d, v) => (o[d] = v);
  }
  const o = out as Float32Array | Float64Array;
  if (isFloat && floats) {
    return scaled ? (d, v) => (o[d] = bzero + bscale * v) : (d, v) => (o[d] = v);
  }
  if (isFloat && quantised) {
    const nullv = zblank;
    const f32 = info.bitpix === -32;
    const round = (x: number) => (f32 ? Math.fround(x) : x);
    if (dither) {
      const d2 = info.quantize === 'SUBTRACTIVE_DITHER_2';
      let iseed = (tileNo - 1 + info.dither0 - 1) % 10000;
      if (iseed < 0) iseed += 10000;
      let next = Math.floor(Math.fround(dither[iseed] * 500));
      return (dst, v) => {
        let r: number;
        if (nullv !== undefined && v === nullv) r = NaN;
        else if (d2 && v === ZERO_VALUE) r = 0;
        else r = round((v - dither[next] + 0.5) * zscale + zzero);
        o[dst] = scaled ? bzero + bscale * r : r;
        next++;
        if (next === 10000) {
          iseed++;
          if (iseed === 10000) iseed = 0;
          next = Math.floor(Math.fround(dither[iseed] * 500));
        }
      };
    }
    return (dst, v) => {
      const r = nullv !== undefined && v === nullv ? NaN : round(v * zscale + zzero);
      o[dst] = scaled ? bzero + bscale * r : r;
    };
  }
  // integer image: tile values are the stored integers; ZBLANK or BLANK mark nulls
  const nul = zblank !== undefined ? zblank : blank !== undefined ? Number(blank) : undefined;
  const hasZ = info.cols.ZSCALE !== undefined || info.zscale !== undefined;
  return (dst, v) => {
    if (nul !== undefined && v === nul) {
      o[dst] = NaN;
      return;
    }
    const x = hasZ ? v * zscale + zzero : v;
    o[dst] = scaled ? bzero + bscale * x : x;
  };
}

export { NULL_VALUE };

function scatter(values: ArrayLike<number>, put: Writer, start: number[], size: number[], strides: number[], ndim: number): void {
  if (ndim === 0) return;
  const nx = size[0];
  const idx = new Array<number>(ndim).fill(0);
  const tn = values.length < size.reduce((a, b) => a * b, 1) ? values.length : size.reduce((a, b) => a * b, 1);
  let src = 0;
  while (src < tn) {
    let base = 0;
    for (let i = 0; i < ndim; i++) base += (start[i] + idx[i]) * strides[i];
    for (let x = 0; x < nx; x++) put(base + x, values[src + x]);
    src += nx;
    let i = 1;
    for (; i < ndim; i++) {
      if (++idx[i] < size[i]) break;
      idx[i] = 0;
    }
    if (i === ndim) break;
  }
}
