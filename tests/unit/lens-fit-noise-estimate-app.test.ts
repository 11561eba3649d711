/**
 * The noise from the data and the sky level in the app's lens fit, by the command line's code (lensFitNoiseAndSky):
 * the form's choices as the request's fields and the job's command line (--noise-map estimate, --exposure-time
 * estimate, --sky fit|LEVEL), the job's reading of a drizzle-like cutout with the sources' Poisson noise and a sky
 * left in it (σ_sky, e and the sky level against the simulation's), the same σ as the command line's function, the
 * refusals (too little blank sky, too little signal, the protocol's contradictions) and the project round trip.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { lensFitInputs, lensFitNoiseOptions, poissonPreview } from '../../src-renderer/src/lensing/actions.js';
import type { LensFitForm } from '../../src-renderer/src/lensing/state.js';
import { buildProject, parseProject } from '../../src-renderer/src/export/project.js';
import { useStore } from '../../src-renderer/src/store/index.js';
import { DEFAULT_NOISE } from '../../src-renderer/src/store/model.js';
import { clearFiles } from '../../src-renderer/src/model/files.js';
import { DEFAULT_SETTINGS } from '../../src-renderer/src/store/run.js';
import { validateRequest } from '../../src-shared/protocol/index.js';
import { lensFitNoiseAndSky, LensFitRequestError } from '../../src-main/lens-fit/inputs.js';
import { lensFitGaussianPsf } from '../../src-main/reconstruct/lens-fit-run.js';
import { decodeImage2d } from '../../src-main/forward-model-files.js';
import { CORR_N, CORR_TAP } from '../helpers/lens-mef.js';
import { form, job, lens, openMef } from '../helpers/lens-fit-app.js';

/** Σk² of the drizzle-like filter [a, 1 − 2a, a]²: the per-pixel variance over the large-scale one */
const K2 = (2 * CORR_TAP ** 2 + (1 - 2 * CORR_TAP) ** 2) ** 2;
const T0 = 250;
const PEDESTAL = 0.05;

afterEach(() => {
  useStore.getState().setObs(null);
  clearFiles();
});

const estimateForm = form({ noiseSource: 'estimate', exposureEstimate: true, sky: 'fit', mask: 'annulus', r1: 0, r2: 1.35, starts: 1, light: 1 });

