import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { psfFromImage, type PsfKernel } from '../../src-shared/operators/psf.js';
import { pixelCentre } from '../../src-shared/operators/lens-model.js';
import { normalEquationBands, normalEquations, normalEquationsBand, sourceNormalEquations, withLight } from '../../src-shared/lensing/inversion.js';
import { blurredLensMatrix, blurRows, convolve, defaultSourceGrid, pixelRowChunks } from '../../src-shared/lensing/mass.js';
import { lensMatrix } from '../../src-shared/operators/lens-model.js';
import { stackRows, type CsrMatrix } from '../../src-shared/operators/csr.js';
import { lightColumns, sersicImage, type SersicParams } from '../../src-shared/lensing/light.js';
import { binImage, binnedPsf } from '../../src-shared/lensing/binned.js';
import { annulusMask } from '../../src-shared/lensing/fit.js';
import { simulateLens } from '../helpers/lens-sim.js';

// The lens fit's fast paths against the direct computations they replace: the light's columns evaluated only where
// the fitted pixels' PSF footprints reach (bit for bit), F = BᵀWB by image rows' outer products (bit for bit), and
// the binned image and PSF of the starts' search (exact for an image uniform within each block).

function randomPsf(rng: SeededRandom, h: number, w: number): PsfKernel {
  // positive, with a few exact zeros and one negative tap (a real PSF's noise), normalised
  const data = Float64Array.from({ length: h * w }, () => rng.uniform() + 0.05);
  data[1] = 0;
  data[h * w - 2] = 0;
  data[w + 1] = -0.02;
  return psfFromImage(data, [h, w]);
}

describe('lightColumns at the fitted pixels', () => {
  const grid = { shape: [30, 26] as [number, number], scale: 0.05 };
  const comps: SersicParams[] = [
    { x0: 0.03, y0: -0.04, e1: 0.1, e2: -0.05, rEff: 0.3, n: 3.2 },
    { x0: -0.1, y0: 0.2, e1: -0.2, e2: 0.1, rEff: 0.6, n: 1 },
    // compact components rendered and blurred within their support boxes (core Gaussians): elongated, and one whose
    // box is cut by the image's top-left corner
    { x0: 0.08, y0: 0.05, e1: 0.3, e2: 0.2, rEff: 0.03, n: 0.5 },
    { x0: -0.6, y0: -0.68, e1: -0.1, e2: 0.25, rEff: 0.02, n: 0.5 },
  ];
  const rng = new SeededRandom(4);
  // edges, corners and the interior; a scattered subset
  const pixels = Int32Array.from(Array.from({ length: 30 * 26 }, (_, k) => k).filter((k) => k % 3 === 0 || k < 26 || k % 26 === 25));
  const psfs: [string, PsfKernel | null][] = [
    ['a 7×7 PSF', randomPsf(rng, 7, 7)],
    ['an even 6×4 PSF', randomPsf(rng, 6, 4)],
    ['a PSF wider than the image', randomPsf(rng, 33, 5)],
    ['no PSF', null],
  ];
  for (const [name, psf] of psfs) {
    it(`${name}: equal bit for bit to convolve(sersicImage(…)) at the pixels`, () => {
      for (const ss of [1, 2, 3]) {
        const cols = lightColumns(comps, grid, psf, pixels, ss);
        comps.forEach((c, k) => {
          const full = convolve(sersicImage(c, grid, ss), grid.shape, psf);
          let differ = 0;
          pixels.forEach((p, r) => {
            if (cols[k][r] !== full[p]) differ++;
          });
          expect(differ).toBe(0);
          expect(cols[k].some((v) => v > 0)).toBe(true);
        });
      }
    });
  }
  it('a component off the grid has a zero column; a compact one\'s column is 0 beyond its box and the PSF\'s reach', () => {
    const psf = psfs[0][1];
    const off: SersicParams = { x0: 3, y0: 0, e1: 0, e2: 0, rEff: 0.02, n: 0.5 };
    expect(lightColumns([off], grid, psf, pixels, 2)[0].every((v) => v === 0)).toBe(true);
    // comps[2]: its support box is a few pixels wide, so most fitted pixels are far from it and read nothing
    const col = lightColumns([comps[2]], grid, psf, pixels, 2)[0];
    const zero = col.filter((v) => v === 0).length;
    expect(zero).toBeGreaterThan(pixels.length / 2);
    expect(zero).toBeLessThan(pixels.length);
  });
  it('a second pixel list of the same length is not confused with the first (the footprint is per list)', () => {
    const psf = psfs[0][1];
    const other = Int32Array.from(pixels, (p) => (p + 5) % (30 * 26));
    lightColumns(comps, grid, psf, pixels, 2);
    const cols = lightColumns(comps, grid, psf, other, 2)[0];
    const full = convolve(sersicImage(comps[0], grid, 2), grid.shape, psf);
    other.forEach((p, r) => expect(cols[r]).toBe(full[p]));
  });
});

