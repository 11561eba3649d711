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
 *    absolute flux of the components in detected islands that hold MIN_ISLAND_SHARE of it or more (0 where none is
 *    detected); the field's half-width is
 *    R plus a margin of max(R, 4/u_max) — the extent again, for the faint emission below the survey's threshold
 *    that the figures above show still matters;
 *  - cell 1/(2.5·u_max) (the grid's Nyquist frequency 1.25 u_max: the longest baselines inside it) unless the field
 *    then needs more than maxSize pixels, in which case the cell grows until the field fits in maxSize;
 *  - size 2R / cell, rounded up to a multiple of 8 (the U-Net halves the grid three times) and at least minSize.
 * A given cell keeps its cell (the size from the extent, held within maxSize); a given size keeps its size (the
 * cell from the extent, never finer than 1/(2.5·u_max)); both given: both kept.
 *
 * Where the survey does not resolve the source (surveyUnresolved: the components in its negative detected islands
 * hold NEGATIVE_SHARE or more of the detected |flux|, or its model holds less than half the shortest baselines'
 * detected amplitude, or a CLEAN stopped at its iteration cap holds more than 1½ × it — a sparse array whose dirty
 * beam's sidelobes CLEAN cannot take apart, or phases it cannot add up, as on the EHT's few baselines), the islands
 * say nothing and the extent comes from the visibility amplitudes instead (amplitudeSize): the uv distance ρ½ where
 * the binned amplitude first falls to half the shortest baselines' gives the size of the circular Gaussian that
 * halves there, FWHM θ = 2 ln 2 / (π ρ½), and R = AMPLITUDE_EXTENT · θ (within the survey's own half-field).
 * A ring of diameter d halves at 0.484/d (θ = 0.91 d): R = 1.5 θ holds a Gaussian's 99 % square (1.19 θ) and a
 * ring's edge (0.55 θ) with room, and the margin doubles it again. Amplitudes do not see the stations' phase errors,
 * which leave a CLEAN of uncalibrated VLBI phases nothing to converge on. They see the scale at which the flux is
 * resolved, not where faint emission lies: on a core and jet (VLBA BL Lac) the core halves the amplitude at 361 Mλ,
 * FWHM 0.25 mas, where the jet reaches 2.8 mas — the rule is kept for the surveys that fail, not put in the islands'
 * place.
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
/**
 * A detected island whose components hold less than this share of the detected components' |flux| does not set the
 * extent. EXTENT_FRACTION lets 1 % of the flux go wherever it lies, but CLEAN's picks about a source it cannot take
 * apart from a sparse array's sidelobes are many small islands whose shares add up beyond it: on seven VLBI sites
 * with 6 hour angles a 50 µas ring's survey has 30–35 islands beside the ring's (each 0.43 % or less, 5–6 % in all)
 * out to 1.4 mas, and with an intra-site baseline a 40 µas Gaussian's 16–21 (each 0.36 % or less, 2 %) out to
 * 1.8 mas. The detected islands of the VLA and VLBA files' sources hold 10–100 % each; their noise islands 0.01–0.2 %.
 */
export const MIN_ISLAND_SHARE = 0.005;
/** Default bounds on the posterior's image side (pixels). */
export const POSTERIOR_MIN_SIZE = 64;
export const POSTERIOR_MAX_SIZE = 256;
/** The default cell is 1/(FINE_CELL_FACTOR · u_max): the grid's Nyquist frequency 1.25 u_max. */
export const FINE_CELL_FACTOR = 2.5;

/**
 * The extent from the amplitudes' fall-off is this many times the FWHM of the circular Gaussian whose amplitude halves
 * where the data's do (the module comment).
 */
export const AMPLITUDE_EXTENT = 1.5;
/** The amplitude profile's bins: AMPLITUDE_BINS of equal count, at least AMPLITUDE_BIN_MIN visibilities each. */
export const AMPLITUDE_BINS = 40;
export const AMPLITUDE_BIN_MIN = 8;
/** At most this many visibilities (every step-th of a larger file) enter the amplitude profile. */
export const AMPLITUDE_MAX_SAMPLES = 100_000;
/**
 * The survey does not resolve the source (surveyUnresolved) where its model's flux lies below (1 − FLUX_MISMATCH) ×
 * the shortest baselines' detected amplitude (or, its CLEAN capped, above (1 + FLUX_MISMATCH) ×), or where the
 * components in its negative detected islands hold NEGATIVE_SHARE or more of the detected components' |flux|.
 */
export const FLUX_MISMATCH = 0.5;
export const NEGATIVE_SHARE = 0.1;

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
   * components in detected islands of MIN_ISLAND_SHARE or more; or, where rule is 'amplitude-falloff', AMPLITUDE_EXTENT
   * × the amplitudes' FWHM.
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
  /** Detected islands holding components of less than MIN_ISLAND_SHARE of the detected |flux| each, and their |flux|. */
  smallIslands: number;
  smallFlux: number;
  /** Detected islands of negative sign, and the share of the detected components' |flux| in them. */
  negativeIslands: number;
  negativeShare: number;
  /** The survey's CLEAN: iterations, and whether it reached its threshold. */
  iterations: number;
  converged: boolean;
  /** The visibility amplitudes' fall-off (amplitudeSize). */
  amplitude: AmplitudeSize;
  /**
   * What set `radius`: the components in detected islands ('clean-islands') or, where the survey does not resolve
   * the source (surveyUnresolved), the amplitudes' fall-off ('amplitude-falloff'); `unresolved` says why.
   */
  rule: 'clean-islands' | 'amplitude-falloff';
  unresolved: string | null;
}

/** The size of the source from its visibility amplitudes against uv distance (the module comment). */
export interface AmplitudeSize {
  /** The shortest baselines' amplitude (Jy): the first bin's weighted median. */
  shortFlux: number;
  /** The noise of one of those visibilities by its weight (Jy per part: the median of 1/√w over the first bin). */
  shortNoise: number;
  /** The visibilities in the first bin. */
  shortCount: number;
  /** uv distance (wavelengths) where the binned amplitude first falls to shortFlux / 2; u_max where it never does. */
  halfUv: number;
  /** FWHM (radians) of the circular Gaussian whose amplitude halves at halfUv (an upper bound where !resolved). */
  fwhm: number;
  resolved: boolean;
  bins: number;
}

/** The weighted median of values[k], k in idx, with weights w[k] (negative weights count as 0). */
function weightedMedian(values: Float64Array, w: Float64Array, idx: number[]): number {
  const order = idx.slice().sort((p, q) => values[p] - values[q]);
  let total = 0;
  for (const k of order) total += Math.max(w[k], 0);
  if (!(total > 0)) return values[order[order.length >> 1]];
  let s = 0;
  for (const k of order) {
    s += Math.max(w[k], 0);
    if (s >= total / 2) return values[k];
  }
  return values[order[order.length - 1]];
}

/**
 * The visibility amplitudes' fall-off: the visibilities sorted by uv distance ρ in bins of equal count
 * (AMPLITUDE_BINS, at least AMPLITUDE_BIN_MIN each), each bin's weighted median amplitude at its median ρ; ρ½ is
 * where the profile first falls to half the first bin's (linear between the bins about it), and the size the FWHM of
 * the circular Gaussian that halves there, 2 ln 2 / (π ρ½); where it never does, ρ½ is u_max (θ an upper bound). Medians: the amplitudes of a sparse array scatter with
 * the baselines' orientation about a non-circular source, and a misstated weights' scale does not move them.
 */
export function amplitudeSize(vis: WeightedData): AmplitudeSize {
  // every step-th visibility of a large file (its order, not its uv distance): AMPLITUDE_MAX_SAMPLES are plenty for
  // 40 medians, and the sort below is the cost (2.9 s for the 2.4·10⁶ of the VLA 10⁷ file, all of them)
  const step = Math.max(1, Math.ceil(vis.u.length / AMPLITUDE_MAX_SAMPLES));
  const n = Math.ceil(vis.u.length / step);
  const rho = new Float64Array(n);
  const amp = new Float64Array(n);
  const weight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = i * step;
    rho[i] = Math.hypot(vis.u[k], vis.v[k]);
    amp[i] = Math.hypot(vis.re[k], vis.im[k]);
    weight[i] = vis.weight[k];
  }
  const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => rho[a] - rho[b]);
  const m = Math.max(AMPLITUDE_BIN_MIN, Math.ceil(n / AMPLITUDE_BINS));
  const at: number[] = [];
  const level: number[] = [];
  const nb = n ? Math.max(1, Math.floor(n / m)) : 0;
  for (let k = 0; k < nb; k++) {
    const b = order.slice(Math.floor((k * n) / nb), Math.floor(((k + 1) * n) / nb));
    at.push(rho[b[b.length >> 1]]);
    level.push(weightedMedian(amp, weight, b));
  }
  const { umax } = uvRange(vis.u, vis.v);
  const shortFlux = level.length ? level[0] : 0;
  let shortNoise = Infinity;
  const shortCount = nb ? Math.floor(n / nb) : 0;
  if (nb) {
    const first = order.slice(0, shortCount).map((k) => (weight[k] > 0 ? 1 / Math.sqrt(weight[k]) : Infinity));
    first.sort((a, b) => a - b);
    shortNoise = first[first.length >> 1];
  }
  const size = (halfUv: number, resolved: boolean): AmplitudeSize => ({
    shortFlux,
    shortNoise,
    shortCount,
    halfUv,
    fwhm: halfUv > 0 ? (2 * Math.LN2) / (Math.PI * halfUv) : 0,
    resolved,
    bins: level.length,
  });
  for (let k = 1; k < level.length; k++) {
    if (level[k] <= shortFlux / 2) {
      const t = (level[k - 1] - shortFlux / 2) / (level[k - 1] - level[k]);
      return size(at[k - 1] + t * (at[k] - at[k - 1]), true);
    }
  }
  return size(umax, false);
}

