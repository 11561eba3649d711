// Coverage of the lens fit's stated errors over simulated lenses (tests/helpers/lens-sim.ts: SIE + shear, a Sérsic
// deflector, Galaxy Zoo validation galaxies as sources, the HST ACS PSF, Gaussian noise), one line per simulation
// and a summary: the errors in θE and q, and the fraction of pulls |fit − truth|/σ within 1, 2 and 3 — for the
// errors as reported (every term) and for each part of the error budget (fit.ts: the Laplace approximation alone,
// then with λ marginalised, the fit grid's scatter and the optimiser's distance added in turn). Each simulation's
// figures are also printed as one `json` line, so that several runs can be pooled (--pool FILE…).
// usage: npx tsx scripts/lens-coverage.ts [N] [first seed] [starts] [--full-starts]
//        (--full-starts: the starts on the full image rather than the binned one, fitLens's coarseStarts: false)
//        npx tsx scripts/lens-coverage.ts --pool out1.txt out2.txt …
import { readFileSync } from 'node:fs';
import { simulateLens } from '../tests/helpers/lens-sim.js';
import { annulusMask, fitLens, qPhiErrors, type LensFitResult } from '../src-shared/lensing/fit.js';

const names = ['thetaE', 'q', 'phi', 'x0', 'y0', 'gamma1', 'gamma2'] as const;
const index: Record<string, number> = { thetaE: 0, x0: 3, y0: 4, gamma1: 5, gamma2: 6 };
/** The error budgets compared: which parts of fit.ts's covariance are summed. */
const BUDGETS = {
  laplace: ['statistical'],
  '+lambda': ['statistical', 'lambda'],
  '+grid': ['statistical', 'lambda', 'grid'],
  '+resolution': ['statistical', 'lambda', 'grid', 'resolution'],
  'all (reported)': ['statistical', 'lambda', 'grid', 'resolution', 'optimiser'],
} as const;
type Budget = keyof typeof BUDGETS;

interface SimLine {
  seed: number;
  diffs: Record<string, number>;
  errors: Record<Budget, Record<string, number | null>>;
  chi2PerPixel: number;
  dThetaRel: number;
  dQ: number;
  roundish: boolean;
}

function errorsOf(r: LensFitResult, parts: readonly string[]): Record<string, number | null> {
  const P = r.covarianceParts;
  const out: Record<string, number | null> = {};
  if (!P) {
    for (const k of names) out[k] = null;
    return out;
  }
  const n = r.names.length;
  const cov = new Float64Array(n * n);
  for (const p of parts) {
    const m = P[p as keyof typeof P];
    if (m) for (let k = 0; k < cov.length; k++) cov[k] += m[k];
  }
  for (const k of names) if (k in index) out[k] = cov[index[k] * n + index[k]] > 0 ? Math.sqrt(cov[index[k] * n + index[k]]) : null;
  [out.q, out.phi] = qPhiErrors(cov, n, 1, 2, r.mass.e1, r.mass.e2);
  return out;
}

function summary(lines: SimLine[]): void {
  const rms = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  const good = lines.filter((l) => l.chi2PerPixel < 1.5);
  console.log(`${lines.length} simulations, ${lines.length - good.length} ended on a wrong optimum (χ²/pixel ≥ 1.5): ${lines.filter((l) => l.chi2PerPixel >= 1.5).map((l) => `seed ${l.seed}`).join(', ') || 'none'}`);
  console.log(`right optima: θE relative error rms ${(100 * rms(good.map((l) => l.dThetaRel))).toFixed(3)} %, q error rms ${rms(good.map((l) => l.dQ)).toFixed(4)}`);
  // the budgets as variances (the delta method for q and φ is linear in the covariance, so parts add in variance):
  // also half the grid term — the scatter of the differences between two grids' optima is twice that of one
  // grid's bias when they are independent
  const v = (l: SimLine, b: Budget, k: string) => (l.errors[b][k] ?? NaN) ** 2;
  const variants: Record<string, (l: SimLine, k: string) => number> = {
    laplace: (l, k) => v(l, 'laplace', k),
    '+lambda': (l, k) => v(l, '+lambda', k),
    '+grid/2': (l, k) => v(l, '+lambda', k) + 0.5 * (v(l, '+grid', k) - v(l, '+lambda', k)),
    '+grid/2+opt': (l, k) => v(l, '+lambda', k) + 0.5 * (v(l, '+grid', k) - v(l, '+lambda', k)) + (v(l, 'all (reported)', k) - v(l, '+grid', k)),
    '+grid': (l, k) => v(l, '+grid', k),
    '+resolution': (l, k) => v(l, '+resolution', k),
    'all (reported)': (l, k) => v(l, 'all (reported)', k),
  };
  for (const [b, variance] of Object.entries(variants)) {
    const pulls: number[] = [];
    const per: Record<string, number[]> = {};
    for (const l of good) {
      for (const k of names) {
        if (k === 'phi' && l.roundish) continue;
        const e = Math.sqrt(variance(l, k));
        if (!(e > 0)) continue;
        const p = l.diffs[k] / e;
        pulls.push(p);
        (per[k] ??= []).push(p);
      }
    }
    const frac = (k: number) => (100 * pulls.filter((p) => Math.abs(p) <= k).length) / pulls.length;
    const perText = names.map((k) => `${k} ${per[k] ? rms(per[k]).toFixed(1) : '—'}`).join(', ');
    console.log(`${b.padEnd(15)} ${pulls.length} pulls: within 1σ ${frac(1).toFixed(0)} %, 2σ ${frac(2).toFixed(0)} %, 3σ ${frac(3).toFixed(0)} % (Gaussian 68, 95, 99.7); rms pull ${rms(pulls).toFixed(2)}; per parameter rms: ${perText}`);
  }
}

