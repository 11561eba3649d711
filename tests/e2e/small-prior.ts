/**
 * Small U-Net priors for the end-to-end tests: trained for a few steps (the same training run as `skyscore
 * train` and the app's training job) on 64 Galaxy Zoo galaxies, at 64×64 and 32×32, with a model card saying
 * what they are. They make the sampling machinery run in seconds; they are not useful priors.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { dataPath } from '../helpers/data.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { runTraining } from '../../src-main/train/run.js';
import { DEFAULT_ARCH } from '../../src-shared/diffusion/nn/unet.js';
import { fft2d } from '../../src-shared/operators/fft.js';

function galaxies(n: number): Uint8Array {
  const h = readFits(new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits')))).hdus[0]!;
  return writeFits([{ data: Uint8Array.from(h.readImage().data.subarray(0, n * 64 * 64)), shape: [64, 64, n] }]);
}

/** A U-Net of width 8 trained for 3 steps on a small cube (the same run as `skyscore train`): fast, not useful. */
export async function trainTinyPrior(out: string, size: number, file: { name: string; bytes: Uint8Array }, dataSource: string): Promise<void> {
  await runTraining({
    data: [file],
    dataSource,
    out,
    resume: false,
    size,
    steps: 3,
    batch: 4,
    lr: 1e-3,
    warmup: 1,
    cooldown: 0,
    sigmaFocus: null,
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
}

export async function makeSmallPriors(modelsDir: string): Promise<void> {
  const data = galaxies(64);
  for (const size of [64, 32]) {
    const out = path.join(modelsDir, `tiny-${size}`);
    if (existsSync(path.join(out, 'model.json'))) continue;
    await trainTinyPrior(out, size, { name: 'galaxies-64.fits', bytes: data }, 'galaxyzoo_kaggle2000_gray64.fits (first 64 images)');
    writeFileSync(
      path.join(out, 'README.md'),
      `# tiny-${size} (test prior)\n\nA U-Net of width 8 trained for 3 steps on 64 SDSS galaxies from Galaxy Zoo, resampled to ${size}×${size}.\n\n- For the end-to-end tests only: it is not a useful prior.\n- Data: Galaxy Zoo (Kaggle challenge) images of SDSS DR7.\n`,
    );
  }
}

/**
 * A stationary Gaussian-field prior for 64×64 galaxies in data units: P(k) = mean over `n` images of
 * |F x|² with F the orthonormal 2-D DFT (numpy fft2 layout), written as models/NAME/power-spectrum.fits.
 * Its score is exact: the posterior under a PSF is the Wiener filter's.
 */
export function makeGaussianFieldPrior(modelsDir: string, name: string, n = 200): void {
  const out = path.join(modelsDir, name);
  if (existsSync(path.join(out, 'power-spectrum.fits'))) return;
  const h = readFits(new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits')))).hdus[0]!;
  const all = h.readImage().data;
  const N = 64 * 64;
  const p = new Float64Array(N);
  for (let k = 0; k < n; k++) {
    const re = Float64Array.from(all.subarray(k * N, (k + 1) * N));
    const im = new Float64Array(N);
    fft2d(re, im, 64, 64);
    for (let i = 0; i < N; i++) p[i] += (re[i]! * re[i]! + im[i]! * im[i]!) / N / n;
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'power-spectrum.fits'), writeFits([{ data: p, shape: [64, 64] }]));
  writeFileSync(
    path.join(out, 'README.md'),
    `# ${name} (test prior)\n\nA stationary Gaussian field whose power spectrum is the mean power spectrum of the first ${n} SDSS galaxies of the Galaxy Zoo cube (64×64, display values 0–252).\n\n- Exact score; the posterior under a PSF is the Wiener filter's.\n- For the end-to-end tests: galaxies are not Gaussian fields.\n`,
  );
}