/**
 * Whether the shortest baselines' amplitude is emission: the median amplitude of m visibilities of noise σ (per part,
 * by the weights) alone is about √(2 ln 2) σ (Rayleigh's median), give or take σ/√m; the first bin's must exceed it by
 * DETECTION_SIGMA × σ/√m. (A median over the bin, not one visibility: where --reweight takes σ from the scatter of
 * uncalibrated phases, as on the EHT file, one visibility's σ is near the amplitude itself.)
 */
export function shortDetected(a: AmplitudeSize): boolean {
  if (!(a.shortCount > 0) || !Number.isFinite(a.shortNoise)) return false;
  return a.shortFlux >= a.shortNoise * (Math.sqrt(2 * Math.LN2) + DETECTION_SIGMA / Math.sqrt(a.shortCount));
}

/**
 * Why the survey does not resolve the source (the module comment), or null where it does:
 *  - the components in negative detected islands hold NEGATIVE_SHARE or more of the detected components' |flux|: a
 *    sky's brightness is positive, and this much negative emission is CLEAN's picks on the dirty beam's sidelobes,
 *    not noise (on the VLA and VLBA files of docs/radio.md at most 0.2 %); or
 *  - the shortest baselines' amplitude is detected (shortDetected) and the survey's model holds less than
 *    (1 − FLUX_MISMATCH) of it — CLEAN missed the emission the data see — or, where
 *    its CLEAN stopped at the iteration cap above its threshold, more than (1 + FLUX_MISMATCH) × it. (A converged
 *    model may hold more than the shortest baselines see: the flux they resolve out.)
 */
