/**
 * The lens fit's angles and centres on the sky: position angles East of North (the convention of published lens
 * models and of DS9's regions) and the centres' right ascension and declination, from the observation's celestial
 * WCS. The fit itself works in the image grid's axes (`phi` counter-clockwise from +x, x along the columns,
 * y along the rows: docs/forward-models.md, *Conventions*); an image whose WCS is rotated (ORIENTAT ≠ 0, as most
 * HST drizzled products) or mirrored needs this to be compared with a catalogue.
 *
 * A direction in the grid is carried to the sky through the WCS itself (pixelToWorld at the centre and one pixel
 * along the direction; the spherical position angle between the two points), so rotation, parity, axis order,
 * SIP or TPV distortion and the projection are all accounted for. Pure TypeScript, no file access.
 */
import type { FitsHeader } from '../fits/header.js';
import { celestialWcs, type CelestialWcs } from '../wcs/index.js';
import type { ParameterEstimate } from './fit.js';

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;

/** Position angle (degrees East of North, in [0, 360)) of the great circle from (lon1, lat1) towards (lon2, lat2), degrees. */
export function skyPositionAngle(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const dl = (lon2 - lon1) * D2R;
  const [p1, p2] = [lat1 * D2R, lat2 * D2R];
  const pa = Math.atan2(Math.sin(dl) * Math.cos(p2), Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl)) * R2D;
  return ((pa % 360) + 360) % 360;
}

/** An axis's position angle: the direction modulo 180°, in [0, 180). */
export function axisAngle(deg: number): number {
  return ((deg % 180) + 180) % 180;
}

/**
 * The grid's frame on the sky at one pixel: `paOf(φ)` the position angle (degrees East of North, [0, 360)) of the
 * grid direction φ (radians counter-clockwise from +x) at that pixel, `parity` +1 where a counter-clockwise turn in
 * the grid increases the position angle (North towards East: an image shown with North up and East to the left,
 * as the sky is seen), −1 for a mirrored image.
 */
export interface SkyFrame {
  wcs: CelestialWcs;
  /** the pixel (0-based: x along the columns, y along the rows) of the point */
  px: number;
  py: number;
  /** its world coordinates (degrees: the WCS's longitude and latitude, RA and Dec for an equatorial WCS) */
  lon: number;
  lat: number;
  paOf(phi: number): number;
  parity: 1 | -1;
}

/** The sky frame at a pixel of an image whose header has a celestial WCS; null without one or where the pixel has no world coordinates. */
export function skyFrameAt(header: FitsHeader, px: number, py: number): SkyFrame | null {
  let wcs: CelestialWcs | null;
  try {
    wcs = celestialWcs(header);
  } catch {
    return null;
  }
  if (!wcs) return null;
  const w = wcs;
  const [lon, lat] = w.pixelToWorld(px, py);
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  const paOf = (phi: number): number => {
    // the bearings, at the point, of one pixel along φ and of one pixel back (turned by 180°): their mean is the
    // direction's position angle to second order in the step
    const [l1, b1] = w.pixelToWorld(px + Math.cos(phi), py + Math.sin(phi));
    const [l0, b0] = w.pixelToWorld(px - Math.cos(phi), py - Math.sin(phi));
    if (![l1, b1, l0, b0].every(Number.isFinite)) return NaN;
    const a = skyPositionAngle(lon, lat, l1, b1) * D2R;
    const b = (skyPositionAngle(lon, lat, l0, b0) + 180) * D2R;
    const pa = Math.atan2(Math.sin(a) + Math.sin(b), Math.cos(a) + Math.cos(b)) * R2D;
    return ((pa % 360) + 360) % 360;
  };
  const a0 = paOf(0);
  const a1 = paOf(Math.PI / 2);
  if (!Number.isFinite(a0) || !Number.isFinite(a1)) return null;
  // +y is 90° counter-clockwise of +x in the grid: on the sky it is +90° (East of the first) or −90°
  const turn = (((a1 - a0) % 360) + 540) % 360 - 180;
  return { wcs: w, px, py, lon, lat, paOf, parity: turn > 0 ? 1 : -1 };
}

