/**
 * The noise model of a reconstruction from what the user gives (command-line flags or M.json's `noise` block):
 *  - white: one σ;
 *  - sigma-map: σ per pixel (a FITS map);
 *  - correlated: the power spectrum measured from a blank-sky box of the observation or from a noise-only image
 *    (spectrum.ts), with σ from it or given (a number or a map: Σ = D^{1/2} C D^{1/2});
 *  - poisson-gaussian: counts, σ² = max(μ + sky, 0)/gain + rn²/gain² at a pilot estimate μ of the signal
 *    (../operators/noise.ts: poissonGaussianNoise), the gain in e⁻/ADU given or read from the header (GAIN,
 *    CCDGAIN, ATODGAIN; 1 when BUNIT says the data are in electrons).
 *  - learned: a learned noise prior (`skyscore train --kind noise`): the noise network's score in the likelihood
 *    (../diffusion/likelihood/learned-noise.ts), its empirical σ for χ² (learned.ts reads its folder's contents).
 * Pure: the host reads the files and passes their pixels.
 */
import { NoiseInputError } from '../operators/errors.js';
import { correlatedNoise, learnedNoiseModel, noiseMap, poissonGaussianNoise, scalarNoise, type LearnedNoise, type NoiseModel } from '../operators/noise.js';
import { describeNoisePrior, type NoisePriorSummary } from './learned.js';
import type { Shape2 } from '../operators/types.js';
import type { FitsHeader } from '../fits/header.js';
import { estimateNoiseSpectrum, type PixelBox } from './spectrum.js';

export const NOISE_MODEL_NAMES = ['white', 'sigma-map', 'correlated', 'poisson-gaussian', 'learned'] as const;
export type NoiseModelKind = (typeof NOISE_MODEL_NAMES)[number];

export function isNoiseModelKind(v: unknown): v is NoiseModelKind {
  return typeof v === 'string' && (NOISE_MODEL_NAMES as readonly string[]).includes(v);
}

export interface ImagePixels {
  data: ArrayLike<number>;
  shape: Shape2;
  /** The file's name, in messages. */
  name: string;
}

export interface NoiseRequest {
  /** Default: white for a σ, sigma-map for a map. */
  model?: NoiseModelKind;
  sigma?: number | ImagePixels;
  /** correlated: a blank-sky box of the observation (0-based pixels, x1 and y1 exclusive)… */
  region?: PixelBox;
  /** …or a noise-only image (any size of at least 8×8). */
  noiseImage?: ImagePixels;
  /** poisson-gaussian: e⁻ per ADU (default: from the header), read noise in e⁻, a subtracted sky in ADU. */
  gain?: number;
  readNoise?: number;
  sky?: number;
  /** learned: the noise prior, read from its folder by the host (learned.ts learnedNoiseFrom). */
  learned?: { learned: LearnedNoise; summary: NoisePriorSummary };
}

export interface BuiltNoise {
  noise: NoiseModel;
  kind: NoiseModelKind;
  /** Short text for headers (SKYNOISE). */
  text: string;
  /** For report.json's noiseModel. */
  details: Record<string, unknown>;
  notes: string[];
}

/** GAIN, CCDGAIN or ATODGAIN from a header (the first positive one), and which; 1 for data in electrons. */
export function headerGain(header: FitsHeader | undefined): { gain: number; source: string } | null {
  if (!header) return null;
  for (const key of ['GAIN', 'CCDGAIN', 'ATODGAIN']) {
    const v = header.getNumber(key);
    if (v !== undefined && v > 0 && Number.isFinite(v)) return { gain: v, source: `header ${key}` };
  }
  const unit = header.getString('BUNIT')?.trim().toUpperCase();
  if (unit === 'ELECTRONS' || unit === 'ELECTRON' || unit === 'E-') return { gain: 1, source: `BUNIT '${unit}' (data in e⁻)` };
  return null;
}

const fmt = (v: number) => Number(v.toPrecision(6));

