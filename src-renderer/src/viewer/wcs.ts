/**
 * Pixel → sky coordinates for the cursor read-out: a thin, self-contained celestial WCS for the common cases
 * (FITS WCS Papers I–II, Calabretta & Greisen 2002): CDi_j, PCi_j + CDELTi, or AIPS CROTA2; SIP distortion
 * (A_p_q, B_p_q); zenithal projections TAN, SIN (PV2_1/PV2_2 = 0), ARC, STG, ZEA; LONPOLE/LATPOLE defaults.
 * Celestial axes must be NAXIS1 and NAXIS2 (lon first or lat first). Anything else gives null and a reason.
 * (An adapter until the shared WCS module covers the viewer; pure, no DOM.)
 */
import type { FitsHeader } from '../../../src-shared/fits/header';

export interface CelestialWcs {
  /** 0-based pixel (x along NAXIS1, y along NAXIS2) → [lon, lat] in degrees, lon in [0, 360). */
  pixToWorld(x: number, y: number): [number, number];
  /** 'RA/Dec', 'GLON/GLAT', … */
  lonName: string;
  latName: string;
  /** e.g. 'ICRS', 'FK5 J2000', 'galactic'. */
  frame: string;
  projection: string;
}

export interface WcsResult {
  wcs: CelestialWcs | null;
  /** Why there is no celestial WCS (or a caveat about the one there is). */
  note: string | null;
}

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const ZENITHAL = new Set(['TAN', 'SIN', 'ARC', 'STG', 'ZEA']);
const LON_TYPES: Record<string, [string, string]> = { RA: ['RA', 'Dec'], GLON: ['GLON', 'GLAT'], ELON: ['ELON', 'ELAT'], SLON: ['SLON', 'SLAT'], HLON: ['HLON', 'HLAT'] };
const LAT_OF: Record<string, string> = { RA: 'DEC', GLON: 'GLAT', ELON: 'ELAT', SLON: 'SLAT', HLON: 'HLAT' };

function parseCtype(c: string | undefined): { type: string; proj: string; sip: boolean } | null {
  if (!c) return null;
  const m = /^([A-Z]{1,4})-*-([A-Z]{3})(-SIP)?\s*$/.exec(c.trim().toUpperCase());
  return m ? { type: m[1], proj: m[2], sip: !!m[3] } : null;
}

function frameOf(h: FitsHeader, lonType: string): string {
  if (lonType === 'GLON') return 'galactic';
  if (lonType === 'ELON') return 'ecliptic';
  const radesys = h.getString('RADESYS')?.trim() ?? h.getString('RADECSYS')?.trim();
  const equinox = h.getNumber('EQUINOX') ?? h.getNumber('EPOCH');
  if (radesys === 'ICRS') return 'ICRS';
  const sys = radesys ?? (equinox === undefined ? 'ICRS' : equinox < 1984 ? 'FK4' : 'FK5');
  return equinox !== undefined && sys !== 'ICRS' ? `${sys} ${sys === 'FK4' ? 'B' : 'J'}${Number(equinox.toFixed(2))}` : sys;
}

