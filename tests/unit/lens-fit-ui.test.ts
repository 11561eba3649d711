/**
 * The app's lens-fit request from the editor's state: σ or the σ map of the Noise step, the model's PSF stage
 * (FITS or Gaussian) and mask, the lens stage's pixel scale, the settings; the request passes the protocol's
 * validation, and a missing input is refused with a message that says where to set it; "Use the fitted lens"
 * carries the σ the fit read from the observation's file into the Noise step; lens.json's advice in the panel's words.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { appLensNote, applyFittedLens, chosenNoiseHdu, defaultDisc, fitPixelScale, lensFitInputs, noiseFromText, noiseHdus } from '../../src-renderer/src/lensing/actions.js';
import { DEFAULT_LENS_FIT_FORM, useLensFit, type LensFitDone } from '../../src-renderer/src/lensing/state.js';
import { noiseInput } from '../../src-renderer/src/run/actions.js';
import { implausibleLensNote } from '../../src-shared/lensing/inputs.js';
import { lensFitSigmaFile } from '../../src-main/reconstruct/lens-fit-run.js';
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
    expect(r.settings).toEqual({ sourceSize: 64, sourceScale: null, fitSourceSize: 24, starts: 2, light: 'auto', supersample: 2, regularisation: 'gradient', errors: false, mass: 'sie' });
    expect(() => valid(r)).not.toThrow();
    // the light's components: auto (the command line's default, so no --light), or 0–2; nothing else
    const auto = prepareLensFit({ ...(valid(r).params as LensFitParams), obs: { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 } });
    expect(auto.settings.light).toBe('auto');
    expect(auto.command).not.toContain('--light');
    const two = prepareLensFit({ ...(valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, light: 2 })).params as LensFitParams), obs: { name: 'obs.fits', bytes: fits, hdu: 0, plane: 0 } });
    expect(two.command).toContain('--light 2');
    for (const bad of ['three', 3, 1.5, null]) expect(() => valid(lensFitInputs(lens, { ...DEFAULT_LENS_FIT_FORM, light: bad as never }))).toThrow(/light/);
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
    expect(r.mask).toEqual({ kind: 'file', file: 'mask.fits', hdu: 0 });
    expect(r.files.map((f) => f.name).sort()).toEqual(['mask.fits', 'psf.fits', 'sigma.fits']);
    expect(() => valid(r)).not.toThrow();
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
    } finally {
      finish();
    }
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