function sigmaPart(s: number | ImagePixels | undefined, shape: Shape2): number | ArrayLike<number> | undefined {
  if (s === undefined || typeof s === 'number') return s;
  if (s.shape[0] !== shape[0] || s.shape[1] !== shape[1]) {
    throw new NoiseInputError(`${s.name}: the σ map is ${s.shape[1]}×${s.shape[0]} (NAXIS1×NAXIS2) but the data are ${shape[1]}×${shape[0]}`);
  }
  return s.data;
}

/** Builds the noise model for data `obs` ([ny, nx]); every problem is a NoiseInputError in the user's terms. */
export function buildNoise(req: NoiseRequest, obs: { data: ArrayLike<number>; shape: Shape2; header?: FitsHeader; name: string }): BuiltNoise {
  const kind: NoiseModelKind = req.model ?? (req.sigma !== undefined && typeof req.sigma !== 'number' ? 'sigma-map' : 'white');
  const shape = obs.shape;
  const unused = (fields: [string, unknown][]) => {
    const extra = fields.filter(([, v]) => v !== undefined).map(([k]) => k);
    if (extra.length) throw new NoiseInputError(`the ${kind} noise model takes no ${extra.join(', ')}`);
  };
  switch (kind) {
    case 'white': {
      unused([['noise region', req.region], ['noise image', req.noiseImage], ['gain', req.gain], ['read noise', req.readNoise], ['sky', req.sky]]);
      if (typeof req.sigma !== 'number') throw new NoiseInputError('the white noise model needs σ, a positive number (a σ map: the sigma-map model)');
      return { noise: scalarNoise(req.sigma), kind, text: String(req.sigma), details: { model: kind, sigma: req.sigma }, notes: [] };
    }
    case 'sigma-map': {
      unused([['noise region', req.region], ['noise image', req.noiseImage], ['gain', req.gain], ['read noise', req.readNoise], ['sky', req.sky]]);
      if (req.sigma === undefined || typeof req.sigma === 'number') throw new NoiseInputError('the sigma-map noise model needs a FITS σ map');
      const map = req.sigma;
      sigmaPart(map, shape);
      const base = map.name.split(/[\\/]/).pop()!;
      return { noise: noiseMap(map.data, map.shape, map.name), kind, text: base, details: { model: kind, map: base }, notes: [] };
    }
    case 'correlated': {
      unused([['gain', req.gain], ['read noise', req.readNoise], ['sky', req.sky]]);
      if ((req.region === undefined) === (req.noiseImage === undefined)) {
        throw new NoiseInputError('the correlated noise model needs exactly one of a blank-sky region of the observation (x0,y0,x1,y1) or a noise-only image');
      }
      const src = req.region ? { data: obs.data, shape, name: obs.name } : req.noiseImage!;
      const est = estimateNoiseSpectrum(src.data, src.shape, shape, { box: req.region, what: req.region ? `noise region of ${obs.name}` : `noise image ${src.name}` });
      const sigma = sigmaPart(req.sigma, shape);
      const noise = correlatedNoise(est.power, shape, sigma);
      const b = est.box;
      const from = req.region ? `region ${b.x0},${b.y0},${b.x1},${b.y1}` : `image ${src.name.split(/[\\/]/).pop()}`;
      const notes = [
        `correlated noise measured from the ${from}: σ ${fmt(Math.sqrt(est.variance))}, neighbour correlation ${est.lag1.x.toFixed(3)} (x) / ${est.lag1.y.toFixed(3)} (y), ${est.tiles} tiles of ${est.tile}²`,
      ];
      return {
        noise,
        kind,
        text: `correlated ${from}`,
        details: {
          model: kind,
          source: from,
          measuredSigma: fmt(Math.sqrt(est.variance)),
          sigma: sigma === undefined ? 'measured' : typeof sigma === 'number' ? sigma : (req.sigma as ImagePixels).name.split(/[\\/]/).pop(),
          lag1: { x: fmt(est.lag1.x), y: fmt(est.lag1.y) },
          tile: est.tile,
          tiles: est.tiles,
        },
        notes,
      };
    }
    case 'learned': {
      unused([['σ', req.sigma], ['gain', req.gain], ['read noise', req.readNoise], ['sky', req.sky]]);
      if (!req.learned) throw new NoiseInputError('the learned noise model needs a noise prior (a folder made by skyscore train --kind noise)');
      if (req.region !== undefined && req.noiseImage !== undefined) throw new NoiseInputError('the learned noise model takes at most one of a noise region and a noise image');
      const { learned, summary: s } = req.learned;
      const base = s.name.split(/[\\/]/).pop()!;
      // a blank-sky region or noise-only image: the noise's power spectrum, the likelihood's Gaussian part
      // (learned-noise.ts: the network then supplies only the noise's departure from that correlated Gaussian)
      let spectrum: { correlation: Float32Array; from: string; lag1: { x: number; y: number } } | null = null;
      if (req.region !== undefined || req.noiseImage !== undefined) {
        const src = req.region ? { data: obs.data, shape, name: obs.name } : req.noiseImage!;
        const est = estimateNoiseSpectrum(src.data, src.shape, shape, { box: req.region, what: req.region ? `noise region of ${obs.name}` : `noise image ${src.name}` });
        const b = est.box;
        const from = req.region ? `region ${b.x0},${b.y0},${b.x1},${b.y1}` : `image ${src.name.split(/[\\/]/).pop()}`;
        spectrum = { correlation: (correlatedNoise(est.power, shape) as { correlation: Float32Array }).correlation, from, lag1: est.lag1 };
      }
      return {
        noise: learnedNoiseModel(learned, shape, spectrum?.correlation),
        kind,
        text: `learned ${base}`,
        details: {
          model: kind,
          prior: base,
          sigma: fmt(s.sigma),
          mean: fmt(s.mean),
          madSigma: fmt(s.madSigma),
          excessKurtosis: fmt(s.excessKurtosis),
          lag1: { x: fmt(s.lag1.x), y: fmt(s.lag1.y) },
          trainedOn: s.source.split(/[\\/]/).pop(),
          sigmaRange: s.sigmaRange.map(fmt),
          likelihood: '−Aᵀ s_Q(y − A x) with the noise network at the effective level σ·√mean(diag A Aᵀ); χ² with the noise’s σ',
          ...(spectrum ? { gaussianPart: { spectrumFrom: spectrum.from, lag1: { x: fmt(spectrum.lag1.x), y: fmt(spectrum.lag1.y) } } } : {}),
        },
        notes: [
          describeNoisePrior(s),
          ...(spectrum
            ? [`the learned noise's Gaussian part: correlated, its spectrum measured from the ${spectrum.from} (neighbour correlation ${spectrum.lag1.x.toFixed(3)} (x) / ${spectrum.lag1.y.toFixed(3)} (y)); the network gives the departure from it`]
            : []),
        ],
      };
    }
    case 'poisson-gaussian': {
      unused([['σ', req.sigma], ['noise region', req.region], ['noise image', req.noiseImage]]);
      const fromHeader = headerGain(obs.header);
      const gain = req.gain ?? fromHeader?.gain;
      if (gain === undefined) throw new NoiseInputError(`the poisson-gaussian noise model needs the gain in e⁻/ADU: ${obs.name} has no GAIN, CCDGAIN or ATODGAIN card; give it`);
      if (req.readNoise === undefined) throw new NoiseInputError('the poisson-gaussian noise model needs the read noise in e⁻');
      const params = { gain, readNoise: req.readNoise, sky: req.sky };
      const noise = poissonGaussianNoise(obs.data, shape, params);
      const gainSource = req.gain !== undefined ? 'given' : fromHeader!.source;
      return {
        noise,
        kind,
        text: `poisson-gaussian gain ${fmt(gain)} rn ${fmt(req.readNoise)}`,
        details: { model: kind, gain, gainSource, readNoise: req.readNoise, sky: req.sky ?? 0, variance: 'max(μ + sky, 0)/gain + rn²/gain², μ the data’s 3×3 box mean' },
        notes: [`Poisson–Gaussian σ map: gain ${fmt(gain)} e⁻/ADU (${gainSource}), read noise ${fmt(req.readNoise)} e⁻, evaluated at the data's 3×3 box mean`],
      };
    }
  }
}
