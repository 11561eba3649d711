/**
 * The app's visibility requests through the engine (validated like a client's, then handled): uv.open against
 * `skyscore info --json`, the plotted points against the library's visibilities, uv.image and the job.clean
 * products byte for byte against `skyscore clean` with the same settings, the model's amplitudes against a direct
 * DFT of the CLI's model, progress and Stop, the limits, and the refusals (not UVFITS, a Measurement Set,
 * all-flagged data). Self-calibration (job.clean's selfcal) on the EHT file against `skyscore clean --selfcal ap`
 * with the command line the app's NAME-gains.json gives: the products byte for byte, the gain table equal but for
 * its `command`, the rounds' figures, and the corrected amplitudes against the table's gains.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { dataPath } from '../helpers/data.js';
import { createEngine } from '../../src-main/engine/handlers.js';
import { plotIndices, productStem } from '../../src-main/engine/visibility-requests.js';
import { validateRequest, type EngineEvent, type JobEvent, type MethodName, type ParamsOf, type ResultOf } from '../../src-shared/protocol/index.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { readUvfits, selectVisibilities, measurementSetMessage } from '../../src-shared/radio/uvfits.js';
import { dftForward } from '../../src-shared/radio/dft.js';
import { ARCSEC } from '../../src-shared/radio/grid.js';
import { jobEnd } from '../helpers/engine-events.js';
import { multiSourceUvfits } from '../helpers/multi-source-uvfits.js';

const events: EngineEvent[] = [];
const engine = createEngine({ emit: (ev) => void events.push(ev), backend: 'cpu', processKind: 'test' });
let nextId = 1;
/** A request as a client sends it: validated, then handled. */
async function call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
  const req = validateRequest({ id: nextId++, method, params });
  return (await engine.handle(req)) as ResultOf<M>;
}

const waitFor = (jobId: string, ms = 60_000): Promise<JobEvent> => jobEnd(events, jobId, ms);

