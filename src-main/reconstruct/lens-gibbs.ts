/**
 * Joint lens–source sampling (`skyscore reconstruct --sample-lens LENS.json`): Metropolis-within-Gibbs over the
 * source and the lens's mass parameters. Each iteration (i) draws the source from the diffusion posterior given
 * the current lens — the run's own sampler, one chain, its steps, a seed of its own — and (ii) moves the lens by
 * random-walk Metropolis on p(θ | x, y) ∝ N(y; b + P L(θ) x, diag σ²) · flat prior, the proposal covariance
 * c²·C with C the mass block of lens-fit's covariance (src-shared/lensing/lens-mcmc.ts) and c adapted during the
 * burn-in from 2.38/√d towards 23 % acceptance (the conditional given one source is narrower than the fit's
 * marginal errors), fixed afterwards. The source step draws
 * from the diffusion posterior, an approximation of the exact conditional p(x | θ, y), so the chain targets the
 * joint posterior only as far as that approximation holds (docs/lensing.md). Models of the form lens [→ psf]
 * [→ mask] with white or σ-map noise.
 */
import { readFileSync } from 'node:fs';
import { runSampling, SamplingCancelledError, type SamplingResult } from '../../src-shared/diffusion/posterior.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { toDataUnits } from '../../src-shared/diffusion/products.js';
import { instantiateForwardModel } from '../../src-shared/operators/forward-model.js';
import { lensParams, type ForwardModelSpec, type LensStage } from '../../src-shared/operators/forward-model-spec.js';
import type { PsfKernel } from '../../src-shared/operators/psf.js';
import { sigmaArray } from '../../src-shared/operators/noise.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { lensLogConditional, randomWalkMetropolis, type LensConditionalData } from '../../src-shared/lensing/lens-mcmc.js';
import { lensParamsFromMass, massFromLensParams, massOf, massVector } from '../../src-shared/lensing/mass.js';
import { EPL_MASS_NAMES, MASS_NAMES } from '../../src-shared/lensing/fit.js';
import type { LensParams } from '../../src-shared/operators/lens-model.js';
import { ReconstructInputError, type PreparedReconstruction } from './prepare.js';
import { finishReconstruction, type ReconstructionRun, type RunHooks } from './run.js';

export interface LensGibbsSettings {
  /** Gibbs iterations (source draw + lens steps); the first `burn` are dropped from the products and the posterior */
  iterations: number;
  burn: number;
  /** Metropolis steps on the lens per iteration */
  lensSteps: number;
  /** the proposal's covariance (mass block, the chain's parameter order) and where it came from */
  covariance: Float64Array;
  covarianceSource: string;
}

/**
 * The proposal covariance from lens-fit's lens.json: its `covariance` ({names, matrix}) restricted to the mass
 * parameters (θE, e1, e2, x0, y0, γ1, γ2, and γ for an EPL), in that order.
 */
export function lensCovarianceFromFile(file: string, epl: boolean): Float64Array {
  let doc: { covariance?: { names?: unknown; matrix?: unknown } | null };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ReconstructInputError(`${file}: not a readable lens.json (${(e as Error).message})`);
  }
  const cov = doc.covariance;
  if (!cov || !Array.isArray(cov.names) || !Array.isArray(cov.matrix)) throw new ReconstructInputError(`${file}: no covariance (lens-fit writes one unless --no-errors)`);
  const names = cov.names as string[];
  const n = names.length;
  const M = cov.matrix as number[];
  if (M.length !== n * n || !M.every(Number.isFinite)) throw new ReconstructInputError(`${file}: the covariance must be ${n}×${n} finite numbers`);
  const want = epl ? EPL_MASS_NAMES : MASS_NAMES;
  const idx = want.map((k) => names.indexOf(k));
  const missing = want.filter((_, i) => idx[i] < 0);
  if (missing.length) throw new ReconstructInputError(`${file}: the covariance has no ${missing.join(', ')}${epl && missing.includes('gamma') ? ' (the model is an EPL: use an EPL fit\'s lens.json)' : ''}`);
  const d = want.length;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) out[i * d + j] = M[idx[i] * n + idx[j]];
  return out;
}

