// One evidence evaluation's source part (the blurred lens matrix B at the fitted pixels and F = BᵀWB, d = BᵀWy) on
// one thread and split over the lens fit's worker threads (LensFitParallel.sourcePart: B by blocks of image rows,
// F by bands of its rows), on the files of `lens-fit-timing.ts sim DIR`:
//
//   npx tsx scripts/lens-split-timing.ts DIR [--annulus R1,R2] [--threads N] [--reps R] [--fit-source-size N]
//
// R lenses near the truth (each a new lens: nothing cached), the same on both sides; for each, the serial B and F
// (blurredLensMatrix, normalEquations) and then the split one, wall and CPU (process.cpuUsage: the workers included)
// of each, and whether B, F and d are the same bit for bit; then R two-component lights' columns (lightColumns) on
// one thread and made by the threads (LensFitParallel.lightColumns), alternately. The pool is opened and warmed (its
// workers load, build their evidence functions and make one split) before the timing.
import { cpuMs, flag, lensSimulationInputs } from './timing-common.js';
import { openLensFitPool } from '../src-main/lens-fit/pool/pool.js';
import type { LensFitTaskState } from '../src-shared/lensing/fit.js';
import { blurredLensMatrix, defaultSourceGrid, lensParamsFromMass, type MassVector } from '../src-shared/lensing/mass.js';
import { normalEquations } from '../src-shared/lensing/inversion.js';
import { lightColumns, type SersicParams } from '../src-shared/lensing/light.js';

const cpu = cpuMs;

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

async function main(): Promise<void> {
  const [dir, ...rest] = process.argv.slice(2);
  const threads = Number(flag(rest, '--threads') ?? 2);
  const reps = Number(flag(rest, '--reps') ?? 10);
  const [r1, r2] = (flag(rest, '--annulus') ?? '0,2').split(',').map(Number);
  const fitN = Number(flag(rest, '--fit-source-size') ?? 24);
  const { truth, psf, image, d, pixels, y, w, mass: truthMass } = await lensSimulationInputs(dir, [r1, r2]);
  const fitGrid = defaultSourceGrid(lensParamsFromMass(truthMass), image, { n: fitN, margin: 1.3, pixels });
  const masses = Array.from({ length: reps + 1 }, (_, k): MassVector => ({ ...truthMass, thetaE: truthMass.thetaE * (1 + 0.001 * k), e1: truthMass.e1 + 0.002 * k }));
  const state: LensFitTaskState = { data: { ...d, mask: null }, pixels, fitGrid, regularisation: 'curvature', supersample: 2, coarse: false, epl: false, massTol: [], maxEvaluations: 100 };
  console.log(`${pixels.length} pixels, ${fitN}² fit grid (${fitGrid.scale.toFixed(4)}″), PSF ${psf.shape.join('×')}, ${threads} threads, ${reps} lenses`);
  const pool = openLensFitPool(threads, { columns: true });
  try {
    pool.begin(state);
    pool.sourcePart!(masses[reps]); // warm: the workers load and build their evidence functions
    let sB = 0;
    let sF = 0;
    let sCpu = 0;
    let pW = 0;
    let pCpu = 0;
    let same = true;
    for (let k = 0; k < reps; k++) {
      const m = masses[k];
      const c0 = cpu();
      const t0 = performance.now();
      const B = blurredLensMatrix(lensParamsFromMass(m), image, fitGrid, 2, psf, pixels);
      const t1 = performance.now();
      const ne = normalEquations({ y, w, source: B, light: [] });
      const t2 = performance.now();
      const c1 = cpu();
      const s = pool.sourcePart!(m);
      const t3 = performance.now();
      const c2 = cpu();
      sB += t1 - t0;
      sF += t2 - t1;
      sCpu += c1 - c0;
      pW += t3 - t2;
      pCpu += c2 - c1;
      const Bs = s.parts[0];
      same &&= s.parts.length === 1 && sameBits(B.rowPtr, Bs.rowPtr) && sameBits(B.colIdx, Bs.colIdx) && sameBits(B.values, Bs.values) && sameBits(ne.F, s.F) && sameBits(ne.d, s.d);
    }
    const f = (x: number) => (x / reps).toFixed(1);
    console.log(`one thread: B ${f(sB)} ms, F ${f(sF)} ms, B + F ${f(sB + sF)} ms wall, ${f(sCpu)} ms CPU per evaluation`);
    console.log(`split on ${threads} threads: ${f(pW)} ms wall, ${f(pCpu)} ms CPU per evaluation (×${((sB + sF) / pW).toFixed(2)} in wall time)`);
    console.log(`B, F and d the same bit for bit: ${same}`);
    // the light's columns (LensFitParallel.lightColumns): R shapes of the two-component light near the simulation's
    const light0 = truth.light;
    const lights = Array.from({ length: reps }, (_, k): SersicParams[] => [
      { ...light0, rEff: light0.rEff * (1 + 0.01 * k) },
      { ...light0, rEff: 0.3 * light0.rEff * (1 + 0.01 * k), n: 1 },
    ]);
    pool.lightColumns!(lights[0]);
    let lW = 0;
    let lCpu = 0;
    let qW = 0;
    let qCpu = 0;
    let sameL = true;
    for (const l of lights) {
      const c0 = cpu();
      const t0 = performance.now();
      const one = lightColumns(l, image, psf, pixels, 2);
      const t1 = performance.now();
      const c1 = cpu();
      const th = pool.lightColumns!(l);
      const t2 = performance.now();
      const c2 = cpu();
      lW += t1 - t0;
      lCpu += c1 - c0;
      qW += t2 - t1;
      qCpu += c2 - c1;
      sameL &&= sameBits(one[0], th[0]) && sameBits(one[1], th[1]);
    }
    console.log(`the light's columns (two components), one thread: ${f(lW)} ms wall, ${f(lCpu)} ms CPU; on ${threads} threads: ${f(qW)} ms wall, ${f(qCpu)} ms CPU (×${(lW / qW).toFixed(2)} in wall time); the same bit for bit: ${sameL}`);
  } finally {
    pool.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
