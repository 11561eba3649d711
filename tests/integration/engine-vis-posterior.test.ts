/**
 * The posterior from visibilities in the app's engine (`job.reconstructVis`, validated like a client's request,
 * then handled): the products byte for byte against `skyscore reconstruct --vis` with the command line the job
 * gives (same seed), report.json the same but for the run's time and how it names the file; |A·mean| at the
 * plotted visibilities against a direct DFT of the CLI's mean; progress with the χ² per visibility and previews;
 * Stop; the refusals (a prior not in the list, the limits). Self-calibrated (`selfcal`) on the EHT file: the
 * flags in the command line, the products of that command byte for byte, the rounds of report.json's selfcal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { dataPath } from '../helpers/data.js';
import { createEngine } from '../../src-main/engine/handlers.js';
import { validateRequest, type EngineEvent, type JobEvent, type MethodName, type ParamsOf, type ResultOf, type UvPosteriorProgress } from '../../src-shared/protocol/index.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { dftForward } from '../../src-shared/radio/dft.js';
import { ARCSEC } from '../../src-shared/radio/grid.js';
import { jobEnd } from '../helpers/engine-events.js';
import { multiSourceUvfits } from '../helpers/multi-source-uvfits.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const events: EngineEvent[] = [];
const engine = createEngine({ emit: (ev) => void events.push(ev), backend: 'wasm', processKind: 'test' });
let nextId = 1;
async function call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
  const req = validateRequest({ id: nextId++, method, params });
  return (await engine.handle(req)) as ResultOf<M>;
}

const waitFor = (jobId: string, ms = 120_000): Promise<JobEvent> => jobEnd(events, jobId, ms);

const progressOf = (jobId: string) => events.flatMap((e) => (e.event === 'job.progress' && e.data.kind === 'posterior' && e.data.jobId === jobId ? [e.data as UvPosteriorProgress] : []));

const NAME = 'vlba43_BLLAC_2013may30.uvfits';
const FILE = dataPath('uvfits', NAME);
const N = 32;
const CELL = 0.05e-3;
let dir = '';
let oldUser: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-engine-vispost-'));
  // a user folder whose models/ holds a 32×32 Gaussian-field prior (the engine lists it as user/gf32)
  const prior = path.join(dir, 'user', 'models', 'gf32');
  mkdirSync(prior, { recursive: true });
  writePowerSpectrumPrior(path.join(prior, 'power-spectrum.fits'), N, 0.05, 3, 2);
  writeFileSync(path.join(prior, 'README.md'), '# gf32\n\nA power-law Gaussian field for tests.\n');
  oldUser = process.env.SKYSCORE_USER_DIR;
  process.env.SKYSCORE_USER_DIR = path.join(dir, 'user');
});
afterAll(() => {
  if (oldUser === undefined) delete process.env.SKYSCORE_USER_DIR;
  else process.env.SKYSCORE_USER_DIR = oldUser;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('job.reconstructVis', () => {
  it('gives the products of skyscore reconstruct --vis byte for byte, and the model amplitudes of the mean', async () => {
    const o = await call('uv.open', { name: NAME, bytes: new Uint8Array(readFileSync(FILE)) });
    // the app's sampler settings, the worker pool and the weights rescaled to the data's scatter
    const started = await call('job.reconstructVis', {
      fileId: o.fileId, size: N, cellArcsec: CELL, prior: 'user/gf32', sampler: 'pc', n: 3, steps: 40, seed: 7,
      options: { snr: 0.2, correctorSteps: 2, denoise: 'mean' }, workers: 2, reweight: true, previewHz: 10,
    });
    expect(started).toMatchObject({ size: N, cellArcsec: CELL, queued: 0 });
    expect(started.command).toMatch(
      /^reconstruct --vis vlba43_BLLAC_2013may30\.uvfits --prior gaussian-field:\S+gf32[\\/]power-spectrum\.fits --size 32 --cell 0\.00005 --stokes I --sampler pc --n 3 --steps 40 --seed 7 --reweight --snr 0\.2 --correctors 2 --denoise mean --workers 2$/,
    );
    const end = await waitFor(started.jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    const prog = progressOf(started.jobId);
    expect(prog.length).toBeGreaterThan(0);
    expect(prog[prog.length - 1]!.step).toBe(40);
    expect(prog.some((x) => x.chi2 !== null && x.chi2 > 0)).toBe(true);
    const r = await call('uv.posteriorProducts', { jobId: started.jobId });
    expect(r.files.map((f) => f.name)).toEqual(['posterior-mean.fits', 'posterior-std.fits', 'posterior-samples.fits', 'residual.fits', 'report.json']);
    expect(r.command).toBe(started.command);
    expect(r.stopped).toBeUndefined();
    expect(end.event === 'job.done' && end.data.summary.workers).toBe(2);

    // the command line the job gives, on the file from disk
    const argv = started.command.split(' ');
    argv[argv.indexOf('--vis') + 1] = FILE;
    const out = path.join(dir, 'cli');
    const cli = await runCliAsync([...argv, '--out', out, '--quiet', '--backend', 'wasm'], { timeoutMs: 300_000 });
    expect(cli.stderr).not.toMatch(/Error|at .*\.ts/);
    expect(cli.code).toBe(0);
    for (const f of r.files.slice(0, 4)) expect(Buffer.from(f.bytes).equals(readFileSync(path.join(out, f.name))), f.name).toBe(true);
    const mine = JSON.parse(new TextDecoder().decode(r.files[4]!.bytes));
    const theirs = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(mine.visibilities.file).toBe(NAME);
    for (const x of [mine, theirs]) {
      delete x.seconds;
      delete x.command;
      delete x.visibilities.file;
    }
    expect(mine).toEqual(theirs);
    expect(mine.workers).toBe(2);
    // the total flux at zero spacing by default with the field given: the survey CLEAN's, in the notes too
    expect(mine.zeroSpacing.source).toContain('survey CLEAN');
    expect(mine.zeroSpacing.fluxJy).toBeGreaterThan(1);
    expect(r.notes.some((n) => n.startsWith(`total flux at zero spacing ${mine.zeroSpacing.fluxJy.toPrecision(4)} ± `))).toBe(true);
    expect(mine.visibilities.weightScale).toBeGreaterThan(4);
    expect(mine.samplerSettings).toMatchObject({ snr: 0.2, correctorSteps: 2 });
    expect(r.chi2).toBe(theirs.chi2PerVisibility.mean);
    expect(r.chi2).toBeGreaterThan(1);
    expect(r.warnings).toEqual(theirs.warnings);

    // |A·mean| at the plotted points against a direct DFT of the CLI's mean
    const mean = Float64Array.from(readFitsImage(new Uint8Array(readFileSync(path.join(out, 'posterior-mean.fits')))).data);
    const mv = dftForward(Float64Array.from(o.plot.u), Float64Array.from(o.plot.v), { nx: N, ny: N, cell: CELL * ARCSEC }, mean);
    let err = 0;
    let ref = 0;
    for (let k = 0; k < o.plot.shown; k++) {
      const a = Math.hypot(mv.re[k], mv.im[k]);
      err = Math.max(err, Math.abs(a - r.modelAmp[k]!));
      ref = Math.max(ref, a);
    }
    expect(r.modelAmp.length).toBe(o.plot.shown);
    expect(ref).toBeGreaterThan(0);
    expect(err / ref).toBeLessThan(1e-4);
  }, 400_000);

  it('runs on the chosen source of a multi-source file: --source in its command line, the products of that command', async () => {
    const bytes = multiSourceUvfits(new Uint8Array(readFileSync(FILE)), {
      sources: [
        { name: 'BLLAC', ra: 330.680380712, dec: 42.2777721861 },
        { name: 'OJ287', ra: 133.70365, dec: 20.10851 },
      ],
      pointJy: 1.5,
    }).bytes;
    const file = path.join(dir, 'multi.uvfits');
    writeFileSync(file, bytes);
    const o = await call('uv.open', { name: 'multi.uvfits', bytes, source: '2' });
    const started = await call('job.reconstructVis', { fileId: o.fileId, size: N, cellArcsec: CELL, prior: 'user/gf32', sampler: 'pc', n: 2, steps: 20, seed: 3, previewHz: 0 });
    expect(started.command).toMatch(/^reconstruct --vis multi\.uvfits --prior \S+ --size 32 --cell 0\.00005 --stokes I --source OJ287 --sampler pc --n 2 --steps 20 --seed 3$/);
    const end = await waitFor(started.jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    const r = await call('uv.posteriorProducts', { jobId: started.jobId });
    const argv = started.command.split(' ');
    argv[argv.indexOf('--vis') + 1] = file;
    const out = path.join(dir, 'cli-multi');
    const cli = await runCliAsync([...argv, '--out', out, '--quiet', '--backend', 'wasm'], { timeoutMs: 300_000 });
    expect(cli.code, cli.stderr).toBe(0);
    for (const f of r.files.slice(0, 4)) expect(Buffer.from(f.bytes).equals(readFileSync(path.join(out, f.name))), f.name).toBe(true);
    const report = JSON.parse(new TextDecoder().decode(r.files[4]!.bytes));
    expect(report.visibilities.used).toBe(821);
  }, 400_000);

  it('self-calibrates first as reconstruct --vis --selfcal: its flags in the command line, that command\'s products, the rounds', async () => {
    const EHT_NAME = 'ehtim_sample_SYNTHETIC_sgra.uvfits';
    const EHT = dataPath('uvfits', EHT_NAME);
    const o = await call('uv.open', { name: EHT_NAME, bytes: new Uint8Array(readFileSync(EHT)) });
    const started = await call('job.reconstructVis', {
      fileId: o.fileId, size: N, cellArcsec: 5e-6, prior: 'user/gf32', sampler: 'pc', n: 2, steps: 20, seed: 5,
      selfcal: { mode: 'p', rounds: 2, solint: 0, start: 'auto' }, previewHz: 0,
    });
    expect(started.command).toMatch(/ --seed 5 --selfcal p --selfcal-rounds 2 --solint 0 --selfcal-start auto$/);
    const end = await waitFor(started.jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    const r = await call('uv.posteriorProducts', { jobId: started.jobId });
    const argv = started.command.split(' ');
    argv[argv.indexOf('--vis') + 1] = EHT;
    const out = path.join(dir, 'cli-selfcal');
    const cli = await runCliAsync([...argv, '--out', out, '--quiet', '--backend', 'wasm'], { timeoutMs: 300_000 });
    expect(cli.code, cli.stderr).toBe(0);
    for (const f of r.files.slice(0, 4)) expect(Buffer.from(f.bytes).equals(readFileSync(path.join(out, f.name))), f.name).toBe(true);
    const mine = JSON.parse(new TextDecoder().decode(r.files[4]!.bytes));
    const theirs = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    for (const x of [mine, theirs]) {
      delete x.seconds;
      delete x.command;
      delete x.visibilities.file;
    }
    expect(mine).toEqual(theirs);
    const sc = r.selfcal!;
    expect(sc.flags).toBe('--selfcal p --selfcal-rounds 2 --solint 0 --selfcal-start auto');
    expect(sc.start).toBe(theirs.selfcal.firstModel);
    expect(sc.rounds.map((x) => x.chi2After)).toEqual(theirs.selfcal.rounds.map((x: { chi2After: number }) => x.chi2After));
    expect(sc.rounds[0]!.text).toMatch(/^round 1 \(p\): model flux .* χ²\/dof of the model .* → .* after the gains; .* % solutions failed; gain phase rms/);
    expect(sc.before.chi2).toBeGreaterThan(1000);
    expect(sc.rounds[1]!.chi2After).toBeLessThan(sc.before.chi2 / 10);
    expect(sc.kept).toBe(theirs.selfcal.visibilitiesKept);
    expect(sc.kept).toBeLessThan(sc.of);
    expect(sc.phaseRmsDeg).toBe(theirs.selfcal.gainPhaseRmsDeg);
  }, 400_000);

  it('sends previews of the running mean and stops when asked', async () => {
    const o = await call('uv.open', { name: NAME, bytes: new Uint8Array(readFileSync(FILE)) });
    const started = await call('job.reconstructVis', { fileId: o.fileId, size: N, cellArcsec: CELL, prior: 'user/gf32', n: 2, steps: 200_000, seed: 1, previewHz: 10 });
    const t1 = Date.now();
    while (!progressOf(started.jobId).some((x) => x.preview) && Date.now() - t1 < 60_000) await new Promise((res) => setTimeout(res, 50));
    const pv = progressOf(started.jobId).find((x) => x.preview)!.preview!;
    expect(pv.shape).toEqual([N, N]);
    expect(pv.mean.length).toBe(N * N);
    expect(pv.std.length).toBe(N * N);
    expect(pv.samples.length).toBe(pv.nSamples * N * N);
    const t0 = Date.now();
    expect((await call('job.cancel', { jobId: started.jobId })).cancelled).toBe(true);
    const end = await waitFor(started.jobId, 10_000);
    expect(end.event).toBe('job.error');
    expect(end.event === 'job.error' && end.data.code).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(5000);
    const last = progressOf(started.jobId).at(-1)!;
    expect(last.step).toBeLessThan(200_000);
    await expect(call('uv.posteriorProducts', { jobId: started.jobId })).rejects.toThrow(/no finished posterior run/);
  }, 120_000);

  it('stops and keeps: the products of every chain\'s latest state, on the worker pool', async () => {
    const o = await call('uv.open', { name: NAME, bytes: new Uint8Array(readFileSync(FILE)) });
    const started = await call('job.reconstructVis', { fileId: o.fileId, size: N, cellArcsec: CELL, prior: 'user/gf32', n: 3, steps: 200_000, seed: 2, workers: 2, previewHz: 10 });
    const t1 = Date.now();
    while (!progressOf(started.jobId).some((x) => x.preview) && Date.now() - t1 < 60_000) await new Promise((res) => setTimeout(res, 50));
    expect((await call('job.cancel', { jobId: started.jobId, keep: true })).cancelled).toBe(true);
    const end = await waitFor(started.jobId, 30_000);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    expect(end.event === 'job.done' && end.data.summary).toMatchObject({ n: 3, workers: 2, stopped: expect.stringMatching(/^step \d+\/200000, σ /) });
    const r = await call('uv.posteriorProducts', { jobId: started.jobId });
    expect(r.stopped).toMatchObject({ chains: 3, of: 3, steps: 200_000 });
    expect(r.warnings[0]).toMatch(/^stopped at step \d+\/200000/);
    const report = JSON.parse(new TextDecoder().decode(r.files.find((f) => f.name === 'report.json')!.bytes));
    expect(report.stopped).toMatchObject({ chains: 3, of: 3 });
    const samples = readFitsImage(r.files.find((f) => f.name === 'posterior-samples.fits')!.bytes);
    expect(samples.shape.slice(0, 3)).toEqual([N, N, 3]);
    expect(samples.data.every(Number.isFinite)).toBe(true);
    expect(r.modelAmp.length).toBe(o.plot.shown);
  }, 120_000);

  it('takes totalFlux as --total-flux: given (its command line, report.json\'s zeroSpacing) or none (no constraint)', async () => {
    const o = await call('uv.open', { name: NAME, bytes: new Uint8Array(readFileSync(FILE)) });
    const base = { fileId: o.fileId, size: N, cellArcsec: CELL, prior: 'user/gf32', sampler: 'pc' as const, n: 1, steps: 5, seed: 1, previewHz: 0 };
    const given = await call('job.reconstructVis', { ...base, totalFlux: { flux: 5, sigma: 0.2 } });
    expect(given.command).toMatch(/ --seed 1 --total-flux 5:0\.2$/);
    expect((await waitFor(given.jobId)).event).toBe('job.done');
    const g = await call('uv.posteriorProducts', { jobId: given.jobId });
    const gr = JSON.parse(new TextDecoder().decode(g.files[4]!.bytes));
    expect(gr.zeroSpacing).toMatchObject({ fluxJy: 5, sigmaJy: 0.2 });
    expect(g.command).toBe(`${given.command} --workers ${gr.workers}`);
    const none = await call('job.reconstructVis', { ...base, totalFlux: 'none' });
    expect(none.command).toMatch(/ --seed 1 --total-flux none$/);
    expect((await waitFor(none.jobId)).event).toBe('job.done');
    const nr = JSON.parse(new TextDecoder().decode((await call('uv.posteriorProducts', { jobId: none.jobId })).files[4]!.bytes));
    expect(nr.zeroSpacing ?? null).toBeNull();
    expect(() => validateRequest({ id: 1, method: 'job.reconstructVis', params: { ...base, totalFlux: { flux: 5, sigma: 0 } } })).toThrow(/sigma/);
    expect(() => validateRequest({ id: 1, method: 'job.reconstructVis', params: { ...base, totalFlux: 'auto' } })).toThrow(/totalFlux/);
  }, 120_000);

  it('refuses a prior outside the list, and grids over the limits, before the job starts', async () => {
    const o = await call('uv.open', { name: NAME, bytes: new Uint8Array(readFileSync(FILE)) });
    await expect(call('job.reconstructVis', { fileId: o.fileId, size: N, cellArcsec: CELL, prior: '/etc/passwd', n: 1, steps: 10, seed: 0, previewHz: 0 })).rejects.toThrow(/named by its id in the list of priors/);
    await expect(call('job.reconstructVis', { fileId: o.fileId, size: 2048, cellArcsec: CELL, prior: 'user/gf32', n: 1, steps: 10, seed: 0, previewHz: 0 })).rejects.toThrow(/limit/);
    await expect(call('job.reconstructVis', { fileId: 'uv999', prior: 'user/gf32', n: 1, steps: 10, seed: 0, previewHz: 0 })).rejects.toThrow(/no open visibility file/);
  });
});
