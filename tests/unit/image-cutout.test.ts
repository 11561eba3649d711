/**
 * Cutouts and binning (src-shared/image/cutout.ts): pixels (block means, NaN kept out), σ maps and masks cut
 * the same way, boxes, and the WCS of the result. The expected sky positions were computed with astropy 5.2.1
 * from the ORIGINAL file's WCS at the centre of each new pixel — original pixel x0 + k·i + (k − 1)/2 —
 * (`WCS(header).celestial.all_pix2world(…, 0)`, SIP included); astropy reading the written cutout headers gave
 * the same positions to the last digit. Five cases: TAN with CDELT/CROTA (Spitzer 8 µm, 30 Dor), a plain cutout
 * and binning by 4; TAN-SIP with CD (IRAC, GalSim) binned by 3; TAN-SIP with PC (sip-wcs.fits) binned by 2; SIN
 * with three axes and CROTA (PURIFY M31) binned by 2.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { celestialWcs } from '../../src-shared/wcs/index.js';
import {
  binnedSigma,
  boxAround,
  boxFromCorners,
  clipBox,
  cutAdditive,
  cutLensStage,
  cutMask,
  cutoutHeader,
  cutPixels,
  cutSigmaMap,
  CutoutInputError,
  sizeRatio,
  suggestBin,
  type CutBox,
} from '../../src-shared/image/cutout.js';
import type { LensStage } from '../../src-shared/operators/forward-model-spec.js';
import { lensMatrix } from '../../src-shared/operators/lens-model.js';
import { csrMultiply } from '../../src-shared/operators/sparse.js';
import { UserInputError } from '../../src-shared/errors.js';
import { dataPath } from '../helpers/data.js';
import { parseAngle, sexagesimal } from '../../src-renderer/src/viewer/wcs.js';

interface Case {
  file: string[];
  box: CutBox;
  k: number;
  shape: [number, number];
  /** [x, y] of the new image (0-based) → [lon, lat] from astropy. */
  world: [number, number, number, number][];
}

const CASES: Record<string, Case> = {
  '30 Dor, TAN/CDELT/CROTA, cutout': {
    file: ['radio', 'purify_30dor_spitzer8um.fits'],
    box: { x0: 100, y0: 80, nx: 60, ny: 50 },
    k: 1,
    shape: [50, 60],
    world: [
      [0, 0, 84.72658277237386, -69.13025305196557],
      [59, 49, 84.62729096616917, -69.10084820735712],
      [29.5, 24.5, 84.67690348269385, -69.11555779398144],
      [59, 0, 84.62721288142966, -69.13024819032607],
      [1.5, 48, 84.72400542421488, -69.1014536475768],
    ],
  },
  '30 Dor, binned by 4': {
    file: ['radio', 'purify_30dor_spitzer8um.fits'],
    box: { x0: 3, y0: 5, nx: 240, ny: 236 },
    k: 4,
    shape: [59, 60],
    world: [
      [0, 0, 84.88783523679157, -69.17423903264256],
      [59, 58, 84.49079509661277, -69.03504770511118],
      [29.5, 29, 84.68868354491126, -69.10475796708357],
      [59, 0, 84.48955325099087, -69.17424682922291],
      [1.5, 57, 84.87650997888299, -69.03745146002127],
    ],
  },
  'IRAC TAN-SIP with CD, binned by 3': {
    file: ['fits', 'galsim_sipsample_spitzer_irac.fits'],
    box: { x0: 40, y0: 60, nx: 120, ny: 100 },
    k: 3,
    shape: [33, 40],
    world: [
      [0, 0, 202.42846319748372, 47.17178407103797],
      [39, 32, 202.50386454466428, 47.17476159393792],
      [19.5, 16, 202.46612384739598, 47.17327982182718],
      [39, 0, 202.4713995242595, 47.198688433186774],
      [1.5, 31, 202.4615083115778, 47.14954483270292],
    ],
  },
  'TAN-SIP with PC, binned by 2': {
    file: ['fits', 'sip-wcs.fits'],
    box: { x0: 10, y0: 5, nx: 80, ny: 40 },
    k: 2,
    shape: [20, 40],
    world: [
      [0, 0, 280.5396621439624, 0.11065569812674254],
      [39, 19, 280.5525542135107, 0.1145296898524219],
      [19.5, 9.5, 280.5461081599716, 0.1125927259942329],
      [39, 0, 280.55159438096865, 0.10871997221153276],
      [1.5, 18, 280.5410302563383, 0.11608544958111998],
    ],
  },
  'M31, SIN with 3 axes and CROTA, binned by 2': {
    file: ['radio', 'purify_M31.fits'],
    box: { x0: 64, y0: 32, nx: 128, ny: 160 },
    k: 2,
    shape: [80, 64],
    world: [
      [0, 0, 0.021187209177463202, 34.97374815729291],
      [63, 79, 359.9784622483675, 35.01763698803321],
      [31.5, 39.5, 359.9998304568902, 34.99569444421835],
      [63, 0, 359.97847379547545, 34.973748097904654],
      [1.5, 78, 0.020180905762318072, 35.01708166447141],
    ],
  },
};

