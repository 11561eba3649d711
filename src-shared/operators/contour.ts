/** A polyline in physical coordinates; closed when its last point joins its first. */
export interface Polyline {
  points: [number, number][];
  closed: boolean;
}

/**
 * Zero contours of a function sampled on a regular grid (marching squares), joined into polylines.
 * Crossing points lie on cell edges; `refine` moves each one onto the contour of the exact function
 * by bisection along its edge (where the samples are exact function values).
 * Grid nodes: x_j = x0 + j·dx (j < nx), y_i = y0 + i·dy (i < ny); values row-major [ny, nx].
 */
export function zeroContours(
  values: Float64Array,
  ny: number,
  nx: number,
  grid: { x0: number; y0: number; dx: number; dy: number },
  refine?: (x: number, y: number) => number,
): Polyline[] {
  const { x0, y0, dx, dy } = grid;
  const v = (i: number, j: number): number => values[i * nx + j];
  const pos = (i: number, j: number): boolean => v(i, j) > 0;
  // edge ids: horizontal edge (i, j)-(i, j+1): 2·(i·nx + j); vertical edge (i, j)-(i+1, j): 2·(i·nx + j) + 1
  const point = new Map<number, [number, number]>();
  const edgePoint = (e: number): [number, number] => {
    let p = point.get(e);
    if (p) return p;
    const node = e >> 1;
    const i = Math.floor(node / nx);
    const j = node % nx;
    const [i2, j2] = e & 1 ? [i + 1, j] : [i, j + 1];
    const a = v(i, j);
    const b = v(i2, j2);
    let t = a / (a - b);
    if (refine && Number.isFinite(a) && Number.isFinite(b)) {
      let lo = 0;
      let hi = 1;
      let flo = a;
      for (let k = 0; k < 40; k++) {
        const mid = (lo + hi) / 2;
        const fm = refine(x0 + (j + mid * (j2 - j)) * dx, y0 + (i + mid * (i2 - i)) * dy);
        if ((fm > 0) === (flo > 0)) {
          lo = mid;
          flo = fm;
        } else hi = mid;
      }
      t = (lo + hi) / 2;
    }
    p = [x0 + (j + t * (j2 - j)) * dx, y0 + (i + t * (i2 - i)) * dy];
    point.set(e, p);
    return p;
  };
  // segments as pairs of edge ids
  const adj = new Map<number, number[]>();
  const link = (a: number, b: number): void => {
    (adj.get(a) ?? adj.set(a, []).get(a)!).push(b);
    (adj.get(b) ?? adj.set(b, []).get(b)!).push(a);
  };
  for (let i = 0; i < ny - 1; i++) {
    for (let j = 0; j < nx - 1; j++) {
      const vals = [v(i, j), v(i, j + 1), v(i + 1, j + 1), v(i + 1, j)];
      if (vals.some((z) => !Number.isFinite(z))) continue;
      const code = (pos(i, j) ? 1 : 0) | (pos(i, j + 1) ? 2 : 0) | (pos(i + 1, j + 1) ? 4 : 0) | (pos(i + 1, j) ? 8 : 0);
      if (code === 0 || code === 15) continue;
      const bottom = 2 * (i * nx + j); // (i,j)-(i,j+1)
      const top = 2 * ((i + 1) * nx + j); // (i+1,j)-(i+1,j+1)
      const left = 2 * (i * nx + j) + 1; // (i,j)-(i+1,j)
      const right = 2 * (i * nx + j + 1) + 1; // (i,j+1)-(i+1,j+1)
      const centrePos = (vals[0] + vals[1] + vals[2] + vals[3]) / 4 > 0;
      switch (code) {
        case 1:
        case 14:
          link(left, bottom);
          break;
        case 2:
        case 13:
          link(bottom, right);
          break;
        case 3:
        case 12:
          link(left, right);
          break;
        case 4:
        case 11:
          link(right, top);
          break;
        case 6:
        case 9:
          link(bottom, top);
          break;
        case 7:
        case 8:
          link(left, top);
          break;
        case 5: // corners 0 and 2 positive
          if (centrePos) {
            link(left, top);
            link(bottom, right);
          } else {
            link(left, bottom);
            link(right, top);
          }
          break;
        case 10: // corners 1 and 3 positive
          if (centrePos) {
            link(left, bottom);
            link(right, top);
          } else {
            link(left, top);
            link(bottom, right);
          }
          break;
      }
    }
  }
  const used = new Set<string>();
  const key = (a: number, b: number): string => (a < b ? `${a},${b}` : `${b},${a}`);
  const lines: Polyline[] = [];
  const walk = (start: number): Polyline => {
    const chain = [start];
    let prev = -1;
    let cur = start;
    let closed = false;
    for (;;) {
      const next = (adj.get(cur) ?? []).find((n) => n !== prev && !used.has(key(cur, n)));
      if (next === undefined) break;
      used.add(key(cur, next));
      if (next === start) {
        closed = true;
        break;
      }
      chain.push(next);
      prev = cur;
      cur = next;
    }
    return { points: chain.map(edgePoint), closed };
  };
  // open chains first (from their ends), then loops
  for (const [e, n] of adj) if (n.length === 1 && !used.has(key(e, n[0]))) lines.push(walk(e));
  for (const [e, n] of adj) for (const m of n) if (!used.has(key(e, m))) lines.push(walk(e));
  return lines;
}
