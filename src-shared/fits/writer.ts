import { FitsInputError } from './errors.js';
import { BLOCK, FitsHeader, type Card } from './header.js';
import { swapInPlace } from './bytes.js';
import { onesSum, addSums, encodeChecksum } from './checksum.js';

export type WritableData = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array;
export type WriteBitpix = -32 | -64 | 8 | 16 | 32 | 64;

export interface WriteHdu {
  /** Pixel values, row-major with NAXIS1 fastest; null or empty with shape [] for a header-only HDU. */
  data: WritableData | null;
  /** FITS axis order [NAXIS1, NAXIS2, …]. */
  shape: number[];
  /** Cards to keep (structural and scaling keywords are rewritten; WCS, BUNIT, HISTORY … are kept). */
  header?: FitsHeader;
  /** Output BITPIX; default from the array type (Float32 → -32, Float64 → -64, Uint8 → 8, Int16/Uint16 → 16, Int32/Uint32 → 32, BigInt64 → 64). */
  bitpix?: WriteBitpix;
  /**
   * `data` holds stored integers rather than physical values: they are written unchanged with `bscale`,
   * `bzero` and `blank` (bit-exact round trips of integer images).
   */
  raw?: boolean;
  /** Scaling for integer output: stored = round((physical − bzero) / bscale). Default: exact if the values are integers that fit, else min/max scaling. */
  bscale?: number;
  bzero?: number;
  /** BLANK for raw integer data. */
  blank?: number | bigint;
  /** Write CHECKSUM and DATASUM (default true). */
  checksum?: boolean;
}

const STRUCTURAL = /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|BSCALE|BZERO|BLANK|CHECKSUM|DATASUM|TFIELDS|THEAP|T(TYPE|FORM|UNIT|DIM|SCAL|ZERO|NULL|DISP|BCOL)\d+|P(TYPE|SCAL|ZERO)\d+|ZIMAGE|ZDITHER0|ZQUANTIZ|ZCMPTYPE|ZTILE\d+|ZNAME\d+|ZVAL\d+|ZHECKSUM|ZDATASUM|END)$/;

const RANGES: Record<number, [number, number]> = { 8: [0, 255], 16: [-32768, 32767], 32: [-2147483648, 2147483647], 64: [-(2 ** 63), 2 ** 63 - 1024] };

function defaultBitpix(d: WritableData | null): WriteBitpix {
  if (d === null || d instanceof Float32Array) return -32;
  if (d instanceof Float64Array) return -64;
  if (d instanceof Uint8Array) return 8;
  if (d instanceof Int8Array || d instanceof Int16Array || d instanceof Uint16Array) return 16;
  if (d instanceof Int32Array || d instanceof Uint32Array) return 32;
  return 64;
}