export function surveyUnresolved(e: {
  converged: boolean;
  iterations: number;
  flux: number;
  negativeIslands: number;
  negativeShare: number;
  amplitude: AmplitudeSize;
}): string | null {
  const v0 = e.amplitude.shortFlux;
  const why: string[] = [];
  if (e.negativeShare >= NEGATIVE_SHARE)
    why.push(`${e.negativeIslands} negative island${e.negativeIslands === 1 ? '' : 's'} hold${e.negativeIslands === 1 ? 's' : ''} ${(100 * e.negativeShare).toFixed(0)} % of the detected components' |flux|`);
  const capped = e.converged ? '' : ` (its CLEAN stopped at ${e.iterations} iterations above its threshold)`;
  if (shortDetected(e.amplitude)) {
    if (!(e.flux >= (1 - FLUX_MISMATCH) * v0))
      why.push(`its model's ${e.flux.toPrecision(3)} Jy${capped} is less than ${1 - FLUX_MISMATCH} × the shortest baselines' ${v0.toPrecision(3)} Jy`);
    else if (!e.converged && e.flux > (1 + FLUX_MISMATCH) * v0)
      why.push(`its model's ${e.flux.toPrecision(3)} Jy${capped} is more than ${1 + FLUX_MISMATCH} × the shortest baselines' ${v0.toPrecision(3)} Jy`);
  }
  return why.length ? why.join('; ') : null;
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
  const { grid, big, threshold, clean: r } = surveyClean(vis, opts);
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
  const negative = new Set<number>();
  for (let i = 0; i < n * n; i++) if (label[i] >= 0 && image[i] < 0) negative.add(label[i]);
  let keptFlux = 0;
  let negativeFlux = 0;
  for (let i = 0; i < n * n; i++) {
    keptFlux += Math.abs(kept[i]);
    if (kept[i] !== 0 && negative.has(label[i])) negativeFlux += Math.abs(kept[i]);
  }
  const base = {
    flux: r.modelFlux,
    components,
    grid,
    noise,
    islands: count,
    dropped,
    droppedFlux,
    negativeIslands: negative.size,
    negativeShare: keptFlux > 0 ? negativeFlux / keptFlux : 0,
    iterations: r.iterations,
    converged: r.peak <= threshold,
    amplitude: amplitudeSize(vis),
  };
  // islands holding less than MIN_ISLAND_SHARE of the detected |flux| each do not set the extent
  const islandFlux = new Float64Array(count);
  for (let i = 0; i < n * n; i++) if (kept[i] !== 0) islandFlux[label[i]] += Math.abs(kept[i]);
  let smallIslands = 0;
  let smallFlux = 0;
  for (const f of islandFlux) {
    if (f > 0 && f < MIN_ISLAND_SHARE * keptFlux) {
      smallIslands++;
      smallFlux += f;
    }
  }
  if (smallIslands > 0) for (let i = 0; i < n * n; i++) if (kept[i] !== 0 && islandFlux[label[i]] < MIN_ISLAND_SHARE * keptFlux) kept[i] = 0;
  const unresolved = surveyUnresolved(base);
  if (unresolved === null) return { ...base, smallIslands, smallFlux, radius: extentRadiusPixels(kept, n, n) * cell, rule: 'clean-islands', unresolved };
  // the amplitudes' fall-off, within the survey's own field
  const radius = Math.min(AMPLITUDE_EXTENT * base.amplitude.fwhm, Math.floor(n / 2) * cell);
  return { ...base, smallIslands, smallFlux, radius, rule: 'amplitude-falloff', unresolved };
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
        (ext.dropped > 0 ? `; ${ext.dropped} component${ext.dropped === 1 ? '' : 's'} outside them (${ext.droppedFlux.toPrecision(3)} Jy of |flux|, noise and sidelobe picks) left out` : '') +
        (ext.smallIslands > 0 && ext.rule === 'clean-islands'
          ? `; ${ext.smallIslands} island${ext.smallIslands === 1 ? '' : 's'} of less than ${MIN_ISLAND_SHARE * 100} % of the detected |flux| each (${ext.smallFlux.toPrecision(3)} Jy in all) left out of the extent`
          : '');
  const a = ext.amplitude;
  const where =
    ext.rule === 'clean-islands'
      ? `${EXTENT_FRACTION * 100} % of the detected components' |flux| lies within ${mas(ext.radius)} of the phase centre`
      : `the survey does not resolve the source (${ext.unresolved}): the extent is ${AMPLITUDE_EXTENT} × the FWHM of the circular Gaussian whose amplitude halves where the data's do ` +
        (a.resolved
          ? `(the binned amplitudes fall from the shortest baselines' ${a.shortFlux.toPrecision(3)} Jy to half at ${(a.halfUv / 1e6).toPrecision(4)} Mλ: FWHM ${mas(a.fwhm)}), ${mas(ext.radius)}`
          : `(the binned amplitudes stay above half the shortest baselines' ${a.shortFlux.toPrecision(3)} Jy out to u_max: FWHM below ${mas(a.fwhm)}), ${mas(ext.radius)}`);
  notes.push(
    `field from the source's extent: a Högbom CLEAN survey (${ext.flux.toPrecision(3)} Jy, ${ext.components} components on a ${ext.grid.nx}² grid, ${ext.iterations} iterations${ext.converged ? '' : ', stopped above its threshold'}); ${islands}; ` +
      `${where}; with its margin the field is ${size} × ${mas(cell)} = ${mas(size * cell)}` +
      (opts.cell === undefined ? ` (cell ${cell === fine ? `1/(${FINE_CELL_FACTOR}·u_max)` : 'coarsened to hold the field'})` : ''),
  );
  return { cell, size, notes, extent: ext };
}

