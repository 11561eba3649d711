/**
 * Celestial World Coordinate Systems from FITS headers (Greisen & Calabretta 2002, Calabretta & Greisen 2002;
 * SIP: Shupe et al. 2005). Pure TypeScript, no file access.
 *
 * Pixel coordinates are 0-based (the centre of the first pixel is 0, as numpy indices and astropy's origin=0);
 * FITS' CRPIX is 1-based. World coordinates are degrees, longitude first.
 */
import type { FitsHeader } from '../fits/header.js';
import { UserInputError } from '../errors.js';
import { readTpv, tpvForward, tpvInverse, type Tpv } from './tpv.js';

export class WcsInputError extends UserInputError {
  override name = 'WcsInputError';
  constructor(message: string) {
    super(message);
    this.name = 'WcsInputError';
  }
}

export const PROJECTIONS = ['TAN', 'SIN', 'ARC', 'ZEA', 'STG', 'CAR', 'AIT', 'CEA', 'MER', 'SFL', 'GLS', 'NCP'] as const;
export type Projection = (typeof PROJECTIONS)[number];

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const sind = (x: number) => Math.sin(x * D2R);
const cosd = (x: number) => Math.cos(x * D2R);
const atan2d = (y: number, x: number) => Math.atan2(y, x) * R2D;
const asind = (x: number) => Math.asin(Math.max(-1, Math.min(1, x))) * R2D;
const acosd = (x: number) => Math.acos(Math.max(-1, Math.min(1, x))) * R2D;

export interface Sip {
  /** Forward coefficients: a[p][q] multiplies u^p v^q (u, v relative to CRPIX). */
  a: number[][];
  b: number[][];
  /** Inverse coefficients if present (used as the starting guess of the exact inversion). */
  ap?: number[][];
  bp?: number[][];
}

export interface CelestialWcs {
  /** Indices (0-based) of the longitude and latitude axes among the header's axes. */
  lonAxis: number;
  latAxis: number;
  ctype: [string, string];
  projection: Projection;
  /** 'RA/DEC', 'GLON/GLAT', 'ELON/ELAT', … the coordinate type of the axes (first four letters). */
  lonType: string;
  latType: string;
  /** In the order of the two celestial axes (the lower header axis first). */
  crpix: [number, number];
  /** CRVAL of the longitude and latitude axes (degrees). */
  crval: [number, number];
  /** Linear transformation (degrees per pixel) from pixel offsets of the two celestial axes (in header order) to intermediate coordinates (x along longitude, y along latitude). */
  cd: [[number, number], [number, number]];
  radesys: string | null;
  equinox: number | null;
  lonpole: number;
  latpole: number;
  sip: Sip | null;
  /** The TPV polynomial of a 'RA---TPV' header (projection TAN), else null or absent. */
  tpv?: Tpv | null;
  /** Pixel (0-based, celestial axes in header order) to world (lon, lat) in degrees; NaN outside the projection's domain. */
  pixelToWorld(px: number, py: number): [number, number];
  /** World (lon, lat) in degrees to pixel (0-based); NaN where the point is not visible in the projection. */
  worldToPixel(lon: number, lat: number): [number, number];
}

function num(h: FitsHeader, key: string): number | undefined {
  const v = h.get(key);
  return typeof v === 'number' ? v : undefined;
}

function str(h: FitsHeader, key: string): string | undefined {
  const v = h.get(key);
  return typeof v === 'string' ? v : undefined;
}

/** Finds the celestial axis pair in the CTYPEi of a header. */
function findAxes(h: FitsHeader, naxis: number): { lon: number; lat: number } | null {
  let lon = -1;
  let lat = -1;
  for (let i = 0; i < naxis; i++) {
    const c = (str(h, `CTYPE${i + 1}`) ?? '').toUpperCase();
    const head = c.slice(0, 4);
    if (c.length < 8 || c[4] !== '-') continue;
    if (head === 'RA--' || /^.LON$/.test(head) || /^..LN$/.test(head)) lon = lon < 0 ? i : lon;
    else if (head === 'DEC-' || /^.LAT$/.test(head) || /^..LT$/.test(head)) lat = lat < 0 ? i : lat;
  }
  return lon >= 0 && lat >= 0 ? { lon, lat } : null;
}

