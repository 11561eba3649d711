/**
 * The Noise step's models as the engine takes them: white (σ typed or estimated), a σ map, correlated noise measured
 * from a blank-sky box of the observation or a noise-only image, Poisson–Gaussian counts, a learned noise prior (by
 * its id in priors.list), whose Gaussian part may take the correlated model's box or image for its spectrum. A correlated, Poisson–Gaussian or learned choice travels as a noise block — the fields of M.json's `noise`, which `skyscore reconstruct`
 * takes as `--noise-model` and its flags — and the engine builds it as the command line does. Before a run the
 * engine describes the model it would use (noise.describe: σ, the spectrum and correlation, the gain and σ range);
 * the header's gain fills the gain field's placeholder.
 */
import { getClient } from '../api/client';
import { useStore } from '../store/index';
import type { LensFitNoise, NoiseSettings } from '../store/model';
import type { NoiseSpec } from '../../../src-shared/operators/forward-model-spec';
import { auxFiles, getObs } from './files';
import { withObs } from './upload';

/** The noise block of a correlated or Poisson–Gaussian choice, or what is missing in words (null for the other modes). */
export function noiseSpecOf(n: NoiseSettings): NoiseSpec | string | null {
  if (n.mode === 'correlated') {
    // a σ map scales the measured correlation per pixel (M.json's sigmaFits: a whitened lens fit's noise-sigma.fits)
    const sigma = n.corrSigmaFile ? { sigmaFits: n.corrSigmaFile } : {};
    if (n.corrSource === 'image') return n.noiseImage ? { model: 'correlated', image: n.noiseImage, ...sigma } : 'choose a noise-only FITS image (Noise › correlated)';
    const r = n.corrRegion;
    return r ? { model: 'correlated', region: [r.x0, r.y0, r.x1, r.y1], ...sigma } : 'draw a blank-sky box on the observation (Noise › correlated)';
  }
  if (n.mode === 'poisson-gaussian') {
    if (n.readNoise === null || !(n.readNoise > 0)) return 'type the read noise in e⁻ (> 0)';
    if (n.gain !== null && !(n.gain > 0)) return 'the gain in e⁻/ADU must be positive';
    const spec: NoiseSpec = { model: 'poisson-gaussian', readNoise: n.readNoise };
    if (n.gain !== null) spec.gain = n.gain;
    if (n.sky !== null) spec.sky = n.sky;
    return spec;
  }
  if (n.mode === 'learned') {
    if (!n.noisePrior) return 'choose a noise prior (Noise › learned; train one with skyscore train --kind noise)';
    const spec: NoiseSpec = { model: 'learned', prior: n.noisePrior };
    if (!n.learnedSpectrum) return spec;
    // the Gaussian part's spectrum, from the correlated model's source (the same box or image)
    if (n.corrSource === 'image') return n.noiseImage ? { ...spec, image: n.noiseImage } : 'choose a noise-only FITS image for the Gaussian part (Noise › learned)';
    const r = n.corrRegion;
    return r ? { ...spec, region: [r.x0, r.y0, r.x1, r.y1] } : 'draw a blank-sky box on the observation for the Gaussian part (Noise › learned)';
  }
  return null;
}

/** The noise as M.json's noise block ("Save M.json": `skyscore reconstruct` then reads it when no noise flag is given), or null while incomplete. */
export function noiseBlockOf(n: NoiseSettings): NoiseSpec | null {
  if (n.mode === 'sigma' || n.mode === 'mad') return n.sigma !== null && n.sigma > 0 ? { model: 'white', sigma: n.sigma } : null;
  if (n.mode === 'map') return n.mapFile ? { model: 'sigma-map', sigmaFits: n.mapFile } : null;
  const spec = noiseSpecOf(n);
  return spec && typeof spec === 'object' ? spec : null;
}

/**
 * The Noise step's settings for an M.json noise block, and what of it the step does not offer (one σ given with
 * correlated noise: the step uses the measured σ, or a σ map).
 */
export function noiseSettingsOf(b: NoiseSpec): { patch: Partial<NoiseSettings>; dropped: string[] } {
  switch (b.model) {
    case 'white':
      return { patch: { mode: 'sigma', sigma: b.sigma ?? null }, dropped: [] };
    case 'sigma-map':
      return { patch: { mode: 'map', mapFile: b.sigmaFits ?? null, mapHdu: 0 }, dropped: [] };
    case 'correlated': {
      const dropped = b.sigma !== undefined ? ['sigma'] : [];
      const r = b.region;
      const sigma = { corrSigmaFile: b.sigmaFits ?? null };
      const patch: Partial<NoiseSettings> = r
        ? { mode: 'correlated', corrSource: 'region', corrRegion: { x0: r[0], y0: r[1], x1: r[2], y1: r[3] }, ...sigma }
        : { mode: 'correlated', corrSource: 'image', noiseImage: b.image ?? null, ...sigma };
      return { patch, dropped };
    }
    case 'poisson-gaussian':
      return { patch: { mode: 'poisson-gaussian', gain: b.gain ?? null, readNoise: b.readNoise ?? null, sky: b.sky ?? null }, dropped: [] };
    case 'learned': {
      const r = b.region;
      const spectrum: Partial<NoiseSettings> = r
        ? { learnedSpectrum: true, corrSource: 'region', corrRegion: { x0: r[0], y0: r[1], x1: r[2], y1: r[3] } }
        : b.image !== undefined
          ? { learnedSpectrum: true, corrSource: 'image', noiseImage: b.image }
          : { learnedSpectrum: false };
      return { patch: { mode: 'learned', noisePrior: b.prior ?? null, ...spectrum }, dropped: [] };
    }
  }
}

