import { FitsInputError } from './errors.js';

/**
 * Rice decoding as in the FITS tiled-compression convention (RICE_1): the first `bytepix` bytes hold the first
 * pixel; then blocks of `blocksize` pixel differences, each block starting with an FS code (fsbits bits):
 * FS = 0 → all differences zero, FS = fsmax → raw differences of 8×bytepix bits, else Rice codes with FS low bits.
 * Differences are zig-zag mapped (even → d/2, odd → −(d+1)/2). Integers wrap at the pixel size.
 */
export function riceDecode(c: Uint8Array, nx: number, nblock: number, bytepix: 1 | 2 | 4, tileNo = 0): Int32Array {
  const fsbits = bytepix === 1 ? 3 : bytepix === 2 ? 4 : 5;
  const fsmax = bytepix === 1 ? 6 : bytepix === 2 ? 14 : 25;
  const bbits = 1 << fsbits;
  const out = new Int32Array(nx);
  const end = c.length;
  const fail = (): never => {
    throw new FitsInputError(`tile ${tileNo}: RICE_1 data are truncated or corrupt`);
  };
  if (end < bytepix) fail();
  let p = 0;
  let lastpix: number;
  if (bytepix === 1) lastpix = c[p++];
  else if (bytepix === 2) {
    lastpix = (c[0] << 8) | c[1];
    p = 2;
  } else {
    lastpix = (c[0] << 24) | (c[1] << 16) | (c[2] << 8) | c[3];
    p = 4;
  }
  const wrap = bytepix === 4 ? (x: number) => x | 0 : bytepix === 2 ? (x: number) => (x << 16) >> 16 : (x: number) => x & 0xff;
  lastpix = wrap(lastpix);
  // reading past the end yields zeros; a decode that needs them is reported as corrupt
  const next = (): number => (p < end ? c[p++] : (p++, 0));
  let b = next();
  let nbits = 8;
  for (let i = 0; i < nx; ) {
    nbits -= fsbits;
    while (nbits < 0) {
      b = ((b << 8) | next()) >>> 0;
      nbits += 8;
    }
    const fs = (b >>> nbits) - 1;
    b &= (1 << nbits) - 1;
    let imax = i + nblock;
    if (imax > nx) imax = nx;
    if (fs < 0) {
      for (; i < imax; i++) out[i] = lastpix;
    } else if (fs === fsmax) {
      for (; i < imax; i++) {
        // bbits raw bits: nbits from b, the rest from following bytes
        let k = bbits - nbits;
        let diff = nbits > 0 ? (k >= 32 ? 0 : (b << k) >>> 0) : 0;
        for (k -= 8; k >= 0; k -= 8) {
          b = next();
          diff = (diff | (b << k)) >>> 0;
        }
        if (nbits > 0) {
          b = next();
          diff = (diff | (b >>> -k)) >>> 0;
          b &= (1 << nbits) - 1;
        } else {
          b = 0;
        }
        const d = (diff & 1) === 0 ? diff >>> 1 : ~(diff >>> 1);
        lastpix = wrap(d + lastpix);
        out[i] = lastpix;
      }
    } else if (fs > fsmax) {
      fail();
    } else {
      for (; i < imax; i++) {
        while (b === 0) {
          if (p >= end + 4) fail();
          nbits += 8;
          b = next();
        }
        const nzero = nbits - (32 - Math.clz32(b));
        nbits -= nzero + 1;
        b ^= 1 << nbits;
        nbits -= fs;
        while (nbits < 0) {
          b = ((b << 8) | next()) >>> 0;
          nbits += 8;
        }
        const diff = ((nzero << fs) | (b >>> nbits)) >>> 0;
        b &= (1 << nbits) - 1;
        const d = (diff & 1) === 0 ? diff >>> 1 : ~(diff >>> 1);
        lastpix = wrap(d + lastpix);
        out[i] = lastpix;
      }
    }
    if (p > end + 4) fail();
  }
  if (p > end + 1) fail();
  return out;
}
