// The lens fit's final inversion (fitLens step 6: a 64² source grid with the deflector's light column, λ by
// parabolic steps in ln λ) on one thread and with its factorisations split over the lens fit's worker threads
// (LensFitParallel.factor: choleskyBlockedThreaded), on the files of `lens-fit-timing.ts sim DIR`:
//
//   npx tsx scripts/lens-final-timing.ts DIR [--fit JSON] [--annulus R1,R2] [--threads N] [--reps R] [--source-size N]
//
// The system at the simulation's true lens and light (the fitted pixels of the annulus, curvature regularisation;
// λ started as the fit starts it, from the fit grid's λ of `lens-fit-timing.ts fit … --json JSON`, carried to the
// final pixel size; without --fit, from ln(tr F / tr C) − 1); the matrix and F are made once, then the λ search runs R times on
// one thread and R times on the threads, alternately: wall and CPU time (process.cpuUsage: the workers included),
// the factorisations counted, and whether the two searches' λ, evidence and source are the same bit for bit.
import { readFileSync } from 'node:fs';
import { cpuMs, flag, lensSimulationInputs } from './timing-common.js';
import { openLensFitPool } from '../src-main/lens-fit/pool/pool.js';
import { blurredLensMatrix, defaultSourceGrid, lensParamsFromMass } from '../src-shared/lensing/mass.js';
import { lambdaBalance, lnLambdaAtScale, normalEquations, optimiseLambda, regularisation } from '../src-shared/lensing/inversion.js';
import { lightColumns } from '../src-shared/lensing/light.js';

const cpu = cpuMs;

async function main(): Promise<void> {
  const [dir, ...rest] = process.argv.slice(2);
  const threads = Number(flag(rest, '--threads') ?? 2);
  const reps = Number(flag(rest, '--reps') ?? 2);
  const outN = Number(flag(rest, '--source-size') ?? 64);
  const [r1, r2] = (flag(rest, '--annulus') ?? '0,2').split(',').map(Number);
  const { truth, psf, image, pixels, y, w, mass } = await lensSimulationInputs(dir, [r1, r2]);
  const lens = lensParamsFromMass(mass);
  const grid = defaultSourceGrid(lens, image, { n: outN, margin: 1.1, pixels });
  let c0 = cpu();
  let w0 = performance.now();
  const B = blurredLensMatrix(lens, image, grid, 2, psf, pixels);
  const ne = normalEquations({ y, w, source: B, light: lightColumns([truth.light], image, psf, pixels, 2) });
  const reg = regularisation('curvature', grid.shape);
  console.log(`${pixels.length} pixels, ${outN}² grid of ${grid.scale.toFixed(4)}″, ${ne.nLight + ne.nSource} unknowns: the matrix and F ${(performance.now() - w0).toFixed(0)} ms wall, ${(cpu() - c0).toFixed(0)} ms CPU`);
  const fit = flag(rest, '--fit') ? JSON.parse(readFileSync(flag(rest, '--fit')!, 'utf8')) : null;
  const start = fit ? lnLambdaAtScale('curvature', Math.log(fit.lambda), fit.fitSourceGrid.scale, grid.scale) : lambdaBalance(ne, reg) - 1;
  const pool = openLensFitPool(threads);
  try {
    const fz = pool.factor!;
    let factored = 0;
    const counted = { matrix: (n: number) => fz.matrix(n), factor: (A: Float64Array, n: number) => (factored++, fz.factor(A, n)) };
    const warm = fz.matrix(600);
    for (let i = 0; i < 600; i++) warm[i * 601] = 1;
    fz.factor(warm, 600);
    for (let r = 0; r < reps; r++) {
      c0 = cpu();
      w0 = performance.now();
      const one = optimiseLambda(ne, reg, { start, step: 0.5, tol: 0.05, method: 'parabolic' });
      console.log(`one thread: ${one.evaluations} factorisations, ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ${((cpu() - c0) / 1000).toFixed(2)} s CPU; λ ${one.best.lambda.toFixed(4)}, log Z ${one.best.logEvidence.toFixed(3)}`);
      factored = 0;
      c0 = cpu();
      w0 = performance.now();
      const th = optimiseLambda(ne, reg, { start, step: 0.5, tol: 0.05, method: 'parabolic', factor: counted });
      const same = Object.is(th.best.lambda, one.best.lambda) && Object.is(th.best.logEvidence, one.best.logEvidence) && th.best.source.every((v, k) => Object.is(v, one.best.source[k]));
      console.log(`${threads} threads: ${factored} factorisations, ${((performance.now() - w0) / 1000).toFixed(2)} s wall, ${((cpu() - c0) / 1000).toFixed(2)} s CPU; the same λ, log Z and source bit for bit: ${same}`);
    }
  } finally {
    pool.close();
  }
}

void main();