/** Rows `pixels` of P·A, the direct way: each row's taps summed in the kernel's order into a map, columns sorted. */
function referenceBlurRows(A: CsrMatrix, shape: [number, number], psf: PsfKernel, pixels: ArrayLike<number>): Map<number, number>[] {
  const [ny, nx] = shape;
  const [kh, kw] = psf.shape;
  const [cy, cx] = psf.center;
  const out: Map<number, number>[] = [];
  for (let r = 0; r < pixels.length; r++) {
    const i = Math.floor(pixels[r] / nx);
    const j = pixels[r] % nx;
    const m = new Map<number, number>();
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const h = psf.data[a * kw + b];
        const si = i - (a - cy);
        const sj = j - (b - cx);
        if (h === 0 || si < 0 || si >= ny || sj < 0 || sj >= nx) continue;
        const row = si * nx + sj;
        for (let q = A.rowPtr[row]; q < A.rowPtr[row + 1]; q++) m.set(A.colIdx[q], (m.get(A.colIdx[q]) ?? 0) + h * A.values[q]);
      }
    }
    out.push(m);
  }
  return out;
}

describe('the blurred lens matrix', () => {
  it('blurRows equals the direct sum in the kernel\'s order bit for bit, columns sorted, no zero kept', () => {
    const sim = simulateLens({ size: 40, psfSize: 9, seed: 5, galaxy: 4, lens: { thetaE: 0.7 } });
    const grid = defaultSourceGrid(sim.truth.lens, sim.image, { n: 14, margin: 1.1 });
    const A = lensMatrix(sim.truth.lens, { sourceShape: grid.shape, sourcePixelScale: grid.scale, imageShape: sim.image.shape, imagePixelScale: sim.image.scale, supersample: 2 });
    const rng = new SeededRandom(3);
    for (const psf of [sim.psf, randomPsf(rng, 7, 5)]) {
      // every pixel (edges and corners included)
      const pixels = Int32Array.from({ length: 40 * 40 }, (_, k) => k);
      const B = blurRows(A, [40, 40], psf, pixels);
      const ref = referenceBlurRows(A, [40, 40], psf, pixels);
      let differ = 0;
      let nnz = 0;
      for (let r = 0; r < pixels.length; r++) {
        const cols = [...ref[r].keys()].sort((x, y) => x - y);
        const got = Array.from(B.colIdx.subarray(B.rowPtr[r], B.rowPtr[r + 1]));
        if (got.join() !== cols.join()) differ++;
        cols.forEach((c, t) => {
          if (B.values[B.rowPtr[r] + t] !== ref[r].get(c)) differ++;
        });
        nnz += cols.length;
      }
      expect(differ).toBe(0);
      expect(nnz).toBeGreaterThan(1000);
    }
  });
});

describe('blurRows one image row of pixels at a time', () => {
  it('equals the sum over the taps (the form before) bit for bit: every pixel, a disc, rows with gaps, scattered pixels', () => {
    const sim = simulateLens({ size: 40, psfSize: 9, seed: 7, galaxy: 3, lens: { thetaE: 0.7 } });
    const grid = defaultSourceGrid(sim.truth.lens, sim.image, { n: 12, margin: 1.1 });
    const A = lensMatrix(sim.truth.lens, { sourceShape: grid.shape, sourcePixelScale: grid.scale, imageShape: sim.image.shape, imagePixelScale: sim.image.scale, supersample: 2 });
    const rng = new SeededRandom(11);
    const disc = annulusMask(sim.image, 0, 0.8);
    const lists = [
      Int32Array.from({ length: 40 * 40 }, (_, k) => k),
      Int32Array.from([...disc.keys()].filter((k) => disc[k])),
      Int32Array.from([...disc.keys()].filter((k) => disc[k] && k % 11 !== 3)),
      Int32Array.from({ length: 40 * 40 }, (_, k) => k).filter((k) => k % 7 === 0 || k % 13 === 1),
    ];
    // the simulation's PSF; with exact zeros and a negative tap; even; wider than the image
    for (const psf of [sim.psf, randomPsf(rng, 7, 5), randomPsf(rng, 6, 4), randomPsf(rng, 45, 3)]) {
      for (const pixels of lists) {
        const a = blurRows(A, [40, 40], psf, pixels);
        const b = blurRows(A, [40, 40], psf, pixels, { byTaps: true });
        expect(Array.from(a.rowPtr)).toEqual(Array.from(b.rowPtr));
        expect(Array.from(a.colIdx)).toEqual(Array.from(b.colIdx));
        let differ = 0;
        for (let k = 0; k < a.values.length; k++) if (a.values[k] !== b.values[k]) differ++;
        expect(differ).toBe(0);
        expect(a.values.length).toBeGreaterThan(100);
      }
    }
  });
});

