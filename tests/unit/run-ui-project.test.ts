import { describe, it, expect } from 'vitest';
import { buildProject, parseProject, toBase64, fromBase64, ProjectInputError, type ProjectInput } from '../../src-renderer/src/export/project.js';
import { sha256Hex } from '../../src-renderer/src/model/files.js';
import { DEFAULT_NOISE } from '../../src-renderer/src/store/model.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { createHash } from 'node:crypto';

function bytes(n: number, seed: number): Uint8Array {
  const r = new SeededRandom(seed);
  return Uint8Array.from({ length: n }, () => r.u32() & 0xff);
}

async function input(obsSize = 3000): Promise<ProjectInput> {
  const obs = bytes(obsSize, 1);
  const psf = bytes(777, 2);
  return {
    skyscore: '0.1.0',
    data: { name: 'obs.fits', sha256: await sha256Hex(obs), bytes: obs, hdu: 1, plane: 3 },
    model: { shape: [64, 64], operators: [{ type: 'psf', fits: 'psf.fits', normalize: true }] },
    files: [{ meta: { name: 'psf.fits', size: psf.length, sha256: await sha256Hex(psf), role: 'psf' }, bytes: psf }],
    noise: { ...DEFAULT_NOISE, mode: 'mad', sigma: 0.0123, region: { x0: 1, y0: 2, x1: 30, y1: 40 }, estimatedFrom: 1102 },
    prior: { spec: '/models/galaxy-64', name: 'galaxy-64' },
    settings: { sampler: 'pc', n: 2, steps: 20, seed: 42, fluxScale: null },
    lastRun: { chi2PerPixel: 1.02 },
    now: new Date('2025-01-02T03:04:05Z'),
  };
}

