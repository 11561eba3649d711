/**
 * Dense DFT matrices (float32, row-major) for transforms written as matrix products on tensors — a real DFT
 * along x, a complex DFT along y and their inverses (FourierFilter, Spectral2D) — and the float64 twiddle table
 * they and kernelRfft2 are built from. Conventions are numpy's (forward e^{−2πi kn/N}, inverse with 1/N).
 * Plain arrays only: this module never touches tfjs.
 *
 * A length-n transform may be restricted to fewer input or output points (zero padding / cropping on a
 * periodic grid of n): nIn ≤ n inputs, nOut ≤ n outputs. The half spectrum has kh = ⌊n/2⌋ + 1 columns.
 */

export interface Twiddles {
  /** cos(2πt/n), t = 0..n−1 */
  cos: Float64Array;
  /** sin(2πt/n), t = 0..n−1 */
  sin: Float64Array;
}

/** cos and sin of 2πt/n for t = 0..n−1. */
export function twiddles(n: number): Twiddles {
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    cos[t] = Math.cos((2 * Math.PI * t) / n);
    sin[t] = Math.sin((2 * Math.PI * t) / n);
  }
  return { cos, sin };
}

/** Number of columns of the half spectrum of a real length-n signal. */
export function halfSpectrumSize(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Real forward DFT on a periodic grid of n, inputs j < nIn: [nIn, 2kh], row j = (cos 2πjk/n | −sin 2πjk/n) over k,
 * so a row vector x times it is (Re X | Im X) of the half spectrum.
 */
export function realDftMatrix(nIn: number, n: number, tw: Twiddles = twiddles(n)): Float32Array {
  const kh = halfSpectrumSize(n);
  const m = new Float32Array(nIn * 2 * kh);
  for (let j = 0; j < nIn; j++) {
    for (let k = 0; k < kh; k++) {
      const t = (j * k) % n;
      m[j * 2 * kh + k] = tw.cos[t];
      m[j * 2 * kh + kh + k] = -tw.sin[t];
    }
  }
  return m;
}

/**
 * Complex forward DFT on a periodic grid of n, inputs i < nIn: [2nIn, 2n] acting on a row vector (A | B)
 * (real parts, then imaginary parts) to give (Re Z | Im Z), Re Z = A c + B s, Im Z = B c − A s.
 */
export function complexDftMatrix(nIn: number, n: number, tw: Twiddles = twiddles(n)): Float32Array {
  const m = new Float32Array(2 * nIn * 2 * n);
  for (let i = 0; i < nIn; i++) {
    for (let l = 0; l < n; l++) {
      const t = (i * l) % n;
      const c = tw.cos[t];
      const s = tw.sin[t];
      m[i * 2 * n + l] = c;
      m[i * 2 * n + n + l] = -s;
      m[(nIn + i) * 2 * n + l] = s;
      m[(nIn + i) * 2 * n + n + l] = c;
    }
  }
  return m;
}

/**
 * Complex inverse DFT (1/n included) on a periodic grid of n, outputs i < nOut: [2n, 2nOut] acting on a row
 * vector (Yr | Yi) to give (Re W | Im W), Re W = Σ Yr c − Yi s, Im W = Σ Yr s + Yi c (c, s already divided by n).
 */
export function inverseComplexDftMatrix(n: number, nOut: number, tw: Twiddles = twiddles(n)): Float32Array {
  const m = new Float32Array(2 * n * 2 * nOut);
  for (let l = 0; l < n; l++) {
    for (let i = 0; i < nOut; i++) {
      const t = (i * l) % n;
      const c = tw.cos[t] / n;
      const s = tw.sin[t] / n;
      m[l * 2 * nOut + i] = c;
      m[l * 2 * nOut + nOut + i] = s;
      m[(n + l) * 2 * nOut + i] = -s;
      m[(n + l) * 2 * nOut + nOut + i] = c;
    }
  }
  return m;
}

/**
 * Real inverse DFT (1/n included) from the half spectrum on a periodic grid of n, outputs m < nOut: [2kh, nOut]
 * acting on a row vector (Re X | Im X); the columns k that stand for a conjugate pair are counted twice.
 */
export function inverseRealDftMatrix(n: number, nOut: number, tw: Twiddles = twiddles(n)): Float32Array {
  const kh = halfSpectrumSize(n);
  const out = new Float32Array(2 * kh * nOut);
  for (let k = 0; k < kh; k++) {
    const w = k === 0 || (n % 2 === 0 && k === n / 2) ? 1 : 2;
    for (let m = 0; m < nOut; m++) {
      const t = (k * m) % n;
      out[k * nOut + m] = (w * tw.cos[t]) / n;
      out[(kh + k) * nOut + m] = (-w * tw.sin[t]) / n;
    }
  }
  return out;
}

/** The four stages of a separable 2-D transform filter on a [py, px] periodic grid, [ny, nx] in and [my, mx] out. */
export interface Dft2Matrices {
  /** Half-spectrum width ⌊px/2⌋ + 1. */
  kh: number;
  /** [nx, 2kh]: real DFT along x. */
  m1: Float32Array;
  /** [2ny, 2py]: complex DFT along y. */
  m2: Float32Array;
  /** [2py, 2my]: inverse complex DFT along y, rows restricted to the output. */
  m3: Float32Array;
  /** [2kh, mx]: inverse real DFT along x. */
  m4: Float32Array;
}

export function dft2Matrices(inShape: readonly [number, number], outShape: readonly [number, number], padShape: readonly [number, number]): Dft2Matrices {
  const [ny, nx] = inShape;
  const [my, mx] = outShape;
  const [py, px] = padShape;
  const tx = twiddles(px);
  const ty = twiddles(py);
  return {
    kh: halfSpectrumSize(px),
    m1: realDftMatrix(nx, px, tx),
    m2: complexDftMatrix(ny, py, ty),
    m3: inverseComplexDftMatrix(py, my, ty),
    m4: inverseRealDftMatrix(px, mx, tx),
  };
}