/** The model's lens stage (first), its PSF (the psf stage after it, if any) and the fitted pixels, as the lens conditional's data. */
export function lensConditionalData(prep: PreparedReconstruction): { data: LensConditionalData; stage: LensStage; index: number } {
  const spec = prep.model.prepared.spec;
  const ops = spec.operators;
  const kinds = ops.map((o) => o.type).join(' → ');
  const ok = ops.length >= 1 && ops[0].type === 'lens' && ops.slice(1).every((o, k) => (o.type === 'psf' && k === 0) || o.type === 'mask') && ops.filter((o) => o.type === 'mask').length <= 1;
  if (!ok) throw new ReconstructInputError(`--sample-lens needs a model lens [→ psf] [→ mask] (as lens-fit writes), got ${kinds || 'no stages'}`);
  if (prep.window) throw new Error('lensConditionalData: the model runs on a window of the grid; prepare it with crop: false');
  if (prep.noise.kind === 'correlated') throw new ReconstructInputError('--sample-lens needs white or σ-map noise (the lens steps use a diagonal Gaussian likelihood)');
  const stage = ops[0] as LensStage;
  const res = prep.model.prepared.resources;
  const psfRes = res.find((r) => r.type === 'psf');
  const maskRes = res.find((r) => r.type === 'mask');
  const psf: PsfKernel | null = psfRes && psfRes.type === 'psf' ? psfRes.kernel : null;
  const mask = maskRes && maskRes.type === 'mask' ? maskRes.mask : null;
  const obs = prep.observation;
  const sigma = sigmaArray(prep.noise, obs.shape);
  const add = prep.model.prepared.additive;
  const pixels: number[] = [];
  for (let k = 0; k < obs.data.length; k++) {
    if (mask && mask[k] !== 1) continue;
    const s = sigma[k];
    if (!Number.isFinite(obs.data[k]) || !Number.isFinite(s) || !(s > 0)) continue;
    pixels.push(k);
  }
  const y = Float64Array.from(pixels, (k) => obs.data[k] - (add ? add[k] : 0));
  const w = Float64Array.from(pixels, (k) => 1 / (sigma[k] * sigma[k]));
  return {
    data: {
      y,
      w,
      pixels: Int32Array.from(pixels),
      image: { shape: [stage.imageShape[0], stage.imageShape[1]], scale: stage.imagePixelScale },
      source: { shape: [spec.shape[0], spec.shape[1]], scale: stage.sourcePixelScale },
      supersample: stage.supersample ?? 1,
      psf,
    },
    stage,
    index: 0,
  };
}

/** The spec with its lens stage's parameters replaced (the model's form: SIE, or EPL with its slope). */
function withLens(spec: ForwardModelSpec, index: number, p: LensParams): ForwardModelSpec {
  const st = spec.operators[index] as LensStage;
  const epl = st.lens.model === 'EPL';
  const lens: LensStage['lens'] = { model: epl ? 'EPL' : 'SIE', thetaE: p.thetaE, q: Math.min(1, p.q), phi: p.phi, x0: p.x0, y0: p.y0, ...(epl && { gamma: p.gamma ?? 2 }) };
  const ops = spec.operators.slice();
  ops[index] = { ...st, lens, shear: { gamma1: p.gamma1, gamma2: p.gamma2 } };
  return { ...spec, operators: ops };
}

/** Mean and standard deviation (N − 1) of the columns of a rows × d array. */
function columnMoments(rows: Float64Array[], d: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i] += r[i] / rows.length;
  for (const r of rows) for (let i = 0; i < d; i++) std[i] += (r[i] - mean[i]) ** 2 / Math.max(1, rows.length - 1);
  return { mean, std: std.map(Math.sqrt) };
}

/**
 * Runs the Gibbs sampler on a prepared reconstruction whose model has a lens: the source draws (after the burn-in)
 * are the products' samples, the residual and χ² are those at the lens posterior's mean, and report.json gains
 * `lensPosterior` (names, mean, std, the chain, acceptance rate, settings).
 */
