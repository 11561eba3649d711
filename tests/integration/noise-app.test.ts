/**
 * The app's noise models run what the command line runs: an engine job with the correlated model measured from a
 * blank box of the observation (`noise.kind = 'model'`) gives the same posterior mean, noise model and noise
 * diagnostics (same seed) as `skyscore reconstruct --noise-model correlated --noise-region …` on the same data,
 * and report.json's command names those flags; likewise Poisson–Gaussian counts with the gain from the header and
 * `--read-noise --sky`. `noise.describe` shows the σ, spectrum and correlation of the
 * model the run then uses, the header's gain for Poisson–Gaussian counts, and refuses bad blocks in the user's terms.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reconstructCommand } from '../../src-main/cli/commands/reconstruct.js';
import { jobHandlers } from '../../src-main/engine/jobs.js';
import { initBackend } from '../../src-main/engine/backend.js';
import type { EngineContext } from '../../src-main/engine/handlers.js';
import type { EngineEvent, JobEvent, ReconstructParams } from '../../src-shared/protocol/index.js';
import { FitsHeader, readFits, writeFits } from '../../src-shared/fits/index.js';
import { addNoise, correlatedNoise } from '../../src-shared/operators/noise.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { kernelSpectrum } from '../helpers/noise-spectra.js';
import { jobEnd } from '../helpers/engine-events.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const N = 32;
let dir = '';
const p = (f: string) => path.join(dir, f);
const events: EngineEvent[] = [];
const ctx: EngineContext = { emit: (ev) => void events.push(ev), backend: () => initBackend('wasm'), processKind: 'test' };
const bytes = (f: string) => new Uint8Array(readFileSync(p(f)));

const waitFor = (jobId: string): Promise<JobEvent> => jobEnd(events, jobId);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-noise-app-'));
  await initBackend('wasm');
  writeFileSync(p('M.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }] }));
  writePowerSpectrumPrior(p('pk.fits'), N, 10, 4, 2);
  const r = new SeededRandom(11);
  // drizzle-like correlated noise of σ 0.1; a source in the upper rows, the lowest 10 rows blank sky
  const corr = correlatedNoise(kernelSpectrum(N, N, 0.25), [N, N], 0.1);
  const clean = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) clean[i * N + j] = 2 * Math.exp(-((i - 21) ** 2 + (j - 16) ** 2) / 12);
  writeFileSync(p('y.fits'), writeFits([{ data: addNoise(clean, corr, [N, N], () => r.normal()), shape: [N, N] }]));
  const h = new FitsHeader();
  h.set('CCDGAIN', 2.5);
  writeFileSync(p('counts.fits'), writeFits([{ data: Float32Array.from(clean, (v) => 40 + 200 * v), shape: [N, N], header: h }]));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `skyscore reconstruct` with the given noise flags: report.json and the posterior mean. */
async function cliRun(obs: string, out: string, noise: string[], seed: number): Promise<{ report: Record<string, unknown>; mean: ArrayLike<number> }> {
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const args = ['--obs', p(obs), '--model', p('M.json'), '--prior', `gaussian-field:${p('pk.fits')}`, ...noise];
    expect(await reconstructCommand.run([...args, '--out', p(out), '--n', '2', '--steps', '40', '--seed', String(seed), '--workers', '1', '--backend', 'wasm', '--quiet'])).toBe(0);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { report: JSON.parse(readFileSync(p(`${out}/report.json`), 'utf8')), mean: readFits(bytes(`${out}/posterior-mean.fits`)).hdus[0]!.readImage().data };
}

