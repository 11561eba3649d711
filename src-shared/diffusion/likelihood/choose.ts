/**
 * Which way the convolved likelihood solves with Σ + c A Aᵀ, from what the operator says about A Aᵀ (its
 * gram()) and what the data say about Σ. The exact methods are preferred wherever they apply; conjugate
 * gradients take everything else.
 */
import type { GramDescription, LinearOperator, StructuredOperator } from '../../operators/types.js';
import { PsfOperator, type PsfKernel } from '../../operators/psf.js';
import { ChainOperator } from '../../operators/compose.js';
import { KRONECKER_MAX_SIDE, kernelIsSeparable } from '../kronecker.js';

/** A PSF convolution inside an operator: the operator itself, or a chain of it followed by pixel masks. */
export interface PsfInOperator {
  kernel: PsfKernel;
  /** Whether masks follow the convolution (A is then not a Kronecker product). */
  masked: boolean;
}

export function findPsf(op: LinearOperator): PsfInOperator | null {
  if (op instanceof PsfOperator) return { kernel: op.kernel, masked: false };
  if (!(op instanceof ChainOperator) || !(op.stages[0] instanceof PsfOperator)) return null;
  for (const st of op.stages.slice(1)) {
    const same = st.inShape[0] === st.outShape[0] && st.inShape[1] === st.outShape[1];
    if (st.gram().kind !== 'pixel-diagonal' || !same) return null;
  }
  return { kernel: op.stages[0].kernel, masked: op.stages.length > 1 };
}

export interface SolveSituation {
  operator: LinearOperator;
  /** operator.gram(), where already at hand. */
  gram?: GramDescription;
  /** One σ for every observed pixel. */
  whiteNoise: boolean;
  /** No data pixel masked (NaN data or σ, or outside the forward model's own masks). */
  allObserved: boolean;
  /**
   * Correlated noise (Σ = D^{1/2} C D^{1/2}, C circulant): only the correlated methods apply; `whiteNoise` then
   * says whether D is one constant.
   */
  correlated?: boolean;
  /** A learned noise prior: its own method, whatever A is. */
  learned?: boolean;
  /** A learned noise prior with a measured power spectrum: its Gaussian part is correlated (the correlated methods). */
  learnedCorrelated?: boolean;
  /** 'cg' forces conjugate gradients (for tests and comparisons). */
  requested?: 'auto' | 'cg';
}

/**
 * The method, why (for the description: what makes it exact, or what rules the exact ones out), and what it
 * needs: A Aᵀ's diagonal in pixels or its Fourier multiplier, the separable kernel, or (conjugate gradients) what
 * the preconditioner is chosen from.
 */
export type SolveChoice = { reason: string } & (
  | { method: 'pixel-diagonal' | 'fourier-diagonal'; diag: Float32Array }
  | { method: 'kronecker'; kernel: PsfKernel }
  | { method: 'cg'; gram: GramDescription; psf: PsfInOperator | null }
  | { method: 'correlated-fourier'; diag: Float32Array }
  | { method: 'correlated-cg'; aat: Float32Array }
  | { method: 'learned-noise'; gaussian: SolveChoice | null }
);

/**
 * The first method that applies, in this order: pixel-diagonal, Fourier, Kronecker (all exact), else conjugate
 * gradients, with the first thing that ruled the exact methods out as the reason.
 */