if (process.argv[2] === '--pool') {
  const lines: SimLine[] = [];
  for (const f of process.argv.slice(3)) for (const t of readFileSync(f, 'utf8').split('\n')) if (t.startsWith('json ')) lines.push(JSON.parse(t.slice(5)));
  summary(lines);
} else {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const N = Number(args[0] ?? 4);
  const first = Number(args[1] ?? 2);
  const starts = Number(args[2] ?? 2);
  const coarseStarts = !process.argv.includes('--full-starts');
  const lines: SimLine[] = [];
  for (let s = first; s < first + N; s++) {
    const c0 = process.cpuUsage();
    // lens parameters vary with the seed
    const u = (k: number) => ((Math.sin(s * 12.9898 + k * 78.233) * 43758.5453) % 1 + 1) % 1;
    const lens = { thetaE: 1.0 + 0.4 * u(1), q: 0.6 + 0.3 * u(2), phi: Math.PI * (u(3) - 0.5), x0: 0.1 * (u(4) - 0.5), y0: 0.1 * (u(5) - 0.5), gamma1: 0.08 * (u(6) - 0.5), gamma2: 0.08 * (u(7) - 0.5) };
    const sim = simulateLens({ size: 72, psfSize: 9, seed: s, galaxy: s * 7, lens });
    const mask = annulusMask(sim.image, 0, 1.75);
    const r = fitLens({ data: sim.data, sigma: sim.sigma, image: sim.image, mask, psf: sim.psf }, { starts, fitSourceSize: 18, sourceSize: 24, maxEvaluations: 600, coarseStarts });
    const t = sim.truth.lens;
    const diffs: Record<string, number> = {};
    const text: string[] = [];
    for (const k of names) {
      const p = r.parameters[k];
      let diff = p.value - t[k];
      if (k === 'phi') diff = Math.atan2(Math.sin(2 * diff), Math.cos(2 * diff)) / 2;
      diffs[k] = diff;
      text.push(`${k} ${p.value.toFixed(4)}±${p.error?.toFixed(4)} (truth ${t[k].toFixed(4)}, pull ${p.error ? (diff / p.error).toFixed(2) : '—'})`);
    }
    const errors = {} as SimLine['errors'];
    for (const b of Object.keys(BUDGETS) as Budget[]) errors[b] = errorsOf(r, BUDGETS[b]);
    const line: SimLine = { seed: s, diffs, errors, chi2PerPixel: r.chi2PerPixel, dThetaRel: (r.parameters.thetaE.value - t.thetaE) / t.thetaE, dQ: r.parameters.q.value - t.q, roundish: t.q >= 0.95 };
    lines.push(line);
    const cpu = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1e6;
    const sys = r.systematics ? `, σ(ln λ) ${r.systematics.sigmaLnLambda.toFixed(2)}` : '';
    console.log(`seed ${s}: ${text.join(', ')}; log Z ${r.logEvidence.toFixed(1)}, χ²/px ${r.chi2PerPixel.toFixed(3)}${sys}, evaluations ${JSON.stringify(r.evaluations)}, cpu ${cpu.toFixed(1)} s, wall ${r.seconds.toFixed(1)} s`);
    console.log(`json ${JSON.stringify(line)}`);
  }
  summary(lines);
}
