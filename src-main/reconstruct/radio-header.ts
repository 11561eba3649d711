/**
 * The FITS header of an image made from visibilities (`skyscore clean`'s products, `reconstruct --vis`'s): a
 * SIN projection at the phase centre (RA increasing to the left), frequency and Stokes axes, the restoring beam
 * (BMAJ, BMIN, BPA as CASA, CARTA and DS9 read them), the observation's OBJECT, TELESCOP, DATE-OBS.
 */
import { FitsHeader } from '../../src-shared/fits/index.js';
import type { Visibilities } from '../../src-shared/radio/uvfits.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';
import type { RestoringBeam } from '../../src-shared/radio/clean.js';
import { SKYSCORE_VERSION } from '../version.js';

const STOKES_CODE: Record<string, number> = { I: 1, Q: 2, U: 3, V: 4, RR: -1, LL: -2, RL: -3, LR: -4, XX: -5, YY: -6, XY: -7, YX: -8 };

/** The header of every product: SIN projection at the phase centre, frequency and Stokes axes, the beam. */
export function radioProductHeader(vis: Visibilities, grid: ImageGrid, beam: RestoringBeam | null, bunit: string, history: string[], command: string): FitsHeader {
  const m = vis.meta;
  const h = new FitsHeader();
  const deg = (grid.cell * 180) / Math.PI;
  h.set('BUNIT', bunit);
  if (beam) {
    h.set('BMAJ', beam.bmaj, 'restoring beam FWHM, major axis (deg)');
    h.set('BMIN', beam.bmin, 'restoring beam FWHM, minor axis (deg)');
    h.set('BPA', beam.bpa, 'restoring beam position angle (deg E of N)');
  }
  h.set('CTYPE1', 'RA---SIN');
  h.set('CRPIX1', Math.floor(grid.nx / 2) + 1);
  h.set('CRVAL1', m.ra);
  h.set('CDELT1', -deg, 'RA increases to the left');
  h.set('CUNIT1', 'deg');
  h.set('CTYPE2', 'DEC--SIN');
  h.set('CRPIX2', Math.floor(grid.ny / 2) + 1);
  h.set('CRVAL2', m.dec);
  h.set('CDELT2', deg);
  h.set('CUNIT2', 'deg');
  let fmin = Infinity;
  let fmax = -Infinity;
  let fw = 0;
  let sw = 0;
  for (let k = 0; k < vis.n; k++) {
    fmin = Math.min(fmin, vis.freq[k]);
    fmax = Math.max(fmax, vis.freq[k]);
    fw += vis.freq[k] * vis.weight[k];
    sw += vis.weight[k];
  }
  h.set('CTYPE3', 'FREQ');
  h.set('CRPIX3', 1);
  h.set('CRVAL3', fw / sw, 'weighted mean frequency (Hz)');
  h.set('CDELT3', Math.max(fmax - fmin + Math.abs(m.chanWidth), 1), 'bandwidth imaged (Hz)');
  h.set('CUNIT3', 'Hz');
  h.set('CTYPE4', 'STOKES');
  h.set('CRPIX4', 1);
  h.set('CRVAL4', STOKES_CODE[vis.product] ?? 1);
  h.set('CDELT4', 1);
  h.set('RADESYS', 'FK5');
  h.set('EQUINOX', 2000);
  if (m.object) h.set('OBJECT', m.object);
  if (m.telescope) h.set('TELESCOP', m.telescope);
  if (m.instrument) h.set('INSTRUME', m.instrument);
  if (m.dateObs) h.set('DATE-OBS', m.dateObs);
  h.set('SKYVER', SKYSCORE_VERSION, 'SkyScore version');
  h.set('SKYCMD', command, 'SkyScore command');
  for (const line of history) h.addHistory(line);
  return h;
}

