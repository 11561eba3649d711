/**
 * The field a source needs: where its emission lies (a CLEAN survey of the whole field) and the default image grid
 * of a posterior from visibilities, which must hold all of it.
 *
 * A posterior's image model can fit the data only as well as its grid lets it: emission outside the field leaves a
 * misfit that no prior removes. On VLBA BL Lac (43 GHz, weights rescaled to the data's scatter) CLEAN's own model
 * reaches χ² per visibility degree of freedom 3.1 on a 5.1 mas field that cuts the jet off (64² × 0.08 mas), 1.46 on
 * 7.1 mas (128² × 0.0555), 1.31 on 10.2 mas (128² × 0.08) and 1.18 on 15 mas (542² × 0.028): the field matters far
 * more than the cell (1.26 on 256² × 0.04 mas, the 10.2 mas field at half the cell). And a learned prior costs in
 * proportion to the pixels, so the 1/(6·u_max) cell and the primary beam's field that `skyscore clean` takes (542²
 * for that file) are far too large for it.
 *
 * The rule (posteriorGeometry):
 *  - survey: a Högbom CLEAN (gain 0.1, to 3 × the weights' image noise or SURVEY_DYNAMIC_RANGE × the dirty
 *    image's peak, whichever is higher, at most 2000 components) of the
 *    natural-weighted dirty image on the default field (defaultGeometry's, held within SURVEY_MAX pixels, the cell
 *    coarsened to 1/(3·u_max) or as needed to hold it);
 *  - extent R: the half-width of the smallest square about the phase centre that holds EXTENT_FRACTION of the
 *    CLEAN model's absolute flux (a few stray components on noise peaks do not set it); the field's half-width is
 *    R plus a margin of max(R, 4/u_max) — the extent again, for the faint emission below the survey's threshold
 *    that the figures above show still matters;
 *  - cell 1/(2.5·u_max) (the grid's Nyquist frequency 1.25 u_max: the longest baselines inside it) unless the field
 *    then needs more than maxSize pixels, in which case the cell grows until the field fits in maxSize;
 *  - size 2R / cell, rounded up to a multiple of 8 (the U-Net halves the grid three times) and at least minSize.
 * A given cell keeps its cell (the size from the extent, held within maxSize); a given size keeps its size (the
 * cell from the extent, never finer than 1/(2.5·u_max)); both given: both kept.
 */
import { clean } from './clean.js';
import { defaultGeometry, dirtyBeam, dirtyImage, doubleGrid, uvRange } from './imaging.js';
import { chooseMeasurement } from './measurement.js';
import { ARCSEC, type ImageGrid } from './grid.js';

/** Most pixels per side of the survey grid. */
export const SURVEY_MAX = 256;
/** The share of the CLEAN model's absolute flux the field must hold. */
export const EXTENT_FRACTION = 0.99;
/**
 * The survey's CLEAN stops at this fraction of the dirty image's peak (or 3σ of the weights' noise, whichever is
 * higher): the extent then does not follow the weights' scale, which files often misstate, and components on
 * sidelobes of calibration errors do not set it (on VLBA BL Lac, CLEANed to 3σ of the rescaled weights, 1 % of the
 * flux lay beyond 6.4 mas in scattered components; to 0.3 % of the peak, within 2.8 mas, the jet's end).
 */
export const SURVEY_DYNAMIC_RANGE = 0.003;
/** Default bounds on the posterior's image side (pixels). */
export const POSTERIOR_MIN_SIZE = 64;
export const POSTERIOR_MAX_SIZE = 256;
/** The default cell is 1/(FINE_CELL_FACTOR · u_max): the grid's Nyquist frequency 1.25 u_max. */
export const FINE_CELL_FACTOR = 2.5;

export interface WeightedData {
  u: Float64Array;
  v: Float64Array;
  re: Float64Array;
  im: Float64Array;
  weight: Float64Array;
}

export interface SourceExtent {
  /** Half-width (radians) of the smallest square about the phase centre holding EXTENT_FRACTION of |flux|. */
  radius: number;
  /** The CLEAN model's flux (Jy) and components. */
  flux: number;
  components: number;
  /** The survey grid. */
  grid: ImageGrid;
}

/**
 * Half-width (pixels, from the centre pixel (⌊ny/2⌋, ⌊nx/2⌋)) of the smallest centred square holding `fraction`
 * of the image's absolute sum; 0 for an empty image.
 */