function sipMatrix(h: FitsHeader, prefix: string, order: number): number[][] {
  const m: number[][] = [];
  for (let p = 0; p <= order; p++) {
    m.push([]);
    for (let q = 0; q <= order - p; q++) m[p].push(num(h, `${prefix}_${p}_${q}`) ?? 0);
  }
  return m;
}

function poly(m: number[][], u: number, v: number): number {
  let s = 0;
  let up = 1;
  for (let p = 0; p < m.length; p++) {
    let vq = 1;
    const row = m[p];
    for (let q = 0; q < row.length; q++) {
      s += row[q] * up * vq;
      vq *= v;
    }
    up *= u;
  }
  return s;
}

/** d/du and d/dv of the polynomial. */
function polyGrad(m: number[][], u: number, v: number): [number, number] {
  let du = 0;
  let dv = 0;
  for (let p = 0; p < m.length; p++) {
    const row = m[p];
    for (let q = 0; q < row.length; q++) {
      const c = row[q];
      if (c === 0) continue;
      if (p > 0) du += c * p * u ** (p - 1) * v ** q;
      if (q > 0) dv += c * q * u ** p * v ** (q - 1);
    }
  }
  return [du, dv];
}

interface Proj {
  theta0: number;
  /** (x, y) intermediate degrees → native (phi, theta) degrees, or null outside the domain. */
  toNative(x: number, y: number): [number, number] | null;
  fromNative(phi: number, theta: number): [number, number] | null;
}

function normPhi(phi: number): number {
  let p = phi;
  while (p > 180) p -= 360;
  while (p < -180) p += 360;
  return p;
}

function makeProjection(code: Projection, pv: (m: number) => number | undefined, crval2: number): Proj {
  const zenithal = (rOfTheta: (t: number) => number, thetaOfR: (r: number) => number | null): Proj => ({
    theta0: 90,
    toNative(x, y) {
      const r = Math.hypot(x, y);
      const phi = r === 0 ? 0 : atan2d(x, -y);
      const theta = thetaOfR(r);
      return theta === null ? null : [phi, theta];
    },
    fromNative(phi, theta) {
      const r = rOfTheta(theta);
      if (!Number.isFinite(r)) return null;
      return [r * sind(phi), -r * cosd(phi)];
    },
  });
  switch (code) {
    case 'TAN':
      return zenithal(
        (t) => (t <= 0 ? NaN : R2D * (cosd(t) / sind(t))),
        (r) => atan2d(R2D, r),
      );
    case 'ARC':
      return zenithal(
        (t) => 90 - t,
        (r) => (r > 180 ? null : 90 - r),
      );
    case 'ZEA':
      return zenithal(
        (t) => 2 * R2D * sind((90 - t) / 2),
        (r) => {
          const s = (r * D2R) / 2;
          return Math.abs(s) > 1 + 1e-13 ? null : 90 - 2 * asind(s);
        },
      );
    case 'STG':
      return zenithal(
        (t) => (t <= -90 ? NaN : 2 * R2D * Math.tan(((90 - t) / 2) * D2R)),
        (r) => 90 - 2 * Math.atan((r * D2R) / 2) * R2D,
      );
    case 'SIN':
    case 'NCP': {
      // slant orthographic: PV2_1 = ξ, PV2_2 = η (NCP is SIN with ξ = 0, η = cot δ0)
      const xi = code === 'NCP' ? 0 : (pv(1) ?? 0);
      const eta = code === 'NCP' ? cosd(crval2) / sind(crval2) : (pv(2) ?? 0);
      if (xi === 0 && eta === 0) {
        return zenithal(
          (t) => (t < 0 ? NaN : R2D * cosd(t)),
          (r) => {
            const c = r * D2R;
            return c > 1 + 1e-13 ? null : acosd(c);
          },
        );
      }
      return {
        theta0: 90,
        toNative(x, y) {
          const X = x * D2R;
          const Y = y * D2R;
          const a = xi * xi + eta * eta + 1;
          const b = xi * (X - xi) + eta * (Y - eta);
          const c = (X - xi) ** 2 + (Y - eta) ** 2 - 1;
          const disc = b * b - a * c;
          if (disc < 0) return null;
          const s1 = (-b + Math.sqrt(disc)) / a;
          const s2 = (-b - Math.sqrt(disc)) / a;
          // the solution nearest the native pole
          const sinT = Math.abs(s1 - 1) < Math.abs(s2 - 1) ? s1 : s2;
          if (sinT > 1 + 1e-13 || sinT < -1 - 1e-13) return null;
          const theta = asind(sinT);
          const z = 1 - sinT;
          const phi = atan2d(X - xi * z, -(Y - eta * z));
          return [phi, theta];
        },
        fromNative(phi, theta) {
          const z = 1 - sind(theta);
          return [R2D * (cosd(theta) * sind(phi) + xi * z), -R2D * (cosd(theta) * cosd(phi) - eta * z)];
        },
      };
    }
    case 'CAR':
      return {
        theta0: 0,
        toNative: (x, y) => (Math.abs(y) > 90 + 1e-12 ? null : [x, y]),
        fromNative: (phi, theta) => [normPhi(phi), theta],
      };
    case 'CEA': {
      const lambda = pv(1) ?? 1;
      return {
        theta0: 0,
        toNative(x, y) {
          const s = (y * D2R * lambda);
          return Math.abs(s) > 1 + 1e-13 ? null : [x, asind(s)];
        },
        fromNative: (phi, theta) => [normPhi(phi), (R2D * sind(theta)) / lambda],
      };
    }
    case 'MER':
      return {
        theta0: 0,
        toNative: (x, y) => [x, 2 * Math.atan(Math.exp(y * D2R)) * R2D - 90],
        fromNative: (phi, theta) => (Math.abs(theta) >= 90 ? null : [normPhi(phi), R2D * Math.log(Math.tan(((90 + theta) / 2) * D2R))]),
      };
    case 'SFL':
    case 'GLS':
      return {
        theta0: 0,
        toNative(x, y) {
          if (Math.abs(y) > 90 + 1e-12) return null;
          const c = cosd(y);
          return [c === 0 ? 0 : x / c, y];
        },
        fromNative: (phi, theta) => [normPhi(phi) * cosd(theta), theta],
      };
    case 'AIT':
      return {
        theta0: 0,
        toNative(x, y) {
          const u = (x * D2R) / 4;
          const v = (y * D2R) / 2;
          const z2 = 1 - u * u - v * v;
          if (z2 < 0.5 - 1e-13) return null;
          const z = Math.sqrt(z2);
          const phi = 2 * atan2d((z * x * D2R) / 2, 2 * z2 - 1);
          const theta = asind((y * D2R) * z);
          return [phi, theta];
        },
        fromNative(phi, theta) {
          const p = normPhi(phi);
          const g = R2D * Math.sqrt(2 / (1 + cosd(theta) * cosd(p / 2)));
          return [2 * g * cosd(theta) * sind(p / 2), g * sind(theta)];
        },
      };
  }
}