/** The same run as the app asks the engine for it. */
async function appRun(obs: string, noise: ReconstructParams['noise'], seed: number): Promise<{ report: Record<string, unknown>; mean: ArrayLike<number> }> {
  const params: ReconstructParams = {
    obs: { name: obs, bytes: bytes(obs), hdu: 0, plane: 0 },
    model: { shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }] },
    files: [{ name: 'pk.fits', bytes: bytes('pk.fits') }],
    noise,
    prior: 'gaussian-field:pk.fits',
    settings: { sampler: 'pc', n: 2, steps: 40, seed, fluxScale: null, workers: 1 },
    previewHz: 0,
  };
  const started = await jobHandlers['job.reconstruct'](params, ctx);
  const end = await waitFor(started.jobId);
  expect(end.event, JSON.stringify(end.data)).toBe('job.done');
  const products = await jobHandlers['job.products']({ jobId: started.jobId }, ctx);
  return { report: products.report, mean: readFits(products.files.find((f) => f.name === 'posterior-mean.fits')!.bytes).hdus[0]!.readImage().data };
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('the app and the command line run the same noise model', () => {
  it('correlated noise from a box of the observation: the same posterior mean, noise model and diagnostics', async () => {
    const seed = 3;
    const cli = await cliRun('y.fits', 'cli', ['--noise-model', 'correlated', '--noise-region', '0,0,32,10'], seed);
    const app = await appRun('y.fits', { kind: 'model', spec: { model: 'correlated', region: [0, 0, 32, 10] } }, seed);
    const report = app.report as Record<string, unknown> & { noiseModel: Record<string, unknown> };
    const worst = largestDifference(app.mean, cli.mean);
    console.log(`posterior mean, app against the command line: largest difference ${worst}`);
    // the same seed and the same arithmetic: the same numbers
    expect(worst).toBe(0);
    expect(report.noiseModel).toEqual(cli.report.noiseModel);
    expect(report.noiseModel).toMatchObject({ model: 'correlated', source: 'region 0,0,32,10' });
    expect(report.likelihood).toEqual(cli.report.likelihood);
    expect(report.noiseDiagnostics).toEqual(cli.report.noiseDiagnostics);
    expect(String(report.command)).toMatch(/--noise-model correlated --noise-region 0,0,32,10 .*\(from the app\)$/);

    // what the editor shows is the model the run used
    const d = await jobHandlers['noise.describe']({ obs: { name: 'y.fits', bytes: bytes('y.fits'), hdu: 0, plane: 0 }, files: [], spec: { model: 'correlated', region: [0, 0, 32, 10] } }, ctx);
    const est = d.estimate!;
    expect(est.sigma.median).toBeCloseTo(report.noiseModel.measuredSigma as number, 4);
    expect(est.lag1).toEqual(report.noiseModel.lag1);
    expect(est.lag1!.x).toBeGreaterThan(0.3);
    // correlated noise: more power at low |k| than white noise of the same σ, less at high |k|; a large aperture's
    // mean has ρ(0) = Σ_d c(d) times white noise's variance: 1/0.375² = 7.1 for [¼, ½, ¼]² noise, less as measured
    // from a 32×10 box (tiles of 10 px)
    const sp = est.spectrum!;
    expect(sp.k.length).toBeGreaterThan(4);
    expect(sp.power[0]!).toBeGreaterThan(sp.white);
    expect(sp.power[sp.power.length - 1]!).toBeLessThan(sp.white / 2);
    expect(sp.white).toBeCloseTo(est.sigma.median ** 2, 4);
    console.log(`noise.describe: σ ${est.sigma.median}, lag-1 ${est.lag1!.x}/${est.lag1!.y}, ρ(0) ${est.whiteRatio}, correlation length ${est.correlationLength} px`);
    expect(est.whiteRatio!).toBeGreaterThan(2);
    expect(est.whiteRatio!).toBeLessThan(7.2);
    expect(d.headerGain).toBeNull();
  });

  it('Poisson–Gaussian counts with the header gain: the same run as --noise-model poisson-gaussian --read-noise', async () => {
    const cli = await cliRun('counts.fits', 'cli-pg', ['--noise-model', 'poisson-gaussian', '--read-noise', '5', '--sky', '10'], 5);
    const app = await appRun('counts.fits', { kind: 'model', spec: { model: 'poisson-gaussian', readNoise: 5, sky: 10 } }, 5);
    expect(largestDifference(app.mean, cli.mean)).toBe(0);
    expect(app.report.noiseModel).toEqual(cli.report.noiseModel);
    expect(app.report.noiseModel).toMatchObject({ model: 'poisson-gaussian', gain: 2.5, gainSource: 'header CCDGAIN', readNoise: 5, sky: 10 });
    expect(app.report.noiseDiagnostics).toEqual(cli.report.noiseDiagnostics);
    expect(String(app.report.command)).toMatch(/--noise-model poisson-gaussian --read-noise 5 --sky 10 /);
  });

  it('noise.describe: the header gain for counts, the Poisson–Gaussian σ range, and input errors in the user\'s units', async () => {
    const obs = { name: 'counts.fits', bytes: bytes('counts.fits'), hdu: 0, plane: 0 };
    const g = await jobHandlers['noise.describe']({ obs, files: [] }, ctx);
    expect(g).toEqual({ headerGain: { gain: 2.5, source: 'header CCDGAIN' }, estimate: null });
    const d = await jobHandlers['noise.describe']({ obs, files: [], spec: { model: 'poisson-gaussian', readNoise: 5 } }, ctx);
    const est = d.estimate!;
    expect(est).toMatchObject({ model: 'poisson-gaussian', gain: 2.5, gainSource: 'header CCDGAIN' });
    // σ² = μ/g + rn²/g²: the sky's 40 ADU gives √(16 + 4) = 4.47; the source's peak (about 440 ADU) √(176 + 4)
    expect(est.sigma.min).toBeCloseTo(Math.sqrt(40 / 2.5 + 25 / 6.25), 2);
    expect(est.sigma.max).toBeGreaterThan(10);
    expect(est.sigma.max).toBeLessThan(Math.sqrt(440 / 2.5 + 4) + 0.01);
    // errors name the problem in pixels and the file
    const y = { name: 'y.fits', bytes: bytes('y.fits'), hdu: 0, plane: 0 };
    await expect(jobHandlers['noise.describe']({ obs: y, files: [], spec: { model: 'correlated', region: [0, 0, 40, 10] } }, ctx)).rejects.toThrow(/reaches outside the 32×32 \(x × y\) image/);
    await expect(jobHandlers['noise.describe']({ obs: y, files: [], spec: { model: 'correlated', region: [0, 0, 6, 6] } }, ctx)).rejects.toThrow(/the box is 6×6 pixels; at least 8×8 are needed/);
    await expect(jobHandlers['noise.describe']({ obs: y, files: [], spec: { model: 'correlated', image: 'noise.fits' } }, ctx)).rejects.toThrow(/noise image noise\.fits: the file is not loaded/);
    await expect(jobHandlers['noise.describe']({ obs: y, files: [], spec: { model: 'poisson-gaussian', readNoise: 4 } }, ctx)).rejects.toThrow(/needs the gain in e⁻\/ADU: y\.fits has no GAIN, CCDGAIN or ATODGAIN card/);
  });
});