/** How far the posterior mean's total flux may stray from the survey CLEAN's before a warning: a factor 2 either way. */
export const TOTAL_FLUX_FACTOR = 2;

/**
 * The warning for a posterior whose total flux the data do not hold: the mean's total flux (Jy) outside
 * [1/TOTAL_FLUX_FACTOR, TOTAL_FLUX_FACTOR] × the survey CLEAN's flux. The shortest baseline u_min (λ) measures no
 * scale beyond about 1/u_min; on a field larger than that the prior sets the largest scales, and a mean may hold a
 * broad bowl (or plateau) that no visibility sees, so χ² stays near 1 while the total flux is wrong. `inner` is the
 * mean's flux within the survey's extent, where the data do measure it. Null where the flux is within the range or
 * there is no survey flux to compare with.
 */
export function totalFluxWarning(e: { meanFlux: number; sampleFlux: number[]; cleanFlux: number | null; innerFlux: number; uMin: number; fieldRad: number }): string | null {
  const c = e.cleanFlux;
  if (c === null || !(c > 0) || (e.meanFlux >= c / TOTAL_FLUX_FACTOR && e.meanFlux <= c * TOTAL_FLUX_FACTOR)) return null;
  const lo = Math.min(...e.sampleFlux);
  const hi = Math.max(...e.sampleFlux);
  const mas = (r: number) => `${+((r * 180) / Math.PI * 3.6e6).toPrecision(3)} mas`;
  const scale = 1 / e.uMin;
  const lam = e.uMin >= 1e6 ? `${+(e.uMin / 1e6).toPrecision(3)} Mλ` : e.uMin >= 1e3 ? `${+(e.uMin / 1e3).toPrecision(3)} kλ` : `${+e.uMin.toPrecision(3)} λ`;
  return (
    `the posterior mean's total flux ${e.meanFlux.toPrecision(3)} Jy${e.sampleFlux.length ? ` (draws ${lo.toPrecision(3)} … ${hi.toPrecision(3)} Jy)` : ''} is outside ${1 / TOTAL_FLUX_FACTOR}–${TOTAL_FLUX_FACTOR} × the survey CLEAN's ${c.toPrecision(3)} Jy; ` +
    `within the source's extent it holds ${e.innerFlux.toPrecision(3)} Jy. The shortest baseline (${lam}) measures no scale beyond about ${scale < 1e-3 ? mas(scale) : `${+((scale * 180) / Math.PI).toPrecision(3)}°`} ` +
    `and the field spans ${e.fieldRad < 1e-3 ? mas(e.fieldRad) : `${+((e.fieldRad * 180) / Math.PI).toPrecision(3)}°`}: the prior sets the largest scales, which no visibility sees (χ² does not show them); ` +
    `read fluxes within the source, or give a field nearer the source's size (--size, --cell)`
  );
}

