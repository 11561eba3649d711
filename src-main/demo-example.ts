/**
 * The bundled example (assets/demo): one place for what `skyscore demo` runs and what the desktop app offers on
 * first start (the engine's `example.get`). The example is a validation galaxy of the Galaxy Zoo cube (never
 * trained on) in pixel/255 units, blurred by the forward model of assets/demo/model.json (a Gaussian PSF) with
 * white noise of the σ in demo.json; truth.fits is the galaxy itself, for comparison.
 *
 * The prior is the default one (evaluation.ts's defaultPrior(): models/galaxy-64 when it holds a model, else the
 * Gaussian-field models/galaxy-gaussian-64); the app applies the same rule to the engine's prior list, so that
 * the picker's entry is selected. The sampler settings are the demo's: pc with its default steps, 8 samples,
 * the demo's seed, and the flux scale for pixel/255 data (fluxScaleForUnitData), never the automatic rule.
 */
import path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { APP_ROOT, DEFAULT_GAUSSIAN, DEFAULT_UNET, fluxScaleForUnitData } from './evaluation.js';
import { resolvePrior } from './priors.js';
import { DEFAULT_STEPS } from '../src-shared/diffusion/samplers/index.js';
import type { ExampleInfo, PriorInfo, SamplerSettings } from '../src-shared/protocol/index.js';
import { UserInputError } from '../src-shared/errors.js';

/** Finds assets/demo from this module: src-main/ when run from source, out/main/ (or a chunk below it) when built. */
function findDemoDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++) {
    const cand = path.join(dir, 'assets', 'demo');
    if (existsSync(path.join(cand, 'demo.json'))) return cand;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.join(APP_ROOT, 'assets', 'demo');
}

export const DEMO_DIR = findDemoDir();

/** assets/demo/demo.json. */
export interface DemoJson {
  observation: string;
  truth: string;
  model: string;
  noise: number;
  seed?: number;
  galaxyIndex?: number;
  galaxyId?: string;
}

export class DemoInputError extends UserInputError {
  override name = 'DemoInputError';
}

export async function readDemoJson(dir = DEMO_DIR): Promise<DemoJson> {
  const file = path.join(dir, 'demo.json');
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DemoInputError(`${file}: the bundled example cannot be read (${(e as Error).message})`);
  }
  for (const k of ['observation', 'truth', 'model'] as const) {
    if (typeof d[k] !== 'string' || !d[k] || /[\\/]/.test(d[k] as string)) throw new DemoInputError(`${file}: "${k}" must name a file beside demo.json`);
  }
  if (typeof d.noise !== 'number' || !(d.noise > 0)) throw new DemoInputError(`${file}: "noise" must be a positive number`);
  return d as unknown as DemoJson;
}

/** The demo's sampler: predictor–corrector with its default steps, 8 posterior samples. */
export const DEMO_SAMPLER = 'pc';
export const DEMO_SAMPLES = 8;
export const DEMO_STEPS = DEFAULT_STEPS.pc;

/** The demo's sampler settings (the seed from demo.json unless given; the flux scale for pixel/255 data). */
export function demoSettings(demo: DemoJson, fluxScale: number, o: { n?: number; steps?: number; seed?: number } = {}): SamplerSettings {
  return { sampler: DEMO_SAMPLER, n: o.n ?? DEMO_SAMPLES, steps: o.steps ?? DEMO_STEPS, seed: o.seed ?? demo.seed ?? 0, fluxScale };
}

/** The flux scale of the demo's pixel/255 data for a prior (resolves the prior once, then frees it). */
export async function demoFluxScale(spec: string): Promise<{ value: number; source: string }> {
  const prior = await resolvePrior(spec);
  try {
    return fluxScaleForUnitData(prior);
  } finally {
    prior.dispose();
  }
}

/** Folder names of the default prior, best first (defaultPrior()'s rule). */
export const DEMO_PRIOR_NAMES = [path.basename(DEFAULT_UNET), path.basename(DEFAULT_GAUSSIAN)] as const;

/**
 * The default prior among the priors the app lists (shipped ones only): the U-Net models/galaxy-64 when it is
 * there and readable, else the Gaussian-field galaxy-gaussian-64; null when neither is installed.
 */
