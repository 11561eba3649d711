/**
 * Imaging and CLEAN of UVFITS visibilities into their FITS products, WSClean's names (NAME-dirty.fits,
 * NAME-psf.fits, NAME-model.fits, NAME-residual.fits, NAME-image.fits): one code path for `skyscore clean` and the
 * app's engine (`uv.image`, the `uv.clean` job), so that both write the same bytes for the same settings.
 *
 * `imagingGeometry` chooses the grid (the defaults of docs/radio.md), `cleanProducts` is a generator that makes the
 * products and pauses between the imaging stages (ImagingPause) and between CLEAN steps with its progress (the CLI
 * runs it through; the engine between events, so that a request or a job can be stopped there).
 */
import { writeFits, type FitsHeader } from '../../src-shared/fits/index.js';
import { radioProductHeader } from './radio-header.js';
import type { UvfitsFile, Visibilities } from '../../src-shared/radio/uvfits.js';
import { ARCSEC, type ImageGrid } from '../../src-shared/radio/grid.js';
import { chooseMeasurement, type Measurement } from '../../src-shared/radio/measurement.js';
import { imageNoise, imagingWeights, thermalCheck, type ThermalCheck, type WeightingScheme } from '../../src-shared/radio/weighting.js';
import { cropBeam, defaultGeometry, dirtyBeam, dirtyImage, doubleGrid } from '../../src-shared/radio/imaging.js';
import { cleanSteps, fitBeam, restore, type CleanMethod, type CleanProgress, type CleanResult, type RestoringBeam } from '../../src-shared/radio/clean.js';

export type MeasurementMethod = 'auto' | 'dft' | 'nufft';

/** A pause between the imaging stages (no CLEAN progress): what has just been made. */
export interface ImagingPause {
  stage: 'plan' | 'beam' | 'dirty';
}

/** The products of a run with `niter` iterations, in the order they are written. */
export function productKinds(niter: number): ProductKind[] {
  return niter > 0 ? ['dirty', 'psf', 'model', 'residual', 'image'] : ['dirty', 'psf'];
}
export type ProductKind = 'dirty' | 'psf' | 'model' | 'residual' | 'image';

/** The product files, WSClean's names: `${out}-dirty.fits`, … */
export function productNames(out: string, niter: number): string[] {
  return productKinds(niter).map((k) => `${out}-${k}.fits`);
}

export interface ImagingSettings {
  /** Image side in pixels; absent: the default geometry. */
  size?: number;
  /** Cell in arcsec; absent: 1/(6·u_max). */
  cellArcsec?: number;
  weighting: WeightingScheme;
  /** Briggs robustness (used with weighting 'briggs'). */
  robust: number;
  niter: number;
  gain: number;
  /** Jy/beam. */
  threshold: number;
  method: CleanMethod;
  measure: MeasurementMethod;
  mask?: Uint8Array;
  /** HISTORY lines added after the command line (e.g. the self-calibration that corrected the visibilities). */
  history?: string[];
}

/** The image grid of a set of visibilities: the given size and cell, or the defaults (docs/radio.md). */
export function imagingGeometry(uv: UvfitsFile, vis: Visibilities, s: Pick<ImagingSettings, 'size' | 'cellArcsec'>): { grid: ImageGrid; notes: string[]; umax: number } {
  let fmin = Infinity;
  for (const f of uv.meta.freqs) fmin = Math.min(fmin, f);
  const geo = defaultGeometry(vis.u, vis.v, { freqMin: fmin, dishDiameter: uv.meta.dishDiameter, cell: s.cellArcsec === undefined ? undefined : s.cellArcsec * ARCSEC, size: s.size });
  let umax = 0;
  for (let k = 0; k < vis.n; k++) umax = Math.max(umax, Math.abs(vis.u[k]), Math.abs(vis.v[k]));
  return { grid: { nx: geo.size, ny: geo.size, cell: geo.cell }, notes: geo.notes, umax };
}

