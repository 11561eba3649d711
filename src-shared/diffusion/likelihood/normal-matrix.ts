/**
 * The normal matrix G = AᵀWA of a lens model (lens → psf → masks, what lens-fit writes), formed once, for the
 * conjugate gradients' products (I + c AᵀWA) u (conjugate-gradients.ts). Through the operator each product costs
 * the lens's sparse product, two PSF convolutions on the image grid (Fourier filters of dense DFT matrices at the
 * SLACS-like window's 140², ≈ 60 % of a worker's time there) and the lens's adjoint; G makes it one matrix
 * product [B, N]·[N, N] (N the source pixels), which the backends' matrix kernels run fast; conjugate-gradients.ts
 * says when it is formed and used.
 *
 * G is exact to float32: B = M·P·L at the observed pixels is built in float64 from the operators' own matrix
 * and kernel (the lens fit's blurRows, the same convolution as the PSF operator: tap (a, b) reads pixel
 * (i − (a − cy), j − (b − cx)), zero outside the grid), G = BᵀWB by the fit's normalEquations (float64 sums), then
 * rounded once to float32. The operator's own products round at every stage (and its Fourier PSF at about 10⁻⁶ of
 * the image's peak), so the two agree to float32 rounding, not bit for bit (tests/unit/normal-matrix.test.ts).
 */
import { ChainOperator } from '../../operators/compose.js';
import { LensOperator } from '../../operators/lens.js';
import { MaskOperator } from '../../operators/mask.js';
import { PsfOperator, type PsfKernel } from '../../operators/psf.js';
import type { LinearOperator } from '../../operators/types.js';
import type { CsrMatrix } from '../../operators/csr.js';
import { blurRows } from '../../lensing/mass.js';
import { normalEquations } from '../../lensing/inversion.js';

/** Up to this many unknowns (a 64² source: G of 64 MB in float32) the normal matrix is formed. */
export const NORMAL_MATRIX_MAX_PIXELS = 4096;

/** The stages of a lens → [psf] → [masks] operator, or null for any other operator. */
function lensChain(op: LinearOperator): { lens: LensOperator; psf: PsfKernel | null; masks: MaskOperator[] } | null {
  const stages = op instanceof ChainOperator ? op.stages : [op];
  const [first, ...rest] = stages;
  if (!(first instanceof LensOperator)) return null;
  let psf: PsfKernel | null = null;
  let k = 0;
  if (rest[0] instanceof PsfOperator) {
    psf = rest[0].kernel;
    k = 1;
  }
  const masks: MaskOperator[] = [];
  for (const s of rest.slice(k)) {
    if (!(s instanceof MaskOperator)) return null;
    masks.push(s);
  }
  return { lens: first, psf, masks };
}

/** Whether lensNormalMatrix gives a matrix for this operator (a lens → [psf] → [masks] chain of at most `maxPixels` unknowns). */
export function lensNormalMatrixApplies(op: LinearOperator, maxPixels = NORMAL_MATRIX_MAX_PIXELS): boolean {
  return op.inShape[0] * op.inShape[1] <= maxPixels && lensChain(op) !== null;
}

/**
 * The rows of A = M·P·L at the pixels where W·M is non-zero (ascending), with those pixels' weights:
 * the explicit matrix of a lens → [psf] → [masks] operator, float64; null for any other operator.
 */
export function lensModelRows(op: LinearOperator, weight: ArrayLike<number>): { rows: CsrMatrix; pixels: Int32Array; w: Float64Array } | null {
  const chain = lensChain(op);
  if (!chain) return null;
  const [my, mx] = op.outShape;
  const n = my * mx;
  if (weight.length !== n) throw new RangeError(`lensModelRows: ${weight.length} weights for an image of ${n} pixels`);
  const wm = Float64Array.from(weight);
  for (const m of chain.masks) for (let i = 0; i < n; i++) wm[i] *= m.mask[i];
  let count = 0;
  for (let i = 0; i < n; i++) if (wm[i] !== 0) count++;
  const pixels = new Int32Array(count);
  const w = new Float64Array(count);
  for (let i = 0, k = 0; i < n; i++) {
    if (wm[i] !== 0) {
      pixels[k] = i;
      w[k++] = wm[i];
    }
  }
  return { rows: blurRows(chain.lens.matrix, [my, mx], chain.psf, pixels), pixels, w };
}

/**
 * G = AᵀWA (row-major N × N, symmetric, float32) of a lens → [psf] → [masks] operator with the data-grid weights W
 * (1/σ² at observed pixels, 0 elsewhere); null for any other operator or more than `maxPixels` unknowns.
 */
export function lensNormalMatrix(op: LinearOperator, weight: ArrayLike<number>, maxPixels = NORMAL_MATRIX_MAX_PIXELS): Float32Array | null {
  const N = op.inShape[0] * op.inShape[1];
  if (N > maxPixels) return null;
  const rows = lensModelRows(op, weight);
  if (!rows) return null;
  // F's lower triangle (normalEquations fills j ≤ i), mirrored
  const { F } = normalEquations({ y: new Float64Array(rows.pixels.length), w: rows.w, source: rows.rows, light: [] });
  const G = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j <= i; j++) {
      const v = F[i * N + j];
      G[i * N + j] = v;
      G[j * N + i] = v;
    }
  }
  return G;
}
