/**
 * A learned noise prior from its model folder's contents (model.json with a `noisePrior` block, and its weights):
 * the plain-data LearnedNoise of ../operators/noise.ts, with the figures the user is shown (what it was trained
 * on, its σ). Pure: the host reads the folder.
 */
import { NoiseInputError } from '../operators/errors.js';
import type { LearnedNoise } from '../operators/noise.js';
import { validatePriorMeta } from '../diffusion/nn/prior-meta.js';

/** What a noise prior is, for the Noise step, the report and the notes. */
export interface NoisePriorSummary {
  name: string;
  /** The noise's empirical σ, mean, MAD σ (data units), excess kurtosis, neighbour correlation. */
  sigma: number;
  mean: number;
  madSigma: number;
  excessKurtosis: number;
  lag1: { x: number; y: number };
  unit: string;
  /** What it was trained on: the data source, patches, steps, validation loss. */
  source: string;
  patch: number;
  patches: number;
  steps: number;
  validationLoss: number | null;
  sigmaRange: [number, number];
}

/** The LearnedNoise of a folder's model.json (parsed) and weight bytes; `name` in messages (the folder). */
export function learnedNoiseFrom(metaJson: unknown, weights: Uint8Array, name: string): { learned: LearnedNoise; summary: NoisePriorSummary } {
  const meta = validatePriorMeta(metaJson, `${name}/model.json`);
  const np = meta.noisePrior;
  if (!np) throw new NoiseInputError(`${name} is an image prior, not a noise prior (model.json has no noisePrior block): train one with skyscore train --kind noise`);
  const { offset, scale } = meta.normalisation;
  const st = np.statistics;
  const learned: LearnedNoise = {
    network: { meta, weights },
    offset,
    scale,
    variance: (st.std / scale) ** 2,
    sigmaMin: meta.sde.sigmaMin,
    sigmaMax: meta.sde.sigmaMax,
    name,
  };
  const summary: NoisePriorSummary = {
    name,
    sigma: st.std,
    mean: st.mean,
    madSigma: st.madSigma,
    excessKurtosis: st.excessKurtosis,
    lag1: st.lag1,
    unit: np.unit,
    source: String(meta.data.source),
    patch: np.patch,
    patches: np.patches,
    steps: meta.steps,
    validationLoss: meta.validationLoss,
    sigmaRange: [meta.sde.sigmaMin * scale, meta.sde.sigmaMax * scale],
  };
  return { learned, summary };
}

const fmt = (v: number) => Number(v.toPrecision(4));

/** One line for notes and the Noise step. */
export function describeNoisePrior(s: NoisePriorSummary): string {
  const base = s.source.split(/[\\/]/).pop();
  return (
    `learned noise prior ${s.name}: trained on ${s.patches} patches of ${s.patch}×${s.patch} from ${base} (${s.steps} steps), ` +
    `noise σ ${fmt(s.sigma)} (MAD σ ${fmt(s.madSigma)}), mean ${fmt(s.mean)}, excess kurtosis ${s.excessKurtosis.toFixed(2)}, neighbour correlation ${s.lag1.x.toFixed(3)} (x) / ${s.lag1.y.toFixed(3)} (y)`
  );
}
