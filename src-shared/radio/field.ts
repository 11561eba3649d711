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
 *  - detection: the model restored with the fitted beam plus the residual is the survey's CLEAN image; its noise
 *    σ_r is measured from the residual (1.4826 × its median absolute deviation: thermal noise, uncleaned sidelobes
 *    and calibration errors as they are, whatever the weights state). Islands are the connected regions (8
 *    neighbours, one sign) where |image| ≥ ISLAND_SIGMA · σ_r; an island is detected emission when its peak
 *    reaches DETECTION_SIGMA · σ_r. Components outside detected islands — CLEAN's picks on noise peaks and on the
 *    sidelobe residue left in the residual, which a threshold of a few σ over a field of thousands of beams always
 *    finds — are left out of the extent;
 *  - extent R: the half-width of the smallest square about the phase centre that holds EXTENT_FRACTION of the
 *    absolute flux of the components in detected islands (0 where none is detected); the field's half-width is
 *    R plus a margin of max(R, 4/u_max) — the extent again, for the faint emission below the survey's threshold
 *    that the figures above show still matters;
 *  - cell 1/(2.5·u_max) (the grid's Nyquist frequency 1.25 u_max: the longest baselines inside it) unless the field
 *    then needs more than maxSize pixels, in which case the cell grows until the field fits in maxSize;
 *  - size 2R / cell, rounded up to a multiple of 8 (the U-Net halves the grid three times) and at least minSize.
 * A given cell keeps its cell (the size from the extent, held within maxSize); a given size keeps its size (the
 * cell from the extent, never finer than 1/(2.5·u_max)); both given: both kept.
 */
import { beamFromAxes, clean, fitBeam, restore, type RestoringBeam } from './clean.js';
import { cropBeam, defaultGeometry, dirtyBeam, dirtyImage, doubleGrid, uvRange } from './imaging.js';
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
/**
 * An island of the survey's CLEAN image is detected emission when its peak reaches DETECTION_SIGMA × the residual's
 * noise; it spans the connected pixels of one sign at ISLAND_SIGMA × that noise or more (the usual source-finding
 * pair of thresholds: Gaussian noise passes ±5σ about once in 1.7 million independent beams, and the 3σ island
 * takes in the emission around it). The residual's tails are heavier (sidelobe residue): on the synthetic VLA files
 * of docs/radio.md up to 7 islands reach 5σ_r where the sky has no source, holding at most 0.5 % of the components'
 * |flux|, which EXTENT_FRACTION leaves out.
 */
export const DETECTION_SIGMA = 5;
export const ISLAND_SIGMA = 3;
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
  /**
   * Half-width (radians) of the smallest square about the phase centre holding EXTENT_FRACTION of the |flux| of the
   * components in detected islands.
   */
  radius: number;
  /** The CLEAN model's flux (Jy) and components, all of them. */
  flux: number;
  components: number;
  /** The survey grid. */
  grid: ImageGrid;
  /** The residual's robust noise σ_r (Jy/beam). */
  noise: number;
  /** Islands detected (peak ≥ DETECTION_SIGMA · σ_r), and the components and |flux| (Jy) left out of the extent. */
  islands: number;
  dropped: number;
  droppedFlux: number;
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

/** 1.4826 × the median absolute deviation from the median: a Gaussian's σ, robust to the emission in the image. */
export function robustNoise(img: Float64Array): number {
  if (img.length === 0) return 0;
  const sorted = Float64Array.from(img).sort();
  const med = sorted[sorted.length >> 1];
  const dev = Float64Array.from(img, (x) => Math.abs(x - med)).sort();
  return 1.4826 * dev[dev.length >> 1];
}

/**
 * The detected islands of an image [ny, nx]: connected regions (8 neighbours) of pixels of one sign with |value| ≥
 * `island`, kept where their peak |value| reaches `detect`. Returns, per pixel, the island's number (0, 1, …) or −1,
 * and the count of detected islands.
 */
export function detectedIslands(img: Float64Array, nx: number, ny: number, island: number, detect: number): { label: Int32Array; count: number } {
  const label = new Int32Array(nx * ny).fill(-1);
  const seen = new Uint8Array(nx * ny);
  let count = 0;
  const members: number[] = [];
  for (let i = 0; i < nx * ny; i++) {
    if (seen[i] || !(Math.abs(img[i]) >= island)) continue;
    const sign = Math.sign(img[i]);
    members.length = 0;
    const stack = [i];
    seen[i] = 1;
    let top = 0;
    while (stack.length) {
      const p = stack.pop()!;
      members.push(p);
      top = Math.max(top, Math.abs(img[p]));
      const y = Math.floor(p / nx);
      const x = p - y * nx;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= ny) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= nx) continue;
          const q = yy * nx + xx;
          if (!seen[q] && Math.sign(img[q]) === sign && Math.abs(img[q]) >= island) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    if (top >= detect) {
      for (const p of members) label[p] = count;
      count++;
    }
  }
  return { label, count };
}

