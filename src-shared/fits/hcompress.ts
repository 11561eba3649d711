import { FitsInputError } from './errors.js';

/**
 * HCOMPRESS_1 decoding (White 1992; the FITS tiled-compression convention): a stream with magic 0xDD 0x99,
 * the tile dimensions, the scale and the sum of all pixels, then quadtree-coded bit planes of the H-transform
 * coefficients in four quadrants, the signs, and finally the inverse H-transform (optionally smoothed).
 *
 * Arithmetic is done on doubles with floor semantics so that coefficients of 32-bit data cannot overflow;
 * shifts and masks below are the two's-complement operations of the reference implementation written for
 * arbitrary-size integers.
 */

const shr = (x: number, s: number): number => Math.floor(x / 2 ** s);
/** x & -bit for a power of two `bit`: clear the low bits (two's complement). */
const maskLow = (x: number, bit: number): number => Math.floor(x / bit) * bit;
/** x & bit for a power of two `bit` (two's complement). */
const bitOf = (x: number, bit: number): number => (bit < 1 ? 0 : (((Math.floor(x / bit) % 2) + 2) % 2) * bit);

class BitReader {
  pos: number;
  private buffer = 0;
  private bitsToGo = 0;
  constructor(
    private readonly c: Uint8Array,
    start: number,
    private readonly tileNo: number,
  ) {
    this.pos = start;
  }
  private byte(): number {
    if (this.pos >= this.c.length) throw new FitsInputError(`tile ${this.tileNo}: HCOMPRESS_1 data are truncated`);
    return this.c[this.pos++];
  }
  start(): void {
    this.bitsToGo = 0;
  }
  bit(): number {
    if (this.bitsToGo === 0) {
      this.buffer = this.byte();
      this.bitsToGo = 8;
    }
    this.bitsToGo--;
    return (this.buffer >> this.bitsToGo) & 1;
  }
  nbits(n: number): number {
    if (this.bitsToGo < n) {
      this.buffer = ((this.buffer & 0xff) << 8) | this.byte();
      this.bitsToGo += 8;
    }
    this.bitsToGo -= n;
    return (this.buffer >> this.bitsToGo) & ((1 << n) - 1);
  }
  nybble(): number {
    return this.nbits(4);
  }
  huffman(): number {
    let c = this.nbits(3);
    if (c < 4) return 1 << c;
    c = this.bit() | (c << 1);
    if (c < 13) {
      switch (c) {
        case 8:
          return 3;
        case 9:
          return 5;
        case 10:
          return 10;
        case 11:
          return 12;
        case 12:
          return 15;
      }
    }
    c = this.bit() | (c << 1);
    if (c < 31) {
      switch (c) {
        case 26:
          return 6;
        case 27:
          return 7;
        case 28:
          return 9;
        case 29:
          return 11;
        case 30:
          return 13;
      }
    }
    c = this.bit() | (c << 1);
    return c === 62 ? 0 : 14;
  }
}

/** Expands 4-bit codes of a[(nx+1)/2,(ny+1)/2] into 2×2 bits of b[nx,ny] (row length n); a and b may be the same array. */
function qtreeCopy(a: Uint8Array, nx: number, ny: number, b: Uint8Array, n: number): void {
  const nx2 = (nx + 1) >> 1;
  const ny2 = (ny + 1) >> 1;
  let k = ny2 * (nx2 - 1) + ny2 - 1;
  for (let i = nx2 - 1; i >= 0; i--) {
    let s00 = 2 * (n * i + ny2 - 1);
    for (let j = ny2 - 1; j >= 0; j--) {
      b[s00] = a[k];
      k--;
      s00 -= 2;
    }
  }
  let i = 0;
  for (; i < nx - 1; i += 2) {
    let s00 = n * i;
    let s10 = s00 + n;
    let j = 0;
    for (; j < ny - 1; j += 2) {
      const v = b[s00];
      b[s10 + 1] = v & 1;
      b[s10] = (v >> 1) & 1;
      b[s00 + 1] = (v >> 2) & 1;
      b[s00] = (v >> 3) & 1;
      s00 += 2;
      s10 += 2;
    }
    if (j < ny) {
      b[s10] = (b[s00] >> 1) & 1;
      b[s00] = (b[s00] >> 3) & 1;
    }
  }
  if (i < nx) {
    let s00 = n * i;
    let j = 0;
    for (; j < ny - 1; j += 2) {
      b[s00 + 1] = (b[s00] >> 2) & 1;
      b[s00] = (b[s00] >> 3) & 1;
      s00 += 2;
    }
    if (j < ny) b[s00] = (b[s00] >> 3) & 1;
  }
}

