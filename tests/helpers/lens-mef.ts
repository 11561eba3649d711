/**
 * A small simulated lens as a drizzled HST product gives it: one multi-extension FITS file (an empty PRIMARY, then
 * SCI, ERR and WHT image extensions; WHT = 1/σ², drizzle's final_wht_type=IVM) whose SCI carries a TAN WCS with
 * a CD matrix rotated by 30° (0.1″ pixels), a hot pixel in the SCI that the WHT does not flag, and a column of
 * weight 0 (no data); the PSF as a file of its own. 48² pixels of 0.1″ reach 3.4″ from the centre, so the fit's
 * default is the 3″ disc.
 */
import { FitsHeader, writeFits } from '../../src-shared/fits/index.js';
import { simulateLens } from './lens-sim.js';

export const MEF_N = 64;
export const MEF_SCALE = 0.07;
/** The hot pixel (row, column) and what it adds (data units; σ is 0.02). */
export const MEF_HOT: [number, number] = [40, 26];
/** The column of weight 0. */
export const MEF_DEAD_COLUMN = 2;

/**
 * `bunit`: a BUNIT card on SCI and ERR (drizzle writes ELECTRONS/S); none by default. `exptime`: EXPTIME in the
 * primary header (as drizzle writes it; none by default: the fit then adds no Poisson term).
 */
export function lensMef(opts: { bunit?: string; exptime?: number } = {}): { bytes: Uint8Array; psf: Uint8Array; sigma: Float64Array } {
  const N = MEF_N;
  const sim = simulateLens({ size: N, scale: MEF_SCALE, psfSize: 5, seed: 4, galaxy: 9, lens: { thetaE: 0.7, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01 } });
  const data = Float32Array.from(sim.data);
  data[MEF_HOT[0] * N + MEF_HOT[1]] += 1.5;
  const err = Float32Array.from(sim.sigma);
  const wht = Float32Array.from(sim.sigma, (s) => 1 / (s * s));
  for (let r = 0; r < N; r++) {
    wht[r * N + MEF_DEAD_COLUMN] = 0;
    data[r * N + MEF_DEAD_COLUMN] = 0;
  }
  const c = Math.cos(Math.PI / 6);
  const s = Math.sin(Math.PI / 6);
  const d = MEF_SCALE / 3600;
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
