/**
 * FITS headers of results (the forward and simulate commands' images, a reconstruction's products): the input's
 * cards and WCS where the result lies on the input's grid, a linear arcsec WCS on a lens plane, and the SKY*
 * provenance cards and HISTORY. One place for the WCS key patterns.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { FitsHeader } from '../../src-shared/fits/index.js';
import { celestialWcs, type CelestialWcs } from '../../src-shared/wcs/index.js';
import { sipAsTpv } from '../../src-shared/wcs/tpv.js';
import type { BuiltForwardModel, PreparedForwardModel } from '../../src-shared/operators/forward-model.js';
import type { LensStage } from '../../src-shared/operators/forward-model-spec.js';
import type { Shape2 } from '../../src-shared/operators/types.js';
import { SKYSCORE_VERSION } from '../version.js';

/** WCS and SIP keywords of a celestial grid: dropped when the output lies on another grid (lens planes). */
export const WCS_KEY =
  /^(WCSAXES[A-Z]?|CTYPE\d+[A-Z]?|CRPIX\d+[A-Z]?|CRVAL\d+[A-Z]?|CDELT\d+[A-Z]?|CUNIT\d+[A-Z]?|CROTA\d+|CD\d+_\d+[A-Z]?|PC\d+_\d+[A-Z]?|PV\d+_\d+[A-Z]?|PS\d+_\d+[A-Z]?|LONPOLE[A-Z]?|LATPOLE[A-Z]?|RADESYS[A-Z]?|RADECSYS|EQUINOX[A-Z]?|EPOCH|WCSNAME[A-Z]?|CNAME\d+[A-Z]?|CRDER\d+|CSYER\d+|MJDREF|A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_\d+_\d+|B_\d+_\d+|AP_\d+_\d+|BP_\d+_\d+|A_DMAX|B_DMAX)$/;

/** WCS keywords of axes beyond the second (a cube's spectral or Stokes axis). */
export const WCS_HIGH_AXIS = /^(CTYPE|CRVAL|CRPIX|CDELT|CUNIT|CROTA|CNAME|CRDER|CSYER)([3-9])$|^(PC|CD)([3-9]_\d|\d_[3-9])$|^(PV|PS)[3-9]_\d+$/;

/** Removes the WCS of axes beyond the second and says the header describes 2 axes (WCSAXES = 2). */
export function trimWcsToTwoAxes(h: FitsHeader): void {
  for (const k of new Set(h.keys())) if (WCS_HIGH_AXIS.test(k)) h.delete(k);
  h.set('WCSAXES', 2);
}

/** SIP keywords (Shupe et al. 2005): orders, coefficients, the maximum corrections. */
const SIP_KEY = /^(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+)$/;

/**
 * Rewrites a TAN-SIP celestial WCS as the same map in TPV form (src-shared/wcs/tpv.ts: the SIP polynomial of the
 * pixel offsets becomes a polynomial of the intermediate coordinates of the same order, exact in the forward
 * direction; its inverse is wcslib's and wcs/index.ts's iteration, not AP/BP). For a header of more than two axes:
 * astropy refuses SIP on a WCS of more than two axes ("SIP distortions only work in 2 dimensions"; WCSAXES = 2
 * does not lower the count below NAXIS, and a third linear axis raises the count), while wcslib applies TPV on the
 * celestial pair of any number of axes. Returns false and leaves the header as it is where it has no SIP, the
 * projection is not TAN or the SIP order is above TPV's 7th.
 */
export function sipAsTpvHeader(h: FitsHeader): boolean {
  let w: CelestialWcs | null;
  try {
    w = celestialWcs(h);
  } catch {
    return false;
  }
  if (!w?.sip || w.projection !== 'TAN' || w.tpv) return false;
  const t = sipAsTpv(w.sip.a, w.sip.b, w.cd);
  if (!t) return false;
  for (const [axis, coeffs] of [[w.lonAxis, t.lon], [w.latAxis, t.lat]] as const) {
    const ct = String(h.get(`CTYPE${axis + 1}`));
    h.set(`CTYPE${axis + 1}`, `${ct.slice(0, 4)}-TPV`, 'TAN with the TPV polynomial (the SIP distortion as TPV)');
    for (const k of new Set(h.keys())) if (new RegExp(`^PV${axis + 1}_\\d+$`).test(k)) h.delete(k);
    coeffs.forEach((c, k) => {
      if (c !== 0) h.set(`PV${axis + 1}_${k}`, c);
    });
  }
  for (const k of new Set(h.keys())) if (SIP_KEY.test(k)) h.delete(k);
  h.addHistory('the SIP distortion of the input written as the same TPV polynomial (PVi_k): astropy reads no SIP on more than 2 WCS axes');
  return true;
}

export type ResultGrid = { sameAsInput: true } | { sameAsInput: false; scale: number; plane: string };