/** Inserts the 4-bit codes of a[(nx+1)/2,(ny+1)/2], expanded to 2×2 pixels, into bit plane `bit` of b[nx,ny]. */
function qtreeBitins(a: Uint8Array, nx: number, ny: number, b: Float64Array, n: number, bit: number): void {
  const pv = 2 ** bit;
  let k = 0;
  let i = 0;
  for (; i < nx - 1; i += 2) {
    let s00 = n * i;
    let s10 = s00 + n;
    let j = 0;
    for (; j < ny - 1; j += 2) {
      const v = a[k];
      if (v & 1) b[s10 + 1] += pv;
      if (v & 2) b[s10] += pv;
      if (v & 4) b[s00 + 1] += pv;
      if (v & 8) b[s00] += pv;
      s00 += 2;
      s10 += 2;
      k++;
    }
    if (j < ny) {
      const v = a[k];
      if (v & 2) b[s10] += pv;
      if (v & 8) b[s00] += pv;
      k++;
    }
  }
  if (i < nx) {
    let s00 = n * i;
    let j = 0;
    for (; j < ny - 1; j += 2) {
      const v = a[k];
      if (v & 4) b[s00 + 1] += pv;
      if (v & 8) b[s00] += pv;
      s00 += 2;
      k++;
    }
    if (j < ny && a[k] & 8) b[s00] += pv;
  }
}

function log2up(n: number): number {
  let log2n = Math.floor(Math.log(n) / Math.log(2) + 0.5);
  if (n > 2 ** log2n) log2n++;
  return log2n;
}

function qtreeDecode(r: BitReader, a: Float64Array, off: number, n: number, nqx: number, nqy: number, nbitplanes: number, tileNo: number): void {
  if (nqx <= 0 || nqy <= 0) return;
  const nqmax = Math.max(nqx, nqy);
  const log2n = log2up(nqmax);
  const nqx2 = (nqx + 1) >> 1;
  const nqy2 = (nqy + 1) >> 1;
  const scratch = new Uint8Array(Math.max(nqx2 * nqy2, nqx * nqy, 1));
  const view = off === 0 ? a : a.subarray(off);
  for (let bit = nbitplanes - 1; bit >= 0; bit--) {
    const b = r.nybble();
    if (b === 0) {
      for (let i = 0; i < nqx2 * nqy2; i++) scratch[i] = r.nybble();
      qtreeBitins(scratch, nqx, nqy, view, n, bit);
    } else if (b !== 0xf) {
      throw new FitsInputError(`tile ${tileNo}: HCOMPRESS_1 data are corrupt (bad quadtree format code ${b})`);
    } else {
      scratch[0] = r.huffman();
      let nx = 1;
      let ny = 1;
      let nfx = nqx;
      let nfy = nqy;
      let c = 2 ** log2n;
      for (let k = 1; k < log2n; k++) {
        c = c / 2;
        nx <<= 1;
        ny <<= 1;
        if (nfx <= c) nx--;
        else nfx -= c;
        if (nfy <= c) ny--;
        else nfy -= c;
        // expand: copy then read new codes for each non-zero element
        qtreeCopy(scratch, nx, ny, scratch, ny);
        for (let i = nx * ny - 1; i >= 0; i--) if (scratch[i]) scratch[i] = r.huffman();
      }
      qtreeBitins(scratch, nqx, nqy, view, n, bit);
    }
  }
}

