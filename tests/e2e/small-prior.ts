/**
 * Small U-Net priors for the end-to-end tests: trained for a few steps (the same training run as `skyscore
 * train` and the app's training job) on 64 Galaxy Zoo galaxies, at 64×64 and 32×32, with a model card saying
 * what they are. They make the sampling machinery run in seconds; they are not useful priors.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { dataPath } from '../helpers/data.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { runTraining } from '../../src-main/train/run.js';
import { DEFAULT_ARCH } from '../../src-shared/diffusion/nn/unet.js';

function galaxies(n: number): Uint8Array {
  const h = readFits(new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits')))).hdus[0]!;
  return writeFits([{ data: Uint8Array.from(h.readImage().data.subarray(0, n * 64 * 64)), shape: [64, 64, n] }]);
}

export async function makeSmallPriors(modelsDir: string): Promise<void> {
  const data = galaxies(64);
  for (const size of [64, 32]) {
    const out = path.join(modelsDir, `tiny-${size}`);
    if (existsSync(path.join(out, 'model.json'))) continue;
    await runTraining({
      data: [{ name: 'galaxies-64.fits', bytes: data }],
      dataSource: 'galaxyzoo_kaggle2000_gray64.fits (first 64 images)',
      out,
      resume: false,
      size,
      steps: 3,
      batch: 4,
      lr: 1e-3,
      warmup: 1,
      ema: 0.9,
      gradClip: 1,
      sigmaMin: null,
      sigmaMax: null,
      scale: null,
      offset: 0,
      split: undefined,
      valFraction: 0.1,
      valSize: 8,
      arch: { ...DEFAULT_ARCH, nf: 8, chMult: [1, 2], numResBlocks: 1, attention: false, embeddingDim: 16 },
      augment: true,
      seed: 1,
      backend: 'wasm',
      workers: 1,
      microBatch: 8,
      weightsDtype: 'float32',
      logEvery: 1,
      checkpointEvery: 0,
      valEvery: 0,
      explicit: new Set(),
    });
    writeFileSync(
      path.join(out, 'README.md'),
      `# tiny-${size} (test prior)\n\nA U-Net of width 8 trained for 3 steps on 64 SDSS galaxies from Galaxy Zoo, resampled to ${size}×${size}.\n\n- For the end-to-end tests only: it is not a useful prior.\n- Data: Galaxy Zoo (Kaggle challenge) images of SDSS DR7.\n`,
    );
  }
}