describe('project file', () => {
  it('base64 round-trips arbitrary bytes (also across chunk boundaries)', () => {
    for (const n of [0, 1, 2, 3, 0x8000 - 1, 0x8000, 0x8000 + 5, 100_001]) {
      const b = bytes(n, n + 7);
      expect(fromBase64(toBase64(b))).toEqual(b);
    }
    expect(toBase64(new TextEncoder().encode('SkyScore'))).toBe(Buffer.from('SkyScore').toString('base64'));
  });

  it('sha256Hex agrees with Node crypto', async () => {
    const b = bytes(5000, 9);
    expect(await sha256Hex(b)).toBe(createHash('sha256').update(b).digest('hex'));
  });

  it('saves everything needed to reproduce the run and reads it back', async () => {
    const inp = await input();
    const doc = buildProject(inp);
    const back = parseProject(JSON.stringify(doc));
    expect(back.savedAt).toBe('2025-01-02T03:04:05.000Z');
    expect(back.model).toEqual(inp.model);
    expect(back.noise).toEqual(inp.noise);
    expect(back.settings).toEqual(inp.settings);
    expect(back.prior).toEqual(inp.prior);
    expect(back.data).toMatchObject({ name: 'obs.fits', hdu: 1, plane: 3, sha256: inp.data!.sha256, size: 3000 });
    expect(fromBase64(back.data!.embedded!)).toEqual(inp.data!.bytes);
    expect(back.files[0]).toMatchObject({ name: 'psf.fits', role: 'psf', size: 777 });
    expect(fromBase64(back.files[0]!.embedded!)).toEqual(inp.files[0]!.bytes);
  });

  it('keeps the correlated and Poisson–Gaussian choices; a project saved before them reads with their defaults', async () => {
    const inp = await input();
    const corr = { ...inp, noise: { ...DEFAULT_NOISE, mode: 'correlated' as const, corrSource: 'region' as const, corrRegion: { x0: 0, y0: 0, x1: 64, y1: 20 } } };
    expect(parseProject(JSON.stringify(buildProject(corr))).noise).toEqual(corr.noise);
    const img = { ...inp, noise: { ...DEFAULT_NOISE, mode: 'correlated' as const, corrSource: 'image' as const, noiseImage: 'noise.fits' } };
    expect(parseProject(JSON.stringify(buildProject(img))).noise).toEqual(img.noise);
    const pg = { ...inp, noise: { ...DEFAULT_NOISE, mode: 'poisson-gaussian' as const, gain: 2.5, readNoise: 5, sky: -12.5 } };
    expect(parseProject(JSON.stringify(buildProject(pg))).noise).toEqual(pg.noise);
    const old = JSON.parse(JSON.stringify(buildProject(inp)));
    old.noise = { mode: 'sigma', sigma: 0.5, region: null, estimatedFrom: null, mapFile: null, mapHdu: 0 };
    expect(parseProject(JSON.stringify(old)).noise).toEqual({ ...DEFAULT_NOISE, sigma: 0.5 });
  });

  it('embeds files while they fit the limit, observation first; the rest by name and hash', async () => {
    const inp = await input(3000);
    const doc = buildProject(inp, 3500);
    expect(doc.data!.embedded).not.toBeNull();
    expect(doc.files[0]!.embedded).toBeNull();
    expect(doc.files[0]!.sha256).toBe(inp.files[0]!.meta.sha256);
    const none = buildProject(inp, 10);
    expect(none.data!.embedded).toBeNull();
  });

  it('refuses what is not a project, or a damaged one, naming the field', async () => {
    const good = JSON.parse(JSON.stringify(buildProject(await input())));
    const cases: [string, (d: Record<string, unknown>) => void, RegExp][] = [
      ['format', (d) => (d.format = 'x'), /not a SkyScore project: "format"/],
      ['version', (d) => (d.version = 99), /project version 99 is not supported/],
      ['sha', (d) => ((d.data as Record<string, unknown>).sha256 = 'abc'), /data\.sha256: expected a SHA-256/],
      ['hdu', (d) => ((d.data as Record<string, unknown>).hdu = -1), /data\.hdu/],
      ['model', (d) => ((d.model as Record<string, unknown>).operators = 3), /model: .*operators/],
      ['role', (d) => ((d.files as Record<string, unknown>[])[0]!.role = 'x'), /files\[0\]\.role/],
      ['noise', (d) => ((d.noise as Record<string, unknown>).sigma = -1), /noise\.sigma/],
      ['region', (d) => ((d.noise as Record<string, unknown>).region = { x0: -1, y0: 0, x1: 1, y1: 1 }), /noise\.region\.x0/],
      ['noise model', (d) => ((d.noise as Record<string, unknown>).mode = 'pink'), /noise\.mode: expected one of sigma, mad, map, correlated, poisson-gaussian/],
      ['noise box', (d) => ((d.noise as Record<string, unknown>).corrRegion = { x0: 10, y0: 0, x1: 5, y1: 8 }), /noise\.corrRegion: expected x1 > x0 and y1 > y0/],
      ['gain', (d) => ((d.noise as Record<string, unknown>).gain = 0), /noise\.gain: expected a positive number \(e⁻\/ADU\) or null/],
      ['read noise', (d) => ((d.noise as Record<string, unknown>).readNoise = 'five'), /noise\.readNoise: expected a positive number \(e⁻\) or null/],
      ['sky', (d) => ((d.noise as Record<string, unknown>).sky = 'dark'), /noise\.sky: expected a number \(ADU\) or null/],
      ['noise source', (d) => ((d.noise as Record<string, unknown>).corrSource = 'sky'), /noise\.corrSource: expected region or image/],
      ['seed', (d) => ((d.settings as Record<string, unknown>).seed = 1.5), /settings\.seed/],
      ['steps', (d) => ((d.settings as Record<string, unknown>).steps = 0), /settings\.steps/],
    ];
    for (const [what, mutate, re] of cases) {
      const d = structuredClone(good);
      mutate(d);
      expect(() => parseProject(JSON.stringify(d)), what).toThrow(re);
    }
    expect(() => parseProject('SIMPLE  =                    T')).toThrow(ProjectInputError);
    expect(() => parseProject('[]')).toThrow(/expected a JSON object/);
  });
});
