/**
 * The lens fit's noise options in the app: the form's choices become the request's noise fields exactly where the
 * command line's flags would be written (--weight-type exp, --poisson none, --exposure-time, --noise-correlation
 * none, --noise-region), the job reads them into the same command line, and the protocol refuses the combinations
 * the command line refuses; the panel's reading of the sources' Poisson term before the fit (the unit and the
 * exposure time from the observation's headers, or why the term cannot be added); the project keeps the choices.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { lensFitInputs, lensFitNoiseOptions, poissonPreview } from '../../src-renderer/src/lensing/actions.js';
import { DEFAULT_LENS_FIT_FORM, useLensFit, type LensFitForm } from '../../src-renderer/src/lensing/state.js';
import { buildProject, parseProject } from '../../src-renderer/src/export/project.js';
import { useStore } from '../../src-renderer/src/store/index.js';
import { DEFAULT_NOISE } from '../../src-renderer/src/store/model.js';
import { clearFiles, storeAux } from '../../src-renderer/src/model/files.js';
import { validateRequest } from '../../src-shared/protocol/index.js';
import { FitsHeader, readFits, writeFits } from '../../src-shared/fits/index.js';
import { DEFAULT_SETTINGS } from '../../src-renderer/src/store/run.js';
import { CORR_N } from '../helpers/lens-mef.js';
import { form, job, lens, openMef } from '../helpers/lens-fit-app.js';

afterEach(() => {
  useStore.getState().setObs(null);
  clearFiles();
});

describe("the form's noise options as the request's fields", () => {
  it('each only where its flag would be written; a hidden field is kept but not sent', () => {
    expect(lensFitNoiseOptions(DEFAULT_LENS_FIT_FORM)).toEqual({});
    const box = { x0: 0, y0: 0, x1: 112, y1: 40 };
    expect(lensFitNoiseOptions(form({ noiseSource: 'obs-weights', weightType: 'exp', noiseRegion: box }))).toEqual({ weightType: 'exp', region: box });
    // EXP describes a weight map; with EXP the exposure time is per pixel, with poisson none it is not used
    expect(lensFitNoiseOptions(form({ noiseSource: 'obs-sigma', weightType: 'exp', exposureTime: 900 }))).toEqual({ exposureTime: 900 });
    expect(lensFitNoiseOptions(form({ noiseSource: 'obs-weights', weightType: 'exp', exposureTime: 900 }))).toEqual({ weightType: 'exp' });
    expect(lensFitNoiseOptions(form({ poisson: 'none', exposureTime: 900 }))).toEqual({ poisson: 'none' });
    // the box measures the correlation: not sent with the correlation off
    expect(lensFitNoiseOptions(form({ noiseCorrelation: 'none', noiseRegion: box }))).toEqual({ correlation: 'none' });
  });

  it("the job writes the command line's flags for them and uses them: the exposure time, EXP weights, the box, no correlation", async () => {
    const m = await openMef({ correlated: true, bunit: 'ELECTRONS/S', exptime: 2000 });
    const base = { noiseSource: 'obs-weights' as const, mask: 'annulus' as const, r1: 0, r2: 1.35, psfSize: 5 };
    const ivm = job(m, form({ ...base, exposureTime: 1000, noiseRegion: { x0: 0, y0: 0, x1: 112, y1: 40 } }));
    expect(ivm.command).toBe('lens-fit --obs mef.fits --hdu 1 --weight-map mef.fits[WHT] --exposure-time 1000 --psf psf.fits --annulus 0,1.35 --psf-size 5 --noise-region 0,0,112,40 --out lens-fit');
    // e = 1000 s × 1 e⁻/s, not the header's 2000; the correlation measured on the box (3331 of its 4480 pixels off sources)
    expect(ivm.inputs.noise).toMatchObject({ electronsPerUnit: 1000, read: { BUNIT: 'ELECTRONS/S', exposureTime: 1000 }, skySigmaMedian: 0.02 });
    expect(ivm.inputs.correlation!.whiten).toBe(true);
    expect(ivm.inputs.correlation!.estimate!.source).toEqual({ x0: 0, y0: 0, x1: 112, y1: 40 });
    // the term itself: σ² − σ_sky² = s/e, twice the header's 2000 s term
    const hdr = job(m, form({ ...base, noiseRegion: { x0: 0, y0: 0, x1: 112, y1: 40 } }));
    const none = job(m, form({ ...base, poisson: 'none', noiseRegion: { x0: 0, y0: 0, x1: 112, y1: 40 } }));
    const c = 56 * CORR_N + 56;
    expect(ivm.inputs.sigma[c]! ** 2 - none.inputs.sigma[c]! ** 2).toBeCloseTo(2 * (hdr.inputs.sigma[c]! ** 2 - none.inputs.sigma[c]! ** 2), 12);
    expect(none.command).toContain('--poisson none');

    const exp = job(m, form({ ...base, weightType: 'exp', noiseRegion: { x0: 0, y0: 0, x1: 112, y1: 40 } }));
    expect(exp.command).toContain('--weight-map mef.fits[WHT] --weight-type exp --psf');
    expect(exp.inputs.noise).toMatchObject({ weightType: 'exp', electronsPerUnit: 'per pixel (EXP weights × gain)' });
    expect(exp.notes.join('\n')).toMatch(/σ_sky = c\/√t from the EXP weight map mef\.fits\[WHT\] \(seconds per pixel\), c = [\d.]+ from the large-scale scatter of y·√t over 3331 blank-sky pixels/);

    const white = job(m, form({ ...base, noiseCorrelation: 'none', noiseRegion: { x0: 0, y0: 0, x1: 112, y1: 40 } }));
    expect(white.command).toContain('--noise-correlation none --out');
    expect(white.command).not.toContain('--noise-region');
    expect(white.inputs.correlation).toMatchObject({ mode: 'none', whiten: false, estimate: null });
  });

  it("a weight map in a FITS file of its own (--weight-map WHT.fits): its first image HDU, sent as a file of the request", async () => {
    const m = await openMef({ bunit: 'ELECTRONS/S', exptime: 2000 });
    expect(() => lensFitInputs(lens, form({ noiseSource: 'file-weights' }))).toThrow("choose the weight map's FITS file (Noise: weight map, a FITS file), or take σ or the weights from the observation");
    // the MEF's WHT written as a file of its own, after an empty primary as drizzle's products have it
    const wht = readFits(m.bytes).hdus[3]!.readImage();
    await storeAux('cut_wht.fits', writeFits([{ data: null, shape: [] }, { data: Float32Array.from(wht.data), shape: [64, 64], header: new FitsHeader().set('EXTNAME', 'WHT') }]));
    const f = form({ noiseSource: 'file-weights', noiseFile: 'cut_wht.fits', psfSize: 5 });
    const r = lensFitInputs(lens, f);
    expect(r.noise).toEqual({ kind: 'weights', file: 'cut_wht.fits', hdu: 1 });
    expect(r.files.map((x) => x.name)).toEqual(['cut_wht.fits']);
    const fromFile = job(m, f);
    expect(fromFile.command).toContain('--weight-map cut_wht.fits[WHT] --psf');
    // the same σ as the observation's own WHT HDU (the Poisson term from the header's 2000 s included)
    const fromHdu = job(m, form({ noiseSource: 'obs-weights', psfSize: 5 }));
    expect(Array.from(fromFile.inputs.sigma)).toEqual(Array.from(fromHdu.inputs.sigma));
    expect(fromFile.inputs.noise).toMatchObject({ sky: '1/√w of the IVM weights cut_wht.fits[WHT]', electronsPerUnit: 2000 });
    expect(poissonPreview(f)).toMatchObject({ added: true });
  });

  it('the protocol refuses what the command line refuses', () => {
    const params = (noise: Record<string, unknown>) => ({ obs: { name: 'o.fits', bytes: new Uint8Array(0), hdu: 0, plane: 0 }, files: [], noise, psf: { kind: 'gaussian', fwhmPx: 2, size: 5 }, pixelScale: 0.05, mask: { kind: 'all' }, settings: { sourceSize: 12, sourceScale: null, fitSourceSize: 8, starts: 1, light: 1, supersample: 2, regularisation: 'gradient', errors: false } });
    const v = (noise: Record<string, unknown>) => validateRequest({ id: 1, method: 'job.lensFit', params: params(noise) });
    expect(() => v({ kind: 'weights', hdu: 3, weightType: 'exp', correlation: 'auto', region: { x0: 0, y0: 0, x1: 10, y1: 10 } })).not.toThrow();
    expect(() => v({ kind: 'weights', hdu: 3, correlation: 'none', region: { x0: 0, y0: 0, x1: 10, y1: 10 } })).toThrow("noise.region: the blank-sky box measures the noise's correlation: not with correlation 'none'");
    expect(() => v({ kind: 'weights', hdu: 3, poisson: 'none', exposureTime: 100 })).toThrow("the exposure time gives the sources' Poisson noise: not with poisson 'none'");
    expect(() => v({ kind: 'weights', hdu: 3, weightType: 'exp', exposureTime: 100 })).toThrow('EXP weights give the exposure time per pixel: not with exposureTime');
    expect(() => v({ kind: 'weights', hdu: 3, region: { x0: 5, y0: 0, x1: 5, y1: 10 } })).toThrow('expected x1 > x0 and y1 > y0');
    expect(() => v({ kind: 'map', hdu: 2, correlation: 'maybe' })).toThrow(/noise\.correlation/);
  });
});

describe("the sources' Poisson term before the fit, from the observation's headers", () => {
  it('the unit and EXPTIME read (the primary header), the exposure time given, EXP weights, none', async () => {
    await openMef({ bunit: 'ELECTRONS/S', exptime: 2000 });
    const w = { noiseSource: 'obs-weights' as const };
    expect(poissonPreview(form(w))).toEqual({ added: true, header: { seconds: 2000, key: 'EXPTIME' }, text: 'data in e⁻/s (BUNIT ELECTRONS/S), effective exposure 2000 s (EXPTIME): 2000.00 e⁻ per unit' });
    expect(poissonPreview(form({ ...w, exposureTime: 500 })).text).toBe('data in e⁻/s (BUNIT ELECTRONS/S), effective exposure 500 s (given): 500.000 e⁻ per unit');
    expect(poissonPreview(form({ ...w, weightType: 'exp' })).text).toBe('data in e⁻/s (BUNIT ELECTRONS/S), the exposure time per pixel from the EXP weight map');
    expect(poissonPreview(form({ ...w, poisson: 'none' }))).toMatchObject({ added: false, text: "not added (--poisson none): σ is the sky's alone" });
    // a σ map (the Noise step's, or ERR) is complete unless an exposure time is given
    expect(poissonPreview(form({ noiseSource: 'obs-sigma' }))).toMatchObject({ added: false, text: 'not added: a σ map (or one σ) is taken as complete; give the exposure time, or estimate it, to add the term' });
    expect(poissonPreview(form({ noiseSource: 'step', exposureTime: 300 }))).toMatchObject({ added: true });
  });

  it('says why it cannot be added: no exposure time, counts without a gain, a unit it does not know', async () => {
    await openMef({ bunit: 'ELECTRONS/S' });
    const w = form({ noiseSource: 'obs-weights' });
    expect(poissonPreview(w)).toEqual({ added: false, header: null, text: 'cannot be added: no exposure time (EXPTIME or TEXPTIME in the header); give the exposure time (seconds; data in e⁻/s)' });
    // the exposure time given makes it known
    expect(poissonPreview({ ...w, exposureTime: 800 })).toMatchObject({ added: true });
    await openMef({ bunit: 'COUNTS/S', exptime: 2000 });
    expect(poissonPreview(w).text).toBe('cannot be added: the data are in counts (BUNIT COUNTS/S) and no gain is known (CCDGAIN, ATODGAIN); give the exposure time (seconds; data in e⁻/s)');
    await openMef({ bunit: 'JY/BEAM', exptime: 2000 });
    expect(poissonPreview(w).text).toBe("cannot be added: BUNIT 'JY/BEAM' is neither electrons nor counts (per second or not)");
  });
});

describe('the project keeps the lens fit\'s choices', () => {
  const doc = (lensFit?: LensFitForm) =>
    buildProject({ skyscore: null, data: null, model: { shape: [16, 16], operators: [] }, files: [], noise: { ...DEFAULT_NOISE }, prior: null, settings: DEFAULT_SETTINGS, lastRun: null, ...(lensFit && { lensFit }) });
  it('saved and opened the same; an older project opens with the defaults; a bad field is refused by name', async () => {
    const f = form({ noiseSource: 'file-weights', noiseFile: 'cut_wht.fits', noiseHdu: 3, weightType: 'exp', poisson: 'none', exposureTime: 1234, noiseCorrelation: 'auto', noiseRegion: { x0: 1, y0: 2, x1: 40, y1: 30 }, starts: 2, light: 1, lightCore: 3, mask: 'annulus', r1: 0, r2: 1.35 });
    expect(parseProject(JSON.stringify(doc(f))).lensFit).toEqual(f);
    expect(parseProject(JSON.stringify(doc())).lensFit).toEqual(DEFAULT_LENS_FIT_FORM);
    // a project saved before the noise options: those at their defaults, the rest as saved
    const old = JSON.parse(JSON.stringify(doc(f))) as { lensFit: Record<string, unknown> };
    for (const k of ['weightType', 'poisson', 'exposureTime', 'noiseCorrelation', 'noiseRegion', 'lightCore']) delete old.lensFit[k];
    expect(parseProject(JSON.stringify(old)).lensFit).toEqual({ ...f, weightType: 'ivm', poisson: 'auto', exposureTime: null, noiseCorrelation: 'auto', noiseRegion: null, lightCore: 0 });
    const bad = (k: string, v: unknown) => parseProject(JSON.stringify({ ...doc(f), lensFit: { ...f, [k]: v } }));
    expect(() => bad('weightType', 'wht')).toThrow('lensFit.weightType: expected one of ivm, exp');
    expect(() => bad('exposureTime', -1)).toThrow('lensFit.exposureTime: expected a positive number or null');
    expect(() => bad('noiseRegion', { x0: 4, y0: 0, x1: 2, y1: 9 })).toThrow('lensFit.noiseRegion: expected x1 > x0 and y1 > y0');
    expect(() => bad('starts', null)).toThrow('lensFit.starts: expected a value, not null');
    expect(() => bad('lightCore', 5)).toThrow('lensFit.lightCore: expected one of 0, 1, 2, 3, 4');
    // the form the app holds goes into the project it saves (export/actions.ts saveProject reads the store)
    useLensFit.getState().patchForm(f);
    expect(useLensFit.getState().form).toEqual(f);
  });
});