/** Angular distance in arcseconds (small angles). */
function sepArcsec(lon1: number, lat1: number, lon2: number, lat2: number): number {
  let dl = lon1 - lon2;
  if (dl > 180) dl -= 360;
  if (dl < -180) dl += 360;
  return Math.hypot(dl * Math.cos((lat2 * Math.PI) / 180), lat1 - lat2) * 3600;
}

describe('cutout WCS against astropy', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, () => {
      const fits = readFits(new Uint8Array(readFileSync(dataPath(...c.file))));
      const h = fits.hdus[0]!;
      const shape: [number, number] = [h.shape[1]!, h.shape[0]!];
      const box = clipBox(c.box, shape);
      const img = h.readImage();
      const cut = cutPixels(img.data.subarray(0, shape[0] * shape[1]), shape, box, c.k);
      expect(cut.shape).toEqual(c.shape);
      // through the FITS writer and reader, as the app does
      const bytes = writeFits([{ data: cut.data, shape: [cut.shape[1], cut.shape[0]], header: cutoutHeader(h.header, box, c.k, { from: c.file[1] }) }]);
      const back = readFits(bytes).hdus[0]!;
      const w = celestialWcs(back.header)!;
      expect(w).not.toBeNull();
      for (const [x, y, lon, lat] of c.world) {
        const [l, b] = w.pixelToWorld(x, y);
        // 1 µas: double-precision agreement, far below any pixel (the smallest here is 0.6″)
        expect(sepArcsec(l, b, lon, lat)).toBeLessThan(1e-6);
      }
      // and the way back: the sky position of a new pixel lands on that pixel
      const [x, y, lon, lat] = c.world[2]!;
      const [px, py] = w.worldToPixel(lon, lat);
      expect(Math.abs(px - x)).toBeLessThan(1e-6);
      expect(Math.abs(py - y)).toBeLessThan(1e-6);
      expect(back.header.getAll('HISTORY').join('\n')).toContain(`cutout x ${box.x0 + 1}-${box.x0 + box.nx}`);
    });
  }

  it('a binned pixel covers k×k original pixels: its size on the sky is k times theirs', () => {
    const fits = readFits(new Uint8Array(readFileSync(dataPath('radio', 'purify_30dor_spitzer8um.fits'))));
    const h = fits.hdus[0]!.header;
    const w0 = celestialWcs(h)!;
    const w4 = celestialWcs(cutoutHeader(h, { x0: 0, y0: 0, nx: 248, ny: 248 }, 4))!;
    const step = (w: typeof w0, x: number) => {
      const [a, b] = w.pixelToWorld(x, 10);
      const [c, d] = w.pixelToWorld(x + 1, 10);
      return sepArcsec(a, b, c, d);
    };
    expect(step(w4, 30) / step(w0, 121.5)).toBeCloseTo(4, 3);
    // CDELT 0.0006° = 2.16″ → 8.64″
    expect(step(w4, 30)).toBeCloseTo(8.64, 2);
  });
});

