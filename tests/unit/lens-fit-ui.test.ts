/**
 * The app's lens-fit request from the editor's state: σ or the σ map of the Noise step, the model's PSF stage
 * (FITS or Gaussian) and mask, the lens stage's pixel scale, the settings; the request passes the protocol's
 * validation, and a missing input is refused with a message that says where to set it; "Use the fitted lens"
 * carries the σ the fit read from the observation's file into the Noise step, and a whitened fit's correlated noise
 * (model.json's block: the same model `reconstruct --model` builds) with white noise one switch away; lens.json's
 * advice in the panel's words.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { POISSON_ADDED_NOTE } from '../../src-shared/lensing/noise-map.js';
import { appLensNote, applyFittedLens, chosenNoiseHdu, defaultDisc, fitPixelScale, lensFitInputs, noiseFromText, noiseHdus } from '../../src-renderer/src/lensing/actions.js';
import { DEFAULT_LENS_FIT_FORM, useLensFit, type LensFitDone } from '../../src-renderer/src/lensing/state.js';
import { noiseInput } from '../../src-renderer/src/run/actions.js';
import { implausibleLensNote } from '../../src-shared/lensing/inputs.js';
import { lensFitSigmaFile } from '../../src-main/reconstruct/lens-fit-run.js';
import { estimateSkyCorrelation, noiseRealisation, skyPixels } from '../../src-shared/lensing/whitening.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { noiseCorrelation, sigmaArray } from '../../src-shared/operators/noise.js';
import { buildNoiseModel } from '../../src-main/reconstruct/noise.js';
import { requestNoiseModel } from '../../src-main/engine/forward-model-requests.js';
import { lensFitNoiseInUse, lensFitNoisePatch, noiseSettingsOf } from '../../src-renderer/src/model/noise.js';
import { requestFileNames, requestFiles } from '../../src-renderer/src/model/actions.js';
import { buildProject, parseProject } from '../../src-renderer/src/export/project.js';
import { parseForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { getAux } from '../../src-renderer/src/model/files.js';
import { useStore } from '../../src-renderer/src/store/index.js';
import { DEFAULT_NOISE } from '../../src-renderer/src/store/model.js';
import { clearFiles, storeAux, storeObs } from '../../src-renderer/src/model/files.js';
import { lensMef } from '../helpers/lens-mef.js';
import { defaultStage, type LensStage } from '../../src-shared/operators/forward-model-spec.js';
import { validateRequest } from '../../src-shared/protocol/index.js';
import { writeFits } from '../../src-shared/fits/index.js';
import type { LensFitParams } from '../../src-shared/protocol/lensing.js';
import { prepareLensFit } from '../../src-main/lens-fit/inputs.js';

const lens = { ...(defaultStage('lens', [16, 16]) as LensStage), imagePixelScale: 0.04 };
const fits = writeFits([{ data: new Float32Array(25).fill(1), shape: [5, 5] }]);

const valid = (inputs: ReturnType<typeof lensFitInputs>) =>
  validateRequest({ id: 1, method: 'job.lensFit', params: { obs: { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 }, ...inputs } });

beforeEach(async () => {
  await storeAux('psf.fits', fits);
  await storeAux('sigma.fits', fits);
  await storeAux('mask.fits', fits);
  useStore.getState().setNoise({ ...DEFAULT_NOISE, sigma: 0.02 });
  useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fwhmPx: 2.5 }] });
});

describe('the lens fit request from the editor', () => {
  it('σ and a Gaussian PSF; the settings as the form holds them', () => {
    const r = lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, starts: 2, errors: false, psfSize: 11 });
    expect(r.noise).toEqual({ kind: 'sigma', sigma: 0.02 });
    expect(r.psf).toEqual({ kind: 'gaussian', fwhmPx: 2.5, size: 11 });
    // the command line's default fitted pixels; the lens stage's scale where the observation has no WCS
    expect(r.mask).toEqual({ kind: 'default' });
    expect(r.pixelScale).toBe(0.04);
    expect(r.files).toEqual([]);
    expect(r.settings).toEqual({ sourceSize: 64, sourceScale: null, fitSourceSize: 24, starts: 2, light: 'auto', lightCore: 0, supersample: 2, regularisation: 'gradient', errors: false, mass: 'sie' });
    expect(() => valid(r)).not.toThrow();
    // the light's components: auto (the command line's default, so no --light), or 0–2; nothing else
    const auto = prepareLensFit({ ...(valid(r).params as LensFitParams), obs: { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 } });
    expect(auto.settings.light).toBe('auto');
    expect(auto.command).not.toContain('--light');
    const two = prepareLensFit({ ...(valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, light: 2 })).params as LensFitParams), obs: { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 } });
    expect(two.command).toContain('--light 2');
    for (const bad of ['three', 3, 1.5, null]) expect(() => valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, light: bad as never }))).toThrow(/light/);
  });

  it('core Gaussians: none by default (no flag), 1–4 reach the fit as --light-core, none with no light; others refused', () => {
    const obs = { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 };
    const prep = (form: Partial<typeof DEFAULT_LENS_FIT_FORM>) => prepareLensFit({ ...(valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, ...form })).params as LensFitParams), obs });
    const none = prep({});
    expect(none.settings.lightCore).toBeUndefined();
    expect(none.command).not.toContain('--light-core');
    const three = prep({ lightCore: 3 });
    expect(three.settings.lightCore).toBe(3);
    expect(three.command).toContain('--light-core 3');
    // the panel's control is off with no light: the form's value stays, the request carries none
    const dark = prep({ light: 0, lightCore: 3 });
    expect(dark.settings.lightCore).toBeUndefined();
    expect(dark.command).toContain('--light 0');
    expect(dark.command).not.toContain('--light-core');
    for (const bad of [5, 1.5, -1, 'two']) expect(() => valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, lightCore: bad as never }))).toThrow(/lightCore/);
    // a request that ties Gaussians to no component (not from the panel) is refused, as the command line refuses it
    const r = valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, light: 0 })).params as LensFitParams;
    expect(() => prepareLensFit({ ...r, settings: { ...r.settings, lightCore: 2 }, obs })).toThrow(/core Gaussians are tied to the first Sérsic component/);
  });

  it('the EPL: its request passes, reaches the fit as --mass epl, and an unknown profile is refused', () => {
    const r = lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, mass: 'epl', psfSize: 5 });
    expect(r.settings.mass).toBe('epl');
    const req = valid(r);
    const prepared = prepareLensFit({ ...(req.params as LensFitParams), obs: { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 } });
    expect(prepared.settings.mass).toBe('epl');
    expect(prepared.command).toContain('--mass epl');
    // the SIE is the command line's default, so its flag is not written
    const sie = prepareLensFit({ ...(valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, psfSize: 5 })).params as LensFitParams), obs: { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 } });
    expect(sie.command).not.toContain('--mass');
    expect(() => valid({ ...r, settings: { ...r.settings, mass: 'nfw' as 'epl' } })).toThrow(/settings\.mass/);
  });

  it('a σ map, a FITS PSF and the model mask travel as files of the request', () => {
    useStore.getState().setNoise({ mode: 'map', mapFile: 'sigma.fits', mapHdu: 0 });
    useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fits: 'psf.fits', hdu: 0 }, { type: 'mask', fits: 'mask.fits' }] });
    const r = lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, mask: 'model' });
    expect(r.noise).toEqual({ kind: 'map', file: 'sigma.fits', hdu: 0 });
    expect(r.psf).toEqual({ kind: 'fits', file: 'psf.fits', hdu: 0, size: 21 });
    // the stage's convention as the run reads it: absent is 1 = observed (fit), not lens-fit's own default (auto)
    expect(r.mask).toEqual({ kind: 'file', file: 'mask.fits', hdu: 0, convention: 'fit' });
    expect(r.files.map((f) => f.name).sort()).toEqual(['mask.fits', 'psf.fits', 'sigma.fits']);
    expect(() => valid(r)).not.toThrow();
    for (const convention of ['exclude', 'auto', 'fit'] as const) {
      useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fits: 'psf.fits', hdu: 0 }, { type: 'mask', fits: 'mask.fits', convention }] });
      expect(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, mask: 'model' }).mask).toEqual({ kind: 'file', file: 'mask.fits', hdu: 0, convention });
    }
    const a = lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, mask: 'annulus', r1: 0.2, r2: 1.5 });
    expect(a.mask).toEqual({ kind: 'annulus', r1: 0.2, r2: 1.5 });
    expect(() => valid(a)).not.toThrow();
  });

  it('refuses what the fit cannot take, saying where to set it', () => {
    useStore.getState().setNoise({ sigma: null });
    expect(() => lensFitInputs(lens, DEFAULT_LENS_FIT_FORM)).toThrow('set the noise σ first (Forward model › Noise: type σ or estimate it), or take σ or the weights from an HDU of the observation');
    // σ from an HDU of an observation's file that has no other
    expect(() => lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, noiseSource: 'obs-weights' })).toThrow(/has no other image HDU of the data's shape to read weights from/);
    useStore.getState().setNoise({ mode: 'correlated' });
    expect(() => lensFitInputs(lens, DEFAULT_LENS_FIT_FORM)).toThrow(/not a correlated or Poisson–Gaussian noise model/);
    useStore.getState().setNoise({ mode: 'sigma', sigma: 1 });
    useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens] });
    expect(() => lensFitInputs(lens, DEFAULT_LENS_FIT_FORM)).toThrow('the lens fit needs the PSF: add a PSF operator to the forward model (its FITS image or a Gaussian)');
    useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fwhmPx: 2 }] });
    expect(() => lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, mask: 'model' })).toThrow('the forward model has no mask operator: choose an annulus or every pixel');
    // an even PSF crop: the protocol refuses it
    expect(() => valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, psfSize: 20 }))).toThrow("psf.size: the PSF's crop must be an odd number of pixels, got 20");
  });
});

describe('the lens fit request from a multi-extension observation (SCI, ERR, WHT)', () => {
  it('weights from its WHT, σ from its ERR, the scale from its WCS, the default disc, keep-sharp: prepareLensFit reads them as the command line', async () => {
    const m = lensMef();
    await storeObs('mef.fits', m.bytes);
    await storeAux('psf.fits', m.psf);
    const hdus = [1, 2, 3].map((index, k) => ({ index, label: `${index} ${['SCI', 'ERR', 'WHT'][k]} [64×64]`, shape: [64, 64] }));
    useStore.getState().setObs({ name: 'mef.fits', sha256: 'x', size: m.bytes.length, hdu: 1, plane: 0, hdus, shape: [64, 64], planes: 1, bunit: null });
    try {
      expect(noiseHdus().map((h) => [h.index, h.name])).toEqual([[2, 'ERR'], [3, 'WHT']]);
      expect(chosenNoiseHdu({ noiseSource: 'obs-weights', noiseHdu: null })).toBe(3);
      expect(chosenNoiseHdu({ noiseSource: 'obs-sigma', noiseHdu: null })).toBe(2);
      // an HDU chosen stays chosen; one that is not among them (the data's) falls back
      expect(chosenNoiseHdu({ noiseSource: 'obs-sigma', noiseHdu: 3 })).toBe(3);
      expect(chosenNoiseHdu({ noiseSource: 'obs-sigma', noiseHdu: 1 })).toBe(2);
      const scale = fitPixelScale(lens, { pixelScale: null });
      expect(scale.value).toBeCloseTo(0.07, 12);
      expect(scale.request).toBeNull();
      expect(scale.source).toMatch(/^the WCS \(the CD matrix\)$/);
      expect(fitPixelScale(lens, { pixelScale: 0.05 })).toMatchObject({ value: 0.05, request: 0.05, source: 'given' });
      expect(defaultDisc(0.07)).toBe(3);
      expect(defaultDisc(0.04)).toBeNull();

      useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fits: 'psf.fits', hdu: 0 }] });
      const r = lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, noiseSource: 'obs-weights', keepSharp: true, psfSize: 5 });
      expect(r.noise).toEqual({ kind: 'weights', hdu: 3 });
      expect(r.pixelScale).toBeNull();
      expect(r.mask).toEqual({ kind: 'default' });
      expect(r.settings.keepSharp).toBe(true);
      expect(r.files.map((f) => f.name)).toEqual(['psf.fits']);
      const req = validateRequest({ id: 1, method: 'job.lensFit', params: { obs: { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 }, ...r } });
      const prep = prepareLensFit({ ...(req.params as LensFitParams), obs: { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 } });
      expect(prep.inputs.pixelScale).toBeCloseTo(0.07, 12);
      expect(prep.inputs.mask).toEqual({ kind: 'annulus', r1: 0, r2: 3, followThetaE: true });
      expect(prep.settings.rejectSharpOutliers).toBe(false);
      expect(prep.inputs.noiseText).toBe('1/sqrt(mef.fits[WHT])');
      expect(prep.command).toBe('lens-fit --obs mef.fits --hdu 1 --weight-map mef.fits[WHT] --psf psf.fits --psf-size 5 --keep-sharp --out lens-fit');
      const s = lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, noiseSource: 'obs-sigma', pixelScale: 0.07, psfSize: 5 });
      expect(s.noise).toEqual({ kind: 'map', hdu: 2 });
      expect(s.settings.keepSharp).toBeUndefined();
    } finally {
      useStore.getState().setObs(null);
      clearFiles();
    }
  });
});

describe('the sources\' Poisson noise in the job: the exposure time from the primary header', () => {
  const base = (m: ReturnType<typeof lensMef>, noise: LensFitParams['noise']) =>
    prepareLensFit({ obs: { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 }, files: [], noise, psf: { kind: 'gaussian', fwhmPx: 2, size: 5 }, pixelScale: null, mask: { kind: 'default' }, settings: { ...DEFAULT_LENS_FIT_FORM } });
  it('adds it to the WHT\'s σ where EXPTIME is read (as the command line), leaves it out with poisson none or without EXPTIME', () => {
    const m = lensMef({ bunit: 'ELECTRONS/S', exptime: 100 });
    const auto = base(m, { kind: 'weights', hdu: 3 });
    expect(auto.notes.join('\n')).toMatch(/Poisson noise added to σ: .*effective exposure 100 s \(EXPTIME\)/);
    expect(auto.inputs.noiseText).toBe('sqrt(1/sqrt(mef.fits[WHT])^2 + s/100.000)');
    expect(auto.inputs.noise).toMatchObject({ electronsPerUnit: 100, read: { BUNIT: 'ELECTRONS/S', EXPTIME: 100 } });
    const none = base(m, { kind: 'weights', hdu: 3, poisson: 'none' });
    expect(none.command).toMatch(/--weight-map mef.fits\[WHT\] --poisson none /);
    // σ grows where the deflector's light is (the centre); half the exposure, twice the term
    const c = 32 * 64 + 32;
    expect(auto.inputs.sigma[c]).toBeGreaterThan(none.inputs.sigma[c] * 1.05);
    const given = base(m, { kind: 'weights', hdu: 3, exposureTime: 50 });
    expect(given.command).toMatch(/--exposure-time 50 /);
    expect(given.inputs.sigma[c] ** 2 - none.inputs.sigma[c] ** 2).toBeCloseTo(2 * (auto.inputs.sigma[c] ** 2 - none.inputs.sigma[c] ** 2), 10);
    // a σ map is complete unless an exposure time is given
    expect(base(m, { kind: 'map', hdu: 2 }).inputs.sigma[c]).toBeCloseTo(m.sigma[c], 6);
    const without = base(lensMef({ bunit: 'ELECTRONS/S' }), { kind: 'weights', hdu: 3 });
    expect(without.inputs.noiseText).toBe('1/sqrt(mef.fits[WHT])');
    expect(without.notes.join('\n')).toMatch(/Poisson noise: not added \(no exposure time/);
  });
});

describe('"Use the fitted lens" and the noise the fit used', () => {
  /** A finished fit on the MEF's SCI with σ from `noise` (its sigma.fits as the job writes it), its model a lens + PSF. */
  async function fitDone(noise: LensFitParams['noise']): Promise<{ done: LensFitDone; sigma: ArrayLike<number> }> {
    const m = lensMef();
    await storeObs('mef.fits', m.bytes);
    const hdus = [1, 2, 3].map((index, k) => ({ index, label: `${index} ${['SCI', 'ERR', 'WHT'][k]} [64×64]`, shape: [64, 64] }));
    useStore.getState().setObs({ name: 'mef.fits', sha256: 'x', size: m.bytes.length, hdu: 1, plane: 0, hdus, shape: [64, 64], planes: 1, bunit: null });
    const prep = prepareLensFit({ obs: { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 }, files: [], noise, psf: { kind: 'gaussian', fwhmPx: 2, size: 5 }, pixelScale: null, mask: { kind: 'default' }, settings: { ...DEFAULT_LENS_FIT_FORM } });
    const sigmaFile = lensFitSigmaFile(prep.inputs.obs, prep.inputs.sigma, prep.command, prep.inputs.noiseText);
    const model = { shape: [16, 16], operators: [{ ...lens, imageShape: [64, 64], imagePixelScale: 0.07 }, { type: 'psf', fwhmPx: 2 }] };
    const files = [{ name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(model)) }, sigmaFile];
    const done = { files, noiseFrom: noiseFromText(noise) } as unknown as LensFitDone;
    return { done, sigma: prep.inputs.sigma };
  }
  const finish = () => {
    useLensFit.getState().setDone(null);
    useStore.getState().setObs(null);
    clearFiles();
  };

  it('weights from the WHT: the Noise step becomes the fit\'s σ map, so that Run sends the σ the fit used', async () => {
    try {
      const { done, sigma } = await fitDone({ kind: 'weights', hdu: 3 });
      expect(done.noiseFrom).toBe('σ = 1/√w of the weight map mef.fits[WHT]');
      useLensFit.getState().setDone(done);
      await applyFittedLens();
      expect(useStore.getState().noise).toMatchObject({ mode: 'map', mapFile: 'lens-fit-sigma.fits', mapHdu: 0 });
      expect(noiseInput()).toEqual({ kind: 'map', file: 'lens-fit-sigma.fits', hdu: 0 });
      // the σ map Run sends is σ as the fit read it: 1/√w, NaN (left out) where the weight is 0
      const img = readFitsImage(getAux('lens-fit-sigma.fits')!.bytes);
      expect(img.data.length).toBe(sigma.length);
      let nan = 0;
      for (let i = 0; i < sigma.length; i++) {
        const want = sigma[i]!;
        if (Number.isFinite(want) && want > 0) expect(img.data[i]).toBeCloseTo(want, 4);
        else {
          expect(img.data[i]).toBeNaN();
          nan++;
        }
      }
      expect(nan).toBeGreaterThan(0);
      expect(useStore.getState().modelDoc.operators.map((o) => o.type)).toEqual(['lens', 'psf']);
    } finally {
      finish();
    }
  });

  it('σ from the ERR HDU is carried too; the Noise step\'s own σ is left as it is', async () => {
    try {
      const err = await fitDone({ kind: 'map', hdu: 2 });
      expect(err.done.noiseFrom).toBe('the σ map mef.fits[ERR]');
      useLensFit.getState().setDone(err.done);
      await applyFittedLens();
      expect(noiseInput()).toEqual({ kind: 'map', file: 'lens-fit-sigma.fits', hdu: 0 });

      useStore.getState().setNoise({ ...DEFAULT_NOISE, sigma: 0.02 });
      const step = await fitDone({ kind: 'sigma', sigma: 0.02 });
      expect(step.done.noiseFrom).toBeNull();
      useLensFit.getState().setDone(step.done);
      await applyFittedLens();
      expect(noiseInput()).toEqual({ kind: 'sigma', sigma: 0.02 });
      expect(noiseFromText({ kind: 'map', file: 'sigma.fits', hdu: 0 })).toBeNull();
      // the job's note that σ holds the sources' Poisson variance names it beside the weights
      const poissonNote = `${POISSON_ADDED_NOTE}: σ² = σ_sky² + max(s, 0)/e, s the data smoothed (3×3 binomial)`;
      expect(noiseFromText({ kind: 'weights', hdu: 3 }, [poissonNote])).toMatch(/^σ = 1\/√w of the weight map .*\[WHT\] and the sources' Poisson variance$/);
      expect(noiseFromText({ kind: 'weights', hdu: 3 }, ["the sources' Poisson noise: not added (--poisson none)"])).toMatch(/\[WHT\]$/);
    } finally {
      finish();
    }
  });
});