export function celestialWcs(h: FitsHeader): WcsResult {
  const c1 = parseCtype(h.getString('CTYPE1'));
  const c2 = parseCtype(h.getString('CTYPE2'));
  if (!c1 || !c2) return { wcs: null, note: h.has('CTYPE1') ? `no celestial WCS on axes 1–2 (CTYPE1 = '${String(h.get('CTYPE1')).trim()}')` : 'no WCS in the header' };
  let lonAxis: 1 | 2;
  if (LAT_OF[c1.type] === c2.type) lonAxis = 1;
  else if (LAT_OF[c2.type] === c1.type) lonAxis = 2;
  else return { wcs: null, note: `axes 1–2 are not a celestial pair (${c1.type}, ${c2.type})` };
  const lon = lonAxis === 1 ? c1 : c2;
  if (c1.proj !== c2.proj) return { wcs: null, note: `the two axes have different projections (${c1.proj}, ${c2.proj})` };
  if (!ZENITHAL.has(lon.proj)) return { wcs: null, note: `projection ${lon.proj} is not supported by the read-out (TAN, SIN, ARC, STG, ZEA are)` };
  if (lon.proj === 'SIN' && ((h.getNumber('PV2_1') ?? 0) !== 0 || (h.getNumber('PV2_2') ?? 0) !== 0)) return { wcs: null, note: 'slant orthographic (SIN with PV2_1/PV2_2) is not supported' };

  const num = (k: string, d: number) => h.getNumber(k) ?? d;
  const crpix = [num('CRPIX1', 0), num('CRPIX2', 0)];
  const crval = [num('CRVAL1', 0), num('CRVAL2', 0)];
  // linear part: M such that [x, y] (degrees, intermediate) = M · [u, v]
  let M: [number, number, number, number];
  if (['CD1_1', 'CD1_2', 'CD2_1', 'CD2_2'].some((k) => h.has(k))) {
    M = [num('CD1_1', 0), num('CD1_2', 0), num('CD2_1', 0), num('CD2_2', 0)];
  } else {
    const cd1 = num('CDELT1', 1);
    const cd2 = num('CDELT2', 1);
    if (['PC1_1', 'PC1_2', 'PC2_1', 'PC2_2'].some((k) => h.has(k))) {
      M = [cd1 * num('PC1_1', 1), cd1 * num('PC1_2', 0), cd2 * num('PC2_1', 0), cd2 * num('PC2_2', 1)];
    } else {
      const rho = num(lonAxis === 1 ? 'CROTA2' : 'CROTA1', 0) * D2R;
      const c = Math.cos(rho);
      const s = Math.sin(rho);
      M = [cd1 * c, -cd2 * s, cd1 * s, cd2 * c];
    }
  }
  // SIP polynomials
  let sip: ((u: number, v: number) => [number, number]) | null = null;
  if (lon.sip) {
    const poly = (letter: 'A' | 'B') => {
      const order = h.getNumber(`${letter}_ORDER`) ?? 0;
      const terms: [number, number, number][] = [];
      for (let p = 0; p <= order; p++) for (let q = 0; p + q <= order; q++) {
        const c = h.getNumber(`${letter}_${p}_${q}`);
        if (c) terms.push([p, q, c]);
      }
      return terms;
    };
    const A = poly('A');
    const B = poly('B');
    const ev = (t: [number, number, number][], u: number, v: number) => t.reduce((s, [p, q, c]) => s + c * u ** p * v ** q, 0);
    sip = (u, v) => [u + ev(A, u, v), v + ev(B, u, v)];
  }
  const [lonRef, latRef] = lonAxis === 1 ? crval : [crval[1], crval[0]];
  const ap = lonRef * D2R;
  const dp = latRef * D2R; // zenithal: the reference point is the native pole
  const phiP = (h.getNumber('LONPOLE') ?? (latRef >= 90 ? 0 : 180)) * D2R;
  const proj = lon.proj;

  const pixToWorld = (px: number, py: number): [number, number] => {
    let u = px + 1 - crpix[0];
    let v = py + 1 - crpix[1];
    if (sip) [u, v] = sip(u, v);
    let x = M[0] * u + M[1] * v;
    let y = M[2] * u + M[3] * v;
    if (lonAxis === 2) [x, y] = [y, x];
    const R = Math.hypot(x, y); // degrees
    const phi = R === 0 ? 0 : Math.atan2(x, -y);
    let theta: number;
    const r = R * D2R;
    switch (proj) {
      case 'TAN':
        theta = Math.atan2(1, r);
        break;
      case 'SIN':
        if (r > 1) return [NaN, NaN];
        theta = Math.acos(r);
        break;
      case 'ARC':
        theta = Math.PI / 2 - r;
        break;
      case 'STG':
        theta = Math.PI / 2 - 2 * Math.atan(r / 2);
        break;
      default: // ZEA
        if (r > 2) return [NaN, NaN];
        theta = Math.PI / 2 - 2 * Math.asin(r / 2);
    }
    const dphi = phi - phiP;
    const st = Math.sin(theta);
    const ct = Math.cos(theta);
    const lonW = ap + Math.atan2(-ct * Math.sin(dphi), st * Math.cos(dp) - ct * Math.sin(dp) * Math.cos(dphi));
    const latW = Math.asin(Math.max(-1, Math.min(1, st * Math.sin(dp) + ct * Math.cos(dp) * Math.cos(dphi))));
    let lonD = (lonW * R2D) % 360;
    if (lonD < 0) lonD += 360;
    return [lonD, latW * R2D];
  };
  const [lonName, latName] = LON_TYPES[lon.type] ?? [lon.type, LAT_OF[lon.type] ?? 'lat'];
  return { wcs: { pixToWorld, lonName, latName, frame: frameOf(h, lon.type), projection: proj + (lon.sip ? '-SIP' : '') }, note: null };
}

/** Degrees → sexagesimal: hours for RA ("hh:mm:ss.sss"), degrees for the rest ("±dd:mm:ss.ss"). */
export function sexagesimal(deg: number, hours: boolean): string {
  if (!Number.isFinite(deg)) return '—';
  let v = hours ? deg / 15 : Math.abs(deg);
  const sign = hours ? '' : deg < 0 ? '−' : '+';
  const decimals = hours ? 3 : 2;
  const scale = 10 ** decimals;
  // round at the last shown digit first so 59.9999 s carries into the minutes
  let total = Math.round(v * 3600 * scale);
  if (hours) total %= 24 * 3600 * scale;
  const s = (total % (60 * scale)) / scale;
  total = Math.floor(total / (60 * scale));
  const m = total % 60;
  v = Math.floor(total / 60);
  return `${sign}${String(v).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(decimals).padStart(3 + decimals, '0')}`;
}
