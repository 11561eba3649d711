/**
 * Radio-like sky images that SkyScore synthesises (seeded, reproducible), the training data of the radio prior
 * (models/radio-64): compact cores, one- and two-sided jets, FR I and FR II radio galaxies, groups of them and empty
 * sky, drawn as sums of elliptical Gaussians on a square grid of `size` pixels, with random position, orientation,
 * size and flux ratios over a large dynamic range. Also random crops and rescalings of real extended-emission
 * images (`cropRescale`), and the brightness normalisation both share (`normaliseBrightness`).
 *
 * Morphologies (one image each):
 *  - core: 1–3 compact Gaussian components (σ 0.5–1.8 px), unresolved to barely resolved;
 *  - jet: a core and a chain of knots along a gently curved path whose brightness falls with distance and whose
 *    width grows, on a faint continuous ridge; one-sided or two-sided (counter-jet flux ratio 0.01–1);
 *  - fr1: a bright core and two jets that widen into diffuse plumes, brightest near the core and fading outwards
 *    (edge-darkened), often bent (wide-angle tails);
 *  - fr2: a faint core, faint thin jets and two lobes whose brightness rises towards their outer edge, each ending
 *    in a compact hotspot (edge-brightened), arm-length ratio 0.6–1;
 *  - group: 2–4 smaller sources of the kinds above, at flux ratios down to 1/300;
 *  - empty: zero sky.
 * The images are non-negative, zero outside the sources (interferometric images have no sky pedestal) and
 * normalised by `normaliseBrightness`.
 */
import { quantileSorted } from '../image/stats.js';

/** A source of uniform deviates in [0, 1) and standard normals (e.g. diffusion/nn/rng.ts `Rng`). */
export interface UniformSource {
  uniform(): number;
  normal(): number;
}

export const RADIO_MORPHOLOGIES = ['core', 'jet', 'fr1', 'fr2', 'group', 'empty'] as const;
export type RadioMorphology = (typeof RADIO_MORPHOLOGIES)[number];

/** Probabilities of the morphologies (sum 1). */
export const MORPHOLOGY_WEIGHTS: Record<RadioMorphology, number> = { core: 0.14, jet: 0.26, fr1: 0.2, fr2: 0.22, group: 0.14, empty: 0.04 };

/** The brightness normalisation: the image's 99.5th percentile (the automatic flux scale's statistic) is set to a
 * value drawn log-uniformly in [lo, hi], unless that would put the peak above `maxPeakRatio` × the value (compact
 * sources, whose 99.5th percentile is far below their peak): then the peak is set to that bound — or, with
 * `compactPeak`, to a value log-uniform in [compactPeak.lo, compactPeak.hi] (the same uniform deviate as the
 * percentile's target, so the generator's stream, and every other image, stay as without it). */
export interface BrightnessRule {
  lo: number;
  hi: number;
  maxPeakRatio: number;
  /** Peaks of the compact sources (those whose peak exceeds maxPeakRatio × their 99.5th percentile), in prior
   * units; absent: maxPeakRatio × the drawn target, i.e. log-uniform in [maxPeakRatio·lo, maxPeakRatio·hi]. */
  compactPeak?: { lo: number; hi: number };
}

/** Prior units of the radio prior: the 99.5th percentile log-uniform in [0.3, 1.2] (its median ≈ 0.6, galaxy-64's
 * units: peakPrior 0.58), peaks at most 15 × that. */
export const DEFAULT_BRIGHTNESS: BrightnessRule = { lo: 0.3, hi: 1.2, maxPeakRatio: 15 };

/** The default rule with the compact sources' peaks spread down to the faint end: log-uniform in [1, 18] prior
 * units (the default's [4.5, 18] extended down to 1, below the peaks at which the radio evaluation's automatic
 * flux scale puts its compact cores, 1.6–2.7). Training cubes: scripts/make-radio-training.ts --compact-peak 1,18. */
export const FAINT_COMPACT_BRIGHTNESS: BrightnessRule = withCompactPeak(1, 18);

