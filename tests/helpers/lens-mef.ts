/**
 * A small simulated lens as a drizzled HST product gives it: one multi-extension FITS file (an empty PRIMARY, then
 * SCI, ERR and WHT image extensions; WHT = 1/σ², drizzle's final_wht_type=IVM) whose SCI carries a TAN WCS with
 * a CD matrix rotated by 30° (0.1″ pixels), a hot pixel in the SCI that the WHT does not flag, and a column of
 * weight 0 (no data); the PSF as a file of its own. 48² pixels of 0.1″ reach 3.4″ from the centre, so the fit's
 * default is the 3″ disc.
 */
import { FitsHeader, writeFits } from '../../src-shared/fits/index.js';
import { simulateLens } from './lens-sim.js';
import { SeededRandom } from '../../src-shared/operators/random.js';

export const MEF_N = 64;
export const MEF_SCALE = 0.07;
/** The hot pixel (row, column) and what it adds (data units; σ is 0.02). */
export const MEF_HOT: [number, number] = [40, 26];
/** The column of weight 0. */
export const MEF_DEAD_COLUMN = 2;

/** The drizzle-like file (`lensMef({ correlated: true })`): its side, pixel scale and the noise's filter. */
export const CORR_N = 112;
export const CORR_SCALE = 0.05;
export const CORR_TAP = 0.12;

/** Unit white noise filtered by [a, 1 − 2a, a] along each axis: neighbour correlation 0.30, per-pixel variance 0.37, large-scale 1. */
function drizzleLike(n: number, seed: number, a = CORR_TAP): Float64Array {
  const rng = new SeededRandom(seed);
  const m = n + 2;
  const w = Float64Array.from({ length: m * m }, () => rng.normal());
  const t = [a, 1 - 2 * a, a];
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) out[i * n + j] += t[p]! * t[q]! * w[(i + p) * m + j + q]!;
  return out;
}

/**
 * `bunit`: a BUNIT card on SCI and ERR (drizzle writes ELECTRONS/S); none by default. `correlated`: drizzle-like
 * noise instead of white — a 112² lens (θE 0.9″) of 0.05″ pixels whose noise is σ = 0.02 (the WHT's 1/√w, the
 * large-scale noise) times `drizzleLike` (per-pixel rms 0.61 σ), its sky beyond twice a 1.35″ disc about 3400 pixels;
 * no hot pixel. `exptime`: EXPTIME in the primary header (as drizzle writes it; none by default: the fit then adds
 * no Poisson term). `poissonT`, `pedestal` (with `correlated`): the sources' Poisson noise of T (electrons per unit
 * before the filter) and a sky level left in the data, for the noise estimates (--noise-map / --exposure-time estimate,
 * --sky fit).
 */
export function lensMef(opts: { bunit?: string; correlated?: boolean; exptime?: number; poissonT?: number; pedestal?: number } = {}): { bytes: Uint8Array; psf: Uint8Array; sigma: Float64Array } {
  const N = opts.correlated ? CORR_N : MEF_N;
  const sim = opts.correlated
    ? simulateLens({ size: N, scale: CORR_SCALE, psfSize: 7, seed: 6, galaxy: 9, lens: { thetaE: 0.9, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01 } })
    : simulateLens({ size: N, scale: MEF_SCALE, psfSize: 5, seed: 4, galaxy: 9, lens: { thetaE: 0.7, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01 } });
  const corr = opts.correlated ? drizzleLike(N, 77) : null;
  // `poissonT` (with `correlated`): the sources' Poisson noise too, σ² = σ_sky² + s/T before the drizzle-like filter,
  // so that the per-pixel electrons per unit are T/Σk² (T/0.368); `pedestal`: a sky level left in SCI (not subtracted)
  const T = opts.poissonT;
  const data = corr ? Float32Array.from(sim.noiseFree, (v, k) => v + Math.sqrt(sim.sigma[k]! ** 2 + (T ? Math.max(v, 0) / T : 0)) * corr[k]! + (opts.pedestal ?? 0)) : Float32Array.from(sim.data);
  if (!corr) data[MEF_HOT[0] * N + MEF_HOT[1]] += 1.5;
  const err = Float32Array.from(sim.sigma);
  const wht = Float32Array.from(sim.sigma, (s) => 1 / (s * s));
  for (let r = 0; r < N; r++) {
    wht[r * N + MEF_DEAD_COLUMN] = 0;
    // no data: 0 as drizzle writes it; NaN where a sky is left in the data (with nothing but the data to go by, as for
    // --noise-map estimate, a column of 0 under a sky of 4σ would be read as data)
    data[r * N + MEF_DEAD_COLUMN] = opts.pedestal ? NaN : 0;
  }
  const c = Math.cos(Math.PI / 6);
  const s = Math.sin(Math.PI / 6);
  const d = (opts.correlated ? CORR_SCALE : MEF_SCALE) / 3600;
  const wcs = (name: string) => {
    const h = new FitsHeader();
    h.set('EXTNAME', name);
    h.set('CTYPE1', 'RA---TAN');
    h.set('CTYPE2', 'DEC--TAN');
    h.set('CRVAL1', 150.1);
    h.set('CRVAL2', 2.2);
    h.set('CRPIX1', (N + 1) / 2);
    h.set('CRPIX2', (N + 1) / 2);
    h.set('CD1_1', -d * c);
    h.set('CD1_2', d * s);
    h.set('CD2_1', d * s);
    h.set('CD2_2', d * c);
    if (opts.bunit !== undefined && name !== 'WHT') h.set('BUNIT', opts.bunit);
    return h;
  };
  const bytes = writeFits([
    { data: null, shape: [], ...(opts.exptime !== undefined && { header: new FitsHeader().set('EXPTIME', opts.exptime) }) },
    { data, shape: [N, N], header: wcs('SCI') },
    { data: err, shape: [N, N], header: wcs('ERR') },
    { data: wht, shape: [N, N], header: wcs('WHT') },
  ]);
  const psf = writeFits([{ data: Float32Array.from(sim.psf.data), shape: [sim.psf.shape[1], sim.psf.shape[0]] }]);
  return { bytes, psf, sigma: sim.sigma };
}
