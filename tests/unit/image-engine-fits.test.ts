/** The engine side of the viewer: fits.open / fits.plane / fits.close through the engine's request path. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';
import { createEngine } from '../../src-main/engine/handlers.js';
import { validateRequest, type FitsOpenResult, type FitsPlaneResult, type MethodName, type ParamsOf } from '../../src-shared/protocol/index.js';
import { decodeFrame, encodeFrame } from '../../src-shared/protocol/codec.js';
import { parseCards } from '../../src-shared/fits/header.js';
import { evictOldest } from '../../src-shared/image/fits-planes.js';

const engine = createEngine({ emit: () => {}, backend: 'cpu', processKind: 'test' });
let id = 1;
/** A request as it arrives from the renderer over WebSocket: framed, decoded, validated, handled; the result framed back. */
async function call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<unknown> {
  const req = validateRequest(decodeFrame(encodeFrame({ id: id++, method, params })));
  const result = await engine.handle(req);
  return (decodeFrame(encodeFrame({ id: 0, ok: true, result })) as { result: unknown }).result;
}
const bytes = (...p: string[]) => new Uint8Array(readFileSync(dataPath(...p)));

describe('fits.open / fits.plane', () => {
  it('opens a radio image with a degenerate third axis and returns its plane, header and statistics', async () => {
    const f = (await call('fits.open', { name: 'purify_M31.fits', bytes: bytes('radio', 'purify_M31.fits') })) as FitsOpenResult;
    expect(f.hdus).toHaveLength(1);
    expect(f.defaultHdu).toBe(0);
    expect(f.hdus[0]).toMatchObject({ index: 0, kind: 'primary', shape: [256, 256, 1], hasImage: true, planes: 1, bitpix: -32 });
    const p = (await call('fits.plane', { fileId: f.fileId, hdu: 0 })) as FitsPlaneResult;
    expect([p.width, p.height]).toEqual([256, 256]);
    expect(p.data).toBeInstanceOf(Float32Array);
    expect(p.data.length).toBe(256 * 256);
    expect(p.bunit).toBe('JY/PIXEL');
    expect(p.stats.max).toBeCloseTo(1.0064581632614136, 7); // astropy: nanmax
    expect(p.stats.quantiles).toBeInstanceOf(Float64Array);
    expect(p.header.length % 80).toBe(0);
    const h = parseCards(p.header.match(/.{80}/g)!);
    expect(h.getString('CTYPE1')).toBe('RA---SIN');
    expect(h.getNumber('CRPIX2')).toBe(128);
  });

  it('chooses HDUs of a multi-extension file and planes of a cube (values known from the files)', async () => {
    const m = (await call('fits.open', { name: 'test_multiF.fits', bytes: bytes('fits', 'test_multiF.fits') })) as FitsOpenResult;
    expect(m.hdus).toHaveLength(12);
    expect(m.hdus.every((h) => h.hasImage && h.planes === 1)).toBe(true);
    const p4 = (await call('fits.plane', { fileId: m.fileId, hdu: 4 })) as FitsPlaneResult;
    // astropy: HDU 4 row 0 = 15, 25, …, 75
    expect(Array.from(p4.data.subarray(0, 7))).toEqual([15, 25, 35, 45, 55, 65, 75]);
    const c = (await call('fits.open', { name: 'test_cubeF.fits', bytes: bytes('fits', 'test_cubeF.fits') })) as FitsOpenResult;
    expect(c.hdus[0]).toMatchObject({ shape: [7, 5, 12], planes: 12 });
    for (const k of [0, 3, 11]) {
      const p = (await call('fits.plane', { fileId: c.fileId, hdu: 0, plane: k })) as FitsPlaneResult;
      expect([p.width, p.height, p.plane]).toEqual([7, 5, k]);
      // value at (x, y) = 10 (x + 1) + (y + 1) + k
      for (const [x, y] of [[0, 0], [6, 4], [2, 3]]) expect(p.data[y * 7 + x]).toBe(10 * (x + 1) + (y + 1) + k);
    }
    await expect(call('fits.plane', { fileId: c.fileId, hdu: 0, plane: 12 })).rejects.toMatchObject({ name: 'FitsInputError', message: expect.stringMatching(/12 plane/) });
    await expect(call('fits.plane', { fileId: c.fileId, hdu: 3 })).rejects.toThrow(/no HDU 3/);
  });

  it('refuses what is not FITS, a table HDU, and a closed file, with input errors', async () => {
    await expect(call('fits.open', { name: 'notes.txt', bytes: new TextEncoder().encode('hello, not a FITS file') })).rejects.toMatchObject({ name: 'FitsInputError', message: expect.stringMatching(/^notes\.txt: /) });
    const t = (await call('fits.open', { name: 'table.fits', bytes: bytes('fits', 'table.fits') })) as FitsOpenResult;
    const tableHdu = t.hdus.find((h) => !h.hasImage && h.kind === 'bintable');
    expect(tableHdu?.summary).toMatch(/binary table/);
    await expect(call('fits.plane', { fileId: t.fileId, hdu: tableHdu!.index })).rejects.toThrow(/has no image to show/);
    expect(await call('fits.close', { fileId: t.fileId })).toEqual({ closed: true });
    await expect(call('fits.plane', { fileId: t.fileId, hdu: 0 })).rejects.toThrow(/no open file/);
    expect(() => validateRequest({ id: 1, method: 'fits.plane', params: { fileId: '../x', hdu: 0 } })).toThrow(/fileId/);
  });

  it('counts blank pixels and says so', async () => {
    const f = (await call('fits.open', { name: 'blank.fits', bytes: bytes('fits', 'blank.fits') })) as FitsOpenResult;
    const p = (await call('fits.plane', { fileId: f.fileId, hdu: f.defaultHdu })) as FitsPlaneResult;
    const nan = p.data.filter((v) => Number.isNaN(v)).length;
    expect(nan).toBeGreaterThan(0);
    expect(p.stats.count - p.stats.finite).toBe(nan);
    expect(p.warnings.join('\n')).toMatch(/NaN or infinite/);
  });
});

describe('open files are dropped oldest first (the engine and the page worker)', () => {
  it('keeps at most the count and the bytes, and always the newest', () => {
    const files = new Map<string, { size: number }>(['a', 'b', 'c', 'd'].map((k) => [k, { size: 10 }]));
    evictOldest(files, 3, 100);
    expect([...files.keys()]).toEqual(['b', 'c', 'd']);
    evictOldest(files, 3, 15);
    expect([...files.keys()]).toEqual(['d']);
    files.set('e', { size: 500 });
    evictOldest(files, 3, 100);
    expect([...files.keys()]).toEqual(['e']);
  });
});