/** The default rule with the compact sources' peaks log-uniform in [lo, hi] prior units (0 < lo < hi). */
export function withCompactPeak(lo: number, hi: number): BrightnessRule {
  if (!(lo > 0 && hi > lo)) throw new RangeError(`compact peaks: need 0 < lo < hi, got ${lo}, ${hi}`);
  return { ...DEFAULT_BRIGHTNESS, compactPeak: { lo, hi } };
}

const between = (r: UniformSource, a: number, b: number) => a + (b - a) * r.uniform();
/** The point u ∈ [0, 1) of the way from a to b on a log scale. */
const logAt = (u: number, a: number, b: number) => Math.exp(Math.log(a) + (Math.log(b) - Math.log(a)) * u);
const logBetween = (r: UniformSource, a: number, b: number) => logAt(r.uniform(), a, b);

/**
 * Adds amp × exp(−½ (x′²/σa² + y′²/σb²)) with (x′, y′) the pixel offset from (cx, cy) (pixel centres at integers,
 * x the column) rotated by −angle, over the pixels within 4 σ.
 */
export function addGaussian(img: Float32Array, size: number, cx: number, cy: number, amp: number, sa: number, sb: number, angle: number): void {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const ext = 4 * Math.max(sa, sb);
  const x0 = Math.max(0, Math.floor(cx - ext));
  const x1 = Math.min(size - 1, Math.ceil(cx + ext));
  const y0 = Math.max(0, Math.floor(cy - ext));
  const y1 = Math.min(size - 1, Math.ceil(cy + ext));
  const ia = 1 / (sa * sa);
  const ib = 1 / (sb * sb);
  for (let y = y0; y <= y1; y++) {
    const dy = y - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x - cx;
      const u = c * dx + s * dy;
      const v = -s * dx + c * dy;
      img[y * size + x] += amp * Math.exp(-0.5 * (u * u * ia + v * v * ib));
    }
  }
}

interface Frame {
  size: number;
  /** Linear scale of the source relative to a 64-pixel frame (group members are smaller). */
  scale: number;
}

/** A path from (x, y) in direction θ with curvature κ (rad/px, slowly varying): points every `ds` pixels. */
function curvedPath(r: UniformSource, x: number, y: number, theta: number, length: number, kappa: number, ds: number): Array<{ x: number; y: number; t: number; s: number }> {
  const pts: Array<{ x: number; y: number; t: number; s: number }> = [];
  let t = theta;
  let k = kappa;
  for (let s = 0; s <= length; s += ds) {
    pts.push({ x, y, t, s });
    x += ds * Math.cos(t);
    y += ds * Math.sin(t);
    t += k * ds;
    k += 0.15 * Math.abs(kappa + 0.01) * r.normal() * ds;
  }
  return pts;
}

function core(img: Float32Array, f: Frame, r: UniformSource, cx: number, cy: number, flux: number): void {
  const n = 1 + Math.floor(3 * r.uniform() ** 2);
  for (let i = 0; i < n; i++) {
    const sa = between(r, 0.5, 1.8) * Math.sqrt(f.scale);
    const amp = i === 0 ? flux : flux * logBetween(r, 0.05, 0.7);
    const off = i === 0 ? 0 : between(r, 1, 3) * f.scale;
    const a = between(r, 0, 2 * Math.PI);
    addGaussian(img, f.size, cx + off * Math.cos(a), cy + off * Math.sin(a), amp, sa, sa * between(r, 0.6, 1), between(r, 0, Math.PI));
  }
}