/** The floor of the survey's total-flux constraint's σ, as a fraction of its flux (the closure likelihood's 5 %). */
export const ZERO_SPACING_FLOOR = 0.05;

/**
 * The total flux the survey measures, as a zero-spacing constraint for the posterior (normal-equations.ts,
 * withZeroSpacing): the survey CLEAN's flux F ± σ, σ = √((ZERO_SPACING_FLOOR·F)² + (F − S)²), S the shortest
 * baselines' amplitude. No visibility measures the flux on scales beyond about 1/u_min; CLEAN's F extrapolates the
 * amplitudes from S to zero spacing, and for a sky of positive brightness |V(u)| ≤ V(0), so S bounds the total from
 * below: F − S, the flux the shortest baselines already miss, is the size of that extrapolation, taken as its
 * standard deviation; the floor holds where the source is compact (S ≈ F). Null where the survey detects no emission
 * or its flux is not positive (there is nothing to constrain the total with).
 */
export function surveyZeroSpacing(ext: SourceExtent): { flux: number; sigma: number; shortFlux: number } | null {
  const f = ext.flux;
  if (!(f > 0) || ext.islands === 0) return null;
  const s = ext.amplitude.shortFlux;
  const sigma = Math.hypot(ZERO_SPACING_FLOOR * f, Number.isFinite(s) ? f - s : f);
  return { flux: f, sigma, shortFlux: s };
}