export function chooseSolveMethod(s: SolveSituation): SolveChoice {
  const op = s.operator;
  const gram = s.gram ?? op.gram();
  const psf = findPsf(op);
  const cg = (reason: string): SolveChoice => ({ method: 'cg', reason, gram, psf });
  if (s.correlated) return chooseCorrelated(s, gram, psf);
  if (s.learned) {
    // the effective level takes A Aᵀ's largest eigenvalue over the observed pixels (learned-noise.ts): exact for
    // A Aᵀ = λI (the identity, a mask), an upper bound on the state's noise in the residual otherwise, where the
    // noise's Gaussian part is solved exactly and the network gives only its departure from the Gaussian
    const top = gram.kind === 'pixel-diagonal' ? gram.diag.reduce((m, v) => Math.max(m, v), 0) : 0;
    const exact = gram.kind === 'pixel-diagonal' && gram.diag.every((v) => v === 0 || v === top);
    if (exact) return { method: 'learned-noise', reason: 'A Aᵀ is a multiple of I on the pixels', gaussian: null };
    // elsewhere the Gaussian part of the noise is solved with A Aᵀ itself, by the method white noise of its σ gets,
    // or correlated noise of its σ and measured spectrum where it has one
    const gaussian = chooseSolveMethod({ ...s, gram, learned: false, learnedCorrelated: false, correlated: s.learnedCorrelated === true, whiteNoise: true });
    return { method: 'learned-noise', reason: `A Aᵀ is not a multiple of I; its largest eigenvalue sets the network's level`, gaussian };
  }
  if (s.requested === 'cg') return cg('requested');
  // a mask or the identity: Σ + c A Aᵀ is diagonal whatever Σ is; masked pixels simply drop out
  if (gram.kind === 'pixel-diagonal') return { method: 'pixel-diagonal', reason: 'A Aᵀ is diagonal in pixels', diag: gram.diag };
  // the diagonal forms below diagonalise A Aᵀ in a basis other than pixels, which diagonalises Σ + c A Aᵀ only
  // when Σ is a multiple of I: one σ everywhere and nothing masked (a masked pixel has weight 0, not 1/σ²)
  const white = s.whiteNoise && s.allObserved;
  // a circulant A Aᵀ, exactly: uv sampling, a circular convolution
  if (gram.kind === 'fourier-diagonal' && gram.exact && white) {
    return { method: 'fourier-diagonal', reason: 'A Aᵀ is diagonal in Fourier modes and the noise is white', diag: gram.diag };
  }
  // a zero-padded convolution is a Kronecker product of 1-D Toeplitz factors when its kernel is separable
  const separable = psf !== null && kernelIsSeparable(psf.kernel);
  const fits = Math.max(op.outShape[0], op.outShape[1]) <= KRONECKER_MAX_SIDE;
  if (separable && fits && !psf.masked && white) {
    return { method: 'kronecker', reason: 'separable PSF kernel, A Aᵀ diagonalised as a Kronecker product; white noise', kernel: psf.kernel };
  }
  if (!s.whiteNoise) return cg('the noise differs between pixels');
  if (!s.allObserved) return cg('pixels are masked');
  if (psf && !separable) return cg('the PSF kernel is not separable');
  if (psf?.masked) return cg('masks follow the PSF');
  if (psf) return cg(`the image is over ${KRONECKER_MAX_SIDE} pixels a side, too large for the Kronecker decomposition`);
  if (gram.kind === 'fourier-diagonal') return cg('A Aᵀ is only approximately circulant');
  return cg('A Aᵀ has no known diagonal form');
}

/**
 * Correlated noise: exact in Fourier modes when A Aᵀ is exactly circulant (uv sampling, a circular convolution; the
 * identity or a mask that masks nothing: A Aᵀ = const·I), σ is one constant and nothing is masked; else conjugate
 * gradients in data space, with A Aᵀ's Fourier multiplier (where known: a PSF's |H|², else the mean of A Aᵀ's
 * diagonal times the identity) for the preconditioner.
 */
function chooseCorrelated(s: SolveSituation, gram: GramDescription, psf: PsfInOperator | null): SolveChoice {
  const op = s.operator;
  const [my, mx] = op.outShape;
  const n = my * mx;
  const constantDiag = gram.kind === 'pixel-diagonal' && gram.diag.every((v) => v === gram.diag[0]);
  const circulant = (gram.kind === 'fourier-diagonal' && gram.exact) || constantDiag;
  const white = s.whiteNoise && s.allObserved;
  if (s.requested !== 'cg' && circulant && white) {
    const diag = gram.kind === 'fourier-diagonal' ? gram.diag : new Float32Array(n).fill(gram.diag[0]!);
    return { method: 'correlated-fourier', reason: 'correlated stationary noise and A Aᵀ share the Fourier basis', diag };
  }
  const psfGram = psf && op instanceof ChainOperator ? (op.stages[0] as PsfOperator).gram() : null;
  let aat: Float32Array;
  if (gram.kind === 'fourier-diagonal') aat = gram.diag;
  else if (psfGram?.kind === 'fourier-diagonal') aat = psfGram.diag;
  else {
    const d = gram.kind === 'pixel-diagonal' ? gram.diag : (op as StructuredOperator).gramDiagonal?.();
    let mean = 1;
    if (d && d.length === n) mean = d.reduce((a, v) => a + v, 0) / n;
    aat = new Float32Array(n).fill(mean);
  }
  const reason =
    s.requested === 'cg'
      ? 'requested'
      : !s.allObserved
        ? 'correlated noise, pixels masked'
        : !s.whiteNoise
          ? 'correlated noise with a σ map'
          : 'correlated noise, A Aᵀ not exactly circulant';
  return { method: 'correlated-cg', reason, aat };
}