describe('"Use the fitted lens" after a whitened fit: its correlated noise', () => {
  /** Drizzle-like noise: unit white noise filtered by [a, 1 − 2a, a] per axis (neighbour correlation 0.30). */
  function filtered(n: number, seed: number, a = 0.12): Float64Array {
    const rng = new SeededRandom(seed);
    const m = n + 2;
    const w = Float64Array.from({ length: m * m }, () => rng.normal());
    const t = [a, 1 - 2 * a, a];
    const out = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) out[i * n + j] += t[p] * t[q] * w[(i + p) * m + j + q];
    return out;
  }

  /**
   * A finished whitened fit on the MEF's SCI with σ from `noise`: model.json with the correlated block, its two files
   * as lens-fit-run writes them (the per-pixel σ = σ·√(variance ratio), NaN where σ is; a 256² draw of the measured
   * spectrum), sigma.fits, and lens.json's noiseCorrelation.
   */
  async function whitenedDone(noise: LensFitParams['noise']) {
    const m = lensMef();
    await storeObs('mef.fits', m.bytes);
    const hdus = [1, 2, 3].map((index, k) => ({ index, label: `${index} ${['SCI', 'ERR', 'WHT'][k]} [64×64]`, shape: [64, 64] }));
    useStore.getState().setObs({ name: 'mef.fits', sha256: 'x', size: m.bytes.length, hdu: 1, plane: 0, hdus, shape: [64, 64], planes: 1, bunit: null });
    const prep = prepareLensFit({ obs: { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 }, files: [], noise, psf: { kind: 'gaussian', fwhmPx: 2, size: 5 }, pixelScale: null, mask: { kind: 'default' }, settings: { ...DEFAULT_LENS_FIT_FORM } });
    const n = 128;
    const sky = filtered(n, 11);
    const one = new Float64Array(n * n).fill(1);
    const e = estimateSkyCorrelation(sky, one, [n, n], skyPixels(sky, one, [n, n], null), 'auto')!;
    const sigma = prep.inputs.sigma;
    const noiseSigma = Float32Array.from(sigma, (v) => (Number.isFinite(v) && v > 0 ? v * Math.sqrt(e.varianceRatio) : NaN));
    const model = {
      shape: [16, 16],
      operators: [{ ...lens, imageShape: [64, 64], imagePixelScale: 0.07 }, { type: 'psf', fwhmPx: 2 }],
      noise: { model: 'correlated', image: 'noise-realisation.fits', sigmaFits: 'noise-sigma.fits' },
    };
    const r4 = (v: number) => Number(v.toPrecision(4));
    const noiseCorrelation = {
      mode: 'auto',
      decision: 'whitened',
      text: 'noise correlation: correlated',
      source: 'blank sky outside the fitted region (sources clipped)',
      skyPixels: e.skyPixels,
      lag1: { x: r4(e.lag1.x), y: r4(e.lag1.y) },
      lag1StandardError: { x: r4(e.lag1Error.x), y: r4(e.lag1Error.y) },
      varianceRatio: r4(e.varianceRatio),
      largeScaleRatio: r4(e.largeScaleRatio),
    };
    const files = [
      { name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(model)) },
      lensFitSigmaFile(prep.inputs.obs, sigma, prep.command, prep.inputs.noiseText),
      { name: 'noise-sigma.fits', bytes: writeFits([{ data: noiseSigma, shape: [64, 64] }]) },
      { name: 'noise-realisation.fits', bytes: writeFits([{ data: Float32Array.from(noiseRealisation(e, 256)), shape: [256, 256] }]) },
    ];
    const done = { files, noiseFrom: noiseFromText(noise), noiseCorrelation } as unknown as LensFitDone;
    return { done, obs: prep.inputs.obs, e };
  }
  const finish = () => {
    useLensFit.getState().setDone(null);
    useStore.getState().setObs(null);
    useStore.getState().setNoise({ ...DEFAULT_NOISE });
    clearFiles();
  };

  it('the Noise step holds the fit\'s correlated block; Run and noise.describe build the model reconstruct --model builds from model.json', async () => {
    try {
      const { done, obs, e } = await whitenedDone({ kind: 'weights', hdu: 3 });
      useLensFit.getState().setDone(done);
      await applyFittedLens();
      const n = useStore.getState().noise;
      expect(n).toMatchObject({ mode: 'correlated', corrSource: 'image', noiseImage: 'lens-fit-noise-realisation.fits', corrSigmaFile: 'lens-fit-noise-sigma.fits' });
      // what the fit measured, as lens.json says it; white noise of the fit's σ map as the other choice
      expect(n.lensFit).toMatchObject({ skyPixels: e.skyPixels, lag1: { x: Number(e.lag1.x.toPrecision(4)), y: Number(e.lag1.y.toPrecision(4)) }, varianceRatio: Number(e.varianceRatio.toPrecision(4)) });
      expect(n.lensFit!.source).toBe('the blank sky outside the fitted region (sources clipped)');
      expect(n.lensFit!.white).toEqual({ mode: 'map', sigma: null, mapFile: 'lens-fit-sigma.fits', mapHdu: 0 });
      expect(lensFitNoiseInUse(n)).toBe('correlated');
      // the noise block stays out of the editor's model (it travels as the Noise step's, as a loaded M.json's does)
      expect(useStore.getState().modelDoc.noise).toBeUndefined();
      const input = noiseInput();
      expect(input).toEqual({ kind: 'model', spec: { model: 'correlated', image: 'lens-fit-noise-realisation.fits', sigmaFits: 'lens-fit-noise-sigma.fits' } });
      expect(requestFileNames()).toEqual(expect.arrayContaining(['lens-fit-noise-realisation.fits', 'lens-fit-noise-sigma.fits']));

      // the engine's model from the app's request against the command line's from model.json and the products
      const block = parseForwardModel(new TextDecoder().decode(done.files.find((f) => f.name === 'model.json')!.bytes)).noise!;
      const cli = await buildNoiseModel(
        block,
        async (file) => {
          const img = readFitsImage(done.files.find((f) => f.name === file)!.bytes);
          return { data: img.data, shape: [img.shape[1]!, img.shape[0]!], name: file };
        },
        { data: obs.data, shape: obs.shape, name: 'mef.fits' },
      );
      const app = await requestNoiseModel((input as { spec: Parameters<typeof requestNoiseModel>[0] }).spec, requestFiles(), { data: obs.data, shape: obs.shape, name: 'mef.fits' });
      expect(app.built.kind).toBe('correlated');
      expect(Array.from(sigmaArray(app.built.noise, obs.shape))).toEqual(Array.from(sigmaArray(cli.built.noise, obs.shape)));
      expect(Array.from(noiseCorrelation(app.built.noise)!)).toEqual(Array.from(noiseCorrelation(cli.built.noise)!));
      // the per-pixel σ of the model is the fit's σ·√(variance ratio): below the weight map's 1/√w
      const s = sigmaArray(app.built.noise, obs.shape);
      const c = 32 * 64 + 32;
      expect(s[c]).toBeCloseTo(readFitsImage(getAux('lens-fit-sigma.fits')!.bytes).data[c]! * Math.sqrt(e.varianceRatio), 4);
      // its measured neighbour correlation, back from the noise-only draw
      expect(Math.abs((app.built.details as { lag1: { x: number } }).lag1.x - e.lag1.x)).toBeLessThan(0.03);

      // the switch to white noise: the fit's σ map; and back
      useStore.getState().setNoise(lensFitNoisePatch(n.lensFit!, 'white'));
      expect(lensFitNoiseInUse(useStore.getState().noise)).toBe('white');
      expect(noiseInput()).toEqual({ kind: 'map', file: 'lens-fit-sigma.fits', hdu: 0 });
      useStore.getState().setNoise(lensFitNoisePatch(n.lensFit!, 'correlated'));
      expect(noiseInput()).toEqual(input);
      // another choice: neither
      useStore.getState().setNoise({ mode: 'sigma', sigma: 3 });
      expect(lensFitNoiseInUse(useStore.getState().noise)).toBeNull();
      useStore.getState().setNoise(lensFitNoisePatch(n.lensFit!, 'correlated'));

      // a second fit from the Noise step takes the fit's white σ (it measures the correlation itself)
      useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fwhmPx: 2 }] });
      expect(lensFitInputs(lens, DEFAULT_LENS_FIT_FORM).noise).toEqual({ kind: 'map', file: 'lens-fit-sigma.fits', hdu: 0 });

      // a project keeps the choice, its σ map and the fit's estimate
      const doc = buildProject({ skyscore: null, data: null, model: useStore.getState().modelDoc, files: [], noise: useStore.getState().noise, prior: null, settings: useStore.getState().settings, lastRun: null });
      const back = parseProject(JSON.stringify(doc));
      expect(back.noise).toEqual(useStore.getState().noise);
      expect(() => parseProject(JSON.stringify({ ...doc, noise: { ...doc.noise, lensFit: { ...doc.noise.lensFit, lag1: 0.2 } } }))).toThrow(/noise\.lensFit: expected lag1/);
    } finally {
      finish();
    }
  });

  it("with the Noise step's own σ the white choice is that σ; a white fit clears the fit's noise", async () => {
    try {
      useStore.getState().setNoise({ ...DEFAULT_NOISE, mode: 'sigma', sigma: 0.02 });
      const { done } = await whitenedDone({ kind: 'sigma', sigma: 0.02 });
      expect(done.noiseFrom).toBeNull();
      useLensFit.getState().setDone(done);
      await applyFittedLens();
      const n = useStore.getState().noise;
      expect(n.mode).toBe('correlated');
      expect(n.lensFit!.white).toEqual({ mode: 'sigma', sigma: 0.02, mapFile: null, mapHdu: 0 });
      expect(getAux('lens-fit-sigma.fits')).toBeUndefined();
      useStore.getState().setNoise(lensFitNoisePatch(n.lensFit!, 'white'));
      expect(noiseInput()).toEqual({ kind: 'sigma', sigma: 0.02 });
      // a fit that did not whiten: its model.json has no noise block; the step keeps its σ and forgets the fit's noise
      const white = { ...done, noiseCorrelation: { decision: 'white (correlation not significant)', text: '' }, files: done.files.map((f) => (f.name === 'model.json' ? { name: f.name, bytes: new TextEncoder().encode(JSON.stringify({ shape: [16, 16], operators: [{ ...lens, imageShape: [64, 64], imagePixelScale: 0.07 }] })) } : f)) };
      useLensFit.getState().setDone(white as LensFitDone);
      await applyFittedLens();
      expect(useStore.getState().noise.lensFit).toBeNull();
      expect(noiseInput()).toEqual({ kind: 'sigma', sigma: 0.02 });
    } finally {
      finish();
    }
  });

  it("an M.json's correlated block with a σ map: the Noise step keeps the map (one σ is still not offered)", () => {
    expect(noiseSettingsOf({ model: 'correlated', image: 'n.fits', sigmaFits: 's.fits' })).toEqual({ patch: { mode: 'correlated', corrSource: 'image', noiseImage: 'n.fits', corrSigmaFile: 's.fits' }, dropped: [] });
    expect(noiseSettingsOf({ model: 'correlated', region: [0, 0, 8, 8], sigma: 2 })).toEqual({ patch: { mode: 'correlated', corrSource: 'region', corrRegion: { x0: 0, y0: 0, x1: 8, y1: 8 }, corrSigmaFile: null }, dropped: ['sigma'] });
  });
});