const VLBA_NAME = 'vlba43_BLLAC_2013may30.uvfits';
const VLBA = () => dataPath('uvfits', VLBA_NAME);
const bytesOf = (f: string) => new Uint8Array(readFileSync(f));
let dir = '';
const p = (f: string) => path.join(dir, f);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-engine-uv-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('uv.open', () => {
  it('gives the summary of skyscore info --json and the plotted points of the data', async () => {
    const info = await runCliAsync(['info', VLBA(), '--json']);
    expect(info.code).toBe(0);
    const cli = JSON.parse(info.stdout) as { uvfits: unknown; thermal: unknown };
    const r = await call('uv.open', { name: VLBA_NAME, bytes: bytesOf(VLBA()) });
    expect(JSON.parse(JSON.stringify(r.summary))).toEqual(cli.uvfits);
    expect(r.summary.visibilities).toBe(2462);
    expect(r.summary.antennas.length).toBe(10);
    // every visibility drawn (below the plotting limit), (u, v) and |V| of the library's visibilities
    const vis = selectVisibilities(readUvfits(bytesOf(VLBA()), VLBA_NAME), 'I');
    expect(r.plot.total).toBe(vis.n);
    expect(r.plot.shown).toBe(vis.n);
    for (const k of [0, 1, 1000, vis.n - 1]) {
      expect(r.plot.u[k]).toBe(Math.fround(vis.u[k]));
      expect(r.plot.v[k]).toBe(Math.fround(vis.v[k]));
      expect(r.plot.amp[k]).toBe(Math.fround(Math.hypot(vis.re[k], vis.im[k])));
      expect(r.plot.uvdist[k]).toBe(Math.fround(Math.hypot(vis.u[k], vis.v[k])));
    }
    let umax = 0;
    for (const x of r.plot.uvdist) umax = Math.max(umax, x);
    expect(umax / r.summary.uvMax!).toBeCloseTo(1, 6);
    // the default geometry of skyscore clean: cell 1/(6·u_max), u_max the longest uv distance
    expect(r.defaults).not.toBeNull();
    expect(r.defaults!.cellArcsec * ARCSEC).toBeCloseTo(1 / (6 * r.summary.uvMax!), 15);
  });

  it('decimates a large set evenly and deterministically', () => {
    expect(Array.from(plotIndices(10, 4))).toEqual([0, 2, 5, 7]);
    expect(Array.from(plotIndices(3, 4))).toEqual([0, 1, 2]);
    const a = plotIndices(26928, 5000);
    expect(a.length).toBe(5000);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBeGreaterThan(a[i - 1]);
    expect(Array.from(plotIndices(26928, 5000))).toEqual(Array.from(a));
    expect(productStem('dir/x.uvfits.gz')).toBe('x');
  });

  it('refuses what is not UVFITS with the command line messages; all-flagged data open but do not image', async () => {
    const img = dataPath('radio', 'purify_M31.fits');
    await expect(call('uv.open', { name: 'purify_M31.fits', bytes: bytesOf(img) })).rejects.toThrow(/purify_M31\.fits: not UVFITS: the primary HDU holds no random groups/);
    const cli = await runCliAsync(['clean', '--vis', img, '--out', p('x')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/not UVFITS: the primary HDU holds no random groups/);
    const ms = new Uint8Array(64).fill(0xbe);
    await expect(call('uv.open', { name: 'obs.ms/table.dat', bytes: ms })).rejects.toThrow(measurementSetMessage('obs.ms/table.dat'));
    expect(measurementSetMessage('obs.ms/table.dat')).toMatch(/exportuvfits\(vis='obs\.ms', fitsfile='obs\.uvfits'/);
    const mwa = await call('uv.open', { name: 'mwa.uvfits', bytes: bytesOf(dataPath('uvfits', 'mwa_1133866760_uvceti.uvfits')) });
    expect(mwa.summary.visibilities).toBe(0);
    expect(mwa.plot.shown).toBe(0);
    expect(mwa.defaults).toBeNull();
    await expect(call('uv.image', { fileId: mwa.fileId, weighting: 'natural' })).rejects.toThrow(/every I cross-correlation is flagged/);
    await expect(call('uv.image', { fileId: 'uv999', weighting: 'natural' })).rejects.toThrow(/no open visibility file/);
  });
});

describe('a multi-source file (SOURCE parameter, AIPS SU table)', () => {
  const MULTI = 'multi.uvfits';
  const multi = () =>
    multiSourceUvfits(bytesOf(VLBA()), {
      sources: [
        { name: 'BLLAC', ra: 330.680380712, dec: 42.2777721861 },
        { name: 'OJ287', ra: 133.70365, dec: 20.10851 },
      ],
      pointJy: 1.5,
    }).bytes;

  it('uv.sources lists the sources with their visibilities; uv.open refuses without a choice as the command line does', async () => {
    const bytes = multi();
    const list = await call('uv.sources', { name: MULTI, bytes });
    expect(list.groups).toBe(2462 + 821);
    expect(list.product).toBe('I');
    expect(list.sources).toEqual([
      { id: 1, name: 'BLLAC', ra: 330.680380712, dec: 42.2777721861, groups: 2462, visibilities: 2462 },
      { id: 2, name: 'OJ287', ra: 133.70365, dec: 20.10851, groups: 821, visibilities: 821 },
    ]);
    await expect(call('uv.open', { name: MULTI, bytes })).rejects.toThrow(/holds 2 sources \(SOURCE: 1 BLLAC \(2462 groups\), 2 OJ287 \(821 groups\)\)/);
    await expect(call('uv.open', { name: MULTI, bytes, source: 'M87' })).rejects.toThrow(/no source 'M87'/);
    // a single-source file has none to choose
    expect((await call('uv.sources', { name: VLBA_NAME, bytes: bytesOf(VLBA()) })).sources).toBeNull();
  });

  it('uv.open with a source gives skyscore info --source; its dirty image is skyscore clean --source, byte for byte', async () => {
    const bytes = multi();
    const file = p(MULTI);
    writeFileSync(file, bytes);
    for (const [source, n] of [['OJ287', 821], ['1', 2462]] as const) {
      const info = await runCliAsync(['info', file, '--source', source, '--json']);
      expect(info.code).toBe(0);
      const o = await call('uv.open', { name: MULTI, bytes, source });
      expect(JSON.parse(JSON.stringify(o.summary))).toEqual((JSON.parse(info.stdout) as { uvfits: unknown }).uvfits);
      expect(o.summary.visibilities).toBe(n);
      expect(o.source).toEqual(source === '1' ? { id: 1, name: 'BLLAC' } : { id: 2, name: 'OJ287' });
      expect(o.sources?.map((x) => x.name)).toEqual(['BLLAC', 'OJ287']);
      expect(o.plot.total).toBe(n);
    }
    const o = await call('uv.open', { name: MULTI, bytes, source: '2' });
    const r = await call('uv.image', { fileId: o.fileId, size: 32, cellArcsec: 0.0001, weighting: 'natural' });
    const cli = await runCliAsync(['clean', '--vis', file, '--source', '2', '--out', p('ms'), '--size', '32', '--cell', '0.0001', '--niter', '0']);
    expect(cli.code).toBe(0);
    expect(Buffer.from(r.files[0].bytes).equals(readFileSync(p('ms-dirty.fits')))).toBe(true);
    // the point source of 1.5 Jy at the phase centre: the dirty image's peak there
    const d = readFitsImage(r.files[0].bytes);
    expect(d.data[16 * 32 + 16]).toBeCloseTo(1.5, 1);
  });
});

describe('uv.image and job.clean', () => {
  it('writes the dirty image and beam of skyscore clean --niter 0, byte for byte', async () => {
    const o = await call('uv.open', { name: VLBA_NAME, bytes: bytesOf(VLBA()) });
    const r = await call('uv.image', { fileId: o.fileId, size: 64, cellArcsec: 0.00005, weighting: 'briggs', robust: 0.5 });
    expect(r.files.map((f) => f.name)).toEqual(['vlba43_BLLAC_2013may30-dirty.fits', 'vlba43_BLLAC_2013may30-psf.fits']);
    const cli = await runCliAsync(['clean', '--vis', VLBA(), '--out', p('d0'), '--size', '64', '--cell', '0.00005', '--niter', '0', '--weighting', 'briggs', '--robust', '0.5']);
    expect(cli.code).toBe(0);
    expect(Buffer.from(r.files[0].bytes).equals(readFileSync(p('d0-dirty.fits')))).toBe(true);
    expect(Buffer.from(r.files[1].bytes).equals(readFileSync(p('d0-psf.fits')))).toBe(true);
    const psf = readFitsImage(r.files[1].bytes);
    expect(psf.data[32 * 64 + 32]).toBeCloseTo(1, 6);
    expect(r.size).toBe(64);
    expect(r.beam.bmaj).toBeGreaterThan(r.beam.bmin);
  });

  it('CLEANs as a job with progress; products as skyscore clean writes them; the model amplitudes at the data', async () => {
    const o = await call('uv.open', { name: VLBA_NAME, bytes: bytesOf(VLBA()) });
    const started = await call('job.clean', { fileId: o.fileId, size: 64, cellArcsec: 0.00005, weighting: 'natural', niter: 500, gain: 0.1, threshold: 0, method: 'cotton-schwab' });
    const end = await waitFor(started.jobId);
    expect(end.event).toBe('job.done');
    const progress = events.filter((e) => e.event === 'job.progress' && e.data.jobId === started.jobId).map((e) => e.data as { iterations: number; kind: string });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((x) => x.kind === 'clean')).toBe(true);
    expect(progress[progress.length - 1].iterations).toBe(500);
    const r = await call('uv.products', { jobId: started.jobId });
    expect(r.iterations).toBe(500);
    const cli = await runCliAsync(['clean', '--vis', VLBA(), '--out', p('c'), '--size', '64', '--cell', '0.00005', '--niter', '500', '--gain', '0.1', '--threshold', '0', '--cotton-schwab']);
    expect(cli.code).toBe(0);
    const kinds = ['dirty', 'psf', 'model', 'residual', 'image'];
    expect(r.files.map((f) => f.name)).toEqual(kinds.map((k) => `vlba43_BLLAC_2013may30-${k}.fits`));
    r.files.forEach((f, i) => expect(Buffer.from(f.bytes).equals(readFileSync(p(`c-${kinds[i]}.fits`))), kinds[i]).toBe(true));
    // |A·model| at the data's (u, v), against a direct DFT of the CLI's model (float32 in the file)
    const model = Float64Array.from(readFitsImage(bytesOf(p('c-model.fits'))).data);
    const mv = dftForward(Float64Array.from(o.plot.u), Float64Array.from(o.plot.v), { nx: 64, ny: 64, cell: 0.00005 * ARCSEC }, model);
    let err = 0;
    let ref = 0;
    for (let k = 0; k < o.plot.shown; k++) {
      const a = Math.hypot(mv.re[k], mv.im[k]);
      err = Math.max(err, Math.abs(a - r.modelAmp[k]));
      ref = Math.max(ref, a);
    }
    expect(ref).toBeGreaterThan(0.5);
    expect(err / ref).toBeLessThan(1e-4);
    expect(r.modelFlux).toBeGreaterThan(0.5);
  });

  it('stops a running CLEAN when asked', async () => {
    const o = await call('uv.open', { name: VLBA_NAME, bytes: bytesOf(VLBA()) });
    const started = await call('job.clean', { fileId: o.fileId, size: 256, weighting: 'uniform', niter: 1_000_000, gain: 0.01, threshold: 0, method: 'hogbom' });
    await new Promise((res) => setTimeout(res, 300));
    const t0 = Date.now();
    expect((await call('job.cancel', { jobId: started.jobId })).cancelled).toBe(true);
    const end = await waitFor(started.jobId, 10_000);
    expect(end.event).toBe('job.error');
    expect(end.event === 'job.error' && end.data.code).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(call('uv.products', { jobId: started.jobId })).rejects.toThrow(/no finished CLEAN/);
  });

  it('stops a dirty image when a newer one of the same file comes, when asked, and when the file is closed', async () => {
    const o = await call('uv.open', { name: VLBA_NAME, bytes: bytesOf(VLBA()) });
    const ended = (q: Promise<unknown>) =>
      q.then(
        () => ({ ok: true, name: '', message: '' }),
        (e: Error) => ({ ok: false, name: e.name, message: e.message }),
      );
    // the default grid (542², its beam on the 1084² double grid) superseded by a small one
    const t0 = Date.now();
    const big = ended(call('uv.image', { fileId: o.fileId, weighting: 'natural' }));
    // under way: the engine takes the next request between its stages
    await new Promise((res) => setTimeout(res, 200));
    const small = call('uv.image', { fileId: o.fileId, size: 64, cellArcsec: 0.00005, weighting: 'natural' });
    expect(await big).toEqual({ ok: false, name: 'CancelledError', message: expect.stringMatching(/superseded by a newer dirty image request/) });
    const r = await small;
    const tSmall = Date.now() - t0;
    expect(r.size).toBe(64);
    // the small one is the one an uninterrupted request gives
    const again = await call('uv.image', { fileId: o.fileId, size: 64, cellArcsec: 0.00005, weighting: 'natural' });
    for (let i = 0; i < 2; i++) expect(Buffer.from(r.files[i]!.bytes).equals(Buffer.from(again.files[i]!.bytes))).toBe(true);
    // the full default image takes longer than the superseded one and its successor together: it did not run on
    const t1 = Date.now();
    const full = await call('uv.image', { fileId: o.fileId, weighting: 'natural' });
    const tFull = Date.now() - t1;
    expect(full.size).toBe(542);
    expect(tSmall).toBeLessThan(tFull);

    // uv.cancelImage stops it; with none running it says so
    const asked = ended(call('uv.image', { fileId: o.fileId, weighting: 'uniform' }));
    await new Promise((res) => setImmediate(res));
    expect((await call('uv.cancelImage', { fileId: o.fileId })).cancelled).toBe(true);
    expect(await asked).toMatchObject({ ok: false, name: 'CancelledError', message: expect.stringMatching(/stopped by the client/) });
    expect((await call('uv.cancelImage', { fileId: o.fileId })).cancelled).toBe(false);

    // closing the file stops it
    const closed = ended(call('uv.image', { fileId: o.fileId, weighting: 'natural' }));
    await new Promise((res) => setImmediate(res));
    expect((await call('uv.close', { fileId: o.fileId })).closed).toBe(true);
    expect(await closed).toMatchObject({ ok: false, name: 'CancelledError', message: expect.stringMatching(/the file was closed/) });
  }, 120_000);

  it('stops a self-calibration between its rounds when asked, answering the cancel while the loop runs', async () => {
    const EHT_NAME = 'ehtim_sample_SYNTHETIC_sgra.uvfits';
    const o = await call('uv.open', { name: EHT_NAME, bytes: bytesOf(dataPath('uvfits', EHT_NAME)) });
    // 50 rounds of about half a second each on 64²: the loop alone would hold the engine for tens of seconds
    const selfcal = { mode: 'p' as const, rounds: 50, solint: 0, start: 'point' as const };
    const started = await call('job.clean', { fileId: o.fileId, size: 64, cellArcsec: 9.22e-6, weighting: 'natural', niter: 5000, gain: 0.1, threshold: 3e-4, method: 'cotton-schwab', selfcal });
    // a timer of 1 s fires on time only where the loop lets the event loop run
    const t0 = Date.now();
    await new Promise((res) => setTimeout(res, 1000));
    expect((await call('job.cancel', { jobId: started.jobId })).cancelled).toBe(true);
    const answered = Date.now() - t0 - 1000;
    const end = await waitFor(started.jobId, 10_000);
    expect(end.event).toBe('job.error');
    expect(end.event === 'job.error' && end.data.code).toBe('cancelled');
    // within a round or two (each one CLEAN and one solve), not at the end of the fifty
    expect(answered).toBeLessThan(3000);
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(call('uv.products', { jobId: started.jobId })).rejects.toThrow(/no finished CLEAN/);
  });

  it('self-calibrates as skyscore clean --selfcal: the products byte for byte, the gain table, the rounds, the corrected amplitudes', async () => {
    const EHT_NAME = 'ehtim_sample_SYNTHETIC_sgra.uvfits';
    const EHT = dataPath('uvfits', EHT_NAME);
    const o = await call('uv.open', { name: EHT_NAME, bytes: bytesOf(EHT) });
    const selfcal = { mode: 'ap' as const, rounds: 3, solint: 0, start: 'auto' as const };
    const started = await call('job.clean', { fileId: o.fileId, size: 64, cellArcsec: 9.22e-6, weighting: 'natural', niter: 5000, gain: 0.1, threshold: 3e-4, method: 'cotton-schwab', selfcal });
    const end = await waitFor(started.jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    const stages = events.filter((e) => e.event === 'job.progress' && e.data.jobId === started.jobId).map((e) => (e.data as { stage?: string }).stage);
    expect(stages[0]).toBe('selfcal');
    const r = await call('uv.products', { jobId: started.jobId });
    const stem = 'ehtim_sample_SYNTHETIC_sgra';
    const kinds = ['dirty', 'psf', 'model', 'residual', 'image'];
    expect(r.files.map((f) => f.name)).toEqual([...kinds.map((k) => `${stem}-${k}.fits`), `${stem}-gains.json`]);
    const mine = JSON.parse(new TextDecoder().decode(r.files[5]!.bytes));
    expect(mine.command).toBe(
      `skyscore clean --vis ${EHT_NAME} --out ${stem} --size 64 --cell 0.00000922 --weighting natural --stokes I --niter 5000 --gain 0.1 --threshold 0.0003 --cotton-schwab --selfcal ap --selfcal-rounds 3 --solint 0 --selfcal-start auto`,
    );
    // the command line the gain table names, on the file from disk
    const argv = (mine.command as string).split(' ').slice(1);
    argv[argv.indexOf('--vis') + 1] = EHT;
    argv[argv.indexOf('--out') + 1] = p('sc');
    const cli = await runCliAsync(argv);
    expect(cli.code, cli.stderr).toBe(0);
    r.files.slice(0, 5).forEach((f, i) => expect(Buffer.from(f.bytes).equals(readFileSync(p(`sc-${kinds[i]}.fits`))), kinds[i]).toBe(true));
    const theirs = JSON.parse(readFileSync(p('sc-gains.json'), 'utf8'));
    expect(mine.file).toBe(EHT_NAME);
    delete mine.command;
    delete theirs.command;
    expect(mine).toEqual(theirs);
    const history = readFitsImage(r.files[4]!.bytes).header.history().join('');
    expect(history).toContain('self-calibrated: --selfcal ap --selfcal-rounds 3 --solint 0 --selfcal-start auto');

    // the rounds as the command line prints them, and the figures of the table
    const sc = r.selfcal!;
    expect(sc.flags).toBe('--selfcal ap --selfcal-rounds 3 --solint 0 --selfcal-start auto');
    expect(sc.start).toBe('point');
    expect(sc.rounds.map((x) => x.mode)).toEqual(['p', 'ap', 'ap']);
    for (const x of sc.rounds) expect(cli.stdout).toContain(x.text);
    expect(sc.before.chi2).toBeGreaterThan(1000);
    expect(sc.rounds[2]!.chi2After).toBeLessThan(sc.before.chi2 / 100);
    expect(sc.failed).toBe(theirs.failed);
    expect(sc.solutions).toBe(theirs.solutions);
    expect(cli.stdout).toContain(`${sc.kept} of ${sc.of} visibilities kept`);
    expect(cli.stdout).toContain(`phase rms ${sc.phaseRmsDeg.toFixed(1)}°`);

    // |V| of the corrected data at the plotted points: |V| / (|g_i| |g_j|) with the table's amplitudes; NaN where left out
    const vis = selectVisibilities(readUvfits(bytesOf(EHT), EHT), 'I', EHT);
    const idx = plotIndices(vis.n);
    const amp = new Map<string, number | null>();
    for (const g of theirs.gains as { time: number; antenna: number; amplitude: number | null }[]) amp.set(`${g.time.toFixed(7)}:${g.antenna}`, g.amplitude);
    const times = [...new Set((theirs.gains as { time: number }[]).map((g) => g.time))];
    const near = (t: number) => times.reduce((a, b) => (Math.abs(b - t) < Math.abs(a - t) ? b : a)).toFixed(7);
    let left = 0;
    let changed = 0;
    idx.forEach((k, i) => {
      const a1 = amp.get(`${near(vis.time[k]!)}:${vis.ant1[k]}`);
      const a2 = amp.get(`${near(vis.time[k]!)}:${vis.ant2[k]}`);
      const got = sc.dataAmp[i]!;
      if (a1 == null || a2 == null) {
        expect(Number.isNaN(got)).toBe(true);
        left++;
        return;
      }
      const raw = Math.hypot(vis.re[k]!, vis.im[k]!);
      const want = raw / (a1 * a2);
      expect(Math.abs(got - want)).toBeLessThan(1e-5 * Math.max(want, 1e-3));
      if (Math.abs(want - raw) > 0.01 * raw) changed++;
    });
    expect(left).toBe(sc.of - sc.kept);
    // amplitude gains: most amplitudes differ from the data as read
    expect(changed).toBeGreaterThan(idx.length / 2);
  }, 120_000);

  it('holds the requests to the engine limits', async () => {
    const o = await call('uv.open', { name: VLBA_NAME, bytes: bytesOf(VLBA()) });
    await expect(call('uv.image', { fileId: o.fileId, size: 2048, weighting: 'natural' })).rejects.toThrow(/over this engine's limit/);
    await expect(call('job.clean', { fileId: o.fileId, niter: 2_000_000, gain: 0.1, threshold: 0, weighting: 'natural', method: 'hogbom' })).rejects.toThrow(/niter: expected a number ≤ 1000000/);
    await expect(call('uv.image', { fileId: o.fileId, weighting: 'natural', robust: 0 })).rejects.toThrow(/Briggs weighting only/);
    await expect(call('job.clean', { fileId: o.fileId, niter: 10, gain: 1.5, threshold: 0, weighting: 'natural', method: 'hogbom' })).rejects.toThrow(/gain/);
  });
});