function unshuffle(a: Float64Array, off: number, n: number, n2: number, tmp: Float64Array): void {
  const nhalf = (n + 1) >> 1;
  let pt = 0;
  let p1 = off + n2 * nhalf;
  for (let i = nhalf; i < n; i++) {
    tmp[pt++] = a[p1];
    p1 += n2;
  }
  let p2 = off + n2 * (nhalf - 1);
  p1 = off + ((n2 * (nhalf - 1)) << 1);
  for (let i = nhalf - 1; i >= 0; i--) {
    a[p1] = a[p2];
    p2 -= n2;
    p1 -= n2 + n2;
  }
  pt = 0;
  p1 = off + n2;
  for (let i = 1; i < n; i += 2) {
    a[p1] = tmp[pt++];
    p1 += n2 + n2;
  }
}

function hsmooth(a: Float64Array, nxtop: number, nytop: number, ny: number, scale: number): void {
  const smax = shr(scale, 1);
  if (smax <= 0) return;
  const ny2 = ny * 2;
  const clamp = (x: number, lo: number, hi: number) => Math.max(Math.min(x, hi), lo);
  for (let i = 2; i < nxtop - 2; i += 2) {
    let s00 = ny * i;
    let s10 = s00 + ny;
    for (let j = 0; j < nytop; j += 2) {
      const hm = a[s00 - ny2];
      const h0 = a[s00];
      const hp = a[s00 + ny2];
      let diff = hp - hm;
      const dmax = Math.max(Math.min(hp - h0, h0 - hm), 0) * 4;
      const dmin = Math.min(Math.max(hp - h0, h0 - hm), 0) * 4;
      if (dmin < dmax) {
        diff = clamp(diff, dmin, dmax);
        let s = diff - a[s10] * 8;
        s = s >= 0 ? shr(s, 3) : shr(s + 7, 3);
        s = clamp(s, -smax, smax);
        a[s10] = a[s10] + s;
      }
      s00 += 2;
      s10 += 2;
    }
  }
  for (let i = 0; i < nxtop; i += 2) {
    let s00 = ny * i + 2;
    for (let j = 2; j < nytop - 2; j += 2) {
      const hm = a[s00 - 2];
      const h0 = a[s00];
      const hp = a[s00 + 2];
      let diff = hp - hm;
      const dmax = Math.max(Math.min(hp - h0, h0 - hm), 0) * 4;
      const dmin = Math.min(Math.max(hp - h0, h0 - hm), 0) * 4;
      if (dmin < dmax) {
        diff = clamp(diff, dmin, dmax);
        let s = diff - a[s00 + 1] * 8;
        s = s >= 0 ? shr(s, 3) : shr(s + 7, 3);
        s = clamp(s, -smax, smax);
        a[s00 + 1] = a[s00 + 1] + s;
      }
      s00 += 2;
    }
  }
  for (let i = 2; i < nxtop - 2; i += 2) {
    let s00 = ny * i + 2;
    let s10 = s00 + ny;
    for (let j = 2; j < nytop - 2; j += 2) {
      const hmm = a[s00 - ny2 - 2];
      const hpm = a[s00 + ny2 - 2];
      const hmp = a[s00 - ny2 + 2];
      const hpp = a[s00 + ny2 + 2];
      const h0 = a[s00];
      let diff = hpp + hmm - hmp - hpm;
      const hx2 = a[s10] * 2;
      const hy2 = a[s00 + 1] * 2;
      let m1 = Math.min(Math.max(hpp - h0, 0) - hx2 - hy2, Math.max(h0 - hpm, 0) + hx2 - hy2);
      let m2 = Math.min(Math.max(h0 - hmp, 0) - hx2 + hy2, Math.max(hmm - h0, 0) + hx2 + hy2);
      const dmax = Math.min(m1, m2) * 16;
      m1 = Math.max(Math.min(hpp - h0, 0) - hx2 - hy2, Math.min(h0 - hpm, 0) + hx2 - hy2);
      m2 = Math.max(Math.min(h0 - hmp, 0) - hx2 + hy2, Math.min(hmm - h0, 0) + hx2 + hy2);
      const dmin = Math.max(m1, m2) * 16;
      if (dmin < dmax) {
        diff = clamp(diff, dmin, dmax);
        let s = diff - a[s10 + 1] * 64;
        s = s >= 0 ? shr(s, 6) : shr(s + 63, 6);
        s = clamp(s, -smax, smax);
        a[s10 + 1] = a[s10 + 1] + s;
      }
      s00 += 2;
      s10 += 2;
    }
  }
}