/** A knotty jet from (cx, cy): knots of falling brightness and growing width on a faint continuous ridge. */
function jet(img: Float32Array, f: Frame, r: UniformSource, cx: number, cy: number, theta: number, length: number, flux: number): void {
  const kappa = between(r, -0.04, 0.04) / f.scale;
  const path = curvedPath(r, cx, cy, theta, length, kappa, 0.7);
  const fall = between(r, 0.8, 2.2);
  const s0 = between(r, 2, 6) * f.scale;
  const w0 = between(r, 0.5, 0.9) * Math.sqrt(f.scale);
  const widen = between(r, 0.02, 0.08);
  const ridge = flux * logBetween(r, 0.02, 0.15);
  for (const p of path) {
    const w = w0 + widen * p.s;
    addGaussian(img, f.size, p.x, p.y, ridge * (1 + p.s / s0) ** -fall, 0.9 * w, w, p.t);
  }
  const nk = 3 + Math.floor(between(r, 0, 9));
  for (let i = 0; i < nk; i++) {
    const p = path[Math.min(path.length - 1, Math.floor(r.uniform() * path.length))];
    const w = w0 + widen * p.s;
    const amp = flux * (1 + p.s / s0) ** -fall * logBetween(r, 0.15, 1);
    addGaussian(img, f.size, p.x, p.y, amp, w * between(r, 1, 1.8), w, p.t);
  }
}

function coreJet(img: Float32Array, f: Frame, r: UniformSource, cx: number, cy: number, flux: number): void {
  core(img, f, r, cx, cy, flux);
  const theta = between(r, 0, 2 * Math.PI);
  const len = between(r, 8, 28) * f.scale;
  const jf = flux * logBetween(r, 0.05, 0.6);
  jet(img, f, r, cx, cy, theta, len, jf);
  if (r.uniform() < 0.5) {
    const ratio = logBetween(r, 0.01, 1);
    jet(img, f, r, cx, cy, theta + Math.PI + between(r, -0.2, 0.2), len * between(r, 0.4, 1), jf * ratio);
  }
}

/** FR I: two jets widening into plumes, brightest near the core (edge-darkened), often bent. */
function fr1(img: Float32Array, f: Frame, r: UniformSource, cx: number, cy: number, flux: number): void {
  core(img, f, r, cx, cy, flux);
  const theta = between(r, 0, 2 * Math.PI);
  const bend = r.uniform() < 0.5 ? between(r, -0.06, 0.06) : 0;
  for (const side of [0, 1]) {
    const len = between(r, 10, 26) * f.scale;
    const t = theta + side * Math.PI + between(r, -0.15, 0.15);
    // bent tails: both arms turn the same way in the sky (a wide-angle tail)
    const kappa = (side === 0 ? bend : -bend) / f.scale + between(r, -0.02, 0.02) / f.scale;
    const path = curvedPath(r, cx, cy, t, len, kappa, 0.8);
    const amp0 = flux * logBetween(r, 0.08, 0.5) * (side === 1 ? logBetween(r, 0.3, 1) : 1);
    const w0 = between(r, 0.6, 1) * Math.sqrt(f.scale);
    const flare = between(r, 0.12, 0.3);
    const fall = between(r, 0.5, 1.2);
    for (const p of path) {
      const w = w0 + flare * p.s;
      addGaussian(img, f.size, p.x, p.y, amp0 * (1 + p.s / (4 * f.scale)) ** -fall * (0.7 + 0.6 * r.uniform()), 0.8 * w, w, p.t);
    }
    // the plume's diffuse end
    const end = path[path.length - 1];
    const wEnd = w0 + flare * end.s;
    for (let i = 0; i < 4; i++) {
      const d = between(r, 0, 1) * wEnd;
      addGaussian(img, f.size, end.x + d * Math.cos(end.t) + between(r, -1, 1) * wEnd * 0.5, end.y + d * Math.sin(end.t) + between(r, -1, 1) * wEnd * 0.5, amp0 * (1 + end.s / (4 * f.scale)) ** -fall * 0.3, wEnd * between(r, 0.8, 1.4), wEnd * between(r, 0.6, 1), between(r, 0, Math.PI));
    }
  }
}

