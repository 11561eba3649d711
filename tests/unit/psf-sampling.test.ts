/**
 * A PSF file's stated pixel scale (psf-sampling.ts) in each keyword PSF files use, and the warning where it differs
 * from the pixel scale of the grid the PSF is applied on: the shared data's IRAC PRF (SECPIX 0.305″) on the IRAC
 * image's 1.22″ pixels warns, the TinyTim PSF (PIXSCALE 0.0495″) on 0.05″ pixels does not.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { FitsHeader, readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { forwardModelPsfWarnings, imagePixelScale, psfPixelScale, psfSamplingWarning, PSF_SAMPLING_TOLERANCE } from '../../src-shared/operators/psf-sampling.js';
import { prepareForwardModel } from '../../src-shared/operators/forward-model.js';
import { validateForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { memoryLoader } from '../../src-main/engine/forward-model-requests.js';
import { FORWARD_MODEL_EXAMPLE } from '../helpers/forward-model-example.js';
import { dataPath } from '../helpers/data.js';

const header = (cards: Array<[string, string | number]>): FitsHeader => {
  const h = new FitsHeader();
  for (const [k, v] of cards) h.set(k, v);
  return h;
};
const tan = (extra: Array<[string, string | number]>) => header([['CTYPE1', 'RA---TAN'], ['CTYPE2', 'DEC--TAN'], ['CRPIX1', 10], ['CRPIX2', 10], ['CRVAL1', 150], ['CRVAL2', 2], ...extra]);

describe('psfPixelScale: the scale a PSF file states', () => {
  it('reads each keyword PSF files use, in arcsec per pixel, and says which', () => {
    expect(psfPixelScale(header([['PIXSCALE', 0.0495]]))).toEqual({ scale: 0.0495, source: 'PIXSCALE = 0.0495' });
    expect(psfPixelScale(header([['SECPIX', 0.30525]]))).toEqual({ scale: 0.30525, source: 'SECPIX = 0.30525' });
    expect(psfPixelScale(header([['PIXELSCL', 0.0155]]))).toEqual({ scale: 0.0155, source: 'PIXELSCL = 0.0155' });
    expect(psfPixelScale(header([['PIXSCAL1', 0.04]]))).toEqual({ scale: 0.04, source: 'PIXSCAL1 = 0.04' });
    const pair = psfPixelScale(header([['PIXSCAL1', 0.04], ['PIXSCAL2', 0.09]]))!;
    expect(pair.scale).toBeCloseTo(0.06, 12);
    expect(pair.source).toBe('PIXSCAL1, PIXSCAL2 = 0.04, 0.09');
    // Spitzer's signed per-axis scales
    expect(psfPixelScale(header([['PXSCAL1', -1.2233], ['PXSCAL2', 1.2233]]))!.scale).toBeCloseTo(1.2233, 12);
  });

  it('falls back on a celestial WCS (CD, or CDELT in its CUNIT), and gives null where nothing states a scale', () => {
    const cd = psfPixelScale(tan([['CD1_1', -2.5e-5], ['CD1_2', 0], ['CD2_1', 0], ['CD2_2', 2.5e-5]]))!;
    expect(cd.scale).toBeCloseTo(0.09, 12);
    expect(cd.source).toBe('its WCS: the CD matrix');
    const arcsec = psfPixelScale(tan([['CDELT1', -0.03], ['CDELT2', 0.03], ['CUNIT1', 'arcsec'], ['CUNIT2', 'arcsec']]))!;
    expect(arcsec.scale).toBeCloseTo(0.03, 12);
    expect(psfPixelScale(new FitsHeader())).toBeNull();
    // a keyword wins over the WCS (the PSF's own sampling); zero, non-numbers and absurd values are not a scale
    expect(psfPixelScale(tan([['CDELT1', -1e-4], ['CDELT2', 1e-4], ['SECPIX', 0.3]]))!.source).toBe('SECPIX = 0.3');
    expect(psfPixelScale(header([['PIXSCALE', 0]]))).toBeNull();
    expect(psfPixelScale(header([['PIXSCALE', 'n/a']]))).toBeNull();
    expect(psfPixelScale(header([['PIXSCALE', 1e6]]))).toBeNull();
    // pixels that are not square, or an unreadable WCS: no one scale (and no error)
    expect(imagePixelScale(tan([['CDELT1', -1e-4], ['CDELT2', 3e-4]]))).toBeNull();
    expect(imagePixelScale(tan([['CDELT1', -1e-4], ['CDELT2', 1e-4], ['CUNIT1', 'm']]))).toBeNull();
  });

  it('reads the shared data: the IRAC ch1 PRF (SECPIX), the TinyTim PSF (PIXSCALE), the IRAC image (CD with SIP)', () => {
    const hdr = (...p: string[]) => readFitsImage(new Uint8Array(readFileSync(dataPath(...p)))).header;
    expect(psfPixelScale(hdr('psf', 'spitzer_irac_ch1_flight_psf.fits'))).toEqual({ scale: 0.30525, source: 'SECPIX = 0.30525' });
    expect(psfPixelScale(hdr('psf', 'lenstronomy_tinytim_psf_example.fits'))).toEqual({ scale: 0.0495, source: 'PIXSCALE = 0.0495' });
    // the image's own PXSCAL1/2 (−1.22334, 1.22328) and its CD matrix agree; an observation's scale is its WCS's
    const irac = imagePixelScale(hdr('fits', 'galsim_sipsample_spitzer_irac.fits'))!;
    expect(irac.scale).toBeCloseTo(1.2233, 3);
    expect(irac.source).toBe('its WCS: the CD matrix');
  });
});

describe('psfSamplingWarning', () => {
  const irac = { scale: 1.22331, source: 'its WCS: the CD matrix', name: 'galsim_sipsample_spitzer_irac.fits' };
  it('warns for the IRAC PRF on IRAC pixels (4× finer), naming both scales, their sources and what to do', () => {
    const w = psfSamplingWarning({ scale: 0.30525, source: 'SECPIX = 0.30525', name: 'spitzer_irac_ch1_flight_psf.fits' }, irac)!;
    expect(w).toBe(
      "the PSF spitzer_irac_ch1_flight_psf.fits is sampled at 0.30525″ per pixel (SECPIX = 0.30525) but galsim_sipsample_spitzer_irac.fits has 1.22331″ pixels (its WCS: the CD matrix): " +
        "the PSF is 4.01× finer than the image, so the model applies a PSF narrower than the instrument's; resample the PSF to the image's pixels (1.22331″) before use",
    );
    const coarse = psfSamplingWarning({ scale: 0.1, source: 'PIXSCALE = 0.1', name: 'p.fits' }, { scale: 0.05, source: '--pixel-scale', name: 'obs.fits' })!;
    expect(coarse).toMatch(/2× coarser than the image, so the model applies a PSF wider than the instrument's/);
  });

  it(`is quiet within ${PSF_SAMPLING_TOLERANCE * 100} % (TinyTim's 0.0495″ on 0.05″ pixels) and warns beyond`, () => {
    const grid = { scale: 0.05, source: 'its WCS: the CD matrix', name: 'hst.fits' };
    expect(psfSamplingWarning({ scale: 0.0495, source: 'PIXSCALE = 0.0495', name: 'tt.fits' }, grid)).toBeNull();
    expect(psfSamplingWarning({ scale: 0.05 * 1.049, source: 'x', name: 'p' }, grid)).toBeNull();
    expect(psfSamplingWarning({ scale: 0.05 / 1.049, source: 'x', name: 'p' }, grid)).toBeNull();
    expect(psfSamplingWarning({ scale: 0.05 * 1.06, source: 'x', name: 'p' }, grid)).not.toBeNull();
    expect(psfSamplingWarning({ scale: 0.05 * 0.94, source: 'x', name: 'p' }, grid)).not.toBeNull();
  });
});

describe('forwardModelPsfWarnings: the PSF stage against its grid', () => {
  const psfFile = (cards: Array<[string, string | number]>) => {
    const data = new Float32Array(9 * 9);
    data[40] = 1;
    data[39] = data[41] = 0.3;
    return { name: 'psf.fits', bytes: writeFits([{ data, shape: [9, 9], header: header(cards) }]) };
  };
  const obsHeader = tan([['CDELT1', -1e-4], ['CDELT2', 1e-4]]); // 0.36″
  const psfModel = validateForwardModel({ shape: [32, 32], operators: [{ type: 'psf', fits: 'psf.fits' }, { type: 'mask', fits: 'mask.fits' }] });
  const mask = { name: 'mask.fits', bytes: writeFits([{ data: new Float32Array(32 * 32).fill(1), shape: [32, 32] }]) };

  it("compares the app's and the command line's loaded PSF header with the observation's WCS (psf → mask)", async () => {
    const fine = await prepareForwardModel(psfModel, memoryLoader([psfFile([['SECPIX', 0.09]]), mask]));
    const w = forwardModelPsfWarnings(fine, { header: obsHeader, name: 'y.fits' });
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^operators\[0\] \(psf\): the PSF psf\.fits is sampled at 0\.09″ per pixel \(SECPIX = 0\.09\) but y\.fits has 0\.36″ pixels \(its WCS: CDELTi\): the PSF is 4× finer/);
    const near = await prepareForwardModel(psfModel, memoryLoader([psfFile([['PIXSCALE', 0.355]]), mask]));
    expect(forwardModelPsfWarnings(near, { header: obsHeader, name: 'y.fits' })).toEqual([]);
    // no scale on either side: nothing to compare
    expect(forwardModelPsfWarnings(fine, { header: new FitsHeader(), name: 'y.fits' })).toEqual([]);
    const silent = await prepareForwardModel(psfModel, memoryLoader([psfFile([]), mask]));
    expect(forwardModelPsfWarnings(silent, { header: obsHeader, name: 'y.fits' })).toEqual([]);
  });

  it("after a lens stage the PSF's grid is the lens's image plane (imagePixelScale), not the observation's WCS", async () => {
    const spec = validateForwardModel({ ...FORWARD_MODEL_EXAMPLE, operators: [FORWARD_MODEL_EXAMPLE.operators[0], { type: 'psf', fits: 'psf.fits' }] });
    const at = async (scale: number) => prepareForwardModel(spec, memoryLoader([psfFile([['PIXSCALE', scale]])]));
    expect(forwardModelPsfWarnings(await at(0.0495), { header: obsHeader, name: 'y.fits' })).toEqual([]);
    const w = forwardModelPsfWarnings(await at(0.025), { header: new FitsHeader(), name: 'y.fits' });
    expect(w).toEqual([expect.stringMatching(/^operators\[1\] \(psf\): the PSF psf\.fits is sampled at 0\.025″ .* but the lens's image plane has 0\.05″ pixels \(operators\[0\] imagePixelScale\): the PSF is 2× finer/)]);
  });
});