/** Celestial coordinates of the native pole (Calabretta & Greisen 2002, §2.4). */
function nativePole(alpha0: number, delta0: number, phi0: number, theta0: number, lonpole: number | undefined, latpole: number): { alphaP: number; deltaP: number; phiP: number } {
  const phiP = lonpole ?? (delta0 >= theta0 ? 0 : 180);
  if (theta0 === 90) return { alphaP: alpha0, deltaP: delta0, phiP };
  const dphi = phiP - phi0;
  const denom = Math.sqrt(1 - cosd(theta0) ** 2 * sind(dphi) ** 2);
  const t = denom === 0 ? 2 : sind(delta0) / denom;
  if (Math.abs(t) > 1 + 1e-12) throw new WcsInputError('no celestial pole is consistent with CRVAL, LONPOLE and the projection');
  const base = atan2d(sind(theta0), cosd(theta0) * cosd(dphi));
  const d = acosd(t);
  const cands = [base + d, base - d].map((x) => {
    let v = x;
    while (v > 180) v -= 360;
    while (v < -180) v += 360;
    return v;
  }).filter((v) => Math.abs(v) <= 90 + 1e-10);
  if (!cands.length) throw new WcsInputError('no valid celestial pole latitude for these CRVAL/LONPOLE values');
  let deltaP = cands.reduce((best, v) => (Math.abs(v - latpole) < Math.abs(best - latpole) ? v : best));
  if (Math.abs(deltaP) > 90) deltaP = Math.sign(deltaP) * 90;
  let alphaP: number;
  if (Math.abs(delta0) === 90) alphaP = alpha0;
  else {
    const dp = phi0 - phiP;
    alphaP = alpha0 - atan2d(-cosd(theta0) * sind(dp), sind(theta0) * cosd(deltaP) - cosd(theta0) * sind(deltaP) * cosd(dp));
  }
  return { alphaP, deltaP, phiP };
}