/** The plane a result lies on: the input's grid, or a lens plane with its pixel scale. */
export function resultGrid(model: BuiltForwardModel | PreparedForwardModel, adjoint: boolean): ResultGrid {
  const lenses = model.spec.operators.filter((s): s is LensStage => s.type === 'lens');
  if (lenses.length === 0) return { sameAsInput: true };
  if (adjoint) return { sameAsInput: false, scale: lenses[0].sourcePixelScale, plane: 'source plane' };
  return { sameAsInput: false, scale: lenses[lenses.length - 1].imagePixelScale, plane: 'image plane' };
}

/** Wraps text into HISTORY-sized lines, at spaces where possible. */
export function historyLines(text: string, width = 70): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (let w = word; w.length > 0; ) {
      const room = width - (line ? line.length + 1 : 0);
      if (w.length <= room) {
        line = line ? `${line} ${w}` : w;
        w = '';
      } else if (line) {
        out.push(line);
        line = '';
      } else {
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
    }
  }
  if (line) out.push(line);
  return out;
}

export interface Provenance {
  /** The command line without the leading "skyscore" (its first word goes to SKYCMD). */
  command: string;
  modelPath: string;
  modelHash: string;
  backend: string;
  /** Further cards (e.g. a reconstruction's SKYPRIOR … SKYCHI2); they replace any the input carries. */
  extra?: Record<string, string | number>;
}

/**
 * The header of a result: the input's cards (WCS included) when the result lies on the input's grid; on a
 * lens plane a linear offset WCS in arcsec (pixel centres at (j − (nx−1)/2)·s, docs/forward-models.md: so CRPIX
 * at the middle and CRVAL 0) replaces the celestial WCS. Then HISTORY and SKY* cards for reproducibility.
 */
export function resultHeader(input: { header: FitsHeader }, grid: ResultGrid, shape: Shape2, provenance: Provenance): FitsHeader {
  const h = input.header.clone();
  for (const k of ['DATAMIN', 'DATAMAX', 'CHECKSUM', 'DATASUM', 'BSCALE', 'BZERO', 'BLANK']) h.delete(k);
  if (!grid.sameAsInput) {
    for (const k of new Set(h.keys())) if (WCS_KEY.test(k)) h.delete(k);
    const [ny, nx] = shape;
    h.set('WCSAXES', 2, 'linear offsets from the grid centre');
    h.set('CTYPE1', 'LINEAR', `x offset on the lens ${grid.plane}`);
    h.set('CTYPE2', 'LINEAR', `y offset on the lens ${grid.plane}`);
    h.set('CUNIT1', 'arcsec');
    h.set('CUNIT2', 'arcsec');
    h.set('CRPIX1', (nx + 1) / 2);
    h.set('CRPIX2', (ny + 1) / 2);
    h.set('CRVAL1', 0);
    h.set('CRVAL2', 0);
    h.set('CDELT1', grid.scale);
    h.set('CDELT2', grid.scale);
  }
  h.set('SKYVER', SKYSCORE_VERSION, 'SkyScore version');
  h.set('SKYCMD', provenance.command.split(' ')[0], 'SkyScore command');
  h.set('SKYMODEL', provenance.modelHash.slice(0, 64), 'sha256 of the forward model and its files');
  for (const [k, v] of Object.entries(provenance.extra ?? {})) h.set(k, v);
  for (const line of historyLines(`skyscore ${provenance.command}`)) h.addHistory(line);
  for (const line of historyLines(`model ${path.basename(provenance.modelPath)} sha256 ${provenance.modelHash}`)) h.addHistory(line);
  h.addHistory(`skyscore ${SKYSCORE_VERSION}, tfjs ${tf.version_core}, backend ${provenance.backend}`);
  return h;
}

/** The FITS axes of a result: the input's own (degenerate axes kept) on its grid, else [nx, ny]. */
export function resultFitsShape(input: { fitsShape: number[] }, shape: Shape2, sameGrid: boolean): number[] {
  if (sameGrid && input.fitsShape[0] === shape[1] && input.fitsShape[1] === shape[0]) return input.fitsShape.slice();
  return [shape[1], shape[0]];
}

/** FITS header text is ASCII: the few symbols our messages use, spelled out. */
export function asciiText(s: string): string {
  const map: Record<string, string> = { 'ᵀ': '^T', '⁻¹': '^-1', '≤': '<=', '≥': '>=', 'σ': 'sigma', '²': '^2', '×': 'x', '—': '-', '–': '-', '→': '->', 'λ': 'lambda', 'χ': 'chi' };
  let out = s;
  for (const [k, v] of Object.entries(map)) out = out.split(k).join(v);
  return out.replace(/[^\x20-\x7e]/g, '?');
}

/** "64×64 (NAXIS1×NAXIS2)" for an [ny, nx] shape. */
export function shapeText(s: Shape2): string {
  return `${s[1]}×${s[0]} (NAXIS1×NAXIS2)`;
}
