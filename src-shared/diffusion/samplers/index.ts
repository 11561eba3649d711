/** The sampler registry: names, defaults, construction. */
import { validateSde } from '../sde.js';
import { createAld } from './ald.js';
import { createDps } from './dps.js';
import { createEm } from './em.js';
import { createPc } from './pc.js';
import { createUla } from './ula.js';
import { SAMPLERS, SamplerInputError, type Sampler, type SamplerFactoryArgs, type SamplerName } from './types.js';

export * from './types.js';
export { langevinStep, snrStepSize } from './langevin.js';
export { estimateStiffness } from './ula.js';
export { DEFAULT_SNR } from './pc.js';

export const DEFAULT_SAMPLER: SamplerName = 'pc';

/**
 * Default step counts. pc: 500 levels × (predictor + corrector) = 1000 score evaluations — on the 32×32
 * Gaussian-field test the posterior mean and variance are within Monte Carlo error from ~200 levels on, 500 leaves
 * margin for learned priors; em/dps: 1000 (one network pass per step, matching pc's cost); ald: 300 levels × 3
 * Langevin steps; ula: 2000 (burn-in included; a fixed-target chain needs ≳ 3/(Δ λmin) steps).
 */
export const DEFAULT_STEPS: Record<SamplerName, number> = { pc: 500, em: 1000, ald: 300, ula: 2000, dps: 1000 };

export function isSamplerName(s: string): s is SamplerName {
  return (SAMPLERS as readonly string[]).includes(s);
}

const FACTORIES: Record<SamplerName, (a: SamplerFactoryArgs) => Sampler> = {
  pc: createPc,
  em: createEm,
  ald: createAld,
  ula: createUla,
  dps: createDps,
};

export function createSampler(name: string, args: SamplerFactoryArgs): Sampler {
  if (!isSamplerName(name)) throw new SamplerInputError(`unknown sampler '${name}' (one of ${SAMPLERS.join(', ')})`);
  validateSde(args.sde);
  const minSteps = name === 'ald' ? 2 : 1;
  if (!Number.isInteger(args.steps) || args.steps < minSteps || args.steps > 1_000_000) {
    throw new SamplerInputError(`${name}: steps must be an integer ${minSteps}..1000000, got ${args.steps}`);
  }
  return FACTORIES[name](args);
}
