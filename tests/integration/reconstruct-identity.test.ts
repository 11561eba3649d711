/**
 * One reconstruction pipeline: `skyscore reconstruct` and the app's job (`job.reconstruct`, the request the run
 * panel sends) on the same inputs — an observation with a WCS, an M.json whose PSF comes from a FITS file (not
 * separable: conjugate gradients), σ, a Gaussian-field prior, a seed, the sampler with options set, two worker
 * threads — give the same products: the same four FITS files byte for byte (pixels, every header card: no card is
 * volatile — there is no DATE, and the command in HISTORY does not name the host), and the same report.json but for
 * what differs by nature: `date` and `seconds` (timings), `command` (the app's says "(from the app)"), and the
 * paths of the observation and the model (the command line's are paths on disk, the app's the names of the files
 * sent). The app's run also sends previews (merged from the workers): they change nothing in the products.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reconstructCommand } from '../../src-main/cli/commands/reconstruct.js';
import { jobHandlers } from '../../src-main/engine/jobs.js';
import { modelJsonText } from '../../src-main/engine/reconstruct-job.js';
import { initBackend } from '../../src-main/engine/backend.js';
import type { EngineContext } from '../../src-main/engine/handlers.js';
import type { EngineEvent, JobEvent, ReconstructParams, ReconstructProgress } from '../../src-shared/protocol/index.js';
import { FitsHeader, readFits, writeFits } from '../../src-shared/fits/index.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const N = 32;
const PRODUCTS = ['posterior-mean.fits', 'posterior-std.fits', 'posterior-samples.fits', 'residual.fits', 'report.json'];
/** report.json keys that differ by nature between the hosts (see above). */
const HOST_KEYS = ['date', 'seconds', 'command'];