/** Round half to even, as numpy does when astropy scales data. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Plan {
  bscale: number;
  bzero: number;
  blank?: number | bigint;
  cards: Card[];
}

/** Chooses the scaling of integer output (a pass over the data) and the BSCALE/BZERO/BLANK cards. */
function planScaling(h: WriteHdu, bitpix: WriteBitpix, n: number): Plan {
  const d = h.data;
  let bscale = h.bscale ?? 1;
  let bzero = h.bzero ?? 0;
  let blank: number | bigint | undefined = h.blank;
  if (bitpix < 0) {
    if (h.raw) throw new FitsInputError('raw data cannot be written with a floating-point BITPIX');
    return { bscale: 1, bzero: 0, cards: [] };
  }
  if (h.raw) {
    if (d !== null && n > 0) {
      const want = bitpix === 8 ? Uint8Array : bitpix === 16 ? Int16Array : bitpix === 32 ? Int32Array : BigInt64Array;
      if (!(d instanceof want)) throw new FitsInputError(`raw data for BITPIX ${bitpix} must be a ${want.name}`);
    }
  } else if (d !== null && n > 0) {
    if (bscale === 0 || !Number.isFinite(bscale) || !Number.isFinite(bzero)) throw new FitsInputError(`invalid scaling BSCALE = ${bscale}, BZERO = ${bzero}`);
    const [lo, hi] = RANGES[bitpix];
    let min = Infinity;
    let max = -Infinity;
    let allInt = true;
    let nan = false;
    for (let i = 0; i < n; i++) {
      const v = Number(d[i]);
      if (Number.isNaN(v)) {
        nan = true;
        continue;
      }
      if (!Number.isFinite(v)) throw new FitsInputError(`cannot write ${v} with integer BITPIX ${bitpix}`);
      if (v < min) min = v;
      if (v > max) max = v;
      if (allInt && !Number.isInteger(v)) allInt = false;
    }
    if (h.bscale === undefined && h.bzero === undefined) {
      // the signed-byte / unsigned 16- and 32-bit conventions
      const offset = bitpix === 8 ? -128 : bitpix === 16 ? 32768 : bitpix === 32 ? 2147483648 : 0;
      const room = nan ? 1 : 0; // keep the lowest stored value free for BLANK
      if (min > max) {
        // nothing finite
      } else if (allInt && min >= lo + room && max <= hi) {
        // exact, unscaled
      } else if (allInt && offset !== 0 && min - offset >= lo + room && max - offset <= hi) {
        bzero = offset;
      } else {
        // linear min/max scaling onto the type's range
        const span = max - min;
        const loR = lo + room;
        bscale = span > 0 ? span / (hi - loR) : 1;
        bzero = span > 0 ? min - loR * bscale : min;
      }
    }
    if (nan && blank === undefined) {
      // a stored value no pixel uses
      const sMin = min > max ? lo : rint((min - bzero) / bscale);
      const sMax = min > max ? lo : rint((max - bzero) / bscale);
      if (sMin > lo) blank = lo;
      else if (sMax < hi) blank = hi;
      else throw new FitsInputError(`no free integer value for BLANK: the data span the whole BITPIX ${bitpix} range`);
    }
  }
  const cards: Card[] = [];
  if (bscale !== 1) cards.push({ key: 'BSCALE', value: bscale, float: true });
  if (bzero !== 0) cards.push({ key: 'BZERO', value: bzero, float: true });
  if (blank !== undefined) cards.push({ key: 'BLANK', value: Number(blank) });
  return { bscale, bzero, blank, cards };
}

/** Encodes the pixels as big-endian FITS data into `target` (n × |BITPIX|/8 bytes, 4-byte aligned). */
function encodeInto(target: Uint8Array, h: WriteHdu, bitpix: WriteBitpix, n: number, plan: Plan): void {
  const d = h.data;
  if (n === 0 || d === null) return;
  const size = Math.abs(bitpix) / 8;
  const buf = target.buffer;
  const off = target.byteOffset;
  if (bitpix < 0) {
    const out = bitpix === -32 ? new Float32Array(buf, off, n) : new Float64Array(buf, off, n);
    if (d instanceof BigInt64Array) for (let i = 0; i < n; i++) out[i] = Number(d[i]);
    else out.set(d as ArrayLike<number>);
    swapInPlace(target.subarray(0, n * size), size as 4 | 8);
    return;
  }
  const [lo, hi] = RANGES[bitpix];
  const store = bitpix === 8 ? new Uint8Array(buf, off, n) : bitpix === 16 ? new Int16Array(buf, off, n) : bitpix === 32 ? new Int32Array(buf, off, n) : new BigInt64Array(buf, off, n);
  if (h.raw) {
    (store as Int32Array).set(d as Int32Array);
  } else {
    const { bscale, bzero } = plan;
    const bl = plan.blank === undefined ? 0 : Number(plan.blank);
    if (store instanceof BigInt64Array) {
      for (let i = 0; i < n; i++) {
        const v = Number(d[i]);
        store[i] = Number.isNaN(v) ? BigInt(bl) : BigInt(rint((v - bzero) / bscale));
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = Number(d[i]);
        if (Number.isNaN(v)) {
          store[i] = bl;
          continue;
        }
        const s = rint((v - bzero) / bscale);
        if (s < lo || s > hi) throw new FitsInputError(`value ${v} does not fit BITPIX ${bitpix} with BSCALE = ${bscale}, BZERO = ${bzero}`);
        store[i] = s;
      }
    }
  }
  swapInPlace(target.subarray(0, n * size), size as 1 | 2 | 4 | 8);
}

/**
 * Writes image HDUs: the first is the primary HDU, the rest IMAGE extensions. Header cards of the given headers
 * are kept except the structural and scaling ones, which are written for the new data; CHECKSUM and DATASUM
 * are added (unless checksum: false).
 */