/** The files the noise block names (a noise-only image, of the correlated model or the learned one's Gaussian part; a correlated model's σ map). */
export function noiseFileNames(n: NoiseSettings): string[] {
  if (n.mode === 'learned') return n.learnedSpectrum && n.corrSource === 'image' && n.noiseImage ? [n.noiseImage] : [];
  if (n.mode !== 'correlated') return [];
  return [n.corrSource === 'image' ? n.noiseImage : null, n.corrSigmaFile].filter((f): f is string => f !== null);
}

/**
 * Which of a whitened lens fit's two noise choices the step holds: its correlated model (the block of its
 * model.json), white noise of the σ it read, or neither (another choice made since; no fit).
 */
export function lensFitNoiseInUse(n: NoiseSettings): 'correlated' | 'white' | null {
  const f = n.lensFit;
  if (!f) return null;
  if (n.mode === 'correlated') return n.corrSource === 'image' && n.noiseImage === f.noiseImage && n.corrSigmaFile === f.sigmaFile ? 'correlated' : null;
  const w = f.white;
  if (n.mode !== w.mode) return null;
  if (w.mode === 'map') return n.mapFile === w.mapFile && n.mapHdu === w.mapHdu ? 'white' : null;
  return n.sigma === w.sigma ? 'white' : null;
}

/** The step's settings for one of a whitened lens fit's two noise choices. */
export function lensFitNoisePatch(f: LensFitNoise, which: 'correlated' | 'white'): Partial<NoiseSettings> {
  if (which === 'correlated') return { mode: 'correlated', corrSource: 'image', noiseImage: f.noiseImage, corrSigmaFile: f.sigmaFile, lensFit: f };
  const w = f.white;
  return w.mode === 'map' ? { mode: 'map', mapFile: w.mapFile, mapHdu: w.mapHdu, lensFit: f } : { mode: w.mode, sigma: w.sigma, lensFit: f };
}

/**
 * What the Noise step describes: the block the run sends, or for a σ map the same map as the sigma-map block (the run
 * sends it as `--noise MAP.fits` does, which builds the same model), for its σ range.
 */
function describedSpec(n: NoiseSettings): { spec: NoiseSpec | string | null; files: string[] } {
  if (n.mode === 'map') return n.mapFile ? { spec: { model: 'sigma-map', sigmaFits: n.mapFile }, files: [n.mapFile] } : { spec: null, files: [] };
  return { spec: noiseSpecOf(n), files: noiseFileNames(n) };
}

/** What an estimate is for: the block described and the observation (plane) it was measured on. */
export function noiseDescribeKey(n: NoiseSettings, obs: { sha256: string; hdu: number; plane: number } | null): string {
  return JSON.stringify([describedSpec(n).spec, obs && `${obs.sha256}:${obs.hdu}:${obs.plane}`]);
}

let timer: ReturnType<typeof setTimeout> | null = null;
let seq = 0;

/** Asks the engine for the model the run would use, 200 ms after the last change. */
export function scheduleNoiseDescribe(delayMs = 200): void {
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => void describeNoiseNow(), delayMs);
}

export async function describeNoiseNow(): Promise<void> {
  const s = useStore.getState();
  const me = ++seq;
  const { spec, files: names } = describedSpec(s.noise);
  const key = noiseDescribeKey(s.noise, s.obs);
  if (!s.obs || !getObs() || spec === null) {
    s.setNoiseEstimate({ state: 'idle', estimate: null, error: null, key });
    return;
  }
  const wantGain = s.noise.mode === 'poisson-gaussian';
  if (typeof spec === 'string') {
    // nothing to build yet; the header's gain still shows where it would be used
    s.setNoiseEstimate({ state: 'idle', estimate: null, error: null, key });
    if (!wantGain) return;
  } else s.setNoiseEstimate({ state: 'checking', error: null });
  try {
    const files = auxFiles(names);
    const r = await withObs((obs) => getClient().request('noise.describe', typeof spec === 'string' ? { obs, files } : { obs, files, spec }));
    if (me !== seq) return;
    useStore.getState().setNoiseEstimate(typeof spec === 'string' ? { headerGain: r.headerGain } : { state: 'ok', estimate: r.estimate, headerGain: r.headerGain, error: null, key });
  } catch (e) {
    if (me !== seq) return;
    useStore.getState().setNoiseEstimate({ state: 'error', estimate: null, error: (e as Error).message, key });
  }
}