let dir = '';
const p = (f: string) => path.join(dir, f);
const model = { shape: [N, N], operators: [{ type: 'psf', fits: 'psf.fits' }] };
const settings = { sampler: 'pc', n: 4, steps: 24, seed: 11, fluxScale: null, options: { snr: 0.2, correctorSteps: 2, denoise: 'mean' }, workers: 2, batch: null } as const;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-identity-'));
  // an elliptical, rotated Gaussian PSF (not separable)
  const k = new Float32Array(81);
  for (let i = 0; i < 9; i++) {
    for (let j = 0; j < 9; j++) {
      const [y, x] = [i - 4, j - 4];
      const u = 0.8 * x + 0.6 * y;
      const v = -0.6 * x + 0.8 * y;
      k[i * 9 + j] = Math.exp(-(u * u) / (2 * 1.6 ** 2) - (v * v) / (2 * 0.9 ** 2));
    }
  }
  writeFileSync(p('psf.fits'), writeFits([{ data: k, shape: [9, 9] }]));
  writeFileSync(p('M.json'), modelJsonText(model));
  // the prior: a Gaussian-field folder of the user's, which the app names by its id in the list of priors
  mkdirSync(p('user/models/pk'), { recursive: true });
  writePowerSpectrumPrior(p('user/models/pk/power-spectrum.fits'), N, 10, 4, 2);
  // data: two blobs and noise σ = 0.1, with a celestial WCS and units
  const r = new ChainRandom(3, 0);
  const y = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) y[i * N + j] = Math.exp(-((i - 12) ** 2 + (j - 18) ** 2) / 18) + 0.5 * Math.exp(-((i - 22) ** 2 + (j - 9) ** 2) / 8) + 0.1 * r.normal();
  const h = new FitsHeader();
  for (const [key, v] of [
    ['CTYPE1', 'RA---TAN'],
    ['CTYPE2', 'DEC--TAN'],
    ['CRPIX1', 16.5],
    ['CRPIX2', 16.5],
    ['CRVAL1', 150.1],
    ['CRVAL2', 2.2],
    ['CDELT1', -1e-4],
    ['CDELT2', 1e-4],
    ['BUNIT', 'Jy/beam'],
  ] as const)
    h.set(key, v);
  writeFileSync(p('y.fits'), writeFits([{ data: y, shape: [N, N], header: h }]));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `skyscore reconstruct` in this process (the same wasm backend as the engine's), its products by name. */
async function viaCli(): Promise<Map<string, Uint8Array>> {
  const args = ['--obs', p('y.fits'), '--model', p('M.json'), '--prior', p('user/models/pk'), '--noise', '0.1', '--out', p('cli')];
  args.push('--n', '4', '--steps', '24', '--seed', '11', '--sampler', 'pc', '--snr', '0.2', '--correctors', '2', '--denoise', 'mean', '--workers', '2', '--backend', 'wasm', '--quiet');
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    expect(await reconstructCommand.run(args)).toBe(0);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return new Map(PRODUCTS.map((f) => [f, new Uint8Array(readFileSync(p(`cli/${f}`)))]));
}

/** The app's job through the engine's handlers, as the run panel starts it; its products and progress events. */
async function viaApp(): Promise<{ files: Map<string, Uint8Array>; progress: ReconstructProgress[] }> {
  const events: EngineEvent[] = [];
  const ctx: EngineContext = { emit: (ev) => void events.push(ev), backend: () => initBackend('wasm'), processKind: 'test' };
  const params: ReconstructParams = {
    obs: { name: 'y.fits', bytes: new Uint8Array(readFileSync(p('y.fits'))), hdu: 0, plane: 0 },
    model,
    files: [{ name: 'psf.fits', bytes: new Uint8Array(readFileSync(p('psf.fits'))) }],
    noise: { kind: 'sigma', sigma: 0.1 },
    prior: 'user/pk',
    settings: { ...settings, options: { ...settings.options } },
    previewHz: 30,
  };
  process.env.SKYSCORE_USER_DIR = p('user');
  let started;
  try {
    started = await jobHandlers['job.reconstruct'](params, ctx);
  } finally {
    delete process.env.SKYSCORE_USER_DIR;
  }
  const end = await new Promise<JobEvent>((resolve) => {
    const t = setInterval(() => {
      const ev = events.find((e) => (e.event === 'job.done' || e.event === 'job.error') && e.data.jobId === started.jobId);
      if (ev) {
        clearInterval(t);
        resolve(ev as JobEvent);
      }
    }, 20);
  });
  expect(end.event, JSON.stringify(end.data)).toBe('job.done');
  const products = await jobHandlers['job.products']({ jobId: started.jobId }, ctx);
  const progress = events.filter((e): e is Extract<JobEvent, { event: 'job.progress' }> => e.event === 'job.progress').map((e) => e.data as ReconstructProgress);
  return { files: new Map(products.files.map((f) => [f.name, f.bytes])), progress };
}

describe('one reconstruction pipeline for the command line and the app', () => {
  it('gives the same products: identical FITS files and the same report.json apart from timings and host names', async () => {
    const t0 = performance.now();
    const cli = await viaCli();
    const t1 = performance.now();
    const app = await viaApp();
    const t2 = performance.now();
    console.info(`reconstruct-identity: command line ${((t1 - t0) / 1000).toFixed(1)} s, app job ${((t2 - t1) / 1000).toFixed(1)} s`);
    expect([...app.files.keys()]).toEqual(PRODUCTS);

    for (const name of PRODUCTS.slice(0, 4)) {
      const [a, b] = [readFits(cli.get(name)!).hdus[0]!, readFits(app.files.get(name)!).hdus[0]!];
      // the same cards, keys and values, in the same order
      const cards = (h: FitsHeader) => h.cards.map((c) => [c.key, c.value ?? null, c.text ?? null]);
      expect(cards(b.header), name).toEqual(cards(a.header));
      expect(b.shape, name).toEqual(a.shape);
      // bit-identical pixels
      const bits = (d: ArrayBufferView) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex');
      expect(bits(b.readImage().data as Float32Array) === bits(a.readImage().data as Float32Array), `${name}: pixels`).toBe(true);
      expect(Buffer.compare(Buffer.from(cli.get(name)!), Buffer.from(app.files.get(name)!)), `${name}: bytes`).toBe(0);
    }

    const [ra, rb] = [cli, app.files].map((f) => JSON.parse(new TextDecoder().decode(f.get('report.json')!)) as Record<string, unknown>);
    const common = (r: Record<string, unknown>) => {
      const c: Record<string, unknown> = { ...r, observation: { ...(r.observation as object), path: undefined }, model: { ...(r.model as object), path: undefined } };
      for (const k of HOST_KEYS) delete c[k];
      return c;
    };
    expect(common(rb)).toEqual(common(ra));
    expect(ra.command).toMatch(/^skyscore reconstruct --obs y\.fits --model M\.json --prior \S*\/user\/models\/pk --noise 0\.1 --n 4 --steps 24 --seed 11 --sampler pc --flux-scale 1\.0000000 --snr 0\.2 --correctors 2 --denoise mean$/);
    expect(rb.command).toBe(`${ra.command as string} (from the app)`);
    expect(ra.observation).toEqual({ path: p('y.fits'), hdu: 0 });
    expect(rb.observation).toEqual({ path: 'y.fits', hdu: 0 });

    // what makes the comparison able to fail: the options, the pool and the CG path were all in play
    expect(ra).toMatchObject({ n: 4, steps: 24, seed: 11, sampler: 'pc', workers: 2, backend: 'wasm' });
    expect((ra.samplerSettings as Record<string, unknown>).snr).toBe(0.2);
    expect((ra.samplerSettings as Record<string, unknown>).correctorSteps).toBe(2);
    expect((ra.samplerSettings as Record<string, unknown>).denoise).toBe('tweedie');
    expect((ra.likelihood as Record<string, unknown>).method).toBe('cg');
    expect((ra.likelihood as Record<string, unknown>).cgSolves).toBeGreaterThan(0);
    // one set of provenance cards
    const h = readFits(app.files.get('posterior-mean.fits')!).hdus[0]!.header;
    for (const k of ['SKYPRIOR', 'SKYSAMP', 'SKYSTEPS', 'SKYSEED', 'SKYNSAMP', 'SKYNOISE', 'SKYFLUX', 'SKYBKG', 'SKYCHI2', 'SKYMODEL', 'SKYSCORE PRIOR SHA256']) expect(h.get(k), k).toBeDefined();
    expect(h.cards.filter((c) => /^SKYSCORE /.test(c.key)).map((c) => c.key)).toEqual(['SKYSCORE PRIOR SHA256']);
    expect(h.get('CTYPE1')).toBe('RA---TAN');
    // the app's run on the pool sent previews merged over the two workers: 4 chains shown, mean/std/residual
    const previews = app.progress.filter((q) => q.preview);
    expect(previews.length).toBeGreaterThanOrEqual(1);
    const last = previews.at(-1)!.preview!;
    expect(last.nSamples).toBe(4);
    expect(last.samples.length).toBe(4 * N * N);
    expect(last.residual.every(Number.isFinite)).toBe(true);
    expect(app.progress.at(-1)!.step).toBe(app.progress.at(-1)!.steps);
  }, 240_000);
});
