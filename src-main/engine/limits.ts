/**
 * The engine's size limits (src-shared/protocol/limits.ts), checked on a request before any work starts: the
 * grids of a forward model, what its stages cost to set up, the samples a run keeps, a training batch. A request
 * over a limit is the request's input error, naming the limit and what to change.
 */
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { UserInputError } from '../../src-shared/errors.js';
import { isFitsPsf, lensSupersample, stageShapes, type ForwardModelSpec, type Shape2 } from '../../src-shared/operators/forward-model-spec.js';
import { gaussianPsfSize, fourierPadSize } from '../../src-shared/operators/psf.js';
import { hourAngleCount } from '../../src-shared/operators/uv.js';
import type { PreparedForwardModel } from '../../src-shared/operators/forward-model.js';
import type { ReadOptions } from '../../src-shared/fits/reader.js';

/** A request over one of the engine's limits (docs/serve.md). */
export class RequestLimitError extends UserInputError {
  override name = 'RequestLimitError';
}

/** "over this engine's limit of L (…)" */
const over = (limit: number | string) => `over this engine's limit of ${limit} (docs/serve.md; the command line has none)`;

/** How the engine reads a FITS file a client sent: decompressed size and decoded pixels bounded before the work. */
export const CLIENT_FITS: Readonly<Pick<ReadOptions, 'maxBytes' | 'maxPixels' | 'maxDecodePixels'>> = {
  maxBytes: LIMITS.fitsBytes,
  maxPixels: LIMITS.fitsDecodePixels,
  maxDecodePixels: LIMITS.fitsDecodePixels,
};

/** Either side at most LIMITS.imageSide and at most LIMITS.imagePixels pixels. */
export function checkGrid(shape: readonly number[], what: string): void {
  const [ny, nx] = shape as [number, number];
  if (ny > LIMITS.imageSide || nx > LIMITS.imageSide) throw new RequestLimitError(`${what} is ${ny}×${nx}: a side of more than ${LIMITS.imageSide} pixels is ${over(`${LIMITS.imageSide} a side`)}`);
  if (ny * nx > LIMITS.imagePixels) throw new RequestLimitError(`${what} is ${ny}×${nx} = ${ny * nx} pixels, ${over(`${LIMITS.imagePixels} pixels`)}`);
}

/**
 * Arithmetic to set up a PSF stage: its transfer function on the padded grid and the circulant Gram on the
 * image (two direct 2-D DFTs of the kernel, psf.ts kernelRfft2: ≈ K_y·K_x·(P_x/2+1) + K_y·P_y·(P_x/2+1) each),
 * for a kernel cropped to what can reach the image.
 */
export function psfSetupOperations(kernel: Shape2, image: Shape2): number {
  const ky = Math.min(kernel[0], 2 * image[0] - 1);
  const kx = Math.min(kernel[1], 2 * image[1] - 1);
  const py = fourierPadSize(image[0], ky, Math.floor(ky / 2));
  const px = fourierPadSize(image[1], kx, Math.floor(kx / 2));
  const dft = (qy: number, qx: number) => ky * kx * (Math.floor(qx / 2) + 1) + ky * qy * (Math.floor(qx / 2) + 1);
  return dft(py, px) + dft(image[0], image[1]);
}

function checkPsf(kernel: Shape2, image: Shape2, stage: string): void {
  const ops = psfSetupOperations(kernel, image);
  if (ops > LIMITS.psfSetupOperations) {
    throw new RequestLimitError(
      `${stage}: a ${kernel[0]}×${kernel[1]} PSF on a ${image[0]}×${image[1]} image takes about ${ops.toExponential(1)} operations to set up, ` +
        `${over(LIMITS.psfSetupOperations.toExponential(0))}: use a narrower PSF or a smaller image`,
    );
  }
}

/** The grids and stages of a forward model (a valid spec), before its files are read. */
export function checkForwardModelSpec(spec: ForwardModelSpec, source = 'model'): void {
  checkGrid(spec.shape, `${source}: the unknown`);
  const shapes = stageShapes(spec);
  spec.operators.forEach((s, i) => {
    const stage = `${source}: operators[${i}] (${s.type})`;
    const { inShape, outShape } = shapes[i]!;
    checkGrid(outShape, `${stage}: its output`);
    if (s.type === 'lens') {
      const rays = outShape[0] * outShape[1] * lensSupersample(s) ** 2;
      if (rays > LIMITS.lensRays) throw new RequestLimitError(`${stage}: ${rays} rays (image pixels × supersample²), ${over(LIMITS.lensRays)}: lower supersample or the image size`);
    } else if (s.type === 'uv-sampling') {
      const n = hourAngleCount(s);
      if (n > LIMITS.uvHourAngles) throw new RequestLimitError(`${stage}: ${n} hour angles (hourAngleH / stepMin), ${over(LIMITS.uvHourAngles)}: increase stepMin`);
    } else if (s.type === 'psf' && !isFitsPsf(s)) {
      checkPsf(gaussianPsfSize(s.fwhmPx), inShape, stage);
    }
  });
}

/** A forward model whose files are read: the PSF images' sizes. */
export function checkPreparedForwardModel(prepared: PreparedForwardModel, source = 'model'): void {
  const shapes = stageShapes(prepared.spec);
  prepared.resources.forEach((r, i) => {
    if (r.type === 'psf') checkPsf(r.kernel.shape, shapes[i]!.inShape, `${source}: operators[${i}] (psf)`);
  });
}

/** The samples a run keeps (the products, the previews): n × the unknown's pixels. */
export function checkSamples(n: number, shape: Shape2): void {
  const values = n * shape[0] * shape[1];
  if (values > LIMITS.sampleValues) {
    throw new RequestLimitError(`${n} samples of ${shape[0]}×${shape[1]} are ${values} values, ${over(LIMITS.sampleValues)}: draw fewer samples`);
  }
}

/** A training batch: batch × size² pixels per step. */
export function checkTrainingBatch(batch: number, size: number): void {
  const values = batch * size * size;
  if (values > LIMITS.trainBatchValues) {
    throw new RequestLimitError(`a batch of ${batch} images of ${size}×${size} is ${values} pixels per step, ${over(LIMITS.trainBatchValues)}: use a smaller batch or size`);
  }
}