export interface SkyValue {
  value: number;
  error: number | null;
}

/** The fit's parameters carried to the sky (lens.json `sky`, the products' header cards). */
export interface LensSky {
  /** the WCS's longitude/latitude types ('RA'/'DEC', 'GLON'/'GLAT', …) and its reference system */
  frame: { lon: string; lat: string; radesys: string | null };
  /** the mass's centre: longitude and latitude in degrees (its errors are x0's and y0's, in arcsec) */
  centre: { lon: number; lat: number };
  /** the mass's major axis, degrees East of North in [0, 180) (its error: φ's, in degrees) */
  positionAngle: SkyValue;
  /** the external shear: its strength γ = √(γ1² + γ2²) and the axis along which it stretches images (East of North) */
  shear: { gamma: SkyValue; positionAngle: SkyValue };
  /** per light component: its centre and its major axis East of North */
  light: { lon: number; lat: number; positionAngle: SkyValue }[];
  /** +1 where a counter-clockwise turn in the grid increases the position angle (East to the left of North), −1 where mirrored */
  parity: 1 | -1;
}

/**
 * The strength and direction of an external shear (γ1, γ2) with its errors from their 2 × 2 covariance (the delta
 * method): the direction φγ = ½ atan2(γ2, γ1) is the axis along which images are stretched (the lens equation's
 * Jacobian 1 − Γ has its smallest eigenvalue, 1 − γ, along (cos φγ, sin φγ)). Errors null without a covariance.
 */
export function shearPolar(g1: number, g2: number, cov: [number, number, number] | null): { gamma: SkyValue; phi: SkyValue } {
  const g = Math.hypot(g1, g2);
  const phi = 0.5 * Math.atan2(g2, g1);
  if (!cov || !(g > 0)) return { gamma: { value: g, error: null }, phi: { value: phi, error: null } };
  const [c11, c12, c22] = cov;
  // ∂γ/∂(γ1, γ2) = (γ1, γ2)/γ; ∂φ/∂(γ1, γ2) = (−γ2, γ1)/(2γ²)
  const a = [g1 / g, g2 / g];
  const b = [-g2 / (2 * g * g), g1 / (2 * g * g)];
  const q = (u: number[]) => u[0] * u[0] * c11 + 2 * u[0] * u[1] * c12 + u[1] * u[1] * c22;
  const vg = q(a);
  const vp = q(b);
  return { gamma: { value: g, error: vg > 0 ? Math.sqrt(vg) : null }, phi: { value: phi, error: vp > 0 ? Math.sqrt(vp) : null } };
}

/**
 * The fit's lens and light on the sky, from the observation's header and grid (`shape` [ny, nx], `scale` arcsec per
 * pixel, centres in arcsec from the grid's centre as the fit gives them). `covariance` and `names` are the fit's
 * (for the shear's errors); null where the header has no celestial WCS.
 */
