/**
 * FITS checksums (the convention of Seaman, Pence & Rots, FITS Standard 4.0 appendix J):
 * a 32-bit ones' complement sum of the big-endian 32-bit words of a byte range (a multiple of 4 bytes),
 * DATASUM its decimal value for the data blocks and CHECKSUM a 16-character ASCII encoding chosen so that
 * the whole HDU sums to negative zero (0xFFFFFFFF).
 */

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Ones' complement sum of the big-endian 32-bit words of `bytes[start, end)`, added to `sum0`. */
export function onesSum(bytes: Uint8Array, start = 0, end = bytes.length, sum0 = 0): number {
  let hi = sum0 >>> 16;
  let lo = sum0 & 0xffff;
  const len = end - start;
  if (len % 4 !== 0) throw new Error('checksum range must be a multiple of 4 bytes');
  // process in chunks so the 16-bit partial sums cannot overflow 2^53 (they never get close: 2^16 * n words)
  let i = start;
  const at = bytes.byteOffset + start;
  if (LITTLE && at % 4 === 0) {
    // aligned: read little-endian words and take their big-endian halves
    const u = new Uint32Array(bytes.buffer, at, len / 4);
    let k = 0;
    while (k < u.length) {
      const stop = Math.min(u.length, k + 65536 * 64);
      for (; k < stop; k++) {
        const x = u[k];
        hi += ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
        lo += ((x >>> 8) & 0xff00) | (x >>> 24);
      }
      let hc = Math.floor(hi / 65536);
      let lc = Math.floor(lo / 65536);
      while (hc || lc) {
        hi = (hi % 65536) + lc;
        lo = (lo % 65536) + hc;
        hc = Math.floor(hi / 65536);
        lc = Math.floor(lo / 65536);
      }
    }
    return ((hi << 16) | lo) >>> 0;
  }
  while (i < end) {
    const stop = Math.min(end, i + 4 * 65536 * 64);
    for (; i < stop; i += 4) {
      hi += (bytes[i] << 8) | bytes[i + 1];
      lo += (bytes[i + 2] << 8) | bytes[i + 3];
    }
    let hc = Math.floor(hi / 65536);
    let lc = Math.floor(lo / 65536);
    while (hc || lc) {
      hi = (hi % 65536) + lc;
      lo = (lo % 65536) + hc;
      hc = Math.floor(hi / 65536);
      lc = Math.floor(lo / 65536);
    }
  }
  return ((hi << 16) | lo) >>> 0;
}

/** Ones' complement addition of two 32-bit sums. */
export function addSums(a: number, b: number): number {
  let s = (a >>> 0) + (b >>> 0);
  while (s > 0xffffffff) s = (s % 0x100000000) + Math.floor(s / 0x100000000);
  return s >>> 0;
}

const EXCLUDE = [0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60];

/** The 16-character CHECKSUM encoding of the complement of `sum` (so that the HDU then sums to -0). */
export function encodeChecksum(sum: number): string {
  const value = ~sum >>> 0;
  const asc = new Array<number>(16);
  for (let i = 0; i < 4; i++) {
    const byte = (value >>> (24 - 8 * i)) & 0xff;
    const quotient = Math.floor(byte / 4) + 0x30;
    const remainder = byte % 4;
    const ch = [quotient + remainder, quotient, quotient, quotient];
    let check = true;
    while (check) {
      check = false;
      for (const k of EXCLUDE) {
        for (let j = 0; j < 4; j += 2) {
          if (ch[j] === k || ch[j + 1] === k) {
            ch[j]++;
            ch[j + 1]--;
            check = true;
          }
        }
      }
    }
    for (let j = 0; j < 4; j++) asc[4 * j + i] = ch[j];
  }
  // rotate right by one byte, as the convention requires
  const rot = [asc[15], ...asc.slice(0, 15)];
  return String.fromCharCode(...rot);
}
