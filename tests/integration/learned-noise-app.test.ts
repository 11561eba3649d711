/**
 * The app's learned noise prior runs what the command line runs: the engine reads a noise prior of the user folder
 * named by its registry id, `noise.describe` shows its σ and what it was trained on, and `job.reconstruct` with
 * `{model: 'learned', prior: 'user/NAME'}` gives the posterior mean and noise model of `skyscore reconstruct
 * --noise-model learned --noise-prior DIR` (same seed). A path in place of the id is refused.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reconstructCommand } from '../../src-main/cli/commands/reconstruct.js';
import { jobHandlers } from '../../src-main/engine/jobs.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { readImage2d } from '../../src-main/forward-model-files.js';
import type { EngineContext } from '../../src-main/engine/handlers.js';
import type { EngineEvent, JobEvent, ReconstructParams } from '../../src-shared/protocol/index.js';
import { methodParams } from '../../src-shared/protocol/index.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { ROOT } from '../helpers/data.js';
import { MIXTURE_NOISE, drawMixtureNoise } from '../helpers/mixture-noise.js';
import { jobEnd } from '../helpers/engine-events.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const N = 32;
let dir = '';
let savedUserDir: string | undefined;
const p = (f: string) => path.join(dir, f);
const events: EngineEvent[] = [];
const ctx: EngineContext = { emit: (ev) => void events.push(ev), backend: () => initBackend('wasm'), processKind: 'test' };
const bytes = (f: string) => new Uint8Array(readFileSync(p(f)));

const waitFor = (jobId: string): Promise<JobEvent> => jobEnd(events, jobId);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-learned-noise-app-'));
  await initBackend('wasm');
  savedUserDir = process.env.SKYSCORE_USER_DIR;
  process.env.SKYSCORE_USER_DIR = p('user');
  mkdirSync(p('user/models'), { recursive: true });
  cpSync(path.join(ROOT, 'tests', 'fixtures', 'noise-mixture'), p('user/models/noise-mixture'), { recursive: true });
  writeFileSync(p('M.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }] }));
  writePowerSpectrumPrior(p('pk.fits'), N, 0.02, 4, 2);
  const n = drawMixtureNoise(new Rng(3), N * N, MIXTURE_NOISE);
  writeFileSync(p('y.fits'), writeFits([{ data: Float32Array.from(n, (v, i) => v + 0.05 * Math.exp(-(((i % N) - 16) ** 2 + (Math.floor(i / N) - 16) ** 2) / 20)), shape: [N, N] }]));
});
afterAll(() => {
  if (savedUserDir === undefined) delete process.env.SKYSCORE_USER_DIR;
  else process.env.SKYSCORE_USER_DIR = savedUserDir;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the app's learned noise prior", () => {
  it('noise.describe: its σ and what it was trained on; priors.list marks it; a path is refused', async () => {
    const list = await jobHandlers['priors.list']({}, ctx);
    const entry = list.priors.find((q) => q.spec === 'user/noise-mixture')!;
    expect(entry.noise?.sigma).toBeCloseTo(0.0425935, 6);
    const obs = { name: 'y.fits', bytes: bytes('y.fits'), hdu: 0, plane: 0 };
    const d = await jobHandlers['noise.describe']({ obs, files: [], spec: { model: 'learned', prior: 'user/noise-mixture' } }, ctx);
    expect(d.estimate!.model).toBe('learned');
    expect(d.estimate!.sigma.median).toBeCloseTo(0.042594, 5);
    expect(d.estimate!.notes.join(' ')).toMatch(/learned noise prior user\/noise-mixture: trained on 4096 patches of 16×16 from mixture-noise\.fits \(1200 steps\), noise σ 0\.04259/);
    await expect(jobHandlers['noise.describe']({ obs, files: [], spec: { model: 'learned', prior: 'user/none' } }, ctx)).rejects.toThrow(/prior user\/none is not one of this engine's priors/);
    expect(() => methodParams['noise.describe']({ obs, files: [], spec: { model: 'learned', prior: p('user/models/noise-mixture') } }, 'params')).toThrow(/a noise prior by its id/);
  });

  it('job.reconstruct gives what skyscore reconstruct --noise-model learned gives', async () => {
    const seed = 2;
    const out = p('cli');
    const args = ['--obs', p('y.fits'), '--model', p('M.json'), '--prior', `gaussian-field:${p('pk.fits')}`, '--noise-model', 'learned', '--noise-prior', p('user/models/noise-mixture')];
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await reconstructCommand.run([...args, '--out', out, '--n', '2', '--steps', '40', '--seed', String(seed), '--workers', '1', '--backend', 'wasm', '--quiet'])).toBe(0);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    const cliReport = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    const cliMean = (await readImage2d(path.join(out, 'posterior-mean.fits'))).data;
    const params: ReconstructParams = {
      obs: { name: 'y.fits', bytes: bytes('y.fits'), hdu: 0, plane: 0 },
      model: { shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }] },
      files: [{ name: 'pk.fits', bytes: bytes('pk.fits') }],
      noise: { kind: 'model', spec: { model: 'learned', prior: 'user/noise-mixture' } },
      prior: 'gaussian-field:pk.fits',
      settings: { sampler: 'pc', n: 2, steps: 40, seed, fluxScale: null, workers: 1 },
      previewHz: 0,
    };
    const started = await jobHandlers['job.reconstruct'](params, ctx);
    const end = await waitFor(started.jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    const products = await jobHandlers['job.products']({ jobId: started.jobId }, ctx);
    const report = products.report as Record<string, unknown> & { noiseModel: Record<string, unknown>; likelihood: { method: string }; command: string };
    const mean = readFits(products.files.find((f) => f.name === 'posterior-mean.fits')!.bytes).hdus[0]!.readImage().data;
    expect(report.likelihood.method).toBe('learned-noise');
    expect(report.noiseModel).toEqual(cliReport.noiseModel);
    expect(report.command).toMatch(/--noise-model learned --noise-prior user\/noise-mixture/);
    let worst = 0;
    for (let i = 0; i < mean.length; i++) worst = Math.max(worst, Math.abs(mean[i]! - cliMean[i]!));
    expect(worst).toBe(0);
  });
});