describe('cutout pixels, σ maps and masks', () => {
  // a 5 × 7 image whose value encodes its position: v = 10·row + column
  const ny = 5;
  const nx = 7;
  const img = Float32Array.from({ length: ny * nx }, (_, i) => 10 * Math.floor(i / nx) + (i % nx));

  it('a cutout is the pixels of the box, row 0 first', () => {
    const c = cutPixels(img, [ny, nx], { x0: 2, y0: 1, nx: 3, ny: 2 });
    expect(c.shape).toEqual([2, 3]);
    expect(Array.from(c.data)).toEqual([12, 13, 14, 22, 23, 24]);
  });

  it('binning averages k×k blocks from the box corner and drops partial blocks', () => {
    const c = cutPixels(img, [ny, nx], { x0: 1, y0: 0, nx: 5, ny: 5 }, 2);
    expect(c.shape).toEqual([2, 2]);
    // block (0,0): rows 0–1, columns 1–2 → mean of 1, 2, 11, 12 = 6.5
    expect(Array.from(c.data)).toEqual([6.5, 8.5, 26.5, 28.5]);
  });

  it('a block with a NaN is NaN (measured and missing values never mix)', () => {
    const withNaN = img.slice();
    withNaN[1 * nx + 2] = NaN;
    const c = cutPixels(withNaN, [ny, nx], { x0: 1, y0: 0, nx: 4, ny: 4 }, 2);
    expect(Number.isNaN(c.data[0])).toBe(true);
    expect(c.data[1]).toBe(8.5);
  });

  it('σ of a block mean: √(Σσ²)/k², σ/k for a constant σ; masks keep only wholly observed blocks', () => {
    const sigma = new Float32Array(ny * nx).fill(0.3);
    sigma[0] = 0.9;
    const s = cutSigmaMap(sigma, [ny, nx], { x0: 0, y0: 0, nx: 4, ny: 4 }, 2);
    expect(s.data[0]).toBeCloseTo(Math.sqrt(0.81 + 3 * 0.09) / 4, 6);
    expect(s.data[1]).toBeCloseTo(binnedSigma(0.3, 2), 6);
    const mask = new Float32Array(ny * nx).fill(1);
    mask[1 * nx + 3] = 0;
    const m = cutMask(mask, [ny, nx], { x0: 0, y0: 0, nx: 4, ny: 4 }, 2);
    expect(Array.from(m.data)).toEqual([1, 0, 1, 1]);
    // k = 1: the mask's own pixels
    expect(Array.from(cutMask(mask, [ny, nx], { x0: 3, y0: 1, nx: 2, ny: 1 }).data)).toEqual([0, 1]);
  });

  it('the block-mean σ matches the spread of block means of simulated noise (Monte Carlo)', () => {
    // N draws of a 2×2 block with σ = (1, 2, 3, 4): the block mean's σ is √30/4 = 1.3693; the sample σ of N
    // draws has a relative standard error ≈ 1/√(2N) = 0.0035 for N = 40000: 5 of them is 1.8 %
    const sig = Float32Array.from([1, 2, 3, 4]);
    const predicted = cutSigmaMap(sig, [2, 2], { x0: 0, y0: 0, nx: 2, ny: 2 }, 2).data[0]!;
    let seed = 12345;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) + 0.5) / 2147483648;
    const gauss = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const N = 40000;
    let s2 = 0;
    for (let t = 0; t < N; t++) {
      const px = Float32Array.from(sig, (s) => s * gauss());
      const m = cutPixels(px, [2, 2], { x0: 0, y0: 0, nx: 2, ny: 2 }, 2).data[0]!;
      s2 += m * m;
    }
    expect(Math.abs(Math.sqrt(s2 / N) / predicted - 1)).toBeLessThan(5 / Math.sqrt(2 * N));
  });
});

