/**
 * The app's noise options reach the job as the command line's flags would: for the same choices on a drizzle-like
 * HST cutout (tests/helpers/lens-mef.ts `correlated`: SCI in ELECTRONS/S, ERR, WHT, EXPTIME 2000 s in the primary
 * header), the σ of the app's job — the panel's form through lensFitInputs, the protocol and prepareLensFit, written
 * as the job writes sigma.fits — equals `skyscore lens-fit`'s sigma.fits value for value, and the job's lens.json
 * noise block and correlation decision are the command's. Two choices: IVM weights with the exposure time given and
 * a blank-sky box; EXP weights with the correlation off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { lensMef, CORR_N } from '../helpers/lens-mef.js';
import { lensFitInputs } from '../../src-renderer/src/lensing/actions.js';
import { DEFAULT_LENS_FIT_FORM, type LensFitForm } from '../../src-renderer/src/lensing/state.js';
import { useStore } from '../../src-renderer/src/store/index.js';
import { clearFiles, storeObs } from '../../src-renderer/src/model/files.js';
import { defaultStage, type LensStage } from '../../src-shared/operators/forward-model-spec.js';
import { validateRequest, type LensFitParams } from '../../src-shared/protocol/index.js';
import { prepareLensFit } from '../../src-main/lens-fit/inputs.js';
import { lensFitSigmaFile } from '../../src-main/reconstruct/lens-fit-run.js';
import { readFitsImage } from '../../src-shared/fits/index.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const m = lensMef({ correlated: true, bunit: 'ELECTRONS/S', exptime: 2000 });
const lens = { ...(defaultStage('lens', [16, 16]) as LensStage), imagePixelScale: 0.05 };
/** The fit's fast settings, the same in the form and on the command line. */
const FAST: Partial<LensFitForm> = { mask: 'annulus', r1: 0, r2: 1.35, starts: 1, light: 1, fitSourceSize: 8, sourceSize: 8, supersample: 1, errors: false, psfSize: 5 };
const FAST_FLAGS = ['--annulus', '0,1.35', '--starts', '1', '--light', '1', '--fit-source-size', '8', '--source-size', '8', '--supersample', '1', '--no-errors', '--psf-size', '5'];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-noise-'));
  writeFileSync(p('mef.fits'), m.bytes);
  writeFileSync(p('psf.fits'), m.psf);
  await storeObs('mef.fits', m.bytes);
  const hdus = [1, 2, 3].map((index, k) => ({ index, label: `${index} ${['SCI', 'ERR', 'WHT'][k]}`, shape: [CORR_N, CORR_N] }));
  useStore.getState().setObs({ name: 'mef.fits', sha256: 'x', size: m.bytes.length, hdu: 1, plane: 0, hdus, shape: [CORR_N, CORR_N], planes: 1, bunit: 'ELECTRONS/S' });
  useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fwhmPx: 2 }] });
});

afterAll(() => {
  useStore.getState().setObs(null);
  clearFiles();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The app's job on the form's choices: its σ as sigma.fits, lens.json's noise block, the correlation's note, the command. */
function appJob(f: Partial<LensFitForm>) {
  const obs = { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 };
  const req = validateRequest({ id: 1, method: 'job.lensFit', params: { obs, ...lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, ...FAST, ...f }) } });
  const prep = prepareLensFit({ ...(req.params as LensFitParams), obs });
  const sigma = lensFitSigmaFile(prep.inputs.obs, prep.inputs.sigma, prep.command, prep.inputs.noiseText);
  return { sigma: readFitsImage(sigma.bytes), noise: JSON.parse(JSON.stringify(prep.inputs.noise)), correlation: prep.inputs.correlation!, command: prep.command };
}

async function cli(out: string, flags: string[]) {
  const r = await runCliAsync(['lens-fit', '--obs', `${p('mef.fits')}[SCI]`, '--weight-map', `${p('mef.fits')}[WHT]`, ...flags, '--psf', p('psf.fits'), ...FAST_FLAGS, '--out', p(out)], { timeoutMs: 400_000 });
  expect(r.code, r.stderr).toBe(0);
  return { sigma: readFitsImage(new Uint8Array(readFileSync(p(`${out}/sigma.fits`)))), lens: JSON.parse(readFileSync(p(`${out}/lens.json`), 'utf8')), stderr: r.stderr };
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let nan = 0;
  for (let k = 0; k < a.length; k++) {
    if (Number.isNaN(a[k])) {
      expect(b[k], `pixel ${k}`).toBeNaN();
      nan++;
    } else expect(a[k], `pixel ${k}`).toBe(b[k]);
  }
  return nan;
};

describe("the app's noise options and `skyscore lens-fit`'s flags give the same σ", () => {
  it('IVM weights, the Poisson term with the exposure time given, the correlation measured on a blank-sky box', async () => {
    const app = appJob({ noiseSource: 'obs-weights', exposureTime: 1000, noiseRegion: { x0: 0, y0: 0, x1: 112, y1: 40 } });
    expect(app.command).toContain('--weight-map mef.fits[WHT] --exposure-time 1000 ');
    expect(app.command).toContain(' --noise-region 0,0,112,40 ');
    const c = await cli('ivm', ['--exposure-time', '1000', '--noise-region', '0,0,112,40']);
    // NaN on the column of weight 0
    expect(same(app.sigma.data, c.sigma.data)).toBe(CORR_N);
    expect(c.lens.noise).toEqual(app.noise);
    expect(c.lens.noise).toMatchObject({ electronsPerUnit: 1000, read: { BUNIT: 'ELECTRONS/S', exposureTime: 1000 }, skySigmaMedian: 0.02 });
    expect(c.lens.noiseCorrelation.text).toBe(app.correlation.text);
    expect(c.lens.noiseCorrelation).toMatchObject({ decision: 'whitened', source: [0, 0, 112, 40] });
    // the Poisson term is in σ: above the sky's 0.02 on the deflector
    expect(c.sigma.data[56 * CORR_N + 56]).toBeGreaterThan(0.03);
  }, 600_000);

  it('EXP weights (σ_sky = c/√t from the blank sky), the correlation off', async () => {
    const app = appJob({ noiseSource: 'obs-weights', weightType: 'exp', noiseCorrelation: 'none' });
    expect(app.command).toContain('--weight-map mef.fits[WHT] --weight-type exp --psf');
    expect(app.command).toContain(' --noise-correlation none ');
    const c = await cli('exp', ['--weight-type', 'exp', '--noise-correlation', 'none']);
    same(app.sigma.data, c.sigma.data);
    expect(c.lens.noise).toEqual(app.noise);
    expect(c.lens.noise).toMatchObject({ weightType: 'exp', electronsPerUnit: 'per pixel (EXP weights × gain)' });
    expect(c.lens.noiseCorrelation.text).toBe(app.correlation.text);
    expect(c.lens.noiseCorrelation.decision).toBe('white (not measured: --noise-correlation none)');
  }, 600_000);
});