export function extentRadiusPixels(model: Float64Array, nx: number, ny: number, fraction = EXTENT_FRACTION): number {
  const cx = Math.floor(nx / 2);
  const cy = Math.floor(ny / 2);
  const rmax = Math.max(cx, cy, nx - 1 - cx, ny - 1 - cy);
  const ring = new Float64Array(rmax + 1);
  let total = 0;
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const a = Math.abs(model[y * nx + x]);
      if (a === 0) continue;
      ring[Math.max(Math.abs(x - cx), Math.abs(y - cy))] += a;
      total += a;
    }
  }
  if (!(total > 0)) return 0;
  let s = 0;
  for (let r = 0; r <= rmax; r++) {
    s += ring[r];
    if (s >= fraction * total) return r;
  }
  return rmax;
}

/**
 * Where the source's emission lies: a Högbom CLEAN of the natural-weighted dirty image on the survey grid (the
 * default field of `skyscore clean`, within SURVEY_MAX pixels) and the extent of its model.
 */
export function sourceExtent(vis: WeightedData, opts: { freqMin: number; dishDiameter?: number }): SourceExtent {
  const { umax } = uvRange(vis.u, vis.v);
  const full = defaultGeometry(vis.u, vis.v, { freqMin: opts.freqMin, dishDiameter: opts.dishDiameter });
  const field = full.size * full.cell;
  const cell = Math.max(1 / (3 * umax), field / SURVEY_MAX);
  let n = Math.ceil(field / cell);
  n += n % 2;
  const grid: ImageGrid = { nx: n, ny: n, cell };
  const A = chooseMeasurement(vis.u, vis.v, grid);
  const big = dirtyBeam(vis.u, vis.v, vis.weight, doubleGrid(grid));
  let sw = 0;
  for (const w of vis.weight) sw += w;
  let peak = 0;
  for (const x of dirtyImage(A, vis.re, vis.im, vis.weight)) peak = Math.max(peak, x);
  const threshold = Math.max(3 / Math.sqrt(sw), SURVEY_DYNAMIC_RANGE * peak);
  const r = clean(A, vis.re, vis.im, vis.weight, big, { method: 'hogbom', niter: 2000, gain: 0.1, threshold });
  let components = 0;
  for (const x of r.model) if (x !== 0) components++;
  return { radius: extentRadiusPixels(r.model, n, n) * cell, flux: r.modelFlux, components, grid };
}

export interface PosteriorGeometry {
  cell: number;
  size: number;
  notes: string[];
  /** The survey's extent, null where both size and cell were given. */
  extent: SourceExtent | null;
}

/**
 * The image grid of a posterior from visibilities (the module comment's rule). `extent` may be given (tests, or a
 * caller that has surveyed already); else it is measured here when size or cell is missing.
 */
export function posteriorGeometry(
  vis: WeightedData,
  opts: { freqMin: number; dishDiameter?: number; cell?: number; size?: number; minSize?: number; maxSize?: number; extent?: SourceExtent },
): PosteriorGeometry {
  const minSize = opts.minSize ?? POSTERIOR_MIN_SIZE;
  const maxSize = opts.maxSize ?? POSTERIOR_MAX_SIZE;
  if (opts.cell !== undefined && opts.size !== undefined) return { cell: opts.cell, size: opts.size, notes: [], extent: null };
  const { umax } = uvRange(vis.u, vis.v);
  const ext = opts.extent ?? sourceExtent(vis, opts);
  const notes: string[] = [];
  const mas = (x: number) => `${+((x / ARCSEC) * 1e3).toPrecision(3)} mas`;
  // the margin: the extent again (faint emission below the survey's threshold), and at least 4/u_max
  const half = ext.radius + Math.max(ext.radius, 4 / umax);
  const fine = 1 / (FINE_CELL_FACTOR * umax);
  const roundUp = (x: number) => Math.max(minSize, Math.ceil(x / 8) * 8);
  let cell: number;
  let size: number;
  if (opts.cell !== undefined) {
    cell = opts.cell;
    const need = roundUp((2 * half) / cell);
    size = Math.min(maxSize, need);
    if (need > maxSize) notes.push(`the source's extent needs ${need} pixels at this cell: held at ${maxSize} (give --size to change)`);
  } else if (opts.size !== undefined) {
    size = opts.size;
    cell = Math.max(fine, (2 * half) / size);
  } else {
    cell = fine;
    size = roundUp((2 * half) / cell);
    if (size > maxSize) {
      size = maxSize;
      cell = (2 * half) / size;
    }
  }
  notes.push(
    `field from the source's extent: ${EXTENT_FRACTION * 100} % of a Högbom CLEAN's flux (${ext.flux.toPrecision(3)} Jy, ${ext.components} components on a ${ext.grid.nx}² survey) ` +
      `lies within ${mas(ext.radius)} of the phase centre; with its margin the field is ${size} × ${mas(cell)} = ${mas(size * cell)}` +
      (opts.cell === undefined ? ` (cell ${cell === fine ? `1/(${FINE_CELL_FACTOR}·u_max)` : 'coarsened to hold the field'})` : ''),
  );
  return { cell, size, notes, extent: ext };
}
