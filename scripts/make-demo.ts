/**
 * Builds the bundled demo observation (assets/demo/) from one validation galaxy of the training cube:
 * the truth (pixel values / 255), blurred by a Gaussian PSF of 4 px FWHM (zero-padded linear convolution,
 * the psf operator of docs/forward-models.md) plus white noise of σ = 0.03 × the truth's peak, seeded.
 * Run: node --import tsx scripts/make-demo.ts [GALAXY_INDEX]
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readFits, writeFits, FitsHeader } from '../src-shared/fits/index.js';
import { PsfOperator, gaussianPsf } from '../src-shared/operators/index.js';
import { gaussianStream } from '../src-main/evaluation.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CUBE = path.resolve(ROOT, '../shared/data/train/galaxyzoo_kaggle2000_gray64.fits');
const OUT = path.join(ROOT, 'assets', 'demo');
const FWHM = 4;
const NOISE_FRACTION = 0.03;
const SEED = 20261128;

tf.env().set('PROD', true);
await tf.setBackend('cpu');
const file = readFits(new Uint8Array(readFileSync(CUBE)));
const cube = file.hdus[0]!.readImage();
const index = file.hdus[1]!.readTable();
const split = index.column('SPLIT')!.data as string[];
const spiral = index.column('SPIRAL')!.data;
const ids = index.column('GALAXYID')!.data;
const wanted = process.argv[2] !== undefined ? Number(process.argv[2]) : split.findIndex((s, i) => s.trim() === 'validation' && Number(spiral[i]) === 1);
if (split[wanted]!.trim() !== 'validation') throw new Error(`galaxy ${wanted} is not in the validation split`);
const [nx, ny] = [cube.shape[0]!, cube.shape[1]!];
const truth = new Float32Array(nx * ny);
for (let i = 0; i < nx * ny; i++) truth[i] = cube.data[wanted * nx * ny + i]! / 255;
const peak = truth.reduce((m, v) => Math.max(m, v), 0);
const sigma = NOISE_FRACTION * peak;

const op = new PsfOperator([ny, nx], gaussianPsf(FWHM));
const blurred = tf.tidy(() => op.apply(tf.tensor3d(truth, [1, ny, nx])).dataSync() as Float32Array);
// seeded white noise, so the demo is reproducible byte for byte (the evaluation harness uses the same generator)
const normal = gaussianStream(SEED);
const obs = new Float32Array(nx * ny);
for (let i = 0; i < obs.length; i++) obs[i] = blurred[i]! + sigma * normal();

const header = (what: string) => {
  const h = new FitsHeader();
  h.set('OBJECT', `GalaxyZoo ${String(ids[wanted])}`, 'Galaxy Zoo Kaggle GalaxyID');
  h.set('BUNIT', 'DN/255', 'SDSS display value / 255 (not calibrated flux)');
  h.set('ORIGIN', 'SkyScore demo');
  h.addHistory(`SkyScore demo ${what}: validation galaxy ${wanted} of galaxyzoo_kaggle2000_gray64.fits`);
  h.addHistory('Imaging: SDSS DR7 via Galaxy Zoo (Kaggle galaxy-zoo challenge cutouts).');
  if (what === 'observation') {
    h.set('PSFFWHM', FWHM, '[pixel] Gaussian PSF FWHM');
    h.set('NOISESIG', sigma, 'white noise sigma, data units');
    h.set('SEED', SEED, 'noise seed');
  }
  return h;
};
mkdirSync(OUT, { recursive: true });
writeFileSync(path.join(OUT, 'observation.fits'), writeFits([{ data: obs, shape: [nx, ny], header: header('observation'), bitpix: -32 }]));
writeFileSync(path.join(OUT, 'truth.fits'), writeFits([{ data: truth, shape: [nx, ny], header: header('truth'), bitpix: -32 }]));
writeFileSync(path.join(OUT, 'model.json'), JSON.stringify({ shape: [ny, nx], operators: [{ type: 'psf', fwhmPx: FWHM }] }, null, 2) + '\n');
writeFileSync(
  path.join(OUT, 'demo.json'),
  JSON.stringify({ observation: 'observation.fits', truth: 'truth.fits', model: 'model.json', noise: +sigma.toPrecision(6), prior: '../../models/galaxy-64', galaxyIndex: wanted, galaxyId: String(ids[wanted]), seed: SEED }, null, 2) + '\n',
);
console.log(`demo: galaxy ${wanted} (id ${String(ids[wanted])}), peak ${peak.toFixed(4)}, σ ${sigma.toFixed(5)} → ${OUT}`);
op.dispose();
