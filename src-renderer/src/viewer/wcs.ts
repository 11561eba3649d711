/**
 * Pixel → sky coordinates for the cursor read-out: the shared celestial WCS (src-shared/wcs) restricted to what
 * a panel shows — the celestial pair must be NAXIS1 and NAXIS2 — with the frame named for the user, and the
 * reason when there is no sky position to show. Pure, no DOM.
 */
import type { FitsHeader } from '../../../src-shared/fits/header';
import { celestialWcs as sharedCelestialWcs } from '../../../src-shared/wcs/index';

export interface CelestialWcs {
  /** 0-based pixel (x along NAXIS1, y along NAXIS2) → [lon, lat] in degrees, lon in [0, 360). */
  pixToWorld(x: number, y: number): [number, number];
  /** [lon, lat] in degrees → 0-based pixel; NaN where the point is not visible in the projection. */
  worldToPixel(lon: number, lat: number): [number, number];
  /** Degrees per pixel near the reference point (the square root of |det CD|). */
  pixelScaleDeg: number;
  /** 'RA/Dec', 'GLON/GLAT', … */
  lonName: string;
  latName: string;
  /** e.g. 'ICRS', 'FK5 J2000', 'galactic'. */
  frame: string;
  projection: string;
}

export interface WcsResult {
  wcs: CelestialWcs | null;
  /** Why there is no celestial WCS. */
  note: string | null;
}

const NAMES: Record<string, [string, string]> = { RA: ['RA', 'Dec'], GLON: ['GLON', 'GLAT'], ELON: ['ELON', 'ELAT'], SLON: ['SLON', 'SLAT'], HLON: ['HLON', 'HLAT'] };

function frameOf(lonType: string, radesys: string | null, equinox: number | null): string {
  if (lonType === 'GLON') return 'galactic';
  if (lonType === 'ELON') return 'ecliptic';
  const sys = radesys ?? (equinox === null ? 'ICRS' : equinox < 1984 ? 'FK4' : 'FK5');
  return equinox !== null && sys !== 'ICRS' ? `${sys} ${sys === 'FK4' ? 'B' : 'J'}${Number(equinox.toFixed(2))}` : sys;
}

export function celestialWcs(h: FitsHeader): WcsResult {
  let w;
  try {
    w = sharedCelestialWcs(h);
  } catch (e) {
    return { wcs: null, note: (e as Error).message };
  }
  if (!w) {
    const c1 = h.getString('CTYPE1')?.trim();
    return { wcs: null, note: c1 ? `no celestial WCS (CTYPE1 = '${c1}')` : 'no WCS in the header' };
  }
  if (Math.min(w.lonAxis, w.latAxis) !== 0 || Math.max(w.lonAxis, w.latAxis) !== 1) {
    return { wcs: null, note: `the celestial axes are axes ${w.lonAxis + 1} and ${w.latAxis + 1}, not the image's 1 and 2` };
  }
  const lonType = w.lonType.replace(/-+$/, '');
  const [lonName, latName] = NAMES[lonType] ?? [lonType, w.latType.replace(/-+$/, '')];
  const pixToWorld = (x: number, y: number): [number, number] => {
    const [lon, lat] = w.pixelToWorld(x, y);
    let l = lon % 360;
    if (l < 0) l += 360;
    return [l, lat];
  };
  return {
    wcs: {
      pixToWorld,
      worldToPixel: (lon, lat) => w.worldToPixel(lon, lat),
      pixelScaleDeg: Math.sqrt(Math.abs(w.cd[0][0] * w.cd[1][1] - w.cd[0][1] * w.cd[1][0])),
      lonName, latName, frame: frameOf(lonType, w.radesys?.trim() || null, w.equinox), projection: w.tpv ? 'TPV' : w.projection + (w.sip ? '-SIP' : '') },
    note: null,
  };
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

/**
 * An angle typed by a user, in degrees: decimal degrees ("84.6853", "-69.1"), or sexagesimal with colons or
 * spaces or h/d m s letters ("05:38:44.48", "5h38m44.5s", "-69 06 12.8"); sexagesimal RA is in hours when
 * `hours` is true. NaN when it cannot be read.
 */
export function parseAngle(text: string, hours: boolean): number {
  const t = text.trim().replace(/[−–]/g, '-');
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return Number(t);
  const m = /^([-+])?\s*(\d+)\s*[:hd°\s]\s*(\d+)\s*[:m'\s]\s*(\d+(?:\.\d*)?)\s*[s"]?$/i.exec(t);
  if (!m) return NaN;
  const [a, b, c] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (b >= 60 || c >= 60) return NaN;
  const v = (a + b / 60 + c / 3600) * (hours ? 15 : 1);
  return m[1] === '-' ? -v : v;
}