export async function runLensGibbs(prep: PreparedReconstruction, g: LensGibbsSettings, hooks: RunHooks = {}): Promise<ReconstructionRun> {
  const s = prep.settings;
  if (!(g.iterations > g.burn && g.burn >= 0)) throw new ReconstructInputError(`--gibbs must exceed the burn-in (${g.burn}), got ${g.iterations}`);
  const { data: cd, stage, index } = lensConditionalData(prep);
  const epl = stage.lens.model === 'EPL';
  const names: string[] = [...(epl ? EPL_MASS_NAMES : MASS_NAMES)];
  const d = names.length;
  if (g.covariance.length !== d * d) throw new ReconstructInputError(`the proposal covariance must be ${d}×${d} (${names.join(', ')})`);
  const { model: _model, ...p0 } = lensParams(stage);
  let v = massVector(massFromLensParams(p0));
  if (epl && v.length !== 8) v = Float64Array.from([...v, p0.gamma ?? 2]);
  const rng = new SeededRandom(s.seed * 7919 + 17);
  const spec = prep.model.prepared.spec;
  const obs = prep.observation;
  const draws: Float32Array[] = [];
  const chain: Float64Array[] = [];
  let accepted = 0;
  let scale = 2.38 / Math.sqrt(d);
  let adapted = 0;
  let scoreEvaluations = 0;
  let samplingSeconds = 0;
  let last: SamplingResult | null = null;
  const t0 = Date.now();
  for (let it = 0; it < g.iterations; it++) {
    if (hooks.signal?.aborted) throw new SamplingCancelledError();
    // (i) a source draw from the diffusion posterior at the current lens
    const built = instantiateForwardModel({ ...prep.model.prepared, spec: withLens(spec, index, lensParamsFromMass(massOf(v))) });
    const lik = new ConvolvedLikelihood({ operator: built.operator, data: obs.data, dataShape: obs.shape, additive: built.additive, noise: prep.noise, affine: prep.affine, name: obs.name });
    let r: SamplingResult;
    try {
      r = await runSampling(
        { prior: prep.prior.model, sde: prep.prior.sde, shape: prep.inShape, likelihood: lik },
        { sampler: s.sampler, steps: s.steps, n: 1, seed: s.seed + 1000003 * it, samplerOptions: s.options, batchSize: 1, signal: hooks.signal },
      );
    } finally {
      lik.dispose();
      built.operator.dispose();
    }
    last = r;
    scoreEvaluations += r.scoreEvaluations;
    samplingSeconds += r.seconds;
    const x = toDataUnits(r.samples, prep.affine);
    // (ii) the lens given that source
    const logp = lensLogConditional(cd, x);
    // the proposal's scale adapts during the burn-in, then stays fixed
    const burning = it < g.burn;
    const m = randomWalkMetropolis(logp, { x: v, logp: logp(v) }, g.covariance, { steps: g.lensSteps, rng, scale, ...(burning && { adapt: { count: adapted } }) });
    v = m.state.x;
    scale = m.scale;
    if (burning) adapted = m.count;
    if (it >= g.burn) {
      accepted += m.accepted * g.lensSteps;
      draws.push(r.samples);
    }
    chain.push(Float64Array.from(v));
    hooks.onProgress?.({
      step: it + 1,
      steps: g.iterations,
      sigma: 0,
      chi2: null,
      elapsedS: (Date.now() - t0) / 1000,
      etaS: ((Date.now() - t0) / 1000 / (it + 1)) * (g.iterations - it - 1),
      scoreEvaluations,
    });
  }
  const kept = chain.slice(g.burn);
  const { mean, std } = columnMoments(kept, d);
  // the products: the kept source draws, the residual and χ² at the lens posterior's mean
  const n = draws.length;
  const per = prep.inShape[0] * prep.inShape[1];
  const samples = new Float32Array(n * per);
  draws.forEach((x, k) => samples.set(x, k * per));
  const result: SamplingResult = {
    ...last!,
    samples,
    n,
    seed: s.seed,
    chainOffset: 0,
    batchSize: 1,
    seconds: samplingSeconds,
    scoreEvaluations,
    conditionalMeans: null,
  };
  const meanLens = lensParamsFromMass(massOf(mean));
  const built = instantiateForwardModel({ ...prep.model.prepared, spec: withLens(spec, index, meanLens) });
  const lik = new ConvolvedLikelihood({ operator: built.operator, data: obs.data, dataShape: obs.shape, additive: built.additive, noise: prep.noise, affine: prep.affine, name: obs.name });
  try {
    const flags = ` --sample-lens ${g.covarianceSource} --gibbs ${g.iterations} --gibbs-burn ${g.burn} --lens-steps ${g.lensSteps}`;
    // the products' sample count is the kept draws'; the command line has the Gibbs flags in place of --n
    const run = await finishReconstruction({ ...prep, likelihood: lik, settings: { ...s, n } }, result, 1, samplingSeconds, { ...hooks, convergenceCheck: false }, (c) => c.replace(/ --n \d+/, '') + flags);
    run.report.lensPosterior = {
      names,
      mean,
      std,
      // q and φ of the mean ellipticity
      meanLens: { ...meanLens },
      acceptanceRate: accepted / Math.max(1, kept.length * g.lensSteps),
      iterations: g.iterations,
      burn: g.burn,
      lensStepsPerIteration: g.lensSteps,
      sourceDraw: `${s.sampler}, ${s.steps} steps, one chain per iteration`,
      // the proposal covariance is scale² C, the scale adapted over the burn-in from 2.38/√d
      proposal: { kind: 'random-walk Metropolis', scale, initialScale: 2.38 / Math.sqrt(d), adaptedSteps: adapted, covarianceFrom: g.covarianceSource },
      // the lens state after each iteration (burn-in included), in `names` order
      chain: chain.map((c) => Array.from(c)),
      note: 'Metropolis-within-Gibbs: the source step draws from the diffusion posterior, an approximation of the exact conditional p(source | lens, data)',
    };
    return run;
  } finally {
    lik.dispose();
    built.operator.dispose();
  }
}
