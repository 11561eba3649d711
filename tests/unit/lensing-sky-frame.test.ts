/** The lens fit's angles on the sky: position angles East of North through the observation's WCS, the shear's polar form, the header cards. */
import { describe, expect, it } from 'vitest';
import { FitsHeader, readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { axisAngle, lensHeaderCards, lensSky, shearPolar, skyFrameAt, skyPositionAngle } from '../../src-shared/lensing/sky-frame.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import type { ParameterEstimate } from '../../src-shared/lensing/fit.js';

const S = 0.05 / 3600; // 0.05″ pixels, in degrees

/** An HST-like TAN header whose +y axis points at position angle `orientat` (ORIENTAT) East of North; `mirror` flips x. */
function header(orientat: number, o: { mirror?: boolean; swap?: boolean; crval?: [number, number] } = {}): FitsHeader {
  const t = (orientat * Math.PI) / 180;
  const sx = o.mirror ? -1 : 1;
  // rows: (ξ towards East, η towards North); columns: the pixel axes x, y
  const cd = [
    [-S * Math.cos(t) * sx, S * Math.sin(t)],
    [S * Math.sin(t) * sx, S * Math.cos(t)],
  ];
  const [ra, dec] = o.crval ?? [149.1463685, 50.996146];
  const h = new FitsHeader().set('NAXIS', 2).set('NAXIS1', 100).set('NAXIS2', 80);
  if (!o.swap) {
    h.set('CTYPE1', 'RA---TAN').set('CTYPE2', 'DEC--TAN').set('CRVAL1', ra).set('CRVAL2', dec);
    h.set('CD1_1', cd[0][0]).set('CD1_2', cd[0][1]).set('CD2_1', cd[1][0]).set('CD2_2', cd[1][1]);
  } else {
    // the latitude first: header axis 1 is Dec, so its row of the CD matrix is η's
    h.set('CTYPE1', 'DEC--TAN').set('CTYPE2', 'RA---TAN').set('CRVAL1', dec).set('CRVAL2', ra);
    h.set('CD1_1', cd[1][0]).set('CD1_2', cd[1][1]).set('CD2_1', cd[0][0]).set('CD2_2', cd[0][1]);
  }
  return h.set('CRPIX1', 50.5).set('CRPIX2', 40.5).set('RADESYS', 'ICRS');
}

const deg = (r: number) => (r * 180) / Math.PI;
/** the smallest difference between two axis angles (mod 180) */
const axisDiff = (a: number, b: number) => Math.abs(((a - b + 90) % 180 + 180) % 180 - 90);

describe('position angles through the WCS', () => {
  it('the great circle position angle: North 0, East 90, South 180, West 270', () => {
    expect(skyPositionAngle(150, 2, 150, 2.001)).toBeCloseTo(0, 8);
    expect(skyPositionAngle(150, 2, 150.001, 2)).toBeCloseTo(90, 4);
    expect(skyPositionAngle(150, 2, 150, 1.999)).toBeCloseTo(180, 8);
    expect(skyPositionAngle(150, 2, 149.999, 2)).toBeCloseTo(270, 4);
    expect(axisAngle(-30)).toBeCloseTo(150, 12);
    expect(axisAngle(370)).toBeCloseTo(10, 12);
  });

  it('North up, East left: +y is PA 0, +x (West) is the axis 90, the diagonal up-right 135; counter-clockwise turns North to East', () => {
    const f = skyFrameAt(header(0), 49.5, 39.5)!;
    expect(f.parity).toBe(1);
    expect(axisDiff(f.paOf(Math.PI / 2), 0)).toBeLessThan(1e-6);
    expect(f.paOf(0)).toBeCloseTo(270, 9);
    expect(axisAngle(f.paOf(Math.PI / 4))).toBeCloseTo(135, 6);
    // the reference pixel is CRVAL
    expect(f.lon).toBeCloseTo(149.1463685, 9);
    expect(f.lat).toBeCloseTo(50.996146, 9);
  });

  it('a rotated image (HST ORIENTAT θ): the grid angle φ is at PA φ + θ − 90° (mod 180), in every quadrant', () => {
    for (const theta of [-63.555, -86.3, -76, 37, 0, 120]) {
      const f = skyFrameAt(header(theta), 30, 60)!;
      expect(f.parity).toBe(1);
      for (const phiDeg of [-170, -45, 0, 10, 89, 135]) {
        const pa = axisAngle(f.paOf((phiDeg * Math.PI) / 180));
        // the point is 1.4″ from the tangent point: the meridians there converge by ~3·10⁻⁴° (Δα sin δ), which
        // the sky's angle includes and the grid's formula does not
        expect(axisDiff(pa, phiDeg + theta - 90)).toBeLessThan(1e-3);
      }
    }
  });

  it('a mirrored image (East to the right) has the other parity: φ is at PA 90° − φ + θ', () => {
    for (const theta of [0, 30]) {
      const f = skyFrameAt(header(theta, { mirror: true }), 49.5, 39.5)!;
      expect(f.parity).toBe(-1);
      for (const phiDeg of [0, 25, 100]) expect(axisDiff(axisAngle(f.paOf((phiDeg * Math.PI) / 180)), 90 - phiDeg + theta)).toBeLessThan(1e-6);
    }
  });

  it('the latitude as the first header axis gives the same angles', () => {
    const a = skyFrameAt(header(-40), 20, 70)!;
    const b = skyFrameAt(header(-40, { swap: true }), 20, 70)!;
    expect(b.lon).toBeCloseTo(a.lon, 10);
    expect(b.lat).toBeCloseTo(a.lat, 10);
    for (const phi of [0, 0.7, 2]) expect(b.paOf(phi)).toBeCloseTo(a.paOf(phi), 6);
  });

  it('near the pole the directions follow the sphere: North points at the pole from every pixel, not along the grid\'s +y', () => {
    const h = header(0, { crval: [30, 89.999] });
    const f0 = skyFrameAt(h, 49.5, 39.5)!;
    const [pxPole, pyPole] = f0.wcs.worldToPixel(30, 90);
    expect(pyPole - 39.5).toBeCloseTo(72, 3); // 0.001° = 3.6″ = 72 pixels North of the tangent point
    for (const [px, py] of [[49.5, 39.5 - 720], [49.5 + 720, 39.5], [49.5 - 300, 39.5 + 500]]) {
      const f = skyFrameAt(h, px, py)!;
      const phiToPole = Math.atan2(pyPole - py, pxPole - px);
      expect(axisDiff(axisAngle(f.paOf(phiToPole)), 0)).toBeLessThan(1e-3);
      // where the pole is off the grid's vertical, +y is not North (here by up to ~75°)
      if (Math.abs(px - pxPole) > 1) expect(axisDiff(axisAngle(f.paOf(Math.PI / 2)), 0)).toBeGreaterThan(1);
    }
  });

  it('no celestial WCS: null', () => {
    expect(skyFrameAt(new FitsHeader().set('NAXIS', 2), 1, 1)).toBeNull();
    const P = params(0.3);
    expect(lensSky(new FitsHeader(), [80, 100], 0.05, P, null)).toBeNull();
  });
});

describe('the external shear in polar form', () => {
  it('its direction is the axis along which the lens equation stretches images (eigenvalue 1 − γ of the Jacobian)', () => {
    for (const [g1, g2] of [[0.05, 0.02], [-0.03, 0.04], [0, -0.06], [-0.07, -0.01]]) {
      const { gamma, phi } = shearPolar(g1, g2, null);
      expect(gamma.value).toBeCloseTo(Math.hypot(g1, g2), 14);
      const [c, s] = [Math.cos(phi.value), Math.sin(phi.value)];
      // (1 − Γ)(c, s) with Γ = [[γ1, γ2], [γ2, −γ1]] (α = Γ θ, β = θ − α)
      const v = [(1 - g1) * c - g2 * s, -g2 * c + (1 + g1) * s];
      expect(v[0]).toBeCloseTo((1 - gamma.value) * c, 12);
      expect(v[1]).toBeCloseTo((1 - gamma.value) * s, 12);
    }
  });

  it('its errors by the delta method match Monte Carlo draws of (γ1, γ2)', () => {
    const [g1, g2] = [0.06, -0.035];
    const cov: [number, number, number] = [2.5e-5, 0.8e-5, 1.6e-5];
    const p = shearPolar(g1, g2, cov);
    // draws from the 2 × 2 normal: Cholesky of cov
    const l11 = Math.sqrt(cov[0]);
    const l21 = cov[1] / l11;
    const l22 = Math.sqrt(cov[2] - l21 * l21);
    const rng = new SeededRandom(12);
    const n = 200_000;
    let sg = 0;
    let sg2 = 0;
    let sp = 0;
    let sp2 = 0;
    for (let k = 0; k < n; k++) {
      const [a, b] = [rng.normal(), rng.normal()];
      const q = shearPolar(g1 + l11 * a, g2 + l21 * a + l22 * b, null);
      sg += q.gamma.value;
      sg2 += q.gamma.value ** 2;
      sp += q.phi.value;
      sp2 += q.phi.value ** 2;
    }
    const sdG = Math.sqrt(sg2 / n - (sg / n) ** 2);
    const sdP = Math.sqrt(sp2 / n - (sp / n) ** 2);
    expect(Math.abs(p.gamma.error! / sdG - 1)).toBeLessThan(0.03);
    expect(Math.abs(p.phi.error! / sdP - 1)).toBeLessThan(0.05);
  });
});

function params(phi: number, o: { x0?: number; y0?: number } = {}): Record<string, ParameterEstimate> {
  const v = (value: number, error: number | null = null): ParameterEstimate => ({ value, error });
  return {
    thetaE: v(1.33, 0.004),
    q: v(0.63, 0.01),
    phi: v(phi, 0.02),
    e1: v(0.1),
    e2: v(0.1),
    x0: v(o.x0 ?? 0.12, 0.003),
    y0: v(o.y0 ?? -0.08, 0.003),
    gamma1: v(0.04, 0.005),
    gamma2: v(-0.02, 0.005),
    'light0.x0': v(0.1),
    'light0.y0': v(-0.05),
    'light0.phi': v(phi + 0.3, 0.05),
    'light0.q': v(0.7),
  };
}

describe('lensSky and the header cards', () => {
  it('carries the centre and the angles of the mass, the shear and the light to the sky of a rotated HST cutout', () => {
    const h = header(-63.555);
    const shape: [number, number] = [80, 100];
    const P = params(0.9);
    const names = ['thetaE', 'e1', 'e2', 'x0', 'y0', 'gamma1', 'gamma2'];
    const cov = new Float64Array(49);
    cov[5 * 7 + 5] = 2.5e-5;
    cov[6 * 7 + 6] = 1.6e-5;
    const sky = lensSky(h, shape, 0.05, P, { names, matrix: cov })!;
    // the centre: pixel ((nx−1)/2 + x0/s, (ny−1)/2 + y0/s) through the WCS
    const f = skyFrameAt(h, 49.5 + 0.12 / 0.05, 39.5 - 0.08 / 0.05)!;
    expect(sky.centre.lon).toBeCloseTo(f.lon, 12);
    expect(sky.centre.lat).toBeCloseTo(f.lat, 12);
    expect(sky.frame).toEqual({ lon: 'RA', lat: 'DEC', radesys: 'ICRS' });
    expect(axisDiff(sky.positionAngle.value, deg(0.9) - 63.555 - 90)).toBeLessThan(1e-4);
    expect(sky.positionAngle.error).toBeCloseTo(deg(0.02), 12);
    expect(sky.positionAngle.value).toBeGreaterThanOrEqual(0);
    expect(sky.positionAngle.value).toBeLessThan(180);
    const sp = shearPolar(0.04, -0.02, [2.5e-5, 0, 1.6e-5]);
    expect(sky.shear.gamma.value).toBeCloseTo(sp.gamma.value, 14);
    expect(sky.shear.gamma.error).toBeCloseTo(sp.gamma.error!, 14);
    expect(axisDiff(sky.shear.positionAngle.value, deg(sp.phi.value) - 63.555 - 90)).toBeLessThan(1e-4);
    expect(sky.light).toHaveLength(1);
    expect(axisDiff(sky.light[0].positionAngle.value, deg(1.2) - 63.555 - 90)).toBeLessThan(1e-4);
    expect(sky.parity).toBe(1);
  });

  it('the header cards hold lens.json\'s values under FITS keywords of at most 8 characters and survive a FITS round trip', () => {
    const P = params(0.9);
    const sky = lensSky(header(-63.555), [80, 100], 0.05, P, null)!;
    const cards = lensHeaderCards('sie', P, sky, { logEvidence: 1234.5, chi2PerPixel: 1.03 });
    const keys = cards.map((c) => c[0]);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(k).toMatch(/^[A-Z0-9_-]{1,8}$/);
    const h = new FitsHeader();
    for (const [k, v, c] of cards) h.set(k, v, c);
    const back = readFitsImage(writeFits([{ data: new Float32Array(4), shape: [2, 2], header: h }])).header;
    expect(back.get('LENSMOD')).toBe('SIE');
    expect(back.get('THETAE')).toBeCloseTo(1.33, 12);
    expect(back.get('THETAEER')).toBeCloseTo(0.004, 12);
    expect(back.get('LENSPA')).toBeCloseTo(sky.positionAngle.value, 10);
    expect(back.get('LENSPAER')).toBeCloseTo(deg(0.02), 10);
    expect(back.get('LENSRA')).toBeCloseTo(sky.centre.lon, 10);
    expect(back.get('LENSDEC')).toBeCloseTo(sky.centre.lat, 10);
    expect(back.get('SHEAR')).toBeCloseTo(Math.hypot(0.04, 0.02), 12);
    expect(back.has('SHEARER')).toBe(false); // no covariance: no error
    expect(back.get('CHI2PIX')).toBeCloseTo(1.03, 12);
    // without a WCS: the grid's values only
    const plain = lensHeaderCards('epl', { ...P, gamma: { value: 2.1, error: 0.05 } }, null, { logEvidence: 1, chi2PerPixel: 1 }).map((c) => c[0]);
    expect(plain).toContain('LENSSLOP');
    expect(plain).not.toContain('LENSPA');
    expect(plain).not.toContain('LENSRA');
  });
});