describe('the size of the observation the engine fits', () => {
  it('400 × 400 (an HST lens cutout) is taken, one pixel more refused', () => {
    const req = (nx: number, ny: number) => ({
      obs: { name: 'cut.fits', bytes: writeFits([{ data: new Float32Array(nx * ny).fill(1), shape: [nx, ny] }]), hdu: 0, plane: 0 },
      files: [],
      noise: { kind: 'sigma' as const, sigma: 1 },
      psf: { kind: 'gaussian' as const, fwhmPx: 2, size: 5 },
      pixelScale: 0.05,
      mask: { kind: 'default' as const },
      settings: { ...DEFAULT_LENS_FIT_FORM },
    });
    expect(prepareLensFit(req(400, 400)).inputs.obs.shape).toEqual([400, 400]);
    expect(prepareLensFit(req(360, 360)).inputs.mask).toMatchObject({ kind: 'annulus', r1: 0 });
    expect(() => prepareLensFit(req(401, 400))).toThrow('cut.fits: the image is 401×400 (NAXIS1×NAXIS2), over the 160000 pixels (400 × 400) this engine fits a lens to');
  });
});

describe("lens.json's note in the panel's words", () => {
  it('the command line\'s flags become the panel\'s fields; the advised light components are offered', () => {
    const note = implausibleLensNote({ q: 0.11, gamma1: 0.3, gamma2: 0.1 })!;
    expect(note).toContain('--light 2');
    const a = appLensNote(note);
    expect(a.light).toBe(2);
    expect(a.text).not.toMatch(/--/);
    expect(a.text).toContain('try Light components = 2');
    expect(a.text).toContain('(Fitted pixels: an annulus with r1 > 0)');
    expect(a.text).toContain('see the normalised residual panel');
    expect(appLensNote('more --starts, a mask around the arcs (--mask), or --fit-source-size 32')).toEqual({
      text: "more Starts, a mask around the arcs (Fitted pixels: the model's mask), or Fit source grid 32",
      light: null,
    });
  });
});