export function lensSky(
  header: FitsHeader,
  shape: readonly [number, number],
  scale: number,
  parameters: Record<string, ParameterEstimate>,
  covariance: { names: readonly string[]; matrix: ArrayLike<number> } | null,
): LensSky | null {
  const [ny, nx] = shape;
  const px = (x: number) => (nx - 1) / 2 + x / scale;
  const py = (y: number) => (ny - 1) / 2 + y / scale;
  const P = (k: string) => parameters[k];
  const f = skyFrameAt(header, px(P('x0').value), py(P('y0').value));
  if (!f) return null;
  const err = (e: number | null | undefined) => (e === null || e === undefined ? null : e * R2D);
  let shearCov: [number, number, number] | null = null;
  if (covariance) {
    const n = covariance.names.length;
    const i = covariance.names.indexOf('gamma1');
    const j = covariance.names.indexOf('gamma2');
    if (i >= 0 && j >= 0) shearCov = [covariance.matrix[i * n + i], covariance.matrix[i * n + j], covariance.matrix[j * n + j]];
  }
  const sp = shearPolar(P('gamma1').value, P('gamma2').value, shearCov);
  const light: LensSky['light'] = [];
  for (let k = 0; parameters[`light${k}.x0`]; k++) {
    const lf = skyFrameAt(header, px(P(`light${k}.x0`).value), py(P(`light${k}.y0`).value));
    if (!lf) break;
    light.push({ lon: lf.lon, lat: lf.lat, positionAngle: { value: axisAngle(lf.paOf(P(`light${k}.phi`).value)), error: err(P(`light${k}.phi`).error) } });
  }
  return {
    frame: { lon: f.wcs.lonType, lat: f.wcs.latType, radesys: f.wcs.radesys },
    centre: { lon: f.lon, lat: f.lat },
    positionAngle: { value: axisAngle(f.paOf(P('phi').value)), error: err(P('phi').error) },
    shear: { gamma: sp.gamma, positionAngle: { value: axisAngle(f.paOf(sp.phi.value)), error: err(sp.phi.error) } },
    light,
    parity: f.parity,
  };
}

/** One header card: keyword, value, comment. */
export type HeaderCard = [string, number | string, string];

/**
 * The fit's parameters as FITS header cards for its products (8-character keywords; errors beside each value;
 * the sky angles where the observation has a celestial WCS). Values are those of lens.json.
 */
export function lensHeaderCards(massProfile: string, parameters: Record<string, ParameterEstimate>, sky: LensSky | null, stats: { logEvidence: number; chi2PerPixel: number }): HeaderCard[] {
  const cards: HeaderCard[] = [['LENSMOD', massProfile.toUpperCase(), 'lens mass profile (+ external shear)']];
  const pair = (key: string, p: ParameterEstimate | SkyValue | undefined, what: string, unit: string) => {
    if (!p || !Number.isFinite(p.value)) return;
    cards.push([key, p.value, `${what}${unit ? ` [${unit}]` : ''}`]);
    if (p.error !== null && Number.isFinite(p.error)) cards.push([`${key.slice(0, 6)}ER`, p.error, `1-sigma error of ${key}`]);
  };
  pair('THETAE', parameters.thetaE, 'Einstein radius (intermediate axis)', 'arcsec');
  pair('LENSQ', parameters.q, 'mass axis ratio (minor/major)', '');
  pair('LENSPHI', parameters.phi, 'mass major axis, CCW from +x of the grid', 'rad');
  pair('LENSX0', parameters.x0, 'mass centre x from the grid centre', 'arcsec');
  pair('LENSY0', parameters.y0, 'mass centre y from the grid centre', 'arcsec');
  pair('GAMMA1', parameters.gamma1, 'external shear, grid axes', '');
  pair('GAMMA2', parameters.gamma2, 'external shear, grid axes', '');
  if (parameters.gamma) pair('LENSSLOP', parameters.gamma, 'power-law slope (2 = isothermal)', '');
  if (sky) {
    pair('LENSPA', sky.positionAngle, 'mass major axis, East of North', 'deg');
    cards.push(['LENSRA', sky.centre.lon, `mass centre ${sky.frame.lon}`.slice(0, 47) + ' [deg]']);
    cards.push(['LENSDEC', sky.centre.lat, `mass centre ${sky.frame.lat}`.slice(0, 47) + ' [deg]']);
    pair('SHEAR', sky.shear.gamma, 'external shear strength', '');
    pair('SHEARPA', sky.shear.positionAngle, 'axis the shear stretches, East of North', 'deg');
  }
  cards.push(['LOGZ', stats.logEvidence, 'log Bayesian evidence (final source grid)']);
  cards.push(['CHI2PIX', stats.chi2PerPixel, 'chi^2 per fitted pixel']);
  return cards;
}
