/**
 * The FITS reader's bounds for files from untrusted clients (the engine reads them with
 * src-main/engine/limits.ts CLIENT_FITS): a gzip stream is cut off as soon as its output passes maxBytes, even
 * when its trailer lies about the size; an image HDU over maxDecodePixels keeps its headers but is not decoded.
 */
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { maybeGunzip, readFits, writeFits } from '../../src-shared/fits/index.js';

const zeros = (n: number) => new Uint8Array(gzipSync(Buffer.alloc(n), { level: 9 }));

describe('gzip input with a bound on its decompressed size', () => {
  it('a stream within the bound decompresses as without one', () => {
    const raw = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251);
    const gz = new Uint8Array(gzipSync(raw));
    expect(maybeGunzip(gz, 300_000)).toEqual(raw);
    expect(maybeGunzip(gz)).toEqual(raw);
  });

  it('a stream declaring more than the bound is refused before decompressing', () => {
    expect(() => maybeGunzip(zeros(10 * 1024 ** 2), 1024 ** 2)).toThrow('gzip stream decompresses to more than 1048576 bytes, the largest file this reader accepts');
  });

  it('a forged trailer (a small declared size) is caught while decompressing, at the bound', () => {
    const gz = zeros(10 * 1024 ** 2);
    const n = gz.length;
    new DataView(gz.buffer, gz.byteOffset).setUint32(n - 4, 1000, true); // ISIZE: 1000 bytes
    expect(() => maybeGunzip(gz, 1024 ** 2)).toThrow('gzip stream decompresses to more than 1048576 bytes');
    // without a bound the lie is still a corrupt stream, never a wrong result
    expect(() => maybeGunzip(gz)).toThrow(/gzip stream is corrupt/);
  });
});

describe('image HDUs with a bound on the pixels decoded', () => {
  it('the headers are read, the pixels are not', () => {
    const bytes = writeFits([{ data: new Float32Array(100 * 80).fill(1), shape: [80, 100] }]);
    const f = readFits(bytes, { maxDecodePixels: 7999 });
    expect(f.hdus[0].shape).toEqual([80, 100]);
    expect(() => f.hdus[0].readImage()).toThrow('HDU 0: the image has 80 × 100 = 8000 pixels, more than the limit of 7999 pixels to decode');
    expect(readFits(bytes, { maxDecodePixels: 8000 }).hdus[0].readImage().data.length).toBe(8000);
  });
});