export function writeFits(hdus: WriteHdu[]): Uint8Array {
  if (hdus.length === 0) throw new FitsInputError('nothing to write: no HDUs');
  // plan every HDU (headers and sizes), then encode into one buffer: no copies of large data
  const planned = hdus.map((h, index) => {
    const shape = h.shape;
    if (!shape.every((s) => Number.isInteger(s) && s >= 0)) throw new FitsInputError(`invalid shape [${shape.join(', ')}]`);
    if (shape.length > 999) throw new FitsInputError('more than 999 axes');
    const n = shape.length === 0 ? 0 : shape.reduce((a, b) => a * b, 1);
    const len = h.data === null ? 0 : h.data.length;
    if (len !== n) throw new FitsInputError(`data have ${len} values but the shape [${shape.join(', ')}] needs ${n}`);
    const bitpix = h.bitpix ?? defaultBitpix(h.data);
    if (![8, 16, 32, 64, -32, -64].includes(bitpix)) throw new FitsInputError(`cannot write BITPIX ${String(bitpix)}`);
    let hd = h;
    if (!h.raw && h.bscale === undefined && h.bzero === undefined && bitpix > 0) {
      if (h.data instanceof Uint16Array && bitpix === 16) hd = { ...h, bzero: 32768 };
      else if (h.data instanceof Uint32Array && bitpix === 32) hd = { ...h, bzero: 2147483648 };
    }
    const plan = planScaling(hd, bitpix, n);
    const src = h.header ?? new FitsHeader();
    const cards: Card[] = [];
    if (index === 0) cards.push({ key: 'SIMPLE', value: true, comment: 'conforms to FITS standard' });
    else cards.push({ key: 'XTENSION', value: 'IMAGE', comment: 'Image extension' });
    cards.push({ key: 'BITPIX', value: bitpix, comment: 'array data type' });
    cards.push({ key: 'NAXIS', value: shape.length, comment: 'number of array dimensions' });
    shape.forEach((s, i) => cards.push({ key: `NAXIS${i + 1}`, value: s }));
    if (index === 0) {
      if (hdus.length > 1 || src.get('EXTEND') === true) cards.push({ key: 'EXTEND', value: true });
    } else {
      cards.push({ key: 'PCOUNT', value: 0, comment: 'number of parameters' });
      cards.push({ key: 'GCOUNT', value: 1, comment: 'number of groups' });
    }
    cards.push(...plan.cards);
    for (const c of src.cards) {
      if (STRUCTURAL.test(c.key)) continue;
      if (index === 0 && c.key === 'INHERIT') continue;
      cards.push({ ...c, images: c.images ? [...c.images] : undefined });
    }
    const withSum = h.checksum ?? true;
    if (withSum) {
      cards.push({ key: 'CHECKSUM', value: '0000000000000000', comment: 'HDU checksum' });
      cards.push({ key: 'DATASUM', value: '0', comment: 'data unit checksum' });
    }
    const header = new FitsHeader(cards);
    const headerBytes = header.toBytes().length;
    const dataBytes = n * (Math.abs(bitpix) / 8);
    return { h: hd, n, bitpix, plan, header, headerBytes, dataBytes, padded: Math.ceil(dataBytes / BLOCK) * BLOCK, withSum };
  });
  const total = planned.reduce((a, p) => a + p.headerBytes + p.padded, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of planned) {
    const dataAt = o + p.headerBytes;
    encodeInto(out.subarray(dataAt, dataAt + p.dataBytes), p.h, p.bitpix, p.n, p.plan);
    let hbytes: Uint8Array;
    if (p.withSum) {
      const dsum = onesSum(out, dataAt, dataAt + p.padded);
      p.header.set('DATASUM', String(dsum));
      const hb = p.header.toBytes();
      p.header.set('CHECKSUM', encodeChecksum(addSums(onesSum(hb), dsum)));
      hbytes = p.header.toBytes();
    } else {
      hbytes = p.header.toBytes();
    }
    if (hbytes.length !== p.headerBytes) throw new Error('internal: header size changed while writing checksums');
    out.set(hbytes, o);
    o = dataAt + p.padded;
  }
  return out;
}