/** FR II: faint core and jets, edge-brightened lobes ending in compact hotspots. */
function fr2(img: Float32Array, f: Frame, r: UniformSource, cx: number, cy: number, flux: number): void {
  const coreFlux = flux * logBetween(r, 0.01, 0.5);
  if (r.uniform() < 0.85) core(img, f, r, cx, cy, coreFlux);
  const theta = between(r, 0, 2 * Math.PI);
  const arm = between(r, 10, 28) * f.scale;
  const armRatio = between(r, 0.6, 1);
  for (const side of [0, 1]) {
    const len = arm * (side === 0 ? 1 : armRatio);
    const t = theta + side * Math.PI + between(r, -0.12, 0.12);
    const hx = cx + len * Math.cos(t);
    const hy = cy + len * Math.sin(t);
    const lobeFlux = flux * (side === 1 ? logBetween(r, 0.3, 1) : 1);
    if (r.uniform() < 0.6) jet(img, f, r, cx, cy, t, len * 0.9, coreFlux * logBetween(r, 0.05, 0.4));
    // the lobe: an ellipse of diffuse emission back from the hotspot towards the core, brighter at the outer edge
    const lobeLen = len * between(r, 0.3, 0.7);
    const lobeWidth = between(r, 2, 6) * f.scale;
    const nb = 10;
    for (let i = 0; i < nb; i++) {
      const q = i / (nb - 1);
      const d = q * lobeLen;
      const amp = lobeFlux * 0.06 * (0.25 + 0.75 * (1 - q) ** 1.5) * (0.7 + 0.6 * r.uniform());
      const wq = lobeWidth * Math.sqrt(Math.max(0.15, 1 - (1 - 2 * q) ** 2) * 0.8 + 0.2);
      addGaussian(img, f.size, hx - d * Math.cos(t) + r.normal() * 0.5, hy - d * Math.sin(t) + r.normal() * 0.5, amp, 0.6 * lobeLen / nb + 1, wq, t);
    }
    // the hotspot (sometimes a double one)
    const hs = between(r, 0.5, 1.2) * Math.sqrt(f.scale);
    addGaussian(img, f.size, hx, hy, lobeFlux * logBetween(r, 0.3, 1), hs, hs * between(r, 0.6, 1), t);
    if (r.uniform() < 0.3) {
      const a = t + between(r, -1.5, 1.5);
      addGaussian(img, f.size, hx - 2 * Math.cos(a), hy - 2 * Math.sin(a), lobeFlux * logBetween(r, 0.1, 0.5), hs * 1.3, hs, t);
    }
  }
}

type Drawer = (img: Float32Array, f: Frame, r: UniformSource, cx: number, cy: number, flux: number) => void;
const DRAW: Record<'core' | 'jet' | 'fr1' | 'fr2', Drawer> = { core, jet: coreJet, fr1, fr2 };

function pickMorphology(r: UniformSource): RadioMorphology {
  let u = r.uniform();
  for (const m of RADIO_MORPHOLOGIES) {
    u -= MORPHOLOGY_WEIGHTS[m];
    if (u < 0) return m;
  }
  return 'empty';
}

/** The percentile statistic of the automatic flux scale (99.5th, numpy's linear interpolation). */
export function percentile995(img: ArrayLike<number>): number {
  const v = Array.from(img).sort((a, b) => a - b);
  return quantileSorted(v, 0.995);
}

/**
 * Scales the image in place by the rule (a target drawn from `r`); returns the factor (0 for an all-zero image,
 * which stays zero).
 */
export function normaliseBrightness(img: Float32Array, r: UniformSource, rule: BrightnessRule = DEFAULT_BRIGHTNESS): number {
  let peak = 0;
  for (const v of img) peak = Math.max(peak, v);
  const u = r.uniform();
  const target = logAt(u, rule.lo, rule.hi);
  if (!(peak > 0)) return 0;
  const p = percentile995(img);
  const cp = rule.compactPeak;
  if (cp && peak > rule.maxPeakRatio * p) {
    const factor = logAt(u, cp.lo, cp.hi) / peak;
    for (let i = 0; i < img.length; i++) img[i] *= factor;
    return factor;
  }
  const factor = target / Math.max(p, peak / rule.maxPeakRatio);
  for (let i = 0; i < img.length; i++) img[i] *= factor;
  return factor;
}