function hinv(a: Float64Array, nx: number, ny: number, smooth: boolean, scale: number): void {
  const nmax = Math.max(nx, ny);
  const log2n = log2up(nmax);
  const tmp = new Float64Array((nmax + 1) >> 1);
  let shift = 1;
  // bitN: the bit tested; mN: the granularity of maskN (maskN = -mN); prnd/nrnd: rounding offsets.
  // All are halved after each expansion, as the reference does with shifts.
  let bit0 = 2 ** (log2n - 1);
  let bit1 = bit0 * 2;
  let m0 = bit0;
  let m1 = bit0 * 2;
  const m2 = bit0 * 4;
  let prnd0 = Math.floor(bit0 / 2);
  let prnd1 = Math.floor(bit1 / 2);
  const prnd2 = bit0 * 2;
  let nrnd0 = prnd0 - 1;
  let nrnd1 = prnd1 - 1;
  const nrnd2 = prnd2 - 1;
  a[0] = maskLow(a[0] + (a[0] >= 0 ? prnd2 : nrnd2), m2);
  let nxtop = 1;
  let nytop = 1;
  let nxf = nx;
  let nyf = ny;
  let c = 2 ** log2n;
  for (let k = log2n - 1; k >= 0; k--) {
    c = c / 2;
    nxtop <<= 1;
    nytop <<= 1;
    if (nxf <= c) nxtop--;
    else nxf -= c;
    if (nyf <= c) nytop--;
    else nyf -= c;
    if (k === 0) {
      nrnd0 = 0;
      shift = 2;
    }
    for (let i = 0; i < nxtop; i++) unshuffle(a, ny * i, nytop, 1, tmp);
    for (let j = 0; j < nytop; j++) unshuffle(a, j, nxtop, ny, tmp);
    if (smooth) hsmooth(a, nxtop, nytop, ny, scale);
    const oddx = nxtop % 2;
    const oddy = nytop % 2;
    let i = 0;
    for (; i < nxtop - oddx; i += 2) {
      let s00 = ny * i;
      let s10 = s00 + ny;
      for (let j = 0; j < nytop - oddy; j += 2) {
        let h0 = a[s00];
        let hx = a[s10];
        let hy = a[s00 + 1];
        let hc = a[s10 + 1];
        hx = maskLow(hx + (hx >= 0 ? prnd1 : nrnd1), m1);
        hy = maskLow(hy + (hy >= 0 ? prnd1 : nrnd1), m1);
        hc = maskLow(hc + (hc >= 0 ? prnd0 : nrnd0), m0);
        const lowbit0 = bitOf(hc, bit0);
        hx = hx >= 0 ? hx - lowbit0 : hx + lowbit0;
        hy = hy >= 0 ? hy - lowbit0 : hy + lowbit0;
        const lowbit1 = bit1 >= 1 && ((bitOf(hc, bit1) + bitOf(hx, bit1) + bitOf(hy, bit1)) / bit1) % 2 === 1 ? bit1 : 0;
        h0 = h0 >= 0 ? h0 + lowbit0 - lowbit1 : h0 + (lowbit0 === 0 ? lowbit1 : lowbit0 - lowbit1);
        a[s10 + 1] = shr(h0 + hx + hy + hc, shift);
        a[s10] = shr(h0 + hx - hy - hc, shift);
        a[s00 + 1] = shr(h0 - hx + hy - hc, shift);
        a[s00] = shr(h0 - hx - hy + hc, shift);
        s00 += 2;
        s10 += 2;
      }
      if (oddy) {
        let h0 = a[s00];
        let hx = a[s10];
        hx = maskLow(hx >= 0 ? hx + prnd1 : hx + nrnd1, m1);
        const lowbit1 = bitOf(hx, bit1);
        h0 = h0 >= 0 ? h0 - lowbit1 : h0 + lowbit1;
        a[s10] = shr(h0 + hx, shift);
        a[s00] = shr(h0 - hx, shift);
      }
    }
    if (oddx) {
      let s00 = ny * i;
      let j = 0;
      for (; j < nytop - oddy; j += 2) {
        let h0 = a[s00];
        let hy = a[s00 + 1];
        hy = maskLow(hy >= 0 ? hy + prnd1 : hy + nrnd1, m1);
        const lowbit1 = bitOf(hy, bit1);
        h0 = h0 >= 0 ? h0 - lowbit1 : h0 + lowbit1;
        a[s00 + 1] = shr(h0 + hy, shift);
        a[s00] = shr(h0 - hy, shift);
        s00 += 2;
      }
      if (oddy) a[s00] = shr(a[s00], shift);
    }
    // halve the masks and rounding values for the next, finer level
    bit1 = bit0;
    bit0 = Math.floor(bit0 / 2);
    m1 = m0;
    m0 = Math.max(Math.floor(m0 / 2), 1);
    prnd1 = prnd0;
    prnd0 = Math.floor(prnd0 / 2);
    nrnd1 = nrnd0;
    nrnd0 = prnd0 - 1;
  }
}

