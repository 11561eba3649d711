/**
 * Helpers shared by the noise-model evaluations (scripts/noise-eval.ts: simulated data with real noise;
 * scripts/hst-stamp-eval.ts: real HST stamps): FITS in and out, the CLI, robust statistics, PSNR, the truth's
 * per-pixel coverage by the samples' prediction intervals, and a key's value anywhere in report.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFitsImage, writeFits } from '../src-shared/fits/index.js';
import { psnr as metricsPsnr } from '../src-shared/eval/metrics.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const readImage = (file: string, hdu?: number) => readFitsImage(new Uint8Array(readFileSync(file)), hdu, { name: path.basename(file) });
export const writeImage = (file: string, data: ArrayLike<number>, shape: [number, number]) =>
  writeFileSync(file, writeFits([{ data: Float32Array.from(data), shape, bitpix: -32 }]));

/** Runs `skyscore <args>` (nice 10) and returns its wall time in seconds. */
export const cli = (args: string[], quiet = true): number => cliTimed(args, quiet).wall;

/** Runs `skyscore <args>` (nice 10, under /usr/bin/time): wall and CPU (user + system) seconds, and the 1-minute load average at its end. */
export function cliTimed(args: string[], quiet = true): { wall: number; cpu: number; load: number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-time-'));
  const timeFile = path.join(dir, 'time');
  const t0 = performance.now();
  try {
    execFileSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, 'nice', '-n', '10', process.execPath, '--import', 'tsx', path.join(ROOT, 'src-main/cli/main.ts'), ...args], {
      stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
      cwd: ROOT,
    });
    const wall = (performance.now() - t0) / 1000;
    const [u, sy] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
    return { wall, cpu: u! + sy!, load: os.loadavg()[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(v: ArrayLike<number>): number {
  const s = Float64Array.from(v).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median and 1.4826 × the median absolute deviation (σ for Gaussian values). */
export function madSigma(v: ArrayLike<number>): { median: number; sigma: number } {
  const m = median(v);
  return { median: m, sigma: 1.4826 * median(Array.from(v, (x) => Math.abs(x - m))) };
}

/** PSNR of x against the truth, in dB, with the truth's peak |value| as the range (src-shared/eval/metrics.ts's psnr). */
export function psnr(x: ArrayLike<number>, truth: ArrayLike<number>): number {
  let peak = 0;
  for (let i = 0; i < truth.length; i++) peak = Math.max(peak, Math.abs(truth[i]!));
  return metricsPsnr(truth, x, peak);
}

/** ln Γ(x), Lanczos (g = 7, 9 terms). */
export function lnGamma(x: number): number {
  const c = [0.9999999999998099, 676.5203681218851, -1259.139216722403, 771.3234287776531, -176.6150391699918, 12.507343278686905,
    -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The two-sided p-quantile of Student's t with ν degrees of freedom: P(|T| < q) = p (Simpson's rule and bisection). */
export function tQuantile(p: number, nu: number): number {
  const c = Math.exp(lnGamma((nu + 1) / 2) - lnGamma(nu / 2)) / Math.sqrt(nu * Math.PI);
  const cdf2 = (q: number) => {
    const m = 2000;
    const h = q / m;
    let s = 0;
    for (let i = 0; i <= m; i++) s += (i === 0 || i === m ? 1 : i % 2 ? 4 : 2) * c * (1 + (i * h) ** 2 / nu) ** (-(nu + 1) / 2);
    return (2 * s * h) / 3;
  };
  let lo = 0;
  let hi = 100;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (cdf2(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The truth's per-pixel coverage from n samples (a cube, n planes of truth.length pixels): by the prediction
 * intervals mean ± t·s·√(1 + 1/n) (t Student's quantile with n − 1 degrees of freedom: exactly 68 % and 95 % for
 * Gaussian marginals of which the truth is one more draw), and by the samples' range [min, max] (distribution-free:
 * (n − 1)/(n + 1) for a calibrated posterior).
 */
export function coverage(samples: ArrayLike<number>, n: number, truth: ArrayLike<number>): { c68: number; c95: number; range: number } {
  const per = truth.length;
  const k68 = tQuantile(0.6827, n - 1) * Math.sqrt(1 + 1 / n);
  const k95 = tQuantile(0.95, n - 1) * Math.sqrt(1 + 1 / n);
  let in68 = 0;
  let in95 = 0;
  let inRange = 0;
  for (let i = 0; i < per; i++) {
    let m = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let k = 0; k < n; k++) {
      const v = samples[k * per + i]!;
      m += v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    m /= n;
    let v2 = 0;
    for (let k = 0; k < n; k++) v2 += (samples[k * per + i]! - m) ** 2;
    const s = Math.sqrt(v2 / (n - 1));
    const d = Math.abs(truth[i]! - m);
    if (d <= k68 * s) in68++;
    if (d <= k95 * s) in95++;
    if (truth[i]! >= lo && truth[i]! <= hi) inRange++;
  }
  return { c68: in68 / per, c95: in95 / per, range: inRange / per };
}

/** The first value of `key` anywhere in a parsed JSON object (depth first). */
export const find = (o: unknown, key: string): unknown => {
  if (o === null || typeof o !== 'object') return undefined;
  if (key in (o as Record<string, unknown>)) return (o as Record<string, unknown>)[key];
  for (const v of Object.values(o as Record<string, unknown>)) {
    const r = find(v, key);
    if (r !== undefined) return r;
  }
  return undefined;
};

/**
 * Local maxima (8 neighbours, ties counted once at the first) of an [ny, nx] image among the pixels where `sky` is
 * true and the value exceeds `level`: the sky peaks of the evaluations.
 */
export function localMaxima(img: ArrayLike<number>, ny: number, nx: number, sky: ArrayLike<boolean>, level: number): number {
  let count = 0;
  for (let i = 0; i < ny; i++) {
    for (let j = 0; j < nx; j++) {
      const k = i * nx + j;
      if (!sky[k] || !(img[k]! > level)) continue;
      let isMax = true;
      for (let a = -1; a <= 1 && isMax; a++) {
        for (let b = -1; b <= 1; b++) {
          const y = i + a;
          const x = j + b;
          if ((a || b) && y >= 0 && y < ny && x >= 0 && x < nx && img[y * nx + x]! > img[k]!) {
            isMax = false;
            break;
          }
        }
      }
      if (isMax) count++;
    }
  }
  return count;
}
