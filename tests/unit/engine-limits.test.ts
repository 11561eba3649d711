/**
 * The engine's size limits (src-shared/protocol/limits.ts) are checked before any work starts: the probe's
 * requests — a 1000 px PSF on 1024×1024, a 16384×16384 unknown, a uv stage with a vanishing step, a lens
 * supersampled to billions of rays, thousands of samples — are refused at once with an input error that names
 * the limit.
 */
import { describe, expect, it } from 'vitest';
import { validateRequestModel, overlaysRequest, decodeObs } from '../../src-main/engine/forward-model-requests.js';
import { RequestLimitError, checkSamples, checkTrainingBatch, psfSetupOperations } from '../../src-main/engine/limits.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { UserInputError } from '../../src-shared/errors.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { methodParams } from '../../src-shared/protocol/index.js';

// "at once": the refusal costs this process under 500 ms of CPU time (the work refused would cost seconds to
// hours); CPU time, not wall-clock time, so that other jobs on a busy machine do not count
const refused = async (work: () => Promise<unknown>, re: RegExp) => {
  const c0 = process.cpuUsage();
  const e = await Promise.resolve().then(work).then(
    () => null,
    (x: Error) => x,
  );
  expect(e).toBeInstanceOf(RequestLimitError);
  expect(e).toBeInstanceOf(UserInputError);
  expect(e!.message).toMatch(re);
  expect(e!.message).toMatch(/this engine's limit of .* \(docs\/serve\.md; the command line has none\)/);
  const c = process.cpuUsage(c0);
  expect((c.user + c.system) / 1000).toBeLessThan(500);
};

const lens = (imageShape: [number, number], supersample: number) => ({
  type: 'lens',
  imageShape,
  imagePixelScale: 0.05,
  sourcePixelScale: 0.05,
  supersample,
  lens: { model: 'SIS', thetaE: 1 },
});

describe('request limits, checked before the work', () => {
  it("refuses the probe's models at once", async () => {
    await refused(() => validateRequestModel({ model: { shape: [1024, 1024], operators: [{ type: 'psf', fwhmPx: 1000 }] }, files: [] }), /operators\[0\] \(psf\): a 3399×3399 PSF on a 1024×1024 image takes about 1\.2e\+10 operations/);
    await refused(() => validateRequestModel({ model: { shape: [16384, 16384], operators: [{ type: 'psf', fwhmPx: 1000 }] }, files: [] }), /the unknown is 16384×16384/);
    await refused(() => validateRequestModel({ model: { shape: [4096, 4096], operators: [] }, files: [] }), /4096×4096 = 16777216 pixels/);
    await refused(() => validateRequestModel({ model: { shape: [64, 64], operators: [lens([4096, 4000], 1)] }, files: [] }), /its output is 4096×4000/);
    await refused(() => validateRequestModel({ model: { shape: [64, 64], operators: [lens([1024, 1024], 16)] }, files: [] }), /268435456 rays/);
    const uv = { type: 'uv-sampling', array: 'vla.txt', declinationDeg: 30, hourAngleH: [-12, 12], stepMin: 1e-9, wavelengthM: 0.2, pixelScaleArcsec: 1 };
    await refused(() => validateRequestModel({ model: { shape: [64, 64], operators: [uv] }, files: [{ name: 'vla.txt', bytes: new TextEncoder().encode('a 0 0 0\nb 1 0 0\n') }] }), /hour angles \(hourAngleH \/ stepMin\)/);
    await refused(() => overlaysRequest({ model: { shape: [1024, 1024], operators: [{ type: 'psf', fwhmPx: 1000 }] }, files: [], operator: 0 }), /PSF/);
  });

  it('refuses a PSF image too large for the image it blurs once it is read', async () => {
    const k = 1801;
    const psf = writeFits([{ data: new Float32Array(k * k).fill(1), shape: [k, k] }]);
    await refused(() => validateRequestModel({ model: { shape: [1024, 1024], operators: [{ type: 'psf', fits: 'psf.fits' }] }, files: [{ name: 'psf.fits', bytes: psf }] }), /a 1801×1801 PSF on a 1024×1024 image/);
  });

  it('refuses an observation over the limit before decoding its pixels', async () => {
    // a header that declares 5000 × 10 pixels of 8 bits (data present)
    const big = writeFits([{ data: new Uint8Array(5000 * 10), shape: [5000, 10] }]);
    await refused(() => Promise.resolve().then(() => decodeObs({ name: 'wide.fits', bytes: big, hdu: 0, plane: 0 })), /wide\.fits: the image is 10×5000/);
  });

  it('refuses too many samples and too large a training batch', () => {
    expect(() => checkSamples(1024, [512, 512])).toThrow(RequestLimitError);
    expect(() => checkSamples(1024, [512, 512])).toThrow(/1024 samples of 512×512 are 268435456 values/);
    expect(() => checkSamples(16, [64, 64])).not.toThrow();
    expect(() => checkTrainingBatch(1024, 1024)).toThrow(/a batch of 1024 images of 1024×1024/);
    expect(() => checkTrainingBatch(32, 64)).not.toThrow();
  });

  it('the protocol refuses sides over the limit', () => {
    expect(() => methodParams['model.preview']({ model: {}, files: [], x: new Float32Array(1), shape: [LIMITS.imageSide + 1, 1] }, 'p')).toThrow(/≤ 4096/);
  });

  it('estimates a PSF set-up from its kernel cropped to the image', () => {
    expect(psfSetupOperations([9, 9], [64, 64])).toBeLessThan(1e6);
    expect(psfSetupOperations([4001, 4001], [64, 64])).toBe(psfSetupOperations([127, 127], [64, 64]));
  });
});
