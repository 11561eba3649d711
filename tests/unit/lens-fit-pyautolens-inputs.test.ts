/**
 * The lens fit's inputs as PyAutoLens's dataset folders hold them (docs/lensing.md, *`skyscore lens-fit`*,
 * *PyAutoLens-style inputs*): a mask whose 1 marks the pixels to leave out (Mask2D) read by the convention's rule,
 * and the rule's answers on the masks SkyScore's own convention gives; σ maps with PyAutoLens's 1e8 for pixels to
 * ignore, zeros and NaN; a σ map taken as complete (no Poisson term without an exposure time); an 11×11 PSF,
 * unnormalised or of an even side; float64 images without any header keywords, read by the app's job as by the
 * command line.
 */
import { describe, expect, it } from 'vitest';
import { detectExcludeMask, flaggedSigma, EXCLUDE_MASK_MIN_RADIUS, FLAGGED_SIGMA_FACTOR } from '../../src-shared/lensing/inputs.js';
import { lensFitMask, lensFitPsf, lensFitPsfShapeWarning } from '../../src-main/reconstruct/lens-fit-run.js';
import { lensFitSigma, prepareLensFit, type LensFitRequest } from '../../src-main/lens-fit/inputs.js';
import { validateRequest, type LensFitParams } from '../../src-shared/protocol/index.js';
import { FitsHeader, writeFits } from '../../src-shared/fits/index.js';
import type { ImageFile } from '../../src-main/forward-model-files.js';

const N = 151;
const SCALE = 0.05;
const c = (N - 1) / 2;

/** A 0/1 image from a function of (x, y) in arcsec from the centre (n pixels a side). */
function maskOf(f: (x: number, y: number) => boolean, n = N, scale = SCALE): Float64Array {
  const m = new Float64Array(n * n);
  const cc = (n - 1) / 2;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = f((j - cc) * scale, (i - cc) * scale) ? 1 : 0;
  return m;
}
const r = (x: number, y: number) => Math.hypot(x, y);

