/** Big-endian decoding helpers. FITS data are big-endian; typed arrays use the platform order (little-endian everywhere we run). */

const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A copy of `n` elements of `size` bytes from `src` at `offset`, byte-swapped to the platform order, in a fresh aligned buffer. */
export function swappedCopy(src: Uint8Array, offset: number, n: number, size: 1 | 2 | 4 | 8): ArrayBuffer {
  const nbytes = n * size;
  const buf = new ArrayBuffer(nbytes);
  const out = new Uint8Array(buf);
  const at = src.byteOffset + offset;
  if (LITTLE && size > 1 && at % 4 === 0 && nbytes % 4 === 0) {
    // one pass: read aligned words from the source and store them swapped
    const s32 = new Uint32Array(src.buffer, at, nbytes / 4);
    const d32 = new Uint32Array(buf);
    if (size === 4) {
      for (let i = 0; i < d32.length; i++) {
        const x = s32[i];
        d32[i] = (x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24);
      }
    } else if (size === 2) {
      for (let i = 0; i < d32.length; i++) {
        const x = s32[i];
        d32[i] = ((x >>> 8) & 0x00ff00ff) | ((x << 8) & 0xff00ff00);
      }
    } else {
      for (let i = 0; i < d32.length; i += 2) {
        const a = s32[i];
        const b = s32[i + 1];
        d32[i] = (b >>> 24) | ((b >>> 8) & 0xff00) | ((b << 8) & 0xff0000) | (b << 24);
        d32[i + 1] = (a >>> 24) | ((a >>> 8) & 0xff00) | ((a << 8) & 0xff0000) | (a << 24);
      }
    }
    return buf;
  }
  out.set(src.subarray(offset, offset + nbytes));
  if (!LITTLE || size === 1) return buf;
  if (size === 2) {
    const u = new Uint16Array(buf);
    for (let i = 0; i < u.length; i++) {
      const x = u[i];
      u[i] = ((x & 0xff) << 8) | (x >>> 8);
    }
  } else if (size === 4) {
    const u = new Uint32Array(buf);
    for (let i = 0; i < u.length; i++) {
      const x = u[i];
      u[i] = (x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24);
    }
  } else {
    const u = new Uint32Array(buf);
    for (let i = 0; i < u.length; i += 2) {
      const a = u[i];
      const b = u[i + 1];
      u[i] = (b >>> 24) | ((b >>> 8) & 0xff00) | ((b << 8) & 0xff0000) | (b << 24);
      u[i + 1] = (a >>> 24) | ((a >>> 8) & 0xff00) | ((a << 8) & 0xff0000) | (a << 24);
    }
  }
  return buf;
}

/** In-place byte swap of a buffer holding elements of `size` bytes (to or from big-endian). */
export function swapInPlace(buf: Uint8Array, size: 1 | 2 | 4 | 8): void {
  if (!LITTLE || size === 1) return;
  const n = buf.length;
  if (size === 2) {
    for (let i = 0; i + 1 < n; i += 2) {
      const t = buf[i];
      buf[i] = buf[i + 1];
      buf[i + 1] = t;
    }
  } else if (buf.byteOffset % 4 === 0 && n % 4 === 0) {
    const u = new Uint32Array(buf.buffer, buf.byteOffset, n / 4);
    if (size === 4) {
      for (let i = 0; i < u.length; i++) {
        const x = u[i];
        u[i] = (x >>> 24) | ((x >>> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24);
      }
    } else {
      for (let i = 0; i + 1 < u.length; i += 2) {
        const a = u[i];
        const b = u[i + 1];
        u[i] = (b >>> 24) | ((b >>> 8) & 0xff00) | ((b << 8) & 0xff0000) | (b << 24);
        u[i + 1] = (a >>> 24) | ((a >>> 8) & 0xff00) | ((a << 8) & 0xff0000) | (a << 24);
      }
    }
  } else {
    for (let i = 0; i + size <= n; i += size) {
      for (let a = i, b = i + size - 1; a < b; a++, b--) {
        const t = buf[a];
        buf[a] = buf[b];
        buf[b] = t;
      }
    }
  }
}