export function pickDemoPrior(priors: readonly PriorInfo[]): { prior: PriorInfo; fallback: boolean } | null {
  for (const [i, name] of DEMO_PRIOR_NAMES.entries()) {
    const p = priors.find((x) => x.source === 'shipped' && x.name === name);
    if (p) return { prior: p, fallback: i > 0 };
  }
  return null;
}

/** The first heading of a model card, without its '#'s and without the prior's name before a dash (or null). */
function cardTitle(card: string, name: string): string | null {
  const m = /^#{1,6}\s+(.+)$/m.exec(card);
  if (!m) return null;
  const t = m[1]!.replace(/\*\*|`/g, '').trim();
  const rest = t.startsWith(name) ? t.slice(name.length).replace(/^\s*[—–:-]\s*/, '') : t;
  return rest || t;
}

interface ModelJson {
  shape?: unknown;
  operators?: { type?: unknown; fwhmPx?: unknown }[];
}

/** The Gaussian PSF's FWHM in pixels from the model, or null when its PSF is not a Gaussian one. */
function psfFwhm(model: ModelJson): number | null {
  const psf = model.operators?.find((o) => o.type === 'psf');
  return psf && typeof psf.fwhmPx === 'number' ? +psf.fwhmPx.toPrecision(3) : null;
}

/**
 * The bundled example as the app loads it: the observation and truth FITS bytes, the M.json text, the noise σ,
 * the default prior of `priors` (the engine's list, by its id) with a one-line description, and the demo's
 * settings. `localSpec` gives the spec the engine resolves a listed prior by (its folder).
 */
export async function loadExample(priors: readonly PriorInfo[], dir = DEMO_DIR, localSpec: (id: string) => string = (id) => id): Promise<ExampleInfo> {
  const demo = await readDemoJson(dir);
  const read = async (name: string) => {
    try {
      return new Uint8Array(await fs.readFile(path.join(dir, name)));
    } catch (e) {
      throw new DemoInputError(`${path.join(dir, name)}: the bundled example is incomplete (${(e as Error).message})`);
    }
  };
  // read together, but where several files are missing name the first in this order, not whichever fails first
  const settled = await Promise.allSettled([read(demo.observation), read(demo.truth), read(demo.model)]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [observation, truth, modelBytes] = settled.map((r) => (r as PromiseFulfilledResult<Uint8Array>).value) as [Uint8Array, Uint8Array, Uint8Array];
  const modelText = new TextDecoder().decode(modelBytes);
  let model: ModelJson;
  try {
    model = JSON.parse(modelText) as ModelJson;
  } catch (e) {
    throw new DemoInputError(`${path.join(dir, demo.model)}: not valid JSON (${(e as Error).message})`);
  }
  const shape = Array.isArray(model.shape) && model.shape.length === 2 ? `${model.shape[0]}×${model.shape[1]}` : '';
  const pick = pickDemoPrior(priors);
  let flux: { value: number; source: string } = { value: 1, source: 'no prior installed' };
  if (pick) flux = await demoFluxScale(localSpec(pick.prior.spec));
  const fwhm = psfFwhm(model);
  const galaxy = `Galaxy Zoo galaxy ${demo.galaxyId ?? '?'}${demo.galaxyIndex !== undefined ? ` (validation image ${demo.galaxyIndex}, never trained on)` : ''}`;
  return {
    headline: `reconstruct a galaxy blurred by ${fwhm !== null ? `a ${fwhm}-px PSF` : 'a PSF'} with noise`,
    description:
      `${galaxy}${shape ? `, ${shape} px` : ''}, in units of pixel/255, blurred by ${fwhm !== null ? `a Gaussian PSF of ${fwhm} px FWHM` : 'the PSF of the forward model'} ` +
      `with white noise σ = ${+demo.noise.toPrecision(4)}: the same example as skyscore demo.`,
    observation: { name: demo.observation, bytes: observation },
    truth: { name: demo.truth, bytes: truth },
    model: { name: demo.model, text: modelText },
    noise: demo.noise,
    prior: pick
      ? {
          spec: pick.prior.spec,
          name: pick.prior.name,
          description: cardTitle(pick.prior.card, pick.prior.name) ?? `${pick.prior.name} (${pick.prior.kind})`,
          fallback: pick.fallback,
        }
      : null,
    settings: demoSettings(demo, flux.value),
    fluxSource: flux.source,
  };
}