/**
 * Spherical rotation between native and celestial coordinates (Calabretta & Greisen 2002, eqs. 2 and 5, which
 * have the same form): from (a, b) about a pole at latitude `deltaP` with longitudes `a0` (input frame) and
 * `c0` (output frame). The latitude is computed with atan2 of its sine and cosine, well conditioned near ±90°.
 */
function rotate(a: number, b: number, a0: number, c0: number, deltaP: number): [number, number] {
  const d = a - a0;
  const sb = sind(b);
  const cb = cosd(b);
  const sp = sind(deltaP);
  const cp = cosd(deltaP);
  const cd = cosd(d);
  const y = -cb * sind(d);
  const x = sb * cp - cb * sp * cd;
  const z = sb * sp + cb * cp * cd;
  return [c0 + atan2d(y, x), atan2d(z, Math.hypot(x, y))];
}

function normLon(a: number): number {
  let x = a % 360;
  if (x < 0) x += 360;
  return x;
}

/** The celestial WCS of a header, or null if it has no celestial axis pair. Unsupported projections throw WcsInputError. */
export function celestialWcs(h: FitsHeader): CelestialWcs | null {
  const naxisKw = num(h, 'WCSAXES') ?? num(h, 'NAXIS') ?? 0;
  let naxis = naxisKw;
  // headers without NAXIS (e.g. a WCS alone) still carry CTYPEi
  for (let i = naxis + 1; i <= 9; i++) if (h.has(`CTYPE${i}`)) naxis = i;
  const axes = findAxes(h, naxis);
  if (!axes) return null;
  const { lon, lat } = axes;
  const lo = Math.min(lon, lat);
  const hi = Math.max(lon, lat);
  const ctLon = (str(h, `CTYPE${lon + 1}`) ?? '').toUpperCase().trim();
  const ctLat = (str(h, `CTYPE${lat + 1}`) ?? '').toUpperCase().trim();
  const code = ctLon.slice(5, 8).replace(/-/g, '');
  const codeLat = ctLat.slice(5, 8).replace(/-/g, '');
  if (code !== codeLat) throw new WcsInputError(`CTYPE${lon + 1} = '${ctLon}' and CTYPE${lat + 1} = '${ctLat}' use different projections`);
  // TPV: TAN with a polynomial of the intermediate coordinates (tpv.ts); its PVi_m are the polynomial's
  const isTpv = code === 'TPV';
  if (!isTpv && !(PROJECTIONS as readonly string[]).includes(code)) throw new WcsInputError(`unsupported celestial projection '${code}' (supported: ${PROJECTIONS.join(', ')}, TPV)`);
  const projection = (isTpv ? 'TAN' : code) as Projection;
  const suffix = ctLon.slice(8);
  const useSip = suffix === '-SIP' && ctLat.slice(8) === '-SIP';
  if (suffix !== '' && suffix !== '-SIP') throw new WcsInputError(`unsupported distortion '${suffix.slice(1)}' in CTYPE${lon + 1} = '${ctLon}'`);

  const crpixLo = num(h, `CRPIX${lo + 1}`) ?? 0;
  const crpixHi = num(h, `CRPIX${hi + 1}`) ?? 0;
  const crvalLon = num(h, `CRVAL${lon + 1}`) ?? 0;
  const crvalLat = num(h, `CRVAL${lat + 1}`) ?? 0;
  // linear part: rows = world axis (lon, lat), columns = pixel axis (lo, hi)
  const idx = [lo, hi];
  const rows = [lon, lat];
  const hasPC = h.cards.some((c) => /^PC0*\d+_0*\d+$/.test(c.key)) || h.cards.some((c) => /^PC0\d{2}0\d{2}$/.test(c.key));
  const hasCD = h.cards.some((c) => /^CD\d+_\d+$/.test(c.key));
  const cd: [[number, number], [number, number]] = [
    [0, 0],
    [0, 0],
  ];
  if (!hasPC && hasCD) {
    for (let r = 0; r < 2; r++) for (let c = 0; c < 2; c++) cd[r][c] = num(h, `CD${rows[r] + 1}_${idx[c] + 1}`) ?? 0;
  } else {
    const cdelt = (i: number) => num(h, `CDELT${i + 1}`) ?? 1;
    if (hasPC) {
      for (let r = 0; r < 2; r++)
        for (let c = 0; c < 2; c++) {
          const i = rows[r] + 1;
          const j = idx[c] + 1;
          const dflt = rows[r] === idx[c] ? 1 : 0;
          const v = num(h, `PC${i}_${j}`) ?? num(h, `PC${String(i).padStart(3, '0')}${String(j).padStart(3, '0')}`) ?? dflt;
          cd[r][c] = cdelt(rows[r]) * v;
        }
    } else {
      const rho = num(h, `CROTA${lat + 1}`) ?? num(h, `CROTA${lon + 1}`) ?? 0;
      const c1 = cdelt(lon);
      const c2 = cdelt(lat);
      // PC from CROTA (Calabretta & Greisen 2002, eq. 188), expressed for (lon, lat) rows
      const pcLonLon = cosd(rho);
      const pcLonLat = -sind(rho) * (c2 / c1);
      const pcLatLon = sind(rho) * (c1 / c2);
      const pcLatLat = cosd(rho);
      const pcWorldPix = (r: number, c: number): number => {
        const w = rows[r];
        const p = idx[c];
        if (w === lon) return p === lon ? pcLonLon : pcLonLat;
        return p === lon ? pcLatLon : pcLatLat;
      };
      for (let r = 0; r < 2; r++) for (let c = 0; c < 2; c++) cd[r][c] = (r === 0 ? c1 : c2) * pcWorldPix(r, c);
    }
  }
  const det = cd[0][0] * cd[1][1] - cd[0][1] * cd[1][0];
  if (!(Math.abs(det) > 0) || !Number.isFinite(det)) throw new WcsInputError('the WCS linear transformation (CD/PC/CDELT) is singular');
  const inv = [
    [cd[1][1] / det, -cd[0][1] / det],
    [-cd[1][0] / det, cd[0][0] / det],
  ];

  let sip: Sip | null = null;
  if (useSip) {
    const ao = num(h, 'A_ORDER');
    const bo = num(h, 'B_ORDER');
    // like astropy: CTYPE '-SIP' without coefficients means no distortion
    if (ao === undefined || bo === undefined) {
      // nothing to apply
    } else if (!Number.isInteger(ao) || !Number.isInteger(bo) || ao < 0 || bo < 0 || ao > 20 || bo > 20) throw new WcsInputError(`invalid SIP orders A_ORDER = ${ao}, B_ORDER = ${bo}`);
    else {
      sip = { a: sipMatrix(h, 'A', ao), b: sipMatrix(h, 'B', bo) };
      const apo = num(h, 'AP_ORDER');
      const bpo = num(h, 'BP_ORDER');
      if (apo !== undefined && bpo !== undefined && Number.isInteger(apo) && Number.isInteger(bpo) && apo >= 0 && bpo >= 0 && apo <= 20 && bpo <= 20) {
        sip.ap = sipMatrix(h, 'AP', apo);
        sip.bp = sipMatrix(h, 'BP', bpo);
      }
    }
  }

  // reference system
  const radesysKw = (str(h, 'RADESYS') ?? str(h, 'RADECSYS'))?.trim().toUpperCase() || null;
  let equinox = num(h, 'EQUINOX') ?? num(h, 'EPOCH') ?? null;
  const eqStr = str(h, 'EQUINOX');
  if (equinox === null && eqStr) {
    const m = /^[BJ]?(\d+(\.\d*)?)$/.exec(eqStr.trim());
    if (m) equinox = Number(m[1]);
  }
  const isRaDec = ctLon.startsWith('RA--');
  let radesys: string | null = radesysKw;
  if (isRaDec && !radesys) radesys = equinox === null ? 'ICRS' : equinox < 1984 ? 'FK4' : 'FK5';
  if (isRaDec && equinox === null && (radesys === 'FK5' || radesys === 'FK4' || radesys === 'FK4-NO-E')) equinox = radesys === 'FK5' ? 2000 : 1950;

  // TPV's PVi_m are its polynomial: no projection parameters, no native reference point or poles in PV cards
  const tpv = isTpv ? readTpv(h, lon, lat) : null;
  const pv = (m: number) => (isTpv ? undefined : num(h, `PV${lat + 1}_${m}`));
  const pvLon = (m: number) => (isTpv ? undefined : num(h, `PV${lon + 1}_${m}`));
  const proj = makeProjection(projection, pv, crvalLat);
  const phi0 = pvLon(1) ?? 0;
  const theta0 = pvLon(2) ?? proj.theta0;
  if (phi0 !== 0 || theta0 !== proj.theta0) throw new WcsInputError('non-default native reference point (PVi_1/PVi_2 of the longitude axis) is not supported');
  const lonpoleKw = num(h, 'LONPOLE') ?? pvLon(3);
  const latpole = num(h, 'LATPOLE') ?? pvLon(4) ?? 90;
  const pole = nativePole(crvalLon, crvalLat, phi0, theta0, lonpoleKw, latpole);
  const { alphaP, deltaP, phiP } = pole;
  // the intermediate coordinates of the reference point (non-zero only for projections whose reference point is not at the origin: none here)
  const ref = proj.fromNative(phi0, theta0) ?? [0, 0];
  const [x0, y0] = ref;

  const pixelToWorld = (px: number, py: number): [number, number] => {
    // px, py are 0-based along the lower and higher celestial header axes
    let u = px + 1 - crpixLo;
    let v = py + 1 - crpixHi;
    if (sip) {
      const du = poly(sip.a, u, v);
      const dv = poly(sip.b, u, v);
      u += du;
      v += dv;
    }
    let x = cd[0][0] * u + cd[0][1] * v + x0;
    let y = cd[1][0] * u + cd[1][1] * v + y0;
    if (tpv) [x, y] = tpvForward(tpv, x, y);
    const nat = proj.toNative(x, y);
    if (!nat) return [NaN, NaN];
    const [phi, theta] = nat;
    const [lonW, latW] = rotate(phi, theta, phiP, alphaP, deltaP);
    return [normLon(lonW), latW];
  };

  const worldToPixel = (lonW: number, latW: number): [number, number] => {
    const [phiR, theta] = rotate(lonW, latW, alphaP, phiP, deltaP);
    const phi = normPhi(phiR);
    const xy = proj.fromNative(phi, theta);
    if (!xy) return [NaN, NaN];
    let [x, y] = [xy[0] - x0, xy[1] - y0];
    if (tpv) [x, y] = tpvInverse(tpv, x, y);
    const up = inv[0][0] * x + inv[0][1] * y;
    const vp = inv[1][0] * x + inv[1][1] * y;
    let u = up;
    let v = vp;
    if (sip) {
      // exact inverse of the forward polynomial by Newton's method, from the inverse polynomial's guess
      if (sip.ap && sip.bp) {
        u = up + poly(sip.ap, up, vp);
        v = vp + poly(sip.bp, up, vp);
      }
      for (let it = 0; it < 50; it++) {
        const fu = u + poly(sip.a, u, v) - up;
        const fv = v + poly(sip.b, u, v) - vp;
        const [au, av] = polyGrad(sip.a, u, v);
        const [bu, bv] = polyGrad(sip.b, u, v);
        const j11 = 1 + au;
        const j12 = av;
        const j21 = bu;
        const j22 = 1 + bv;
        const jd = j11 * j22 - j12 * j21;
        if (jd === 0 || !Number.isFinite(jd)) break;
        const su = (j22 * fu - j12 * fv) / jd;
        const sv = (-j21 * fu + j11 * fv) / jd;
        u -= su;
        v -= sv;
        if (Math.abs(su) < 1e-12 && Math.abs(sv) < 1e-12) break;
      }
    }
    return [u + crpixLo - 1, v + crpixHi - 1];
  };

  const radesysOut = radesys;
  return {
    lonAxis: lon,
    latAxis: lat,
    ctype: [ctLon, ctLat],
    projection,
    lonType: ctLon.slice(0, 4).replace(/-+$/, ''),
    latType: ctLat.slice(0, 4).replace(/-+$/, ''),
    crpix: [crpixLo, crpixHi],
    crval: [crvalLon, crvalLat],
    cd,
    radesys: radesysOut,
    equinox,
    lonpole: phiP,
    latpole,
    sip,
    tpv,
    pixelToWorld,
    worldToPixel,
  };
}
