/**
 * The app's lens fit in unit tests: the drizzle-like multi-extension cutout (lens-mef.ts) opened as the observation
 * (SCI the data, its PSF a Gaussian stage after a 16² lens stage of 0.05″ pixels), and the job's reading of the form
 * as the app sends it (the request through the protocol, then prepareLensFit).
 */
import { lensFitInputs } from '../../src-renderer/src/lensing/actions.js';
import { DEFAULT_LENS_FIT_FORM, type LensFitForm } from '../../src-renderer/src/lensing/state.js';
import { useStore } from '../../src-renderer/src/store/index.js';
import { DEFAULT_NOISE } from '../../src-renderer/src/store/model.js';
import { storeObs } from '../../src-renderer/src/model/files.js';
import { defaultStage, type LensStage } from '../../src-shared/operators/forward-model-spec.js';
import { validateRequest, type LensFitParams } from '../../src-shared/protocol/index.js';
import { prepareLensFit } from '../../src-main/lens-fit/inputs.js';
import { lensMef, CORR_N } from './lens-mef.js';

export const lens = { ...(defaultStage('lens', [16, 16]) as LensStage), imagePixelScale: 0.05 };
export const form = (p: Partial<LensFitForm>): LensFitForm => ({ ...DEFAULT_LENS_FIT_FORM, ...p });

/** The drizzle-like MEF as the observation (SCI the data), its PSF a Gaussian stage. */
export async function openMef(opts: Parameters<typeof lensMef>[0]) {
  const m = lensMef(opts);
  const n = opts?.correlated ? CORR_N : 64;
  await storeObs('mef.fits', m.bytes);
  const hdus = [1, 2, 3].map((index, k) => ({ index, label: `${index} ${['SCI', 'ERR', 'WHT'][k]} [${n}×${n}]`, shape: [n, n] }));
  useStore.getState().setObs({ name: 'mef.fits', sha256: 'x', size: m.bytes.length, hdu: 1, plane: 0, hdus, shape: [n, n], planes: 1, bunit: opts?.bunit ?? null });
  useStore.getState().setNoise({ ...DEFAULT_NOISE, sigma: 0.02 });
  useStore.getState().setModelDoc({ shape: [16, 16], operators: [lens, { type: 'psf', fwhmPx: 2 }] });
  return m;
}

/** The app's request from the form, through the protocol, read by the job (prepareLensFit). */
export function job(m: { bytes: Uint8Array }, f: LensFitForm) {
  const obs = { name: 'mef.fits', bytes: m.bytes, hdu: 1, plane: 0 };
  const req = validateRequest({ id: 1, method: 'job.lensFit', params: { obs, ...lensFitInputs(lens, f) } });
  return prepareLensFit({ ...(req.params as LensFitParams), obs });
}
