/**
 * The visibility likelihood's linear solves, (I + c K) u = g with c = a²σ², on a UVFITS file's default posterior grid
 * (as `reconstruct --vis FILE --prior models/radio-64 --reweight` makes it: the weights rescaled to the data's
 * scatter, the grid from the source's CLEAN extent, the image-plane flux scale a):
 *   node --import tsx scripts/radio-cg-bench.ts FILE.uvfits [--precond none,circulant,embedded] [--sigmas 30,3,0.3,0.03,0.01]
 *     [--cap 500] [--tol 1e-3] [--batch 1] [--flux-scale A] [--seed 1] [--dump PREFIX]
 * --dump PREFIX writes the normal equations for scripts/radio-cg-analysis.py (PREFIX.json, .beam.f64, .dirty.f64) and stops.
 * At each σ, cold solves (no warm start, as the ending's) for the state x_p = σ z (z standard normal, seeded):
 * g = d − a K x_p, each preconditioner to the relative residual --tol or --cap iterations. Prints one JSON line per
 * (σ, preconditioner): iterations, whether capped, seconds, and the solution's relative error against a reference solve
 * without a preconditioner to a relative residual of --ref-tol (default 1e-6, at most 4000 iterations).
 */
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src-main/engine/backend.js';
import { readUvfitsFile } from '../src-main/visibility-file.js';
import { affineFor, resolvePrior } from '../src-main/priors.js';
import { imagePlaneFlux } from '../src-main/reconstruct/visibilities.js';
import { defaultProduct, selectVisibilities } from '../src-shared/radio/uvfits.js';
import { thermalCheck } from '../src-shared/radio/weighting.js';
import { posteriorGeometry } from '../src-shared/radio/field.js';
import { chooseMeasurement } from '../src-shared/radio/measurement.js';
import { cropBeam, dirtyBeam, doubleGrid } from '../src-shared/radio/imaging.js';
import { fitBeam } from '../src-shared/radio/clean.js';
import { visibilityNormalEquations } from '../src-shared/radio/normal-equations.js';
import { VisibilityLikelihood, type VisibilityLikelihoodSpec } from '../src-shared/diffusion/visibility-likelihood.js';
import { ChainRandom } from '../src-shared/diffusion/chain-rng.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const file = process.argv[2];
if (!file || file.startsWith('--')) throw new Error('usage: radio-cg-bench.ts FILE.uvfits [--precond …] [--sigmas …]');
const preconds = arg('precond', 'none,circulant,embedded').split(',') as NonNullable<VisibilityLikelihoodSpec['preconditioner']>[];
const sigmas = arg('sigmas', '30,3,0.3,0.03,0.01').split(',').map(Number);
const cap = Number(arg('cap', '500'));
const tol = Number(arg('tol', '1e-3'));
const batch = Number(arg('batch', '1'));
const seed = Number(arg('seed', '1'));
const given = arg('flux-scale', '') === '' ? null : Number(arg('flux-scale', ''));

await initBackend('wasm');
const uv = await readUvfitsFile(file);
const vis = selectVisibilities(uv, defaultProduct(uv.meta), file);
const th = thermalCheck(vis);
if (th) for (let k = 0; k < vis.n; k++) vis.weight[k] /= th.ratio * th.ratio;
let fmin = Infinity;
for (const f of uv.meta.freqs) fmin = Math.min(fmin, f);
const geo = posteriorGeometry(vis, { freqMin: fmin, dishDiameter: uv.meta.dishDiameter });
const grid = { nx: geo.size, ny: geo.size, cell: geo.cell };
const A = chooseMeasurement(vis.u, vis.v, grid);
const big = dirtyBeam(vis.u, vis.v, vis.weight, doubleGrid(grid));
const prior = await resolvePrior('models/radio-64', process.cwd(), {});
const flux = imagePlaneFlux(prior, vis, A, big, fitBeam(cropBeam(big, grid), grid), grid, given);
const affine = affineFor(prior, flux);
prior.dispose();
const equations = visibilityNormalEquations(vis, grid, { measurement: A });
const n = geo.size;
const dump = arg('dump', '');
if (dump) {
  writeFileSync(`${dump}.beam.f64`, Buffer.from(equations.beam.buffer));
  writeFileSync(`${dump}.dirty.f64`, Buffer.from(equations.dirty.buffer));
  writeFileSync(`${dump}.json`, JSON.stringify({ n, a: affine.scale, cell: geo.cell, visibilities: vis.n }));
  process.exit(0);
}
console.log(JSON.stringify({ file: path.basename(file), visibilities: vis.n, grid: n, cellMas: (geo.cell / (Math.PI / 180)) * 3.6e6, fluxScale: affine.scale, tol, cap, batch }));
// the reference: no preconditioner to --ref-tol (default 1e-6) or 4000 iterations; every solve is compared with it
const refTol = Number(arg('ref-tol', '1e-6'));
const liks = [new VisibilityLikelihood({ equations, affine, cgTol: refTol, cgMaxIterCold: 4000 }), ...preconds.map((p) => new VisibilityLikelihood({ equations, affine, cgTol: tol, cgMaxIterCold: cap, preconditioner: p }))];
const names = [`reference (none, ${refTol})`, ...preconds];
const rng = new ChainRandom(seed, 1);
for (const sigma of sigmas) {
  const x = tf.tensor3d(Float32Array.from({ length: batch * n * n }, () => sigma * rng.normal()), [batch, n, n]);
  let first: Float32Array | null = null;
  for (let i = 0; i < liks.length; i++) {
    const lik = liks[i]!;
    const it0 = lik.cgStats.iterations;
    const c0 = lik.cgStats.capped;
    const t0 = performance.now();
    const u = lik.score(x, sigma);
    const got = u.dataSync() as Float32Array;
    const seconds = (performance.now() - t0) / 1000;
    u.dispose();
    let diff = 0;
    if (first) {
      let num = 0;
      let den = 0;
      for (let p = 0; p < got.length; p++) {
        num += (got[p] - first[p]) ** 2;
        den += first[p] ** 2;
      }
      diff = Math.sqrt(num / den);
    } else first = Float32Array.from(got);
    const iterations = lik.cgStats.iterations - it0;
    console.log(JSON.stringify({ sigma, cLambdaMax: affine.scale ** 2 * sigma ** 2 * equations.beam[(n - 1) * (2 * n - 1) + n - 1], preconditioner: names[i], iterations, capped: lik.cgStats.capped > c0, seconds: +seconds.toFixed(2), msPerIteration: +((seconds * 1000) / Math.max(1, iterations)).toFixed(1), relErrorVsReference: diff }));
  }
  x.dispose();
}
for (const l of liks) l.dispose();
