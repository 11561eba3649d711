/**
 * A sparse VLBI array's visibilities with station gains, as an in-memory UVFITS file: 7 stations at the EHT 2017
 * sites (latitude, longitude) on a sphere of 4.9·10⁹ λ at 230 GHz, every baseline at `scans` time stamps over ±3 h
 * of hour angle (no horizon), the source at declination −29°, one IF, one channel, Stokes I; the sky a sum of
 * point sources and circular Gaussians (analytic visibilities), complex station gains g_i per time stamp
 * (V_ij = g_i g_j* M_ij), Gaussian noise of σ per part, weights 1/σ² (1 for noiseless data).
 */
import type { UvfitsFile } from '../../src-shared/radio/uvfits.js';
import type { ImageGrid } from '../../src-shared/radio/grid.js';
import { gaussianImage } from '../../src-shared/radio/closure.js';
import path from 'node:path';
import { writePowerSpectrumPrior } from './power-spectrum-prior.js';

/** Micro-arcseconds in radians. */
export const UAS = Math.PI / 180 / 3600 / 1e6;

/** Seeded uniforms. */
export function uniforms(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

/** A standard normal from seeded uniforms (Box–Muller, one of the pair). */
export function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
}

export const SITES: [number, number][] = [[19.8, -155.5], [37.1, -3.4], [-23.0, -67.8], [18.9, -97.3], [32.7, -109.9], [-90, 0], [44.6, 5.9]];

/** A component: flux (Jy), offset l, m (radians), FWHM (radians; 0: a point). */
export interface Component {
  flux: number;
  l: number;
  m: number;
  fwhm: number;
}

/** The sky's visibility at (u, v) (wavelengths). */
export function skyVisibility(sky: Component[], u: number, v: number): [number, number] {
  let re = 0;
  let im = 0;
  for (const c of sky) {
    const a = c.flux * Math.exp(-((Math.PI * c.fwhm) ** 2) * (u * u + v * v) / (4 * Math.LN2));
    const ph = -2 * Math.PI * (u * c.l + v * c.m);
    re += a * Math.cos(ph);
    im += a * Math.sin(ph);
  }
  return [re, im];
}

export interface SimOptions {
  sky: Component[];
  scans?: number;
  sigma?: number;
  seed?: number;
  /** Per time stamp and station: the gain (re, im); default 1. */
  gain?: (scan: number, station: number) => [number, number];
}

export interface Sim {
  uv: UvfitsFile;
  /** The gains used, [scan][station] (re, im). */
  gains: [number, number][][];
  /** Time stamps (JD) of the scans. */
  times: number[];
}

const FREQ = 230e9;

export function simulateVlbi(o: SimOptions): Sim {
  const scans = o.scans ?? 12;
  const sigma = o.sigma ?? 0.01;
  const r = uniforms(o.seed ?? 1);
  const R = 4.9e9;
  const xyz = SITES.map(([la, lo]) => {
    const [a, b] = [(la * Math.PI) / 180, (lo * Math.PI) / 180];
    return [R * Math.cos(a) * Math.cos(b), R * Math.cos(a) * Math.sin(b), R * Math.sin(a)];
  });
  const dec = (-29 * Math.PI) / 180;
  const u: number[] = [];
  const v: number[] = [];
  const a1: number[] = [];
  const a2: number[] = [];
  const t: number[] = [];
  const corr: number[] = [];
  const gains: [number, number][][] = [];
  const times: number[] = [];
  const t0 = 2460000.5;
  for (let s = 0; s < scans; s++) {
    const hours = -3 + (6 * s) / Math.max(scans - 1, 1);
    const h = (hours * Math.PI) / 12;
    const time = t0 + (hours + 3) / 24;
    times.push(time);
    const g = SITES.map((_, i): [number, number] => (o.gain ? o.gain(s, i) : [1, 0]));
    gains.push(g);
    for (let i = 0; i < xyz.length; i++) {
      for (let j = i + 1; j < xyz.length; j++) {
        const [bx, by, bz] = [0, 1, 2].map((c) => xyz[j][c] - xyz[i][c]);
        const uu = bx * Math.sin(h) + by * Math.cos(h);
        const vv = -bx * Math.sin(dec) * Math.cos(h) + by * Math.sin(dec) * Math.sin(h) + bz * Math.cos(dec);
        const [mr, mi] = skyVisibility(o.sky, uu, vv);
        // g_i g_j* M
        const Gr = g[i][0] * g[j][0] + g[i][1] * g[j][1];
        const Gi = g[i][1] * g[j][0] - g[i][0] * g[j][1];
        const vr = Gr * mr - Gi * mi + sigma * normal(r);
        const vi = Gr * mi + Gi * mr + sigma * normal(r);
        // stored as UVFITS stores it: the baseline antenna 1 − antenna 2 (the reader negates it back)
        u.push(-uu / FREQ);
        v.push(-vv / FREQ);
        a1.push(i + 1);
        a2.push(j + 1);
        t.push(time);
        corr.push(vr, vi, sigma > 0 ? 1 / (sigma * sigma) : 1);
      }
    }
  }
  const n = u.length;
  const uv: UvfitsFile = {
    meta: {
      object: 'SIM',
      telescope: 'VLBI',
      instrument: '',
      dateObs: '2023-02-24',
      ra: 266.4,
      dec: -29,
      nIf: 1,
      nChan: 1,
      freqs: Float64Array.of(FREQ),
      chanWidth: 1e9,
      stokes: ['I'],
      antennas: SITES.map((_, i) => ({ number: i + 1, name: `S${i + 1}`, xyz: xyz[i] as [number, number, number] })),
    },
    gcount: n,
    uSec: Float64Array.from(u),
    vSec: Float64Array.from(v),
    wSec: new Float64Array(n),
    time: Float64Array.from(t),
    ant1: Int32Array.from(a1),
    ant2: Int32Array.from(a2),
    subarray: new Int32Array(n).fill(1),
    sourceId: null,
    corr: Float64Array.from(corr),
    notes: [],
  };
  return { uv, gains, times };
}