/** The survey's Högbom CLEAN (the module comment's rule): its grid, the dirty beam on the doubled grid, its threshold. */
export function surveyClean(
  vis: WeightedData,
  opts: { freqMin: number; dishDiameter?: number },
): { grid: ImageGrid; big: ReturnType<typeof dirtyBeam>; threshold: number; clean: ReturnType<typeof clean> } {
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
  return { grid, big, threshold, clean: clean(A, vis.re, vis.im, vis.weight, big, { method: 'hogbom', niter: 2000, gain: 0.1, threshold }) };
}

/**
 * Where the source's emission lies: a Högbom CLEAN of the natural-weighted dirty image on the survey grid (the
 * default field of `skyscore clean`, within SURVEY_MAX pixels), its detected islands, and the extent of the
 * components inside them (the module comment's rule).
 */
export function sourceExtent(vis: WeightedData, opts: { freqMin: number; dishDiameter?: number }): SourceExtent {
  const { grid, big, clean: r } = surveyClean(vis, opts);
  const n = grid.nx;
  const cell = grid.cell;
  // the survey's CLEAN image and its noise, measured from the residual
  let beam: RestoringBeam;
  try {
    beam = fitBeam(cropBeam(big, grid), grid);
  } catch {
    // a main lobe of a pixel or two (a survey cell coarsened to hold a wide field): a beam of one cell
    beam = beamFromAxes((cell * 180) / Math.PI, (cell * 180) / Math.PI, 0, cell);
  }
  const image = restore(r.model, r.residual, beam, grid);
  const noise = robustNoise(r.residual);
  const { label, count } = detectedIslands(image, n, n, ISLAND_SIGMA * noise, DETECTION_SIGMA * noise);
  const kept = new Float64Array(n * n);
  let components = 0;
  let dropped = 0;
  let droppedFlux = 0;
  for (let i = 0; i < n * n; i++) {
    if (r.model[i] === 0) continue;
    components++;
    if (label[i] >= 0) kept[i] = r.model[i];
    else {
      dropped++;
      droppedFlux += Math.abs(r.model[i]);
    }
  }
  return { radius: extentRadiusPixels(kept, n, n) * cell, flux: r.modelFlux, components, grid, noise, islands: count, dropped, droppedFlux };
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
  // angles in mas below 1″, in arcseconds below 1°, else in degrees
  const mas = (x: number) => {
    const as = x / ARCSEC;
    return as < 1 ? `${+(as * 1e3).toPrecision(3)} mas` : as < 3600 ? `${+as.toPrecision(3)}″` : `${+(as / 3600).toPrecision(3)}°`;
  };
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
  const islands =
    ext.islands === 0
      ? `no island of its image reaches ${DETECTION_SIGMA}σ (σ ${ext.noise.toPrecision(3)} Jy/beam from the residual): no emission detected`
      : `${ext.islands} island${ext.islands === 1 ? '' : 's'} of its image reach${ext.islands === 1 ? 'es' : ''} ${DETECTION_SIGMA}σ (σ ${ext.noise.toPrecision(3)} Jy/beam from the residual)` +
        (ext.dropped > 0 ? `; ${ext.dropped} component${ext.dropped === 1 ? '' : 's'} outside them (${ext.droppedFlux.toPrecision(3)} Jy of |flux|, noise and sidelobe picks) left out` : '');
  notes.push(
    `field from the source's extent: a Högbom CLEAN survey (${ext.flux.toPrecision(3)} Jy, ${ext.components} components on a ${ext.grid.nx}² grid); ${islands}; ` +
      `${EXTENT_FRACTION * 100} % of the detected components' |flux| lies within ${mas(ext.radius)} of the phase centre; with its margin the field is ${size} × ${mas(cell)} = ${mas(size * cell)}` +
      (opts.cell === undefined ? ` (cell ${cell === fine ? `1/(${FINE_CELL_FACTOR}·u_max)` : 'coarsened to hold the field'})` : ''),
  );
  return { cell, size, notes, extent: ext };
}