describe('blurredLensMatrix with rays for the PSF footprint only', () => {
  it('equals blurRows of the whole image\'s lens matrix bit for bit (a disc, an annulus, scattered pixels)', () => {
    const sim = simulateLens({ size: 44, psfSize: 9, seed: 6, galaxy: 5, lens: { thetaE: 0.8 } });
    const grid = defaultSourceGrid(sim.truth.lens, sim.image, { n: 16, margin: 1.1 });
    const full = lensMatrix(sim.truth.lens, { sourceShape: grid.shape, sourcePixelScale: grid.scale, imageShape: sim.image.shape, imagePixelScale: sim.image.scale, supersample: 2 });
    const lists = [annulusMask(sim.image, 0, 0.6), annulusMask(sim.image, 0.5, 1.1)].map((m) => Int32Array.from([...m.keys()].filter((k) => m[k])));
    lists.push(Int32Array.from({ length: 44 * 44 }, (_, k) => k).filter((k) => k % 7 === 0));
    for (const psf of [sim.psf, null]) {
      for (const pixels of lists) {
        const a = blurredLensMatrix(sim.truth.lens, sim.image, grid, 2, psf, pixels);
        const b = blurRows(full, sim.image.shape, psf, pixels);
        expect(Array.from(a.rowPtr)).toEqual(Array.from(b.rowPtr));
        expect(Array.from(a.colIdx)).toEqual(Array.from(b.colIdx));
        let differ = 0;
        for (let k = 0; k < a.values.length; k++) if (a.values[k] !== b.values[k]) differ++;
        expect(differ).toBe(0);
        expect(a.values.length).toBeGreaterThan(100);
      }
    }
  });
});

describe('F = BᵀWB by outer products', () => {
  const sim = simulateLens({ size: 48, psfSize: 9, seed: 3, galaxy: 2, lens: { thetaE: 0.8 } });
  const mask = annulusMask(sim.image, 0, 1.2);
  const pixels = Int32Array.from([...mask.keys()].filter((k) => mask[k]));
  const rng = new SeededRandom(9);
  const y = Float64Array.from(pixels, (k) => sim.data[k]);
  // unequal weights
  const w = Float64Array.from(pixels, (k) => (0.5 + rng.uniform()) / sim.sigma[k] ** 2);
  for (const nLight of [0, 2]) {
    it(`${nLight} light columns: F, d, yᵀWy and the normalisation equal the row form's bit for bit`, () => {
      const grid = defaultSourceGrid(sim.truth.lens, sim.image, { n: 16, margin: 1.1, pixels });
      const source = blurredLensMatrix(sim.truth.lens, sim.image, grid, 2, sim.psf, pixels);
      const light = lightColumns([sim.truth.light, { ...sim.truth.light, rEff: 1, n: 1 }].slice(0, nLight), sim.image, sim.psf, pixels, 2);
      const a = normalEquations({ y, w, source, light });
      const b = normalEquations({ y, w, source, light }, { rowForm: true });
      let differ = 0;
      for (let k = 0; k < a.F.length; k++) if (a.F[k] !== b.F[k]) differ++;
      for (let k = 0; k < a.d.length; k++) if (a.d[k] !== b.d[k]) differ++;
      expect(differ).toBe(0);
      expect(a.yWy).toBe(b.yWy);
      expect(a.logNorm).toBe(b.logNorm);
      // and not trivially: F has its diagonal filled
      const n = nLight + 256;
      expect(a.F[(n - 1) * n + n - 1] + a.F[(nLight + 100) * n + nLight + 100]).toBeGreaterThan(0);
    });
  }
  it('withLight: the source part kept, the light added, equals the whole model\'s normal equations bit for bit (both forms), light and all', () => {
    const grid = defaultSourceGrid(sim.truth.lens, sim.image, { n: 16, margin: 1.1, pixels });
    const source = blurredLensMatrix(sim.truth.lens, sim.image, grid, 2, sim.psf, pixels);
    const base = normalEquations({ y, w, source, light: [] });
    for (const nLight of [0, 1, 2]) {
      const light = lightColumns([sim.truth.light, { ...sim.truth.light, rEff: 1, n: 1 }].slice(0, nLight), sim.image, sim.psf, pixels, 2);
      const c = withLight(base, light);
      for (const rowForm of [false, true]) {
        const a = normalEquations({ y, w, source, light }, { rowForm });
        expect(c.F.length).toBe(a.F.length);
        let differ = 0;
        for (let k = 0; k < a.F.length; k++) if (a.F[k] !== c.F[k]) differ++;
        for (let k = 0; k < a.d.length; k++) if (a.d[k] !== c.d[k]) differ++;
        expect(differ).toBe(0);
        expect(c.yWy).toBe(a.yWy);
        expect(c.logNorm).toBe(a.logNorm);
        expect(c.nLight).toBe(nLight);
        expect(c.model.light).toBe(light);
      }
      // and not trivially: the light's rows are filled
      if (nLight) expect(Math.abs(c.F[(nLight + 100) * c.F.length ** 0.5]) + Math.abs(c.d[0])).toBeGreaterThan(0);
    }
    expect(() => withLight(normalEquations({ y, w, source, light: lightColumns([sim.truth.light], sim.image, sim.psf, pixels, 2) }), [])).toThrow(/no light columns/);
  });
});