/** Random phase-only gains: a phase uniform in ±π per scan and station. */
export function randomPhases(seed: number): (scan: number, station: number) => [number, number] {
  const r = uniforms(seed);
  const table = new Map<string, [number, number]>();
  return (s, i) => {
    const key = `${s}:${i}`;
    if (!table.has(key)) {
      const ph = Math.PI * (2 * r() - 1);
      table.set(key, [Math.cos(ph), Math.sin(ph)]);
    }
    return table.get(key)!;
  };
}

/** The largest normalised cross-correlation of a with b over whole-pixel shifts of a (closures do not fix the position). */
export function alignedNcc(a: ArrayLike<number>, b: ArrayLike<number>, g: { nx: number; ny: number }, maxShift: number): number {
  const mean = (p: ArrayLike<number>) => {
    let t = 0;
    for (let i = 0; i < p.length; i++) t += p[i];
    return t / p.length;
  };
  const mb = mean(b);
  let best = -1;
  for (let dy = -maxShift; dy <= maxShift; dy++) {
    for (let dx = -maxShift; dx <= maxShift; dx++) {
      const s = new Float64Array(a.length);
      for (let y = 0; y < g.ny; y++) {
        for (let x = 0; x < g.nx; x++) {
          const xs = x - dx;
          const ys = y - dy;
          if (xs >= 0 && xs < g.nx && ys >= 0 && ys < g.ny) s[y * g.nx + x] = a[ys * g.nx + xs];
        }
      }
      const ms = mean(s);
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      for (let i = 0; i < s.length; i++) {
        sab += (s[i] - ms) * (b[i] - mb);
        saa += (s[i] - ms) ** 2;
        sbb += (b[i] - mb) ** 2;
      }
      best = Math.max(best, sab / Math.sqrt(saa * sbb));
    }
  }
  return best;
}

/** Random station gains per time stamp and station: amplitude uniform in [lo, hi], phase uniform in ±π. */
export function randomGains(seed: number, lo = 0.7, hi = 1.3): (scan: number, station: number) => [number, number] {
  const r = uniforms(seed);
  const table = new Map<string, [number, number]>();
  return (s, i) => {
    const key = `${s}:${i}`;
    let g = table.get(key);
    if (!g) {
      const ph = 2 * Math.PI * (r() - 0.5);
      const a = lo + (hi - lo) * r();
      table.set(key, (g = [a * Math.cos(ph), a * Math.sin(ph)]));
    }
    return g;
  };
}

/** The sky on a grid: each component's Gaussian at its nearest pixel. */
export function skyImage(sky: Component[], g: ImageGrid): Float64Array {
  const out = new Float64Array(g.nx * g.ny);
  for (const c of sky) {
    const gi = gaussianImage(g, c.flux, c.fwhm);
    const dx = Math.round(-c.l / g.cell);
    const dy = Math.round(c.m / g.cell);
    for (let y = 0; y < g.ny; y++) {
      for (let x = 0; x < g.nx; x++) {
        const xs = x - dx;
        const ys = y - dy;
        if (xs >= 0 && xs < g.nx && ys >= 0 && ys < g.ny) out[y * g.nx + x] += gi[ys * g.nx + xs];
      }
    }
  }
  return out;
}

/**
 * The visibility posterior tests' prior: a power-law Gaussian field on n × n (P(k) ∝ |k|⁻³ above 0.05 cycles per
 * pixel, amplitude 2) written as DIR/pk.fits; returns the --prior argument, `gaussian-field:DIR/pk.fits`.
 */
export function writePowerLawPrior(dir: string, n: number): string {
  return writePowerSpectrumPrior(path.join(dir, 'pk.fits'), n, 0.05, 3, 2);
}
