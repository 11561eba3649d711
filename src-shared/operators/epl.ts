// The elliptical power-law (EPL) mass profile: its convergence and its deflection by the hypergeometric series of
// Tessore & Metcalf (2015), in the conventions of the SIE of lens-model.ts (docs/forward-models.md, *lens*).
// Float64, free of tfjs.

/** The slopes the profile accepts: 1 < γ < 3 (a finite mass within every radius, a convergence falling outward). */
export const EPL_GAMMA_RANGE: readonly [number, number] = [1, 3];

/**
 * Convergence of the EPL in the lens frame (x′ along the major axis, from the centre):
 *   κ = (3 − γ)/2 · (θE / R)^(γ − 1),  R = √(q x′² + y′²/q),
 * the SIE's elliptical radius (γ = 2 gives the SIE's θE / (2R)). Infinite at the centre.
 */
export function eplConvergenceLocal(thetaE: number, q: number, gamma: number, xp: number, yp: number): number {
  const R = Math.sqrt(q * xp * xp + (yp * yp) / q);
  return ((3 - gamma) / 2) * Math.pow(thetaE / R, gamma - 1);
}

/**
 * Deflection of the EPL in the lens frame (no rotation, no shear), written into `out`:
 *   with t = γ − 1, b = θE √q, ρ = √(q² x′² + y′²) and the elliptical angle ϕ (q x′ = ρ cos ϕ, y′ = ρ sin ϕ),
 *   αx′ + i αy′ = 2b/(1 + q) · (b/ρ)^(t−1) · e^{iϕ} ₂F₁(1, t/2; 2 − t/2; −f e^{2iϕ}),  f = (1 − q)/(1 + q),
 * the hypergeometric function summed term by term: Ω₀ = e^{iϕ}, Ωₙ = −f (2n − 2 + t)/(2n + 2 − t) e^{2iϕ} Ωₙ₋₁.
 * |Ωₙ/Ωₙ₋₁| < f, so the series converges geometrically for every q > 0; it is summed until a term is below
 * 10⁻¹⁶ (1 − f) (the tail then below 10⁻¹⁶ of Ω₀). α = 0 at the centre (ρ = 0), as the SIE's.
 */
export function eplDeflectionLocal(thetaE: number, q: number, gamma: number, xp: number, yp: number, out: [number, number]): [number, number] {
  const rho = Math.sqrt(q * q * xp * xp + yp * yp);
  if (!(rho > 0)) {
    out[0] = 0;
    out[1] = 0;
    return out;
  }
  const t = gamma - 1;
  const b = thetaE * Math.sqrt(q);
  const f = (1 - q) / (1 + q);
  const c = (q * xp) / rho;
  const s = yp / rho;
  // z = −f e^{2iϕ}
  const zr = -f * (c * c - s * s);
  const zi = -f * 2 * c * s;
  let wr = c;
  let wi = s;
  let sr = c;
  let si = s;
  const tol = 1e-16 * (1 - f);
  const tol2 = tol * tol;
  for (let n = 1; n < 100000; n++) {
    const k = (2 * n - 2 + t) / (2 * n + 2 - t);
    const nr = k * (zr * wr - zi * wi);
    const ni = k * (zr * wi + zi * wr);
    wr = nr;
    wi = ni;
    sr += wr;
    si += wi;
    if (wr * wr + wi * wi < tol2) break;
  }
  const pre = ((2 * b) / (1 + q)) * Math.pow(b / rho, t - 1);
  out[0] = pre * sr;
  out[1] = pre * si;
  return out;
}
