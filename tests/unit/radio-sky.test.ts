/**
 * The sky end to end: a point source at a known RA, Dec offset from the phase centre, its visibilities on the
 * real VLBA tracks from the exact direction cosines, imaged; the products' WCS (SIN at the phase centre, the
 * `clean` command's header) puts the peak at the source's RA and Dec.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';
import { readUvfits, selectVisibilities } from '../../src-shared/radio/uvfits.js';
import { makeNufftMeasurement } from '../../src-shared/radio/measurement.js';
import { cropBeam, dirtyBeam, dirtyImage, doubleGrid } from '../../src-shared/radio/imaging.js';
import { clean } from '../../src-shared/radio/clean.js';
import { ARCSEC, type ImageGrid } from '../../src-shared/radio/grid.js';
import { celestialWcs } from '../../src-shared/wcs/index.js';
import { radioProductHeader } from '../../src-main/reconstruct/radio-header.js';

describe('image orientation against the WCS', () => {
  const vis = selectVisibilities(readUvfits(new Uint8Array(readFileSync(dataPath('uvfits', 'vlba43_BLLAC_2013may30.uvfits')))));
  const ra0 = (vis.meta.ra * Math.PI) / 180;
  const dec0 = (vis.meta.dec * Math.PI) / 180;
  const grid: ImageGrid = { nx: 96, ny: 80, cell: 0.05e-3 * ARCSEC };
  for (const [dxMas, dyMas] of [
    [1.2, 0.6],
    [-0.9, 1.1],
    [0.52, -1.47],
  ]) {
    it(`a source ${dxMas} mas East, ${dyMas} mas North peaks where the WCS puts its RA, Dec`, () => {
      // the source's RA, Dec from tangent-plane offsets (l, m) = (East, North)
      const l = dxMas * 1e-3 * ARCSEC;
      const m = dyMas * 1e-3 * ARCSEC;
      const n = Math.sqrt(1 - l * l - m * m);
      const dec = Math.asin(m * Math.cos(dec0) + n * Math.sin(dec0));
      const ra = ra0 + Math.atan2(l, n * Math.cos(dec0) - m * Math.sin(dec0));
      // visibilities of 1 Jy there: the direction cosines of (ra, dec) about the phase centre
      const ll = Math.cos(dec) * Math.sin(ra - ra0);
      const mm = Math.sin(dec) * Math.cos(dec0) - Math.cos(dec) * Math.sin(dec0) * Math.cos(ra - ra0);
      const re = Float64Array.from(vis.u, (u, k) => Math.cos(-2 * Math.PI * (u * ll + vis.v[k] * mm)));
      const im = Float64Array.from(vis.u, (u, k) => Math.sin(-2 * Math.PI * (u * ll + vis.v[k] * mm)));
      const img = dirtyImage(makeNufftMeasurement(vis.u, vis.v, grid), re, im, vis.weight);
      let best = 0;
      for (let i = 1; i < img.length; i++) if (img[i] > img[best]) best = i;
      const py = Math.floor(best / grid.nx);
      const px = best - py * grid.nx;
      // sub-pixel peak by parabolas along x and y
      const para = (a: number, b: number, c: number) => (0.5 * (a - c)) / (a - 2 * b + c);
      const fx = px + para(img[best - 1], img[best], img[best + 1]);
      const fy = py + para(img[best - grid.nx], img[best], img[best + grid.nx]);
      const wcs = celestialWcs(radioProductHeader(vis, grid, null, 'JY/BEAM', [], 'clean'))!;
      const [raW, decW] = wcs.pixelToWorld(fx, fy);
      const dRa = (raW - (ra * 180) / Math.PI) * Math.cos(dec) * 3.6e6; // mas
      const dDec = (decW - (dec * 180) / Math.PI) * 3.6e6;
      expect(Math.hypot(dRa, dDec)).toBeLessThan(0.15 * 0.05); // 0.15 pixel (a parabola through the peak)
      // and the pixel itself: East is to the left
      expect(px).toBe(Math.floor(grid.nx / 2) - Math.round(dxMas / 0.05));
      expect(py).toBe(Math.floor(grid.ny / 2) + Math.round(dyMas / 0.05));
    });
  }
});

/**
 * The real sky's orientation: BL Lac's parsec-scale jet at 43 GHz runs south of its core (position angle about
 * −170°, East of North, in the VLBA-BU-BLAZAR monitoring that made the shared file). The file's UU, VV are the
 * baseline antenna 1 − antenna 2 (AIPS); read as antenna 2 − antenna 1 the image comes out turned by 180°, the jet
 * to the north. Högbom CLEAN of the natural-weighted dirty image; the flux-weighted centre of the components more
 * than 0.5 mas from the brightest one gives the jet's direction.
 */
describe('the orientation of a real source', () => {
  it('BL Lac\'s jet lies south of its core (position angle within 30° of −170°)', () => {
    const vis = selectVisibilities(readUvfits(new Uint8Array(readFileSync(dataPath('uvfits', 'vlba43_BLLAC_2013may30.uvfits')))));
    const grid: ImageGrid = { nx: 128, ny: 128, cell: 0.05e-3 * ARCSEC };
    const A = makeNufftMeasurement(vis.u, vis.v, grid);
    const big = dirtyBeam(vis.u, vis.v, vis.weight, doubleGrid(grid));
    expect(cropBeam(big, grid)[64 * 128 + 64]).toBeCloseTo(1, 6);
    const r = clean(A, vis.re, vis.im, vis.weight, big, { method: 'hogbom', niter: 1500, gain: 0.1, threshold: 0 });
    let peak = 0;
    for (let i = 1; i < r.model.length; i++) if (r.model[i] > r.model[peak]) peak = i;
    const px = peak % 128;
    const py = Math.floor(peak / 128);
    // East = −x, North = +y (pixels of 0.05 mas)
    let f = 0;
    let e = 0;
    let nn = 0;
    for (let i = 0; i < r.model.length; i++) {
      const dx = -((i % 128) - px);
      const dy = Math.floor(i / 128) - py;
      if (r.model[i] <= 0 || Math.hypot(dx, dy) * 0.05 < 0.5) continue;
      f += r.model[i];
      e += r.model[i] * dx;
      nn += r.model[i] * dy;
    }
    expect(f).toBeGreaterThan(0.5); // Jy of jet beyond 0.5 mas
    const pa = (Math.atan2(e, nn) * 180) / Math.PI;
    expect(nn).toBeLessThan(0);
    expect(Math.abs(((pa + 170 + 540) % 360) - 180)).toBeLessThan(30);
  });
});
