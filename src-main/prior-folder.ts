/**
 * Model folders (docs/architecture.md): models/NAME/model.json + the weights file it names (tfjs weight format) + README.md
 * (the model card, written by a person: never generated here). Reading gives a ScoreModel; writing is atomic per
 * file, weights first, so model.json never names weights that are not there.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ScoreModel } from '../src-shared/diffusion/types.js';
import { createUnetFromWeights, validatePriorMeta, type PriorMeta } from '../src-shared/diffusion/nn/prior-meta.js';
import { ScoreModelInputError } from '../src-shared/diffusion/nn/unet.js';
import { writeFileAtomic } from './io.js';

export type { PriorMeta };

async function readOrExplain(file: string, what: string): Promise<Uint8Array> {
  try {
    const b = await fs.readFile(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScoreModelInputError(`${file}: ${code === 'ENOENT' ? `no such file (${what})` : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
}

/** Reads and validates model.json of a model folder. */
export async function readPriorMeta(dir: string): Promise<PriorMeta> {
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    throw new ScoreModelInputError(`${dir}: no such model folder`);
  }
  if (!st.isDirectory()) throw new ScoreModelInputError(`${dir}: not a model folder (a folder with model.json and weights.bin)`);
  const file = path.join(dir, 'model.json');
  const bytes = await readOrExplain(file, 'a model folder holds model.json and its weights');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ScoreModelInputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return validatePriorMeta(json, file);
}

/** Loads a model folder as a score model (kind 'unet') with its metadata. */
export async function loadPriorFolder(dir: string): Promise<{ model: ScoreModel; meta: PriorMeta }> {
  const meta = await readPriorMeta(dir);
  const wfile = path.join(dir, meta.weights.file);
  const bytes = await readOrExplain(wfile, 'the weights named by model.json');
  try {
    return { model: createUnetFromWeights(meta, bytes), meta };
  } catch (e) {
    if (e instanceof ScoreModelInputError) throw new ScoreModelInputError(`${dir}: ${e.message}`);
    throw e;
  }
}

/** Writes model.json and its weights into `dir` (created if needed); each file atomically, weights first. */
export async function writePriorFolder(dir: string, meta: PriorMeta, weightBytes: Uint8Array): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, meta.weights.file), weightBytes);
  await writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(meta, null, 2) + '\n');
}