/** One synthetic radio source image of size×size pixels (non-negative, normalised), its morphology, from `r`. */
export function synthRadioImage(r: UniformSource, size = 64, morphology: RadioMorphology = pickMorphology(r), rule: BrightnessRule = DEFAULT_BRIGHTNESS): Float32Array {
  const img = new Float32Array(size * size);
  const s = size / 64;
  if (morphology === 'empty') return img;
  if (morphology === 'group') {
    const n = 2 + Math.floor(r.uniform() * 3);
    for (let i = 0; i < n; i++) {
      const kinds = ['core', 'jet', 'fr1', 'fr2'] as const;
      const kind = kinds[Math.floor(r.uniform() * kinds.length)];
      const f: Frame = { size, scale: s * between(r, 0.35, 0.7) };
      DRAW[kind](img, f, r, between(r, 0.12, 0.88) * size, between(r, 0.12, 0.88) * size, i === 0 ? 1 : logBetween(r, 1 / 300, 1));
    }
  } else {
    const f: Frame = { size, scale: s * logBetween(r, 0.6, 1.5) };
    DRAW[morphology](img, f, r, size / 2 + between(r, -0.18, 0.18) * size, size / 2 + between(r, -0.18, 0.18) * size, 1);
  }
  for (let i = 0; i < img.length; i++) if (!(img[i] > 0)) img[i] = 0;
  normaliseBrightness(img, r, rule);
  return img;
}

/** A stack of n images (n × size × size, image-major) drawn from one generator, and their morphologies. */
export function synthRadioImages(r: UniformSource, n: number, size = 64, rule: BrightnessRule = DEFAULT_BRIGHTNESS): { images: Float32Array; morphologies: RadioMorphology[] } {
  const images = new Float32Array(n * size * size);
  const morphologies: RadioMorphology[] = [];
  for (let k = 0; k < n; k++) {
    const m = pickMorphology(r);
    morphologies.push(m);
    images.set(synthRadioImage(r, size, m, rule), k * size * size);
  }
  return { images, morphologies };
}

/**
 * A random square crop of a real image (side between size/2… and the image's smaller side), area-resampled
 * (bilinear at the crop's sub-pixel grid, averaged over the output pixel) to size×size, under a random flip and
 * 90° rotation, with its `floorQuantile` quantile subtracted and clipped at 0 (the zero sky of an
 * interferometric image), then normalised. Non-finite pixels count as 0.
 */
export function cropRescale(src: ArrayLike<number>, ny: number, nx: number, r: UniformSource, size = 64, floorQuantile = 0.2, rule: BrightnessRule = DEFAULT_BRIGHTNESS): Float32Array {
  const maxSide = Math.min(ny, nx);
  const minSide = Math.min(maxSide, Math.max(8, Math.floor(size / 2)));
  const side = Math.exp(between(r, Math.log(minSide), Math.log(maxSide)));
  const oy = between(r, 0, ny - side);
  const ox = between(r, 0, nx - side);
  const at = (y: number, x: number) => {
    const v = src[Math.min(ny - 1, Math.max(0, y)) * nx + Math.min(nx - 1, Math.max(0, x))];
    return Number.isFinite(v) ? v : 0;
  };
  const bilinear = (y: number, x: number) => {
    const y0 = Math.floor(y);
    const x0 = Math.floor(x);
    const fy = y - y0;
    const fx = x - x0;
    return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
  };
  const step = side / size;
  const sub = Math.max(1, Math.min(4, Math.ceil(step)));
  const img = new Float32Array(size * size);
  const flipX = r.uniform() < 0.5;
  const rot = Math.floor(r.uniform() * 4);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let s = 0;
      for (let a = 0; a < sub; a++) for (let b = 0; b < sub; b++) s += bilinear(oy + (i + (a + 0.5) / sub) * step - 0.5, ox + (j + (b + 0.5) / sub) * step - 0.5);
      // dihedral placement: rotate (i, j) by rot quarter turns, then optionally flip
      let y = i;
      let x = flipX ? size - 1 - j : j;
      for (let q = 0; q < rot; q++) [y, x] = [x, size - 1 - y];
      img[y * size + x] = s / (sub * sub);
    }
  }
  const sorted = Array.from(img).sort((a, b) => a - b);
  const floor = quantileSorted(sorted, floorQuantile);
  for (let i = 0; i < img.length; i++) img[i] = Math.max(0, img[i] - floor);
  normaliseBrightness(img, r, rule);
  return img;
}
