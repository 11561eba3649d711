/**
 * What a client's file may cost the engine, and the engine's memory as a whole:
 *  - a gzip-compressed FITS that expands past LIMITS.fitsBytes (1 GiB) is refused while it decompresses, with the
 *    limit in the error; a forged gzip trailer cannot make the reader allocate more (tests/unit/fits-limits.test.ts
 *    checks the reader itself);
 *  - an image HDU of more than LIMITS.fitsDecodePixels pixels is not decoded (fits.plane, an observation);
 *  - an engine whose resident memory passes its budget is restarted by its host, whatever it is doing; the request
 *    it was answering fails with engine-died naming the budget, and the new engine answers.
 * The engine runs as serve runs it: a child process.
 */
import { describe, expect, it } from 'vitest';
import { gzipSync, createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { EngineClient, EngineDiedError, childProcessSpawner, processRss } from '../../src-main/engine/client.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import type { EngineEvent } from '../../src-shared/protocol/index.js';

/** A FITS header block (2880 bytes) of an image with the given axes and BITPIX. */
function header(bitpix: number, axes: number[]): Buffer {
  const cards = [`SIMPLE  = ${'T'.padStart(20)}`, `BITPIX  = ${String(bitpix).padStart(20)}`, `NAXIS   = ${String(axes.length).padStart(20)}`];
  axes.forEach((n, i) => cards.push(`NAXIS${i + 1}`.padEnd(8) + `= ${String(n).padStart(20)}`));
  cards.push('END');
  const text = cards.map((c) => c.padEnd(80)).join('');
  return Buffer.from(text.padEnd(Math.ceil(text.length / 2880) * 2880), 'latin1');
}

/** gzip of a FITS image of zeros (the data streamed, never held whole). */
async function gzippedZeros(bitpix: number, axes: number[]): Promise<Uint8Array> {
  const bytes = (Math.abs(bitpix) / 8) * axes.reduce((a, b) => a * b, 1);
  const chunk = Buffer.alloc(64 * 1024 ** 2);
  async function* parts() {
    yield header(bitpix, axes);
    for (let left = bytes; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    const pad = (2880 - (bytes % 2880)) % 2880;
    if (pad) yield Buffer.alloc(pad);
  }
  const out: Buffer[] = [];
  for await (const b of Readable.from(parts()).pipe(createGzip({ level: 9 }))) out.push(b as Buffer);
  const all = Buffer.concat(out);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
}

function start(opts: ConstructorParameters<typeof EngineClient>[1] = {}) {
  const c = new EngineClient(childProcessSpawner({ backend: 'cpu' }), opts);
  const events: EngineEvent[] = [];
  c.on('event', (ev: EngineEvent) => events.push(ev));
  c.start();
  return { c, events };
}

describe('a client file within the limits, the engine within its memory', () => {
  it(`a gzip file expanding past ${LIMITS.fitsBytes / 1024 ** 3} GiB is refused, the limit named; the engine stays`, async () => {
    const { c } = start();
    try {
      // 1.25 GiB of zeros: ~1.3 MB compressed (a 1000:1 bomb)
      const bomb = await gzippedZeros(8, [32768, 40960]);
      expect(bomb.length).toBeLessThan(4 * 1024 ** 2);
      const open = c.forward('fits.open', { name: 'bomb.fits.gz', bytes: bomb });
      await expect(open).rejects.toThrow(/bomb\.fits\.gz: gzip stream decompresses to more than 1073741824 bytes/);
      expect(await c.request('engine.ping', { payload: 'up' })).toEqual({ pong: 'up' });
    } finally {
      await c.stop();
    }
  }, 120_000);

  it(`an image HDU of more than ${LIMITS.fitsDecodePixels} pixels is opened (its headers) but not decoded`, async () => {
    const { c } = start();
    try {
      // 2^27 + 2^15 one-byte pixels: under the byte limit, over the pixel limit
      const big = await gzippedZeros(8, [16384 + 4, 8192]);
      const opened = (await c.forward('fits.open', { name: 'big.fits.gz', bytes: big })) as { fileId: string; hdus: { shape: number[] }[] };
      expect(opened.hdus[0].shape).toEqual([16388, 8192]);
      await expect(c.forward('fits.plane', { fileId: opened.fileId, hdu: 0 })).rejects.toThrow(/HDU 0: the image has 16388 × 8192 = 134250496 pixels, more than the limit of 134217728 pixels to decode/);
      expect(await c.request('engine.ping', { payload: 'up' })).toEqual({ pong: 'up' });
    } finally {
      await c.stop();
    }
  }, 120_000);

  it.runIf(process.platform === 'linux')('an engine past its memory budget is restarted; what it was doing fails naming the budget; the new one answers', async () => {
    expect(processRss(process.pid)).toBeGreaterThan(10 * 1024 ** 2);
    const budget = 600 * 1024 ** 2;
    const { c, events } = start({ memoryBudgetBytes: budget });
    try {
      expect(await c.request('engine.ping', { payload: 'a' })).toEqual({ pong: 'a' });
      // 256 MiB of float32 pixels: with the decompressed file's chunks, the file and the decoded plane, the engine
      // holds 512–768 MiB above its own ~150–250 MiB, and keeps 512 MiB of it (the file and its decoded image)
      const file = gzipSync(Buffer.concat([header(-32, [16384, 4096]), Buffer.alloc(16384 * 4096 * 4)]), { level: 1 });
      const work = (async () => {
        const o = (await c.forward('fits.open', { name: 'large.fits.gz', bytes: new Uint8Array(file.buffer, file.byteOffset, file.byteLength) })) as { fileId: string };
        await c.forward('fits.plane', { fileId: o.fileId, hdu: 0 });
      })();
      await expect(work).rejects.toBeInstanceOf(EngineDiedError);
      await expect(work).rejects.toThrow(/its memory reached \d+ MiB, past its budget of 600 MiB/);
      expect(events.some((e) => e.event === 'engine.status' && e.data.state === 'restarting' && /past its budget of 600 MiB/.test(e.data.message ?? ''))).toBe(true);
      expect(await c.request('engine.ping', { payload: 'b' })).toEqual({ pong: 'b' });
    } finally {
      await c.stop();
    }
  }, 120_000);
});
