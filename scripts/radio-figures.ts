/**
 * The figures of docs/radio.md: NUFFT accuracy against the direct DFT and its speed on the shared UVFITS files.
 *   node --import tsx scripts/radio-figures.ts
 * (the CLEAN figures come from `skyscore clean` itself: docs/radio.md gives the command lines).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readUvfits, selectVisibilities, defaultProduct } from '../src-shared/radio/uvfits.js';
import { makeDft, makeNufftMeasurement } from '../src-shared/radio/measurement.js';
import { kernelWidth } from '../src-shared/radio/nufft.js';
import type { ImageGrid } from '../src-shared/radio/grid.js';

const DATA = path.resolve(import.meta.dirname, '../../shared/data/uvfits');
const files = ['vlba43_BLLAC_2013may30.uvfits', 'ehtim_sample_SYNTHETIC_sgra.uvfits', 'hera_sim_fewant_randsrc100.uvfits', 'paper_zen.2456865.60537.xy.uvcRREAAM.uvfits'];

function rand(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  });
}

function rel(a: { re: Float64Array; im: Float64Array }, b: { re: Float64Array; im: Float64Array }): number {
  let n = 0;
  let d = 0;
  for (let i = 0; i < a.re.length; i++) {
    n += (a.re[i] - b.re[i]) ** 2 + (a.im[i] - b.im[i]) ** 2;
    d += b.re[i] ** 2 + b.im[i] ** 2;
  }
  return Math.sqrt(n / d);
}

function time(f: () => void, reps = 3): number {
  f();
  const t = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t) / reps;
}

for (const f of files) {
  const uv = readUvfits(new Uint8Array(readFileSync(path.join(DATA, f))), f);
  const v = selectVisibilities(uv, defaultProduct(uv.meta), f);
  let umax = 0;
  for (let k = 0; k < v.n; k++) umax = Math.max(umax, Math.hypot(v.u[k], v.v[k]));
  const cell = 1 / (6 * umax);
  // accuracy on 128² (the DFT stays affordable), tolerance sweep
  const g: ImageGrid = { nx: 128, ny: 128, cell };
  const x = rand(128 * 128, 7);
  const ref = makeDft(v.u, v.v, g).forward(x);
  const errs = [1e-3, 1e-5, 1e-7, 1e-9].map((tol) => `W=${kernelWidth(tol)}: ${rel(makeNufftMeasurement(v.u, v.v, g, { tol }).forward(x), ref).toExponential(1)}`);
  const tDft = time(() => makeDft(v.u, v.v, g).forward(x), 1);
  console.log(`${f}: ${v.n} visibilities; NUFFT vs DFT (128², forward) ${errs.join(', ')}; DFT forward ${tDft.toFixed(0)} ms`);
  for (const n of [256, 512]) {
    const gg: ImageGrid = { nx: n, ny: n, cell };
    const t0 = performance.now();
    const A = makeNufftMeasurement(v.u, v.v, gg);
    const tPlan = performance.now() - t0;
    const xx = rand(n * n, 3);
    const tf = time(() => A.forward(xx));
    const y = A.forward(xx);
    const ta = time(() => A.adjoint(y.re, y.im));
    console.log(`  ${n}²: plan ${tPlan.toFixed(0)} ms, forward ${tf.toFixed(0)} ms, adjoint ${ta.toFixed(0)} ms (W = 8)`);
  }
}
