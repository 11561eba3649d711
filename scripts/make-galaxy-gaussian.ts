/**
 * Builds the bundled Gaussian-field galaxy prior models/galaxy-gaussian-64/ from the TRAIN split of the
 * Galaxy Zoo cube: P(k) = mean over the training images x (pixel values / 255) of |F x|²(k), F the
 * orthonormal 2-D DFT (GaussianFieldPrior's convention: C = F⁻¹ diag(P) F), numpy fft2 layout.
 * The images are NOT mean-subtracted: the Gaussian field is zero-mean, and the second moment E[x xᵀ]
 * (not the covariance) is what makes N(0, C) give the galaxies' typical brightness — the mean image's power
 * sits in the low frequencies (mostly k = 0). Only the stationary part of E[x xᵀ] is kept (a power spectrum).
 * Run: node --import tsx scripts/make-galaxy-gaussian.ts
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFits, writeFits, FitsHeader } from '../src-shared/fits/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CUBE = path.resolve(ROOT, '../shared/data/train/galaxyzoo_kaggle2000_gray64.fits');
const OUT = path.join(ROOT, 'models', 'galaxy-gaussian-64');

const file = readFits(new Uint8Array(readFileSync(CUBE)));
const cube = file.hdus[0]!.readImage();
const split = file.hdus[1]!.readTable().column('SPLIT')!.data as string[];
const [nx, ny] = [cube.shape[0]!, cube.shape[1]!];
const npix = nx * ny;

// separable DFT with precomputed twiddles (float64)
function twiddles(n: number): { c: Float64Array; s: Float64Array } {
  const c = new Float64Array(n * n);
  const s = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) {
    const a = (-2 * Math.PI * ((k * j) % n)) / n;
    c[k * n + j] = Math.cos(a);
    s[k * n + j] = Math.sin(a);
  }
  return { c, s };
}
const tx = twiddles(nx);
const ty = twiddles(ny);
const power = new Float64Array(npix);
const rowRe = new Float64Array(npix);
const rowIm = new Float64Array(npix);
let nTrain = 0;
let pixelSum = 0;
for (let g = 0; g < split.length; g++) {
  if (split[g]!.trim() !== 'train') continue;
  nTrain++;
  const x = new Float64Array(npix);
  for (let i = 0; i < npix; i++) {
    x[i] = cube.data[g * npix + i]! / 255;
    pixelSum += x[i]!;
  }
  // rows: DFT along x
  for (let r = 0; r < ny; r++) for (let k = 0; k < nx; k++) {
    let re = 0;
    let im = 0;
    for (let j = 0; j < nx; j++) {
      const v = x[r * nx + j]!;
      re += v * tx.c[k * nx + j]!;
      im += v * tx.s[k * nx + j]!;
    }
    rowRe[r * nx + k] = re;
    rowIm[r * nx + k] = im;
  }
  // columns: DFT along y
  for (let k = 0; k < nx; k++) for (let l = 0; l < ny; l++) {
    let re = 0;
    let im = 0;
    for (let r = 0; r < ny; r++) {
      const a = rowRe[r * nx + k]!;
      const b = rowIm[r * nx + k]!;
      const c = ty.c[l * ny + r]!;
      const s = ty.s[l * ny + r]!;
      re += a * c - b * s;
      im += a * s + b * c;
    }
    power[l * nx + k] += (re * re + im * im) / npix; // orthonormal: |fft2|² / N
  }
}
for (let i = 0; i < npix; i++) power[i] /= nTrain;
// exact evenness P(k) = P(−k) (equal up to rounding for real images)
const sym = new Float64Array(npix);
for (let l = 0; l < ny; l++) for (let k = 0; k < nx; k++) sym[l * nx + k] = 0.5 * (power[l * nx + k]! + power[((ny - l) % ny) * nx + ((nx - k) % nx)]!);
let pMin = Infinity;
let pSum = 0;
for (const v of sym) {
  pMin = Math.min(pMin, v);
  pSum += v;
}
const h = new FitsHeader();
h.set('ORIGIN', 'SkyScore scripts/make-galaxy-gaussian.ts');
h.set('NTRAIN', nTrain, 'training images averaged');
h.set('BUNIT', '(DN/255)^2', 'power, orthonormal DFT');
h.addHistory('P(k) = mean |F x|^2 over the train split of galaxyzoo_kaggle2000_gray64.fits, x = pixel/255,');
h.addHistory('F the orthonormal 2-D DFT, numpy fft2 layout; images not mean-subtracted.');
h.addHistory('Imaging: SDSS DR7 via Galaxy Zoo (Kaggle galaxy-zoo challenge cutouts).');
mkdirSync(OUT, { recursive: true });
writeFileSync(path.join(OUT, 'power-spectrum.fits'), writeFits([{ data: Float32Array.from(sym), shape: [nx, ny], header: h, bitpix: -32 }]));
const meanPixel = pixelSum / (nTrain * npix);
console.log(`galaxy-gaussian-64: ${nTrain} train images, pixel rms ${Math.sqrt(pSum / npix).toFixed(4)}, mean pixel ${meanPixel.toFixed(4)}, min P ${pMin.toExponential(3)} → ${OUT}`);
