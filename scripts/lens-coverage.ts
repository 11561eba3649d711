// Coverage of the lens fit's stated errors over simulated lenses (tests/helpers/lens-sim.ts: SIE + shear, a Sérsic
// deflector, Galaxy Zoo validation galaxies as sources, the HST ACS PSF, Gaussian noise), one line per simulation
// and a summary: the errors in θE and q, and the fraction of pulls |fit − truth|/σ within 1, 2 and 3.
// usage: npx tsx scripts/lens-coverage.ts [N] [first seed]
import { simulateLens } from '../tests/helpers/lens-sim.js';
import { annulusMask, fitLens } from '../src-shared/lensing/fit.js';

const N = Number(process.argv[2] ?? 4);
const first = Number(process.argv[3] ?? 2);
const names = ['thetaE', 'q', 'phi', 'x0', 'y0', 'gamma1', 'gamma2'] as const;
const pulls: number[] = [];
const dTheta: number[] = [];
const dQ: number[] = [];
for (let s = first; s < first + N; s++) {
  const c0 = process.cpuUsage();
  // lens parameters vary with the seed
  const u = (k: number) => ((Math.sin(s * 12.9898 + k * 78.233) * 43758.5453) % 1 + 1) % 1;
  const lens = { thetaE: 1.0 + 0.4 * u(1), q: 0.6 + 0.3 * u(2), phi: Math.PI * (u(3) - 0.5), x0: 0.1 * (u(4) - 0.5), y0: 0.1 * (u(5) - 0.5), gamma1: 0.08 * (u(6) - 0.5), gamma2: 0.08 * (u(7) - 0.5) };
  const sim = simulateLens({ size: 72, psfSize: 9, seed: s, galaxy: s * 7, lens });
  const mask = annulusMask(sim.image, 0, 1.75);
  const r = fitLens({ data: sim.data, sigma: sim.sigma, image: sim.image, mask, psf: sim.psf }, { starts: 2, fitSourceSize: 18, sourceSize: 24, maxEvaluations: 600 });
  const t = sim.truth.lens;
  const line: string[] = [];
  for (const k of names) {
    const p = r.parameters[k];
    let diff = p.value - t[k];
    if (k === 'phi') diff = Math.atan2(Math.sin(2 * diff), Math.cos(2 * diff)) / 2;
    const pull = p.error ? diff / p.error : NaN;
    if (k !== 'phi' || t.q < 0.95) pulls.push(pull);
    line.push(`${k} ${p.value.toFixed(4)}±${p.error?.toFixed(4)} (truth ${t[k].toFixed(4)}, pull ${pull.toFixed(2)})`);
  }
  dTheta.push((r.parameters.thetaE.value - t.thetaE) / t.thetaE);
  dQ.push(r.parameters.q.value - t.q);
  const cpu = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1e6;
  console.log(`seed ${s}: ${line.join(', ')}; log Z ${r.logEvidence.toFixed(1)}, χ²/px ${r.chi2PerPixel.toFixed(3)}, evaluations ${r.evaluations.total}, cpu ${cpu.toFixed(1)} s, wall ${r.seconds.toFixed(1)} s`);
}
const finite = pulls.filter(Number.isFinite);
const frac = (k: number) => finite.filter((p) => Math.abs(p) <= k).length / finite.length;
const rms = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
console.log(`${N} simulations: θE relative error rms ${(100 * rms(dTheta)).toFixed(2)} % (max ${(100 * Math.max(...dTheta.map(Math.abs))).toFixed(2)} %), q error rms ${rms(dQ).toFixed(4)} (max ${Math.max(...dQ.map(Math.abs)).toFixed(4)})`);
console.log(`pulls of the 7 mass parameters (${finite.length}): within 1σ ${(100 * frac(1)).toFixed(0)} %, 2σ ${(100 * frac(2)).toFixed(0)} %, 3σ ${(100 * frac(3)).toFixed(0)} % (Gaussian: 68, 95, 99.7)`);