describe('boxes', () => {
  it('clips to the image and refuses a box outside it, in the user\'s 1-based pixels', () => {
    expect(clipBox({ x0: -3, y0: 2, nx: 10, ny: 100 }, [20, 30])).toEqual({ x0: 0, y0: 2, nx: 7, ny: 18 });
    expect(() => clipBox({ x0: 40, y0: 0, nx: 5, ny: 5 }, [20, 30])).toThrow(/x 41…45, y 1…5 \(1-based\) lies outside the 30×20 image/);
    expect(() => clipBox({ x0: 0, y0: 0, nx: 0, ny: 5 }, [20, 30])).toThrow(CutoutInputError);
    expect(() => clipBox({ x0: 0.5, y0: 0, nx: 3, ny: 5 }, [20, 30])).toThrow(UserInputError);
  });

  it('a box around a centre; a box from two corners; binning needs a whole block', () => {
    expect(boxAround(10, 20, 5, 4)).toEqual({ x0: 8, y0: 19, nx: 5, ny: 4 });
    expect(boxFromCorners(12.4, 3.6, 2.2, 9)).toEqual({ x0: 2, y0: 4, nx: 11, ny: 6 });
    expect(() => cutPixels(new Float32Array(9), [3, 3], { x0: 0, y0: 0, nx: 3, ny: 3 }, 4)).toThrow(/no whole 4×4 block/);
    expect(() => cutPixels(new Float32Array(9), [3, 3], { x0: 0, y0: 0, nx: 3, ny: 3 }, 1.5)).toThrow(/whole number/);
  });

  it('suggests the binning that brings an image nearest a prior\'s size', () => {
    expect(suggestBin([251, 251], [64, 64])).toBe(4);
    expect(suggestBin([64, 64], [64, 64])).toBe(1);
    expect(suggestBin([1000, 600], [64, 64])).toBe(16);
    expect(suggestBin([40, 40], [64, 64])).toBe(1);
    expect(sizeRatio([251, 251], [64, 64])).toBeCloseTo(3.92, 2);
    expect(sizeRatio([32, 32], [64, 64])).toBe(2);
  });
});

describe('sky positions typed by the user', () => {
  it('reads decimal degrees and sexagesimal hours / degrees', () => {
    expect(parseAngle('84.685319', true)).toBe(84.685319);
    // 05:38:44.48 = (5 + 38/60 + 44.48/3600)·15
    expect(parseAngle('05:38:44.48', true)).toBeCloseTo(84.6853333333, 9);
    expect(parseAngle('5h38m44.48s', true)).toBeCloseTo(84.6853333333, 9);
    expect(parseAngle('-69:06:12.81', false)).toBeCloseTo(-69.1035583333, 9);
    expect(parseAngle('−69 06 12.81', false)).toBeCloseTo(-69.1035583333, 9);
    // the read-out's own format reads back
    expect(parseAngle(sexagesimal(-69.1035583333, false), false)).toBeCloseTo(-69.1035583333, 6);
    expect(Number.isNaN(parseAngle('05:61:00', true))).toBe(true);
    expect(Number.isNaN(parseAngle('north', false))).toBe(true);
  });
});

