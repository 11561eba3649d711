// The EPL lens fit (`fitLens(…, { mass: 'epl' })`) on simulated power-law lenses (tests/helpers/lens-sim.ts: an EPL
// with shear at the given slope, a Sérsic deflector, a Galaxy Zoo validation galaxy as the source on a 0.015″ grid,
// the HST ACS PSF, σ = 0.02), with the settings of tests/unit/lensing-fit-epl.test.ts (72² pixels of 0.05″, a 1.75″
// disc, an 18² fit grid, one start unless given): each parameter's fit, stated error (as reported, and the Laplace
// part alone) and pull, χ²/pixel and the CPU time. docs/lensing.md quotes its figures.
// usage: npx tsx scripts/lens-epl-recovery.ts GAMMA [SEED] [STARTS] [FIT_SOURCE_SIZE]
import { simulateLens } from '../tests/helpers/lens-sim.js';
import { annulusMask, fitLens } from '../src-shared/lensing/fit.js';

const gamma = Number(process.argv[2] ?? 2.25);
const seed = Number(process.argv[3] ?? 1);
const starts = Number(process.argv[4] ?? 1);
const fitN = Number(process.argv[5] ?? 18);
const t0 = process.cpuUsage();
const sim = simulateLens({ size: 72, psfSize: 9, seed, galaxy: 3, lens: { gamma } });
const mask = annulusMask(sim.image, 0, 1.75);
const r = fitLens({ data: sim.data, sigma: sim.sigma, image: sim.image, mask, psf: sim.psf }, { mass: 'epl', starts, fitSourceSize: fitN, sourceSize: 24, maxEvaluations: 600 });
const truth: Record<string, number> = { ...sim.truth.lens, gamma };
const n = r.names.length;
const stat = r.covarianceParts?.statistical ?? null;
for (const k of ['thetaE', 'q', 'phi', 'x0', 'y0', 'gamma1', 'gamma2', 'gamma']) {
  const P = r.parameters[k];
  const i = r.names.indexOf(k);
  const lap = stat && i >= 0 ? Math.sqrt(stat[i * n + i]) : null;
  const pull = P.error ? ((P.value - truth[k]) / P.error).toFixed(2) : '—';
  console.log(`${k.padEnd(7)} ${P.value.toFixed(4)} ± ${P.error?.toFixed(4) ?? '—'} (Laplace ${lap?.toFixed(4) ?? '—'})  truth ${truth[k]}  pull ${pull}`);
}
const u = process.cpuUsage(t0);
console.log(`seed ${seed}, γ ${gamma}, ${starts} start(s), fit grid ${fitN}²: χ²/pixel ${r.chi2PerPixel.toFixed(3)}, log Z ${r.logEvidence.toFixed(2)}, ${r.evaluations.total} evidence evaluations, ${((u.user + u.system) / 1e6).toFixed(0)} s CPU${r.laplaceNote ? `; ${r.laplaceNote}` : ''}`);
