import { swappedCopy } from './bytes.js';
import type { RawImage } from './types.js';

const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;

/** A 64-bit integer from its two 32-bit halves, correctly rounded to a double. */
export function int64ToNumber(hi: number, lo: number): number {
  if (hi >= -2097152 && hi < 2097152) return hi * TWO32 + lo;
  return Number((BigInt(hi) << 32n) | BigInt(lo >>> 0));
}

export interface Scaling {
  bscale: number;
  bzero: number;
  /** BLANK (integer images only). */
  blank?: number | bigint;
}

/**
 * Decodes `n` big-endian pixels of type `bitpix` starting at `offset` into physical values.
 * Float32Array when the values are exact in float32 (unscaled 8, 16, -32), Float64Array otherwise.
 */
export function decodePixels(bytes: Uint8Array, offset: number, n: number, bitpix: number, s: Scaling): Float32Array | Float64Array {
  const scaled = s.bscale !== 1 || s.bzero !== 0;
  const isInt = bitpix > 0;
  const blank = isInt ? s.blank : undefined;
  switch (bitpix) {
    case -32: {
      const f = new Float32Array(swappedCopy(bytes, offset, n, 4));
      if (!scaled) return f;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = s.bzero + s.bscale * f[i];
      return out;
    }
    case -64: {
      const f = new Float64Array(swappedCopy(bytes, offset, n, 8));
      if (scaled) for (let i = 0; i < n; i++) f[i] = s.bzero + s.bscale * f[i];
      return f;
    }
    case 8:
    case 16:
    case 32:
    case 64:
      return rawToPhysical(decodeRaw(bytes, offset, n, bitpix), bitpix, s, blank);
    default:
      throw new Error(`unsupported BITPIX ${bitpix}`);
  }
}

export function decodeRaw(bytes: Uint8Array, offset: number, n: number, bitpix: 8 | 16 | 32 | 64): RawImage['data'] {
  switch (bitpix) {
    case 8:
      return bytes.slice(offset, offset + n);
    case 16:
      return new Int16Array(swappedCopy(bytes, offset, n, 2));
    case 32:
      return new Int32Array(swappedCopy(bytes, offset, n, 4));
    case 64:
      return new BigInt64Array(swappedCopy(bytes, offset, n, 8));
  }
}

/** Physical values of stored integers: BZERO + BSCALE × raw, BLANK → NaN. */
export function rawToPhysical(raw: RawImage['data'], bitpix: number, s: Scaling, blank = s.blank): Float32Array | Float64Array {
  const scaled = s.bscale !== 1 || s.bzero !== 0;
  const n = raw.length;
  if (raw instanceof BigInt64Array) {
    const out = new Float64Array(n);
    const halves = new Int32Array(raw.buffer, raw.byteOffset, 2 * n);
    const b = blank === undefined ? undefined : BigInt(blank);
    const unsigned = s.bscale === 1 && s.bzero === TWO63;
    for (let i = 0; i < n; i++) {
      const lo = halves[2 * i];
      const hi = halves[2 * i + 1];
      if (b !== undefined && raw[i] === b) {
        out[i] = NaN;
        continue;
      }
      if (unsigned) out[i] = ((hi ^ 0x80000000) >>> 0) * TWO32 + (lo >>> 0);
      else {
        const v = int64ToNumber(hi, lo >>> 0);
        out[i] = scaled ? s.bzero + s.bscale * v : v;
      }
    }
    return out;
  }
  const small = bitpix === 8 || bitpix === 16;
  const out = !scaled && small ? new Float32Array(n) : new Float64Array(n);
  const bl = blank === undefined ? undefined : Number(blank);
  const { bscale, bzero } = s;
  if (bl === undefined) {
    if (scaled) for (let i = 0; i < n; i++) out[i] = bzero + bscale * raw[i];
    else out.set(raw as ArrayLike<number>);
  } else {
    for (let i = 0; i < n; i++) {
      const r = raw[i];
      out[i] = r === bl ? NaN : scaled ? bzero + bscale * r : r;
    }
  }
  return out;
}