describe('a lens stage follows a cutout of its image grid', () => {
  // the lensed image of a source through the stage on the cutout equals the cutout of the lensed image through the
  // stage on the full grid, the source moved by the grid centre's shift (here whole source pixels, so exactly)
  const stage: LensStage = {
    type: 'lens',
    imageShape: [40, 40],
    imagePixelScale: 0.05,
    sourcePixelScale: 0.025,
    supersample: 2,
    lens: { model: 'SIE', thetaE: 0.6, q: 0.8, phi: 0.4, x0: 0.03, y0: -0.02 },
    shear: { gamma1: 0.02, gamma2: -0.01 },
  };
  const S = 32;
  const params = (s: LensStage) => ({ thetaE: s.lens.thetaE, q: s.lens.q!, phi: s.lens.phi!, x0: s.lens.x0!, y0: s.lens.y0!, gamma1: s.shear!.gamma1!, gamma2: s.shear!.gamma2! });
  const image = (s: LensStage, src: Float64Array) =>
    csrMultiply(lensMatrix(params(s), { sourceShape: [S, S], sourcePixelScale: s.sourcePixelScale, imageShape: s.imageShape, imagePixelScale: s.imagePixelScale, supersample: s.supersample! }), src);
  // a smooth source well inside its grid, and the same source on a grid shifted by (di, dj) source pixels
  const source = (di: number, dj: number) => {
    const out = new Float64Array(S * S);
    for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) out[i * S + j] = Math.exp(-(((i + di - 14) ** 2) / 18 + ((j + dj - 17) ** 2) / 10));
    return out;
  };
  it.each([
    // box, k; the grid centre moves by (1, −1) image pixels = (2, −2) source pixels
    [{ x0: 6, y0: 4, nx: 30, ny: 30 }, 1],
    // binned by 2: 15 × 15 pixels of 0.1″ from the 30 × 30 box, the same centre
    [{ x0: 6, y0: 4, nx: 30, ny: 30 }, 2],
  ])('box %o, binned by %i', (box, k) => {
    const c = cutLensStage(stage, box, k);
    expect(c.stage.imageShape).toEqual([30 / k, 30 / k]);
    expect(c.stage.imagePixelScale).toBeCloseTo(0.05 * k, 12);
    expect(c.stage.supersample).toBe(2 * k);
    expect(c.sourceShift[0]).toBeCloseTo(0.05, 12);
    expect(c.sourceShift[1]).toBeCloseTo(-0.05, 12);
    const full = image(stage, source(0, 0));
    const cut = cutPixels(full, [40, 40], box, k);
    const onCut = image(c.stage, source(-2, 2));
    let peak = 0;
    let worst = 0;
    for (let q = 0; q < onCut.length; q++) {
      peak = Math.max(peak, Math.abs(cut.data[q]));
      worst = Math.max(worst, Math.abs(cut.data[q] - onCut[q]));
    }
    expect(peak).toBeGreaterThan(0.3);
    // float32 cutout values, and the source's far tail (≈ 10⁻⁶ of its peak) that the shifted grid cuts off
    expect(worst / peak).toBeLessThan(1e-5);
    // the old stage, not moved, does not match (the test can fail)
    if (k === 1) {
      const stale = image({ ...stage, imageShape: [30, 30] }, source(0, 0));
      expect(Math.max(...stale.map((v, q) => Math.abs(v - cut.data[q])))).toBeGreaterThan(0.05 * peak);
    }
  });
});

describe("a model's additive image follows a cutout of the observation", () => {
  it('is cut and binned as the data are (y − b on the cutout is the cutout of y − b), and refused, naming the fix, off the grid', () => {
    const shape: [number, number] = [12, 10];
    const y = Float32Array.from({ length: 120 }, (_, i) => Math.sin(i) + 2);
    const b = Float32Array.from({ length: 120 }, (_, i) => 0.1 * ((i * 7) % 11));
    const box = { x0: 1, y0: 3, nx: 8, ny: 6 };
    for (const k of [1, 2]) {
      const cy = cutPixels(y, shape, box, k);
      const cb = cutAdditive(b, shape, shape, box, k, 'lens-light.fits');
      expect(cb.shape).toEqual(cy.shape);
      const diff = cutPixels(Float32Array.from(y, (v, i) => v - b[i]), shape, box, k);
      for (let i = 0; i < diff.data.length; i++) expect(cy.data[i] - cb.data[i]).toBeCloseTo(diff.data[i], 5);
    }
    expect(() => cutAdditive(new Float32Array(64), [8, 8], shape, box, 1, 'light.fits')).toThrow(CutoutInputError);
    expect(() => cutAdditive(new Float32Array(64), [8, 8], shape, box, 1, 'light.fits')).toThrow(/light\.fits \(8×8\) is not on the observation's 10×12 grid.*remove the additive image/);
    expect(() => cutAdditive(null, null, shape, box, 1, 'gone.fits')).toThrow(/gone\.fits \(no image of that size\)/);
  });
});