describe('the source part split (one evaluation on threads)', () => {
  // the fit's evidence on the host's threads (LensFitParallel.sourcePart): B made in blocks of image rows, F and d in
  // bands of F's rows, each part on its own thread; every entry must be the one-thread evaluation's to the bit, for
  // any split (so the fit is the same on any number of threads)
  const sim = simulateLens({ size: 48, psfSize: 9, seed: 3, galaxy: 2, lens: { thetaE: 0.8 } });
  const mask = annulusMask(sim.image, 0, 1.2);
  const pixels = Int32Array.from([...mask.keys()].filter((k) => mask[k]));
  const rng = new SeededRandom(11);
  const y = Float64Array.from(pixels, (k) => sim.data[k]);
  const w = Float64Array.from(pixels, (k) => (0.5 + rng.uniform()) / sim.sigma[k] ** 2);
  const grid = defaultSourceGrid(sim.truth.lens, sim.image, { n: 16, margin: 1.1, pixels });
  const B = blurredLensMatrix(sim.truth.lens, sim.image, grid, 2, sim.psf, pixels);
  const whole = normalEquations({ y, w, source: B, light: [] });
  const differ = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    expect(a.length).toBe(b.length);
    let k = 0;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) k++;
    return k;
  };

  it('blocks of image rows: each block blurredLensMatrix of its pixels, stacked, is B bit for bit', () => {
    for (const k of [1, 2, 3, 7, 16]) {
      const chunks = pixelRowChunks(pixels, sim.image.shape[1], k);
      // consecutive, covering every pixel, each ending with an image row
      expect(chunks[0][0]).toBe(0);
      expect(chunks.at(-1)![1]).toBe(pixels.length);
      for (let c = 1; c < chunks.length; c++) expect(chunks[c][0]).toBe(chunks[c - 1][1]);
      for (const [, to] of chunks.slice(0, -1)) expect(Math.floor(pixels[to] / 48)).toBeGreaterThan(Math.floor(pixels[to - 1] / 48));
      expect(chunks.length).toBe(Math.min(k, chunks.length));
      if (k <= 7) expect(chunks.length).toBe(k);
      const parts = chunks.map(([a, b]) => blurredLensMatrix(sim.truth.lens, sim.image, grid, 2, sim.psf, pixels.subarray(a, b)));
      const S = stackRows(parts);
      expect(S.nRows).toBe(B.nRows);
      expect(differ(S.rowPtr, B.rowPtr) + differ(S.colIdx, B.colIdx) + differ(S.values, B.values)).toBe(0);
    }
  });

  it('F and d by bands of F\'s rows from B\'s blocks equal normalEquations\' bit for bit, for any bands and blocks', () => {
    const n = B.nCols;
    for (const [k, nb] of [[1, 1], [2, 4], [3, 5], [7, 16], [5, 37]]) {
      const parts = pixelRowChunks(pixels, sim.image.shape[1], k).map(([a, b]) => blurredLensMatrix(sim.truth.lens, sim.image, grid, 2, sim.psf, pixels.subarray(a, b)));
      const F = new Float64Array(n * n);
      const d = new Float64Array(n);
      const bands = normalEquationBands(n, nb);
      expect(bands.length).toBe(nb);
      // covering 0…n; done in reverse order (the threads' order does not matter)
      expect(bands[0][0]).toBe(0);
      expect(bands.at(-1)![1]).toBe(n);
      for (const [c0, c1] of [...bands].reverse()) normalEquationsBand(parts, w, y, c0, c1, F, d);
      expect(differ(F, whole.F) + differ(d, whole.d)).toBe(0);
      const ne = sourceNormalEquations(y, w, stackRows(parts), F, d);
      expect(ne.yWy).toBe(whole.yWy);
      expect(ne.logNorm).toBe(whole.logNorm);
    }
    // and not trivially: F is filled where the arcs map
    let filled = 0;
    for (let c = 0; c < n; c++) if (whole.F[c * n + c] > 0) filled++;
    expect(filled).toBeGreaterThan(n / 4);
    // a band left out leaves its rows empty: the bands are what make F
    const F = new Float64Array(n * n);
    const d = new Float64Array(n);
    const bands = normalEquationBands(n, 4);
    for (const [c0, c1] of bands.slice(1)) normalEquationsBand([B], w, y, c0, c1, F, d);
    expect(differ(F, whole.F)).toBeGreaterThan(0);
  });
});

