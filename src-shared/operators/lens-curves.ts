import { deflection, type LensParams } from './lens-model.js';
import { zeroContours, type Polyline } from './contour.js';

/** det of the lensing Jacobian ∂β/∂θ = I − ∂α/∂θ at (x, y), by central differences of step h (arcsec). */
export function jacobianDet(p: LensParams, x: number, y: number, h = 1e-6): number {
  const a = deflection(p, x + h, y);
  const b = deflection(p, x - h, y);
  const c = deflection(p, x, y + h);
  const d = deflection(p, x, y - h);
  const axx = (a[0] - b[0]) / (2 * h);
  const ayx = (a[1] - b[1]) / (2 * h);
  const axy = (c[0] - d[0]) / (2 * h);
  const ayy = (c[1] - d[1]) / (2 * h);
  return (1 - axx) * (1 - ayy) - axy * ayx;
}

export interface LensCurves {
  /** Critical curves in the image plane (det ∂β/∂θ = 0), arcsec. */
  critical: Polyline[];
  /** Their images through the lens equation β = θ − α(θ): the caustics in the source plane, arcsec. */
  caustics: Polyline[];
}

/**
 * Critical curves and caustics for drawing: marching squares on det(∂β/∂θ) over a square field of
 * half-width `halfWidth` arcsec centred on the lens, with `n`×`n` nodes; crossing points are refined by
 * bisection onto the exact curve. The nodes avoid the singular lens centre (n even).
 */
export function lensCurves(p: LensParams, opts: { halfWidth?: number; n?: number } = {}): LensCurves {
  const halfWidth = opts.halfWidth ?? 2.5 * p.thetaE;
  let n = opts.n ?? 256;
  if (n % 2 === 1) n++;
  const step = (2 * halfWidth) / (n - 1);
  const x0 = p.x0 - halfWidth;
  const y0 = p.y0 - halfWidth;
  const h = step * 1e-4;
  const det = (x: number, y: number): number => jacobianDet(p, x, y, h);
  const values = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values[i * n + j] = det(x0 + j * step, y0 + i * step);
  const critical = zeroContours(values, n, n, { x0, y0, dx: step, dy: step }, det);
  const caustics = critical.map((c) => ({
    closed: c.closed,
    points: c.points.map(([x, y]) => {
      const a = deflection(p, x, y);
      return [x - a[0], y - a[1]] as [number, number];
    }),
  }));
  return { critical, caustics };
}
