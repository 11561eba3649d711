import { readFileSync } from 'node:fs';
import { readFits } from '../../src-shared/fits/index.js';
import { lensMatrix, type LensParams } from '../../src-shared/operators/lens-model.js';
import { csrMultiply } from '../../src-shared/operators/sparse.js';
import { psfFromImage, type PsfKernel } from '../../src-shared/operators/psf.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { convolve, ellipticityFromQPhi } from '../../src-shared/lensing/mass.js';
import { sersicImage, type SersicParams } from '../../src-shared/lensing/light.js';
import { dataPath } from './data.js';

/** Indices of the validation split of the Galaxy Zoo cube (HDU1 INDEX table, SPLIT = 'validation'). */
export function galaxyZoo(): { cube: Float32Array | Float64Array; validation: number[] } {
  const f = readFits(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits')));
  const img = f.hdus[0].readImage();
  const split = f.hdus[1].readTable().column('SPLIT')!.data as string[];
  const validation: number[] = [];
  split.forEach((s, k) => {
    if (String(s).trim() === 'validation') validation.push(k);
  });
  return { cube: img.data, validation };
}

/**
 * A galaxy of the validation split as a source: display values / 255, minus the median of its border,
 * clipped at 0, peak 1, embedded in an [n, n] grid shifted by (dx, dy) pixels.
 */
export function galaxySource(cube: ArrayLike<number>, index: number, n: number, dx: number, dy: number): Float64Array {
  const g = new Float64Array(64 * 64);
  for (let k = 0; k < g.length; k++) g[k] = cube[index * 4096 + k] / 255;
  const border: number[] = [];
  for (let k = 0; k < 64; k++) border.push(g[k], g[63 * 64 + k], g[k * 64], g[k * 64 + 63]);
  border.sort((a, b) => a - b);
  const sky = border[border.length >> 1];
  let peak = 0;
  for (let k = 0; k < g.length; k++) {
    g[k] = Math.max(0, g[k] - sky);
    peak = Math.max(peak, g[k]);
  }
  const out = new Float64Array(n * n);
  const o = (n - 64) >> 1;
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) {
      const ii = i + o + dy;
      const jj = j + o + dx;
      if (ii >= 0 && ii < n && jj >= 0 && jj < n) out[ii * n + jj] = g[i * 64 + j] / peak;
    }
  }
  return out;
}

/** The primary HDU of the HST ACS F814W PSF library, its central `size`² pixels, unit sum. */
export function hstPsf(size: number): PsfKernel {
  const f = readFits(readFileSync(dataPath('psf', 'hst_acs_f814w_cosmos_psf_library.fits')));
  const img = f.hdus[0].readImage();
  const [kx, ky] = img.shape;
  // the PSF's peak as its centre
  let peak = 0;
  for (let k = 0; k < img.data.length; k++) if (img.data[k] > img.data[peak]) peak = k;
  const ci = Math.floor(peak / kx);
  const cj = peak - ci * kx;
  const h = size >> 1;
  const data = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const ii = ci - h + i;
      const jj = cj - h + j;
      data[i * size + j] = ii >= 0 && ii < ky && jj >= 0 && jj < kx ? img.data[ii * kx + jj] : 0;
    }
  }
  return psfFromImage(data, [size, size]);
}

export interface SimulatedLens {
  data: Float64Array;
  sigma: Float64Array;
  truth: { lens: LensParams; light: SersicParams; lightAmplitude: number };
  image: { shape: [number, number]; scale: number };
  psf: PsfKernel;
  noiseFree: Float64Array;
}

export interface SimOptions {
  seed?: number;
  galaxy?: number;
  lens?: Partial<LensParams>;
  /** noise σ (the source's brightest pixel is 1 before lensing) */
  sigma?: number;
  size?: number;
  scale?: number;
  sourceScale?: number;
  psfSize?: number;
}

/**
 * An HST-like strong lens: SIE + shear, a Sérsic deflector (n = 3.5), a real galaxy (Galaxy Zoo validation split)
 * as the source on a fine grid (ray shooting with 4² sub-pixels), the HST ACS PSF, Gaussian noise.
 */
export function simulateLens(o: SimOptions = {}): SimulatedLens {
  const size = o.size ?? 80;
  const scale = o.scale ?? 0.05;
  const rng = new SeededRandom(o.seed ?? 1);
  const lens: LensParams = { thetaE: 1.2, q: 0.75, phi: 0.5, x0: 0.03, y0: -0.02, gamma1: 0.03, gamma2: -0.02, ...o.lens };
  const [le1, le2] = ellipticityFromQPhi(0.8, 0.6);
  const light: SersicParams = { x0: lens.x0, y0: lens.y0, e1: le1, e2: le2, rEff: 0.5, n: 3.5 };
  const lightAmplitude = 0.25;
  const { cube, validation } = galaxyZoo();
  const gal = validation[o.galaxy ?? 3];
  const sn = 96;
  const sourceScale = o.sourceScale ?? 0.015;
  const src = galaxySource(cube, gal, sn, 3, 2);
  const L = lensMatrix(lens, { sourceShape: [sn, sn], sourcePixelScale: sourceScale, imageShape: [size, size], imagePixelScale: scale, supersample: 4 });
  const lensed = csrMultiply(L, src);
  const lightImg = sersicImage(light, { shape: [size, size], scale }, 5);
  const psf = hstPsf(o.psfSize ?? 11);
  const sum = lensed.map((v, k) => v + lightAmplitude * lightImg[k]);
  const noiseFree = convolve(sum, [size, size], psf);
  const sigma = new Float64Array(size * size).fill(o.sigma ?? 0.02);
  const data = noiseFree.map((v, k) => v + sigma[k] * rng.normal());
  return { data, sigma, truth: { lens, light, lightAmplitude }, image: { shape: [size, size], scale }, psf, noiseFree };
}

/**
 * The simulated source (`galaxySource`'s grid: `fineN`² pixels of `fineScale`″, centred on the optical axis)
 * averaged over the pixels of an `n`² grid of `scale`″ with the same centre (exact overlap areas; zero beyond the
 * fine grid): the truth on a reconstruction's source grid, in the same surface-brightness units.
 */
export function sourceOnGrid(fine: ArrayLike<number>, n: number, scale: number, fineN = 96, fineScale = 0.015): Float64Array {
  // 1-D overlap weights: coarse pixel m covers [(m − n/2)·scale, (m + 1 − n/2)·scale), fine pixel j likewise
  const w: [number, number][][] = [];
  for (let m = 0; m < n; m++) {
    const a = ((m - n / 2) * scale) / fineScale + fineN / 2;
    const b = a + scale / fineScale;
    const row: [number, number][] = [];
    for (let j = Math.max(0, Math.floor(a)); j < Math.min(fineN, Math.ceil(b)); j++) {
      const o = Math.min(b, j + 1) - Math.max(a, j);
      if (o > 1e-12) row.push([j, (o * fineScale) / scale]);
    }
    w.push(row);
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (const [fi, wi] of w[i]) for (const [fj, wj] of w[j]) s += wi * wj * fine[fi * fineN + fj];
      out[i * n + j] = s;
    }
  }
  return out;
}