describe('the binned image of the starts', () => {
  it('binnedPsf: the binned blurred image of a block-uniform image is the binned image blurred by it, to 1e-13', () => {
    const rng = new SeededRandom(11);
    for (const [h, w] of [[21, 21], [9, 7], [6, 8]] as [number, number][]) {
      const psf = randomPsf(rng, h, w);
      for (const k of [2, 3]) {
        const by = 12;
        const bx = 10;
        const X = Float64Array.from({ length: by * bx }, () => rng.uniform());
        const fine = new Float64Array(by * k * bx * k);
        for (let i = 0; i < by * k; i++) for (let j = 0; j < bx * k; j++) fine[i * bx * k + j] = X[Math.floor(i / k) * bx + Math.floor(j / k)];
        const yf = convolve(fine, [by * k, bx * k], psf);
        const pb = binnedPsf(psf, k);
        const yb = convolve(X, [by, bx], pb);
        let sum = 0;
        for (const v of pb.data) sum += v;
        expect(sum).toBeCloseTo(1, 14);
        for (let I = 0; I < by; I++) {
          for (let J = 0; J < bx; J++) {
            let m = 0;
            for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) m += yf[(k * I + u) * bx * k + k * J + v];
            expect(Math.abs(m / (k * k) - yb[I * bx + J])).toBeLessThan(1e-13);
          }
        }
      }
    }
  });

  it('binImage: block means, σ = √Σσ²/k², only whole fitted blocks, and the frame shift of an odd-sized image', () => {
    for (const [ny, nx] of [[8, 10], [9, 7]] as [number, number][]) {
      const image = { shape: [ny, nx] as [number, number], scale: 0.04 };
      const data = Float64Array.from({ length: ny * nx }, (_, k) => Math.sin(k));
      const sigma = Float64Array.from({ length: ny * nx }, (_, k) => 0.1 + 0.01 * (k % 5));
      // every pixel but (0, 0): block (0, 0) is not fitted
      const pixels = Int32Array.from({ length: ny * nx - 1 }, (_, k) => k + 1);
      const b = binImage(data, sigma, image, pixels, null, 2);
      const [by, bx] = [Math.floor(ny / 2), Math.floor(nx / 2)];
      expect(b.image.shape).toEqual([by, bx]);
      expect(b.image.scale).toBeCloseTo(0.08, 15);
      expect(Number.isNaN(b.data[0])).toBe(true);
      for (let I = 0; I < by; I++) {
        for (let J = 0; J < bx; J++) {
          if (I === 0 && J === 0) continue;
          const ps = [0, 1].flatMap((u) => [0, 1].map((v) => (2 * I + u) * nx + 2 * J + v));
          expect(b.data[I * bx + J]).toBeCloseTo(ps.reduce((s, p) => s + data[p], 0) / 4, 14);
          expect(b.sigma[I * bx + J]).toBeCloseTo(Math.sqrt(ps.reduce((s, p) => s + sigma[p] ** 2, 0)) / 4, 14);
          // the block's centre in the image's frame, plus the shift, is the binned pixel's centre
          const xc = ps.reduce((s, p) => s + pixelCentre(p % nx, nx, 0.04), 0) / 4;
          const yc = ps.reduce((s, p) => s + pixelCentre(Math.floor(p / nx), ny, 0.04), 0) / 4;
          expect(xc + b.shift[0]).toBeCloseTo(pixelCentre(J, bx, 0.08), 14);
          expect(yc + b.shift[1]).toBeCloseTo(pixelCentre(I, by, 0.08), 14);
        }
      }
      expect(b.shift[0] !== 0).toBe(nx % 2 === 1);
    }
  });
});
