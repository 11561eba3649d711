/**
 * The app's lens fit (`job.lensFit`) is `skyscore lens-fit`: on the same small simulated lens and settings the
 * job's lens.json and products equal the command line's (but for the run time and the recorded command line);
 * Stop ends a running fit (job.error 'cancelled') and the engine answers afterwards; bad requests are refused
 * with messages that name the field or the file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { simulateLens } from '../helpers/lens-sim.js';
import { lensMef, MEF_DEAD_COLUMN, MEF_HOT, MEF_N } from '../helpers/lens-mef.js';
import { EngineClient, workerThreadSpawner } from '../../src-main/engine/client.js';
import { STOP_GRACE_MS } from '../../src-main/lens-fit/thread.js';
import { FitsHeader, readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { validateRequest, type EngineEvent, type LensFitParams, type LensFitProductsResult, type LensFitStarted } from '../../src-shared/protocol/index.js';

const N = 40;
let dir = '';
const p = (f: string): string => path.join(dir, f);
const sim = simulateLens({ size: N, psfSize: 5, seed: 4, galaxy: 9, lens: { thetaE: 0.7, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01 } });
const bytes: Record<string, Uint8Array> = {};
const FAST = { sourceSize: 12, sourceScale: null, fitSourceSize: 8, starts: 1, light: 1, supersample: 2, regularisation: 'gradient', errors: false } as const;

function params(over: Partial<LensFitParams> = {}): LensFitParams {
  return {
    obs: { name: 'obs.fits', bytes: bytes['obs.fits'], hdu: 0, plane: 0 },
    files: [
      { name: 'noise.fits', bytes: bytes['noise.fits'] },
      { name: 'psf.fits', bytes: bytes['psf.fits'] },
    ],
    noise: { kind: 'map', file: 'noise.fits', hdu: 0 },
    psf: { kind: 'fits', file: 'psf.fits', hdu: 0, size: 21 },
    pixelScale: 0.05,
    mask: { kind: 'annulus', r1: 0, r2: 0.95 },
    settings: { ...FAST },
    ...over,
  };
}

let c: EngineClient;
const events: EngineEvent[] = [];
const end = (jobId: string, ms = 300_000) =>
  new Promise<EngineEvent>((resolve, reject) => {
    const t0 = Date.now();
    const t = setInterval(() => {
      const e = events.find((x) => (x.event === 'job.done' || x.event === 'job.error') && x.data.jobId === jobId);
      if (e) {
        clearInterval(t);
        resolve(e);
      } else if (Date.now() - t0 > ms) {
        clearInterval(t);
        reject(new Error(`${jobId} did not end`));
      }
    }, 20);
  });

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-app-'));
  const sigma = Float32Array.from(sim.sigma);
  sigma[3] = NaN;
  bytes['obs.fits'] = writeFits([{ data: Float32Array.from(sim.data), shape: [N, N] }]);
  bytes['noise.fits'] = writeFits([{ data: sigma, shape: [N, N] }]);
  // the simulation's PSF, its header stating a sampling of 0.025″ (TinyTim's PIXSCALE) against the fit's 0.05″: the
  // sampling warning's path through both hosts (the fit itself uses the pixels as they are)
  bytes['psf.fits'] = writeFits([{ data: Float32Array.from(sim.psf.data), shape: [sim.psf.shape[1], sim.psf.shape[0]], header: new FitsHeader().set('PIXSCALE', 0.025) }]);
  for (const [k, v] of Object.entries(bytes)) writeFileSync(p(k), v);
  c = new EngineClient(workerThreadSpawner({ backend: 'cpu' }));
  c.on('event', (ev: EngineEvent) => events.push(ev));
  c.start();
});

afterAll(async () => {
  await c?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const text = (r: LensFitProductsResult, name: string) => new TextDecoder().decode(r.files.find((f) => f.name === name)!.bytes);

describe('job.lensFit', () => {
  it("gives the command line's lens.json and products for the same inputs, with its progress lines", async () => {
    const cli = await runCliAsync(
      ['lens-fit', '--obs', p('obs.fits'), '--noise-map', p('noise.fits'), '--psf', p('psf.fits'), '--pixel-scale', '0.05', '--annulus', '0,0.95',
        '--starts', '1', '--light', '1', '--no-errors', '--fit-source-size', '8', '--source-size', '12', '--out', p('cli')],
      { timeoutMs: 300_000 },
    );
    expect(cli.code, cli.stderr).toBe(0);
    const sampling = /the PSF psf\.fits is sampled at 0\.025″ per pixel \(PIXSCALE = 0\.025\) but obs\.fits has 0\.05″ pixels \(the pixel scale given, --pixel-scale\): the PSF is 2× finer than the image, .*resample the PSF to the image's pixels \(0\.05″\) before use$/;
    expect(cli.stderr.split('\n').filter((l) => l.startsWith('skyscore: warning: ') && sampling.test(l))).toHaveLength(1);
    const started = (await c.forward('job.lensFit', params())) as LensFitStarted;
    // the app lists it with the job's notes when the fit starts
    expect(started.notes.filter((n) => /^warning: /.test(n) && sampling.test(n))).toHaveLength(1);
    // the noise's correlation (the command line's default, auto): the decision among the notes the app lists
    expect(started.notes.filter((n) => /^noise correlation: /.test(n))).toHaveLength(1);
    expect(started.shape).toEqual([N, N]);
    expect(started.command).toBe(
      'skyscore lens-fit --obs obs.fits --noise-map noise.fits --psf psf.fits --pixel-scale 0.05 --annulus 0,0.95 --source-size 12 --fit-source-size 8 --starts 1 --light 1 --no-errors --out lens-fit',
    );
    const ev = await end(started.jobId);
    expect(ev.event, JSON.stringify(ev.data)).toBe('job.done');
    const lines = events.filter((e) => e.event === 'job.progress' && e.data.jobId === started.jobId).map((e) => (e.data as { line: string }).line);
    expect(lines.some((l) => /^lens-fit: \d+s light fitted; ring radius/.test(l))).toBe(true);
    expect(lines.some((l) => /^lens-fit: \d+s done: θE/.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith('skyscore: warning: ') && sampling.test(l))).toHaveLength(1);
    const stages = new Set(events.filter((e) => e.event === 'job.progress' && e.data.jobId === started.jobId).map((e) => (e.data as { stage: string }).stage));
    expect([...stages]).toEqual(expect.arrayContaining(['light', 'mass', 'joint', 'source', 'done']));

    const prod = (await c.forward('lens.products', { jobId: started.jobId })) as LensFitProductsResult;
    expect(prod.files.map((f) => f.name)).toEqual(['lens.json', 'model.json', 'psf.fits', 'mask.fits', 'lens-light.fits', 'light-subtracted.fits', 'model-image.fits', 'normalised-residual.fits', 'source-inversion.fits', 'critical-curves.json', 'sigma.fits']);
    const jobLens = JSON.parse(text(prod, 'lens.json'));
    const cliLens = JSON.parse(readFileSync(p('cli/lens.json'), 'utf8'));
    expect(jobLens.command).toBe(started.command);
    for (const l of [jobLens, cliLens]) {
      delete l.seconds;
      delete l.command;
    }
    expect(jobLens).toEqual(cliLens);
    expect(cliLens.warnings).toEqual([expect.stringMatching(sampling)]);
    expect(Math.abs(jobLens.parameters.thetaE.value - 0.7) / 0.7).toBeLessThan(0.05);
    expect(text(prod, 'model.json')).toBe(readFileSync(p('cli/model.json'), 'utf8'));
    expect(text(prod, 'critical-curves.json')).toBe(readFileSync(p('cli/critical-curves.json'), 'utf8'));
    for (const f of prod.files.filter((x) => x.name.endsWith('.fits'))) {
      const a = readFitsImage(f.bytes);
      const b = readFitsImage(new Uint8Array(readFileSync(p(`cli/${f.name}`))));
      expect(a.shape, f.name).toEqual(b.shape);
      expect(Array.from(a.data), f.name).toEqual(Array.from(b.data));
      for (const k of ['CTYPE1', 'CDELT1', 'CRPIX1', 'BUNIT']) expect(a.header.get(k), `${f.name} ${k}`).toEqual(b.header.get(k));
    }
  }, 600_000);

  it('a drizzled-style multi-extension file: SCI as the data, WHT as weights, the scale from the WCS, the default disc — the command line with HDU selectors', async () => {
    const m = lensMef({ bunit: 'ELECTRONS/S' });
    writeFileSync(p('mef.fits'), m.bytes);
    writeFileSync(p('mpsf.fits'), m.psf);
    const cli = await runCliAsync(
      ['lens-fit', '--obs', `${p('mef.fits')}[SCI]`, '--weight-map', `${p('mef.fits')}[WHT]`, '--psf', p('mpsf.fits'), '--starts', '1', '--no-errors', '--fit-source-size', '8', '--source-size', '12', '--out', p('cli-mef')],
      { timeoutMs: 300_000 },
    );
    expect(cli.code, cli.stderr).toBe(0);
    // the data's unit on the products in data units, none on the unit-sum PSF
    const cliFits = (name: string) => readFitsImage(new Uint8Array(readFileSync(p(`cli-mef/${name}`)))).header;
    expect(cliFits('lens-light.fits').get('BUNIT')).toBe('ELECTRONS/S');
    expect(cliFits('source-inversion.fits').get('BUNIT')).toBe('ELECTRONS/S');
    expect(cliFits('psf.fits').has('BUNIT')).toBe(false);
    const started = (await c.forward('job.lensFit', {
      obs: { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 },
      files: [{ name: 'mpsf.fits', bytes: m.psf }],
      noise: { kind: 'weights', hdu: 3 },
      psf: { kind: 'fits', file: 'mpsf.fits', hdu: 0, size: 21 },
      pixelScale: null,
      mask: { kind: 'default' },
      // the light's components as the command line's default chooses them (auto: no --light)
      settings: { ...FAST, light: 'auto' },
    })) as LensFitStarted;
    expect(started.command).toBe('skyscore lens-fit --obs mef.fits --hdu 1 --weight-map mef.fits[WHT] --psf mpsf.fits --source-size 12 --fit-source-size 8 --starts 1 --no-errors --out lens-fit');
    expect(started.pixelScale.value).toBeCloseTo(0.07, 12);
    expect(started.pixelScale.source).toMatch(/CD/);
    expect(started.notes).toEqual([
      "the pixel scale 0.0700000″ from mef.fits's WCS (the CD matrix)",
      `σ = 1/√w from the weight map mef.fits[WHT] (${MEF_N} pixels of weight 0 or NaN left out)`,
      // no EXPTIME in this file: the sources' Poisson noise is not added, and the note says how to add it
      expect.stringMatching(/^the sources' Poisson noise: not added \(no exposure time \(EXPTIME or TEXPTIME in the header\)\): .*give --exposure-time T/),
      'fitting the pixels within 3″ of the image centre, widened to twice the first θE where that is larger (the default disc)',
      // no sky beyond 6″ of the centre in this cutout: nothing to measure the noise's correlation from
      expect.stringMatching(/^noise correlation: not measured \(0 sky pixels in the blank sky outside the fitted region, 2000 needed\): the noise taken as white$/),
    ]);
    const ev = await end(started.jobId);
    expect(ev.event, JSON.stringify(ev.data)).toBe('job.done');
    const prod = (await c.forward('lens.products', { jobId: started.jobId })) as LensFitProductsResult;
    const jobLens = JSON.parse(text(prod, 'lens.json'));
    const cliLens = JSON.parse(readFileSync(p('cli-mef/lens.json'), 'utf8'));
    // the hot pixel the weights do not flag, found and left out
    expect(jobLens.outliers).toEqual({ count: 1, pixels: [MEF_HOT] });
    expect(jobLens.lensNote).toBeNull();
    // the evidence's choice of the light's components, and the default disc as fitted (θE 0.7″: not widened)
    expect([1, 2]).toContain(jobLens.lightSelection.components);
    expect(jobLens.fitRadius).toBe(3);
    for (const l of [jobLens, cliLens]) {
      delete l.seconds;
      delete l.command;
    }
    expect(jobLens).toEqual(cliLens);
    for (const name of ['sigma.fits', 'mask.fits', 'normalised-residual.fits']) {
      const a = readFitsImage(prod.files.find((f) => f.name === name)!.bytes);
      const b = readFitsImage(new Uint8Array(readFileSync(p(`cli-mef/${name}`))));
      expect(Array.from(a.data), name).toEqual(Array.from(b.data));
    }
    // σ = 1/√w, NaN on the column of weight 0
    const sig = readFitsImage(prod.files.find((f) => f.name === 'sigma.fits')!.bytes).data;
    expect(sig[5 * MEF_N + MEF_DEAD_COLUMN]).toBeNaN();
    expect(sig[5 * MEF_N + 20]).toBeCloseTo(0.02, 6);

    // keep-sharp: the hot pixel stays in (--keep-sharp in the command line)
    const kept = (await c.forward('job.lensFit', {
      obs: { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 },
      files: [{ name: 'mpsf.fits', bytes: m.psf }],
      noise: { kind: 'map', hdu: 2 },
      psf: { kind: 'fits', file: 'mpsf.fits', hdu: 0, size: 21 },
      pixelScale: 0.07,
      mask: { kind: 'annulus', r1: 0, r2: 1.2 },
      settings: { ...FAST, keepSharp: true, light: 0 },
    })) as LensFitStarted;
    expect(kept.command).toBe('skyscore lens-fit --obs mef.fits --hdu 1 --noise-map mef.fits[ERR] --psf mpsf.fits --pixel-scale 0.07 --annulus 0,1.2 --source-size 12 --fit-source-size 8 --starts 1 --light 0 --no-errors --keep-sharp --out lens-fit');
    // the 1.2″ disc grown by its own radius leaves 552 sky pixels of the 64² cutout; grown by 0.5″, enough: the white
    // noise is measured and not called correlated
    expect(kept.notes).toEqual([expect.stringMatching(/^noise correlation: not significant \(.* grown by 0\.5″ \(its own radius, 1\.2″, leaves 552 sky pixels in the cutout\); 5 standard errors needed\): the noise taken as white$/)]);
    expect((await end(kept.jobId)).event).toBe('job.done');
    const keptLens = JSON.parse(text((await c.forward('lens.products', { jobId: kept.jobId })) as LensFitProductsResult, 'lens.json'));
    expect(keptLens.outliers.count).toBe(0);
  }, 600_000);

  it('Stop ends a running fit: job.error cancelled within seconds, and the engine answers afterwards', async () => {
    const started = (await c.forward('job.lensFit', params({ settings: { ...FAST, starts: 3, errors: true, fitSourceSize: 16, sourceSize: 24 } }))) as LensFitStarted;
    const t0 = Date.now();
    while (!events.some((e) => e.event === 'job.progress' && e.data.jobId === started.jobId)) {
      if (Date.now() - t0 > 60_000) throw new Error('no progress');
      await new Promise((r) => setTimeout(r, 20));
    }
    const tStop = Date.now();
    expect(await c.forward('job.cancel', { jobId: started.jobId })).toEqual({ cancelled: true });
    const ev = await end(started.jobId, 30_000);
    expect(ev.event).toBe('job.error');
    expect(ev.data).toMatchObject({ code: 'cancelled', message: 'stopped' });
    // the fit polls the stop at its progress calls (a fraction of a second apart): it ends before the grace after
    // which its thread would be terminated
    expect(Date.now() - tStop).toBeLessThan(STOP_GRACE_MS);
    expect(events.some((e) => e.event === 'job.done' && e.data.jobId === started.jobId)).toBe(false);
    await expect(c.forward('lens.products', { jobId: started.jobId })).rejects.toThrow(/no finished lens fit/);
    expect(await c.forward('engine.ping', { payload: 'after' })).toEqual({ pong: 'after' });
  }, 120_000);

  it('refuses bad requests with messages that name the field or the file', async () => {
    const bad = (over: Record<string, unknown>) => () => validateRequest({ id: 1, method: 'job.lensFit', params: { ...params(), ...over } });
    expect(bad({ settings: { ...FAST, starts: 50 } })).toThrow('job.lensFit.params.settings.starts: expected a number ≤ 10, got 50');
    expect(bad({ settings: { ...FAST, sourceSize: 128 } })).toThrow('job.lensFit.params.settings.sourceSize: expected a number ≤ 64, got 128');
    expect(bad({ settings: { ...FAST, regularisation: 'smooth' } })).toThrow("settings.regularisation: expected one of gradient, curvature, identity");
    expect(bad({ psf: { kind: 'fits', file: 'psf.fits', hdu: 0, size: 8 } })).toThrow("job.lensFit.params.psf.size: the PSF's crop must be an odd number of pixels, got 8");
    expect(bad({ mask: { kind: 'annulus', r1: 1, r2: 0.5 } })).toThrow('job.lensFit.params.mask: the annulus needs r1 < r2 (arcsec), got r1 = 1, r2 = 0.5');
    expect(bad({ mask: { kind: 'circle' } })).toThrow("job.lensFit.params.mask.kind: expected 'all', 'default', 'file', 'annulus'");
    expect(bad({ noise: { kind: 'map', file: '../etc/noise.fits', hdu: 0 } })).toThrow(/job.lensFit.params.noise.file: expected a string matching/);
    expect(bad({ pixelScale: -1 })).toThrow(/job.lensFit.params.pixelScale: expected a number ≥/);
    expect(bad({ extra: 1 })).toThrow("job.lensFit.params: unexpected field 'extra'");
    // checked by the engine before the job starts: the request's error, code 'input'
    const refused = async (over: Partial<LensFitParams>, msg: RegExp) => {
      const e = (await c.forward('job.lensFit', params(over)).then(() => null, (x: Error & { code?: string }) => x))!;
      expect(e, String(msg)).not.toBeNull();
      expect(e.message).toMatch(msg);
      expect(e.code).toBe('input');
    };
    await refused({ files: [{ name: 'noise.fits', bytes: bytes['noise.fits'] }] }, /^the PSF psf.fits is not among the files sent$/);
    await refused({ files: [...params().files, { name: 'mask.fits', bytes: bytes['obs.fits'] }], mask: { kind: 'file', file: 'mask.fits', hdu: 0 } }, /^mask.fits: mask values must be 0 or 1, got .* at pixel \(0, 0\) \(row, column\)$/);
    await refused({ settings: { ...FAST, fitSourceSize: 16, sourceSize: 12 } }, /the fit's source grid \(16 pixels a side\) must not be larger than the final one \(12\)/);
    const big = writeFits([{ data: new Float32Array(401 * 400), shape: [401, 400] }]);
    await refused({ obs: { name: 'big.fits', bytes: big, hdu: 0, plane: 0 }, noise: { kind: 'sigma', sigma: 1 } }, /big.fits: the image is 401×400 \(NAXIS1×NAXIS2\), over the 160000 pixels \(400 × 400\) this engine fits a lens to/);
    await refused({ noise: { kind: 'map', file: 'psf.fits', hdu: 0 } }, /psf.fits: the σ map is 5×5 \(NAXIS1×NAXIS2\) but the data are 40×40/);
    // the scale from a WCS the observation lacks; weights from an HDU the observation's file lacks; no positive weight
    await refused({ pixelScale: null }, /^obs.fits has no celestial WCS to read the pixel scale from .*: give the pixel scale$/);
    await refused({ noise: { kind: 'weights', hdu: 2 } }, /HDU 2/);
    const zero = writeFits([{ data: new Float32Array(N * N), shape: [N, N] }]);
    await refused({ files: [...params().files, { name: 'wht.fits', bytes: zero }], noise: { kind: 'weights', file: 'wht.fits', hdu: 0 } }, /^wht.fits: no pixel has a positive weight$/);
  }, 120_000);
});