describe('the noise from the data in the app', () => {
  it("the form's choices as the request's fields, each where the command line's flag would be written", () => {
    expect(lensFitNoiseOptions(form({ exposureEstimate: true }))).toEqual({ exposureTime: 'estimate' });
    expect(lensFitNoiseOptions(form({ exposureEstimate: true, exposureTime: 900 }))).toEqual({ exposureTime: 'estimate' });
    expect(lensFitNoiseOptions(form({ exposureEstimate: true, poisson: 'none' }))).toEqual({ poisson: 'none' });
    expect(lensFitNoiseOptions(form({ exposureEstimate: true, noiseSource: 'obs-weights', weightType: 'exp' }))).toEqual({ weightType: 'exp' });
    expect(lensFitNoiseOptions(form({ sky: 'fit' }))).toEqual({ sky: 'fit' });
    expect(lensFitNoiseOptions(form({ sky: 'level', skyLevel: -0.01 }))).toEqual({ sky: -0.01 });
    expect(lensFitNoiseOptions(form({ sky: 'level', skyLevel: null }))).toEqual({});
    expect(poissonPreview(form({ noiseSource: 'estimate' })).text).toMatch(/not added: σ_sky estimated from the blank sky is taken as complete/);
    expect(poissonPreview(form({ noiseSource: 'estimate', exposureEstimate: true, sky: 'fit' }))).toMatchObject({ added: true, text: expect.stringMatching(/estimated from the data when the fit starts, by photon transfer.*the sky level subtracted/) });
  });

  it('the job on a drizzle-like cutout with Poisson noise and a sky left in: σ_sky, e and the sky level as simulated; the command line says so', async () => {
    const m = await openMef({ correlated: true, bunit: 'ELECTRONS/S', poissonT: T0, pedestal: PEDESTAL });
    const p = job(m, estimateForm);
    expect(p.command).toMatch(/--noise-map estimate --exposure-time estimate --sky fit --psf psf\.fits/);
    const sky = p.inputs.sky!;
    expect(sky.method).toBe('fitted');
    // within the sky's per-pixel σ (0.02 · √0.368 = 0.0121)
    expect(Math.abs(sky.level - PEDESTAL)).toBeLessThan(0.0121);
    const est = (p.inputs.noise as { estimate: { sigmaSky: { value: number }; electronsPerUnit: { value: number; standardError: number; skyLevelSource: string } } }).estimate;
    // the sky's per-pixel rms (its faint light's Poisson noise adds a few per cent near the lens)
    expect(est.sigmaSky.value / (0.02 * Math.sqrt(K2)) - 1).toBeGreaterThan(-0.05);
    expect(est.sigmaSky.value / (0.02 * Math.sqrt(K2)) - 1).toBeLessThan(0.08);
    // the per-pixel e: T/Σk² (drizzle-like: the correlation cancels in the photon transfer)
    expect(Math.abs(est.electronsPerUnit.value / (T0 / K2) - 1)).toBeLessThan(0.3);
    expect(est.electronsPerUnit.skyLevelSource).toBe('--sky');
    expect(p.notes.some((n) => /^σ_sky [\d.]+ ± [\d.e-]+ \(data units\) estimated from the blank sky/.test(n))).toBe(true);
    expect(p.notes.some((n) => /^the electrons per data unit [\d.]+ ± [\d.]+ \(the effective exposure time in s: data in e⁻\/s\) estimated by photon transfer/.test(n))).toBe(true);
    expect(p.notes.some((n) => n.startsWith('sky level ') && /fitted with the deflector's light/.test(n))).toBe(true);
    // without --sky the blank sky's median is taken off the photon transfer's flux, and a note says the sky is in the data
    const q = job(m, form({ ...estimateForm, sky: 'none' }));
    const e2 = (q.inputs.noise as { estimate: { electronsPerUnit: { value: number; skyLevel: number; skyLevelSource: string } } }).estimate.electronsPerUnit;
    expect(e2.skyLevelSource).toBe("the blank sky's median");
    expect(Math.abs(e2.skyLevel - PEDESTAL)).toBeLessThan(0.01);
    expect(Math.abs(e2.value / (T0 / K2) - 1)).toBeLessThan(0.3);
    expect(q.notes.some((n) => /the blank sky's median .* σ_sky above 0: a sky the cutout kept\? .*--sky fit subtracts it/.test(n))).toBe(true);
    // a level given: subtracted as given
    const r = job(m, form({ ...estimateForm, sky: 'level', skyLevel: 0.04 }));
    expect(r.command).toMatch(/--sky 0\.04/);
    expect(r.inputs.sky).toEqual({ level: 0.04, method: 'given' });
    // σ² = σ_sky² + s/e and the data the fit takes (the sky subtracted): as the command line's own function gives them
    const obs = decodeImage2d(m.bytes, 'mef.fits', 1);
    const cli = lensFitNoiseAndSky(obs, null, { kind: 'estimate', arg: 'estimate' }, { weightType: 'ivm', poisson: 'auto', exposureTime: 'estimate' }, { kind: 'annulus', r1: 0, r2: 1.35 }, 0.05, undefined, lensFitGaussianPsf(2, 21, [CORR_N, CORR_N]), 0.04);
    expect(Array.from(r.inputs.sigma)).toEqual(Array.from(cli.ns.sigma));
    expect(Array.from(r.inputs.obs.data)).toEqual(Array.from(cli.obs.data));
    expect(r.inputs.noise).toEqual(cli.ns.json);
  });

  it('refuses with the reason: too little blank sky, too little signal; the protocol refuses what the command refuses', async () => {
    const m = await openMef({});
    // the 64² cutout of 0.07″ (2.2″ from the centre to an edge): no sky outside a 2″ disc grown by itself
    expect(() => job(m, form({ noiseSource: 'estimate', mask: 'annulus', r1: 0, r2: 2 }))).toThrow(LensFitRequestError);
    expect(() => job(m, form({ noiseSource: 'estimate', mask: 'annulus', r1: 0, r2: 2 }))).toThrow(/--noise-map estimate \(σ_sky from the blank sky\): the blank sky \(.*\) holds \d+ pixels, 2000 needed/);
    // white noise of one σ and no Poisson noise: σ_sky measured, no excess of variance with flux
    const c = await openMef({ correlated: true });
    expect(() => job(c, form({ noiseSource: 'estimate', exposureEstimate: true, mask: 'annulus', r1: 0, r2: 1.35 }))).toThrow(/--exposure-time estimate: (too little signal for photon transfer|no excess of variance with flux)/);
    const obs = { name: 'mef.fits', bytes: c.bytes, hdu: 1, plane: 0 };
    const params = (noise: Record<string, unknown>) => ({ obs, ...lensFitInputs(lens, form({})), noise });
    expect(() => validateRequest({ id: 1, method: 'job.lensFit', params: params({ kind: 'estimate', exposureTime: 'estimate', poisson: 'none' }) })).toThrow(/not with poisson 'none'/);
    expect(() => validateRequest({ id: 1, method: 'job.lensFit', params: params({ kind: 'weights', hdu: 3, weightType: 'exp', exposureTime: 'estimate' }) })).toThrow(/EXP weights give the exposure time per pixel/);
    expect(() => validateRequest({ id: 1, method: 'job.lensFit', params: params({ kind: 'estimate', sky: 'auto' }) })).toThrow(/sky/);
    expect(() => validateRequest({ id: 1, method: 'job.lensFit', params: params({ kind: 'estimate', exposureTime: 'guess' }) })).toThrow(/exposureTime/);
  });

  it('the project keeps the choices; an older project opens with their defaults', () => {
    const doc = (lensFit?: LensFitForm) =>
      buildProject({ skyscore: null, data: null, model: { shape: [16, 16], operators: [] }, files: [], noise: { ...DEFAULT_NOISE }, prior: null, settings: DEFAULT_SETTINGS, lastRun: null, ...(lensFit && { lensFit }) });
    const f = form({ noiseSource: 'estimate', exposureEstimate: true, sky: 'level', skyLevel: -0.002 });
    expect(parseProject(JSON.stringify(doc(f))).lensFit).toEqual(f);
    const old = JSON.parse(JSON.stringify(doc(f))) as { lensFit: Record<string, unknown> };
    for (const k of ['exposureEstimate', 'sky', 'skyLevel']) delete old.lensFit[k];
    expect(parseProject(JSON.stringify(old)).lensFit).toEqual({ ...f, exposureEstimate: false, sky: 'none', skyLevel: null });
    expect(() => parseProject(JSON.stringify({ ...doc(f), lensFit: { ...f, sky: 'auto' } }))).toThrow(/lensFit\.sky/);
  });
});
