/**
 * The bundled example (the one `skyscore demo` reconstructs), as the host gives it to the app for its welcome
 * card and its "Open example" entry: the observation and the truth as FITS bytes, the forward model (M.json
 * text), the noise σ, the default prior and the demo's sampler settings. Composed into `Methods` /
 * `methodParams` in ./index.ts. `exampleResult` checks an answer before the renderer uses it.
 */
import { ProtocolError, obj, num, str, bool, bytes, nullable, type Validator } from './validate.js';
import { samplerSettings, type NamedFile, type SamplerSettings } from './jobs.js';

export interface ExamplePrior {
  /** The spec the prior picker lists it under (priors.list). */
  spec: string;
  name: string;
  /** One line: the title of its model card. */
  description: string;
  /** True when the learned default (models/galaxy-64) is not installed and the Gaussian-field prior stands in. */
  fallback: boolean;
}

export interface ExampleInfo {
  /** For the welcome card: "reconstruct a galaxy blurred by a 4-px PSF with noise". */
  headline: string;
  /** What the example is, in a sentence or two. */
  description: string;
  observation: NamedFile;
  /** The noiseless image, for comparison (never given to the run). */
  truth: NamedFile | null;
  /** The forward model, M.json text (its files, if any, would be named in it; the demo's has none). */
  model: { name: string; text: string };
  /** σ of the white noise, in the observation's units. */
  noise: number;
  /** The default prior, or null when no prior for the example is installed. */
  prior: ExamplePrior | null;
  settings: SamplerSettings;
  /** Where the flux scale comes from, in words. */
  fluxSource: string;
}

export interface ExampleMethods {
  'example.get': { params: Record<string, never>; result: ExampleInfo };
}

export const exampleMethodParams: { [M in keyof ExampleMethods]: Validator<ExampleMethods[M]['params']> } = {
  'example.get': obj({}) as Validator<Record<string, never>>,
};

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._ +-]{0,200}$/;
/** The example's files are small; anything near this is not the bundled example. */
export const MAX_EXAMPLE_FILE = 64 * 1024 * 1024;

const file: Validator<NamedFile> = (v, p) => {
  const f = obj({ name: str({ max: 200, pattern: FILE_NAME }), bytes })(v, p);
  if (f.bytes.byteLength === 0) throw new ProtocolError(`${p}.bytes: the file is empty`);
  if (f.bytes.byteLength > MAX_EXAMPLE_FILE) throw new ProtocolError(`${p}.bytes: ${f.bytes.byteLength} bytes is more than an example file holds`);
  return f;
};

/** Checks the host's answer to `example.get` (the renderer trusts no message either). */
export const exampleResult: Validator<ExampleInfo> = (v, p) => {
  const r = obj({
    headline: str({ max: 200 }),
    description: str({ max: 2000 }),
    observation: file,
    truth: nullable(file),
    model: obj({ name: str({ max: 200, pattern: FILE_NAME }), text: str({ max: 1_000_000 }) }),
    noise: num({ min: Number.MIN_VALUE }),
    prior: nullable(obj({ spec: str({ max: 1000 }), name: str({ max: 200 }), description: str({ max: 500 }), fallback: bool })),
    settings: samplerSettings,
    fluxSource: str({ max: 500 }),
  })(v, p);
  return { ...r, truth: r.truth ?? null, prior: r.prior ?? null };
};
