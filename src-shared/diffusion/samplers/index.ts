/** The sampler registry: names, defaults, construction. */
import { validateSde } from '../sde.js';
import { createAld } from './ald.js';
import { createDps } from './dps.js';
import { createEm } from './em.js';
import { createPc } from './pc.js';
import { createUla } from './ula.js';
import { SamplerInputError, type Sampler, type SamplerFactoryArgs } from './types.js';
import { SAMPLERS, SAMPLER_INFO, MAX_STEPS, isSamplerName, type SamplerName } from './spec.js';

export * from './types.js';
export * from './spec.js';
export { langevinStep, snrStepSize } from './langevin.js';
export { estimateStiffness } from './ula.js';

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
  const minSteps = SAMPLER_INFO[name].minSteps;
  if (!Number.isInteger(args.steps) || args.steps < minSteps || args.steps > MAX_STEPS) {
    throw new SamplerInputError(`${name}: steps must be an integer ${minSteps}..${MAX_STEPS}, got ${args.steps}`);
  }
  return FACTORIES[name](args);
}