export interface CleanProducts {
  grid: ImageGrid;
  /** Imaging weights per visibility. */
  weights: Float64Array;
  /** The image noise the data weights predict (Jy/beam). */
  noise: number;
  thermal: ThermalCheck | null;
  measurement: Measurement;
  beam: RestoringBeam;
  dirty: Float64Array;
  psf: Float64Array;
  /** The CLEAN result (niter > 0). */
  clean: CleanResult | null;
  restored: Float64Array | null;
  /** The FITS files in productKinds order, named `${out}-KIND.fits`. */
  files: { kind: ProductKind; name: string; bytes: Uint8Array }[];
  history: string[];
}

function fits(data: Float64Array, grid: ImageGrid, header: FitsHeader): Uint8Array {
  return writeFits([{ data: Float32Array.from(data), shape: [grid.nx, grid.ny, 1, 1], header, bitpix: -32 }]);
}

/**
 * Dirty image, dirty beam and (niter > 0) CLEAN of `vis` on `grid`, as FITS products. `fileName` is the
 * visibility file's name as the HISTORY card gives it (its base name). Yields CLEAN's progress between steps.
 */
export function* cleanProducts(vis: Visibilities, grid: ImageGrid, fileName: string, out: string, s: ImagingSettings): Generator<CleanProgress | ImagingPause, CleanProducts, void> {
  const w = imagingWeights(vis.u, vis.v, vis.weight, grid, { scheme: s.weighting, robust: s.robust });
  // the image noise the data weights predict
  const noise = imageNoise(w, vis.weight);
  const thermal = thermalCheck(vis);
  const A = chooseMeasurement(vis.u, vis.v, grid, { method: s.measure });
  yield { stage: 'plan' };
  const big = dirtyBeam(vis.u, vis.v, w, doubleGrid(grid), { method: s.measure });
  const psf = cropBeam(big, grid);
  const beam = fitBeam(psf, grid);
  yield { stage: 'beam' };
  const dirty = dirtyImage(A, vis.re, vis.im, w);
  yield { stage: 'dirty' };
  if (s.niter > 0) {
    // a pause between the imaging and CLEAN (a caller may stop here)
    let peak = 0;
    for (const x of dirty) peak = Math.max(peak, Math.abs(x));
    yield { iterations: 0, majorCycles: 0, peak };
  }
  const history = [
    `skyscore clean --vis ${fileName} --size ${grid.nx} --cell ${+(grid.cell / ARCSEC).toPrecision(8)} --weighting ${s.weighting}` +
      `${s.weighting === 'briggs' ? ` --robust ${s.robust}` : ''} --niter ${s.niter} --gain ${s.gain} --threshold ${s.threshold} --${s.method}`,
    `product ${vis.product} = ${vis.formed}; ${vis.n} visibilities, ${vis.nFlagged} flagged; measurement ${A.kind}`,
    ...(s.history ?? []),
  ];
  const header = (bunit: string) => radioProductHeader(vis, grid, beam, bunit, history, 'clean');
  const files: CleanProducts['files'] = [
    { kind: 'dirty', name: `${out}-dirty.fits`, bytes: fits(dirty, grid, header('JY/BEAM')) },
    { kind: 'psf', name: `${out}-psf.fits`, bytes: fits(psf, grid, header('JY/BEAM')) },
  ];
  let result: CleanResult | null = null;
  let restored: Float64Array | null = null;
  if (s.niter > 0) {
    result = yield* cleanSteps(A, vis.re, vis.im, w, big, { method: s.method, niter: s.niter, gain: s.gain, threshold: s.threshold, mask: s.mask });
    restored = restore(result.model, result.residual, beam, grid);
    files.push(
      { kind: 'model', name: `${out}-model.fits`, bytes: fits(result.model, grid, header('JY/PIXEL')) },
      { kind: 'residual', name: `${out}-residual.fits`, bytes: fits(result.residual, grid, header('JY/BEAM')) },
      { kind: 'image', name: `${out}-image.fits`, bytes: fits(restored, grid, header('JY/BEAM')) },
    );
  }
  return { grid, weights: w, noise, thermal, measurement: A, beam, dirty, psf, clean: result, restored, files, history };
}

/** Runs `cleanProducts` through (the command line's way). */
export function cleanProductsSync(vis: Visibilities, grid: ImageGrid, fileName: string, out: string, s: ImagingSettings): CleanProducts {
  const it = cleanProducts(vis, grid, fileName, out, s);
  for (;;) {
    const r = it.next();
    if (r.done) return r.value;
  }
}