describe("a mask's convention (detectExcludeMask, lensFitMask)", () => {
  // PyAutoLens: 1 = masked (left out)
  const palCircular = maskOf((x, y) => r(x, y) > 3);
  const palAnnular = maskOf((x, y) => r(x, y) > 3 || r(x, y) < 0.6);
  // SkyScore: 1 = fitted
  const companion = maskOf((x, y) => r(x - 2.2, y + 1.5) > 0.5);
  const core = maskOf((x, y) => r(x, y) > 0.4);
  const annulus = maskOf((x, y) => r(x, y) >= 0.5 && r(x, y) <= 2.5);
  const disc = maskOf((x, y) => r(x, y) <= 3);
  const ones = new Float64Array(N * N).fill(1);

  it("reads PyAutoLens's circular and annular masks as 1 = left out", () => {
    const a = detectExcludeMask(palCircular, [N, N], SCALE);
    expect(a.exclude).toBe(true);
    expect(a.radius!).toBeCloseTo(3, 1);
    const b = detectExcludeMask(palAnnular, [N, N], SCALE);
    expect(b.exclude).toBe(true);
    // the annulus's 0-pixels: √(3² − 0.6²) = 2.94″
    expect(b.radius!).toBeCloseTo(Math.sqrt(9 - 0.36), 1);
  });

  it("reads SkyScore's masks (a companion, the deflector's core, an annulus, a disc, all ones) as 1 = fitted", () => {
    const comp = detectExcludeMask(companion, [N, N], SCALE);
    expect(comp.exclude).toBe(false);
    // the centre is fitted, connected to the border through 1s: no hole around it
    expect(comp.radius).toBeNull();
    const k = detectExcludeMask(core, [N, N], SCALE);
    expect(k.exclude).toBe(false);
    expect(k.radius!).toBeCloseTo(0.4, 1);
    expect(k.radius!).toBeLessThan(EXCLUDE_MASK_MIN_RADIUS);
    for (const m of [annulus, disc]) expect(detectExcludeMask(m, [N, N], SCALE)).toMatchObject({ exclude: false, radius: null, reason: 'a border pixel is 0' });
    expect(detectExcludeMask(ones, [N, N], SCALE).exclude).toBe(false);
  });

  it('the threshold: a hole around the centre of 1″ equivalent radius is read as the fitted region, 0.9″ not; a core hole and a companion together stay 1 = fitted', () => {
    expect(detectExcludeMask(maskOf((x, y) => r(x, y) > 1.02), [N, N], SCALE).exclude).toBe(true);
    expect(detectExcludeMask(maskOf((x, y) => r(x, y) > 0.9), [N, N], SCALE).exclude).toBe(false);
    const both = maskOf((x, y) => r(x, y) > 0.45 && r(x - 2.2, y + 1.5) > 0.8);
    expect(detectExcludeMask(both, [N, N], SCALE).exclude).toBe(false);
    // the same hole at a finer pixel scale is the same size in arcsec: the rule is in arcsec
    expect(detectExcludeMask(maskOf((x, y) => r(x, y) > 1.5, 301, 0.025), [301, 301], 0.025).exclude).toBe(true);
    expect(detectExcludeMask(maskOf((x, y) => r(x, y) > 0.5, 301, 0.025), [301, 301], 0.025).exclude).toBe(false);
  });

  it('an even-sided image: the centre is the middle 2 × 2 pixels', () => {
    const n = 150;
    expect(detectExcludeMask(maskOf((x, y) => r(x, y) > 3, n), [n, n], SCALE).exclude).toBe(true);
    expect(detectExcludeMask(maskOf((x, y) => r(x, y) > 0.3, n), [n, n], SCALE).exclude).toBe(false);
  });

  it('lensFitMask: auto inverts a PyAutoLens mask with a note naming the override; fit and exclude read as told', () => {
    const shape: [number, number] = [N, N];
    const img = { data: palCircular, shape };
    const auto = lensFitMask(img, shape, 'mask.fits', 'auto', SCALE);
    expect(auto.convention).toBe('exclude');
    expect(auto.note).toMatch(/mask\.fits read as 1 = left out, 0 = fitted, PyAutoLens's convention: .*3\.00″.*--mask-convention fit reads 1 as fitted/);
    // the fitted pixels: those within 3″ of the centre
    let fitted = 0;
    auto.mask.forEach((v, k) => {
      expect(v).toBe(1 - palCircular[k]);
      fitted += v;
    });
    expect(fitted).toBeGreaterThan(11000);
    expect(auto.mask[c * N + c]).toBe(1);
    expect(auto.mask[0]).toBe(0);
    const fit = lensFitMask(img, shape, 'mask.fits', 'fit', SCALE);
    expect(fit.convention).toBe('fit');
    expect(fit.note).toBeNull();
    expect(Array.from(fit.mask)).toEqual(Array.from(palCircular));
    const ex = lensFitMask({ data: core, shape }, shape, 'core.fits', 'exclude', SCALE);
    expect(ex.convention).toBe('exclude');
    expect(ex.mask[c * N + c]).toBe(1);
    expect(ex.note).toMatch(/--mask-convention exclude/);
    // a core hole read as fitted, said so where it could be a small PyAutoLens mask
    const k = lensFitMask({ data: core, shape }, shape, 'core.fits', 'auto', SCALE);
    expect(k.convention).toBe('fit');
    expect(k.note).toMatch(/read as 1 = fitted.*--mask-convention exclude reads 1 as left out/);
    expect(lensFitMask({ data: companion, shape }, shape, 'c.fits', 'auto', SCALE).note).toBeNull();
    // values other than 0 and 1 are refused in any convention
    expect(() => lensFitMask({ data: Float64Array.from(palCircular, (v) => v * 2), shape }, shape, 'm.fits', 'auto', SCALE)).toThrow(/0 or 1/);
  });
});

describe('σ maps as PyAutoLens writes them (flaggedSigma, lensFitSigma)', () => {
  it("leaves out σ 1e8, 0, negative, NaN and infinite; keeps a bright core's σ of 100 × the sky's", () => {
    const s = new Float64Array(1000).fill(0.014);
    s[10] = 1e8;
    s[11] = 1e8;
    s[20] = 0;
    s[21] = -1;
    s[30] = NaN;
    s[31] = Infinity;
    s[40] = 1.4; // a deflector's core with its Poisson term: 100 × the sky
    const f = flaggedSigma(s, 'noise_map.fits');
    expect([f.huge, f.nonPositive, f.nonFinite]).toEqual([2, 2, 2]);
    expect(f.limit).toBeCloseTo(FLAGGED_SIGMA_FACTOR * 0.014, 10);
    for (const k of [10, 11, 20, 21, 30, 31]) expect(f.sigma[k]).toBeNaN();
    expect(f.sigma[40]).toBe(1.4);
    expect(f.sigma[0]).toBe(0.014);
    expect(f.note).toMatch(/noise_map\.fits: 6 pixels left out of the fit: 2 with σ above 1e\+4 × the median σ 0\.01400.*2 with σ 0 or negative.*2 with σ NaN or infinite/);
    expect(flaggedSigma(new Float64Array(10).fill(0.1), 'x').note).toBeNull();
  });

  it('lensFitSigma: the flagged pixels NaN in σ with a note; a σ map taken as complete: no Poisson term without an exposure time, even in e⁻/s', () => {
    const n = 40;
    const data = new Float64Array(n * n).fill(0.01);
    for (let k = 0; k < n * n; k++) data[k] += 5 * Math.exp(-((Math.floor(k / n) - 20) ** 2 + ((k % n) - 20) ** 2) / 20);
    const sigmaMap = new Float64Array(n * n).fill(0.02);
    sigmaMap[5] = 1e8;
    sigmaMap[6] = 0;
    const h = new FitsHeader();
    h.set('BUNIT', 'ELECTRONS/S');
    const obs: ImageFile = { data, shape: [n, n], fitsShape: [n, n], header: h, bitpix: -64 };
    const ns = lensFitSigma(obs, null, { kind: 'sigma', values: sigmaMap, arg: 'noise_map.fits' }, { weightType: 'ivm', poisson: 'auto' }, null, SCALE);
    expect(ns.sigma[5]).toBeNaN();
    expect(ns.sigma[6]).toBeNaN();
    expect(ns.excluded).toBe(2);
    expect(ns.flaggedNotes).toHaveLength(1);
    expect(ns.skyNotes).toContain(ns.flaggedNotes[0]);
    // σ elsewhere exactly as given: the bright centre's too
    expect(ns.sigma[20 * n + 20]).toBe(0.02);
    expect(ns.poisson).toBe(false);
    expect(String(ns.json.poisson)).toMatch(/taken as complete/);
    // with an exposure time the term is added where asked
    const withT = lensFitSigma(obs, null, { kind: 'sigma', values: sigmaMap, arg: 'noise_map.fits' }, { weightType: 'ivm', poisson: 'auto', exposureTime: 2000 }, null, SCALE);
    expect(withT.poisson).toBe(true);
    expect(withT.sigma[20 * n + 20]).toBeGreaterThan(0.02);
    expect(() => lensFitSigma(obs, null, { kind: 'sigma', values: new Float64Array(n * n).map((_, k) => (k % 2 ? NaN : 0)), arg: 'bad.fits' }, { weightType: 'ivm', poisson: 'auto' }, null, SCALE)).toThrow(/no pixel has a usable σ/);
  });
});

describe("PyAutoLens's PSFs", () => {
  /** An 11×11 Gaussian-like PSF of peak 1 (not normalised), FWHM ≈ 2 px. */
  const psf11 = Float64Array.from({ length: 121 }, (_, k) => Math.exp(-(((Math.floor(k / 11) - 5) ** 2 + ((k % 11) - 5) ** 2) / (2 * 0.85 ** 2))));

  it('an 11×11 PSF under the 21 crop is kept whole, renormalised to unit sum, centred on its middle', () => {
    const k = lensFitPsf({ data: psf11, shape: [11, 11] }, 21, [N, N], 'psf.fits');
    expect(k.shape).toEqual([11, 11]);
    expect(k.center).toEqual([5, 5]);
    expect(k.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const sum = psf11.reduce((a, b) => a + b, 0);
    expect(k.data[60]).toBeCloseTo(1 / sum, 12);
    expect(lensFitPsfShapeWarning([11, 11], 'psf.fits')).toBeNull();
  });

  it('an even-sided PSF is read with its centre after the middle, and warned about', () => {
    const psf10 = Float64Array.from({ length: 100 }, (_, k) => Math.exp(-(((Math.floor(k / 10) - 4.5) ** 2 + ((k % 10) - 4.5) ** 2) / 2)));
    const k = lensFitPsf({ data: psf10, shape: [10, 10] }, 21, [N, N], 'psf10.fits');
    expect(k.shape).toEqual([10, 10]);
    expect(k.center).toEqual([5, 5]);
    expect(lensFitPsfShapeWarning([10, 10], 'psf10.fits')).toMatch(/10×10 pixels.*even along x and y.*half a pixel/);
    expect(lensFitPsfShapeWarning([11, 10], 'p.fits')).toMatch(/even along x[^ ]/);
  });
});

describe("the app's job on a PyAutoLens folder (prepareLensFit)", () => {
  /** float64 images with no header keywords beyond the structural ones, as PyAutoLens writes them. */
  const bare = (data: Float64Array, n: number) => writeFits([{ data, shape: [n, n], header: new FitsHeader(), bitpix: -64 }]);
  const n = 101;
  const data = new Float64Array(n * n).map((_, k) => 0.02 * Math.sin(k) + Math.exp(-(((Math.floor(k / n) - 50) ** 2 + ((k % n) - 50) ** 2) / 200)));
  const noise = new Float64Array(n * n).fill(0.02);
  noise[10 * n + 50] = 1e8;
  const mask = maskOf((x, y) => r(x, y) > 2, n);
  const psf = Float64Array.from({ length: 121 }, (_, k) => Math.exp(-(((Math.floor(k / 11) - 5) ** 2 + ((k % 11) - 5) ** 2) / 1.4)));

  function request(convention?: 'auto' | 'fit' | 'exclude'): LensFitRequest {
    const obs = { name: 'data.fits', bytes: bare(data, n), hdu: 0, plane: 0 };
    const params = {
      obs,
      files: [
        { name: 'noise_map.fits', bytes: bare(noise, n) },
        { name: 'psf.fits', bytes: bare(psf, 11) },
        { name: 'mask.fits', bytes: bare(mask, n) },
      ],
      noise: { kind: 'map', file: 'noise_map.fits', hdu: 0 },
      psf: { kind: 'fits', file: 'psf.fits', hdu: 0, size: 21 },
      pixelScale: 0.05,
      mask: { kind: 'file', file: 'mask.fits', hdu: 0, ...(convention && { convention }) },
      settings: { sourceSize: 32, sourceScale: null, fitSourceSize: 16, starts: 1, light: 'auto', supersample: 2, regularisation: 'gradient', errors: false },
    };
    const req = validateRequest({ id: 1, method: 'job.lensFit', params });
    return { ...(req.params as LensFitParams), obs };
  }

  it('detects the mask, leaves out the σ of 1e8, notes both; the command line it reports reads the same', () => {
    const p = prepareLensFit(request());
    const m = p.inputs.mask!;
    expect(m.kind).toBe('mask');
    const fitted = (m as { mask: Uint8Array }).mask;
    expect(fitted[50 * n + 50]).toBe(1);
    expect(fitted[0]).toBe(0);
    expect(p.inputs.maskConvention).toEqual({ given: 'auto', read: 'exclude' });
    expect(p.notes.some((t) => /mask\.fits read as 1 = left out/.test(t))).toBe(true);
    expect(p.notes.some((t) => /noise_map\.fits: 1 pixel left out/.test(t))).toBe(true);
    expect(p.inputs.notes).toHaveLength(2);
    expect(p.inputs.sigma[10 * n + 50]).toBeNaN();
    expect(p.inputs.psf.shape).toEqual([11, 11]);
    expect(p.command).toMatch(/--mask mask\.fits --/);
    expect(p.command).not.toMatch(/--mask-convention/);
  });

  it("the request's convention 'fit' reads 1 as fitted, and the command line names it", () => {
    const p = prepareLensFit(request('fit'));
    const fitted = (p.inputs.mask as { mask: Uint8Array }).mask;
    expect(fitted[50 * n + 50]).toBe(0);
    expect(fitted[0]).toBe(1);
    expect(p.inputs.maskConvention).toEqual({ given: 'fit', read: 'fit' });
    expect(p.command).toMatch(/--mask mask\.fits --mask-convention fit/);
  });

  it('the protocol refuses an unknown convention', () => {
    const obs = { name: 'data.fits', bytes: bare(data, n), hdu: 0, plane: 0 };
    const r0 = request();
    expect(() => validateRequest({ id: 1, method: 'job.lensFit', params: { ...r0, obs, mask: { kind: 'file', file: 'mask.fits', hdu: 0, convention: 'pyautolens' } } })).toThrow();
  });
});