/**
 * Decodes one HCOMPRESS_1 tile of nx (fast axis) × ny pixels. Returns the pixel values (row-major, x fastest).
 */
export function hcompressDecode(c: Uint8Array, nx: number, ny: number, smooth: boolean, tileNo = 0): Float64Array {
  if (c.length < 23 || c[0] !== 0xdd || c[1] !== 0x99) throw new FitsInputError(`tile ${tileNo}: not HCOMPRESS_1 data (bad magic number)`);
  const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
  // the stream's first dimension is the slow one
  const snx = dv.getInt32(2);
  const sny = dv.getInt32(6);
  const scale = dv.getInt32(10);
  const sumall = Number(dv.getBigInt64(14));
  if (snx * sny !== nx * ny || sny !== nx) {
    throw new FitsInputError(`tile ${tileNo}: HCOMPRESS_1 stream is ${sny}×${snx} pixels, the tile is ${nx}×${ny}`);
  }
  const nbitplanes = [c[22], c[23] ?? 0, c[24] ?? 0];
  if (c.length < 25) throw new FitsInputError(`tile ${tileNo}: HCOMPRESS_1 data are truncated`);
  if (nbitplanes.some((b) => b > 64)) throw new FitsInputError(`tile ${tileNo}: HCOMPRESS_1 data are corrupt (bit planes)`);
  const r = new BitReader(c, 25, tileNo);
  const nel = snx * sny;
  const a = new Float64Array(nel);
  const n = sny;
  const nx2 = (snx + 1) >> 1;
  const ny2 = (sny + 1) >> 1;
  r.start();
  qtreeDecode(r, a, 0, n, nx2, ny2, nbitplanes[0], tileNo);
  qtreeDecode(r, a, ny2, n, nx2, sny >> 1, nbitplanes[1], tileNo);
  qtreeDecode(r, a, n * nx2, n, snx >> 1, ny2, nbitplanes[1], tileNo);
  qtreeDecode(r, a, n * nx2 + ny2, n, snx >> 1, sny >> 1, nbitplanes[2], tileNo);
  if (r.nybble() !== 0) throw new FitsInputError(`tile ${tileNo}: HCOMPRESS_1 data are corrupt (bad bit plane values)`);
  r.start();
  for (let i = 0; i < nel; i++) if (a[i] !== 0 && r.bit() !== 0) a[i] = -a[i];
  a[0] = sumall;
  if (scale > 1) for (let i = 0; i < nel; i++) a[i] *= scale;
  hinv(a, snx, sny, smooth, scale);
  return a;
}
