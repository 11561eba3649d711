// The lens fit's cost on an HST-size cutout, stage by stage, with the command's defaults.
//
//   npx tsx scripts/lens-fit-timing.ts sim DIR [--size 200] [--scale 0.05] [--seed 1] [--galaxy 3]
//     writes DIR/obs.fits, DIR/noise.fits (σ map), DIR/psf.fits (25×25) and DIR/truth.json: an SIE + shear lens with
//     a Sérsic deflector and a Galaxy Zoo validation galaxy as the source (tests/helpers/lens-sim.ts), the HST ACS
//     F814W PSF, σ = 0.02 for a source peak of 1.
//   npx tsx scripts/lens-fit-timing.ts fit DIR [--annulus R1,R2] [--json OUT] [--full-starts] [--threads N] [--speculate K] [--no-split] [--no-factor] [--factor-min N] [--columns] [lens-fit flags: --starts K, --no-errors, …]
//     runs the lens-fit orchestration (src-main/reconstruct/lens-fit-run.ts, as `skyscore lens-fit` does) on those
//     files and prints the CPU time of each stage (process.cpuUsage: user + system of this process, its worker
//     threads included), its wall time, and the fitted parameters against the truth. --full-starts: the starts on
//     the full image rather than the binned one. --threads N: the fit's pool of N worker threads (default 1: none);
//     --speculate K: with it, the cycles' Nelder–Mead runs as speculative batches of 1 + K points (default 0: not);
//     --no-split: with it, each evaluation of the sequential searches whole on the main thread (default: its blurred
//     matrix and F split over the threads); --no-factor: with it, every factorisation on the main thread (default: the
//     large ones — the final grid's λ search, the cycles' new lenses — split by panels over the threads); --factor-min
//     N: split from N unknowns on (default CHOLESKY_THREADS_MIN_N); --columns: with it, the light's columns made by the
//     threads in blocks of image rows (default: on the main thread).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFits } from '../src-shared/fits/index.js';
import { simulateLens, hstPsf } from '../tests/helpers/lens-sim.js';
import { readImage2d } from '../src-main/forward-model-files.js';
import { LENS_FIT_DEFAULTS, LENS_FIT_PSF_SIZE, lensFitPsf, runLensFit, type LensFitSettings } from '../src-main/reconstruct/lens-fit-run.js';
import type { RegularisationKind } from '../src-shared/lensing/inversion.js';
import { annulusMask, fitLens } from '../src-shared/lensing/fit.js';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function main(): Promise<void> {
  const [mode, dir, ...rest] = process.argv.slice(2);
  if (!dir || (mode !== 'sim' && mode !== 'fit')) {
    console.error('usage: lens-fit-timing.ts sim|fit DIR [options]');
    process.exit(2);
  }
  if (mode === 'sim') {
    const size = Number(flag(rest, '--size') ?? 200);
    const scale = Number(flag(rest, '--scale') ?? 0.05);
    const seed = Number(flag(rest, '--seed') ?? 1);
    const galaxy = Number(flag(rest, '--galaxy') ?? 3);
    const psfSize = 25;
    const sim = simulateLens({ size, scale, seed, galaxy, psfSize });
    mkdirSync(dir, { recursive: true });
    const shape: [number, number] = [size, size];
    writeFileSync(path.join(dir, 'obs.fits'), writeFits([{ data: Float32Array.from(sim.data), shape }]));
    writeFileSync(path.join(dir, 'noise.fits'), writeFits([{ data: Float32Array.from(sim.sigma), shape }]));
    const psf = hstPsf(psfSize);
    writeFileSync(path.join(dir, 'psf.fits'), writeFits([{ data: Float32Array.from(psf.data), shape: [psfSize, psfSize] }]));
    writeFileSync(path.join(dir, 'truth.json'), JSON.stringify({ size, scale, seed, galaxy, ...sim.truth }, null, 1));
    console.log(`wrote ${dir}: ${size}×${size} px of ${scale}″, seed ${seed}, galaxy ${galaxy}`);
    return;
  }
  const obs = await readImage2d(path.join(dir, 'obs.fits'));
  const noise = await readImage2d(path.join(dir, 'noise.fits'));
  const psfImg = await readImage2d(path.join(dir, 'psf.fits'));
  const truth = JSON.parse(readFileSync(path.join(dir, 'truth.json'), 'utf8'));
  const ann = flag(rest, '--annulus');
  const s: LensFitSettings = { ...LENS_FIT_DEFAULTS };
  if (flag(rest, '--starts')) s.starts = Number(flag(rest, '--starts'));
  if (flag(rest, '--fit-source-size')) s.fitSourceSize = Number(flag(rest, '--fit-source-size'));
  if (flag(rest, '--source-size')) s.sourceSize = Number(flag(rest, '--source-size'));
  if (flag(rest, '--regularisation')) s.regularisation = flag(rest, '--regularisation') as RegularisationKind;
  if (rest.includes('--no-errors')) s.errors = false;
  const threads = Number(flag(rest, '--threads') ?? 1);
  const speculate = Number(flag(rest, '--speculate') ?? 0);
  const psf = lensFitPsf(psfImg, LENS_FIT_PSF_SIZE, obs.shape, 'psf.fits');
  const mask = ann ? { kind: 'annulus' as const, r1: Number(ann.split(',')[0]), r2: Number(ann.split(',')[1]) } : null;
  // stage boundaries: the progress lines that end a stage
  const stages: { name: string; cpu: number; wall: number }[] = [];
  const c0 = cpu();
  const w0 = Date.now();
  let last = c0;
  let lastW = w0;
  const mark = (name: string) => {
    const c = cpu();
    const w = Date.now();
    stages.push({ name, cpu: c - last, wall: (w - lastW) / 1000 });
    last = c;
    lastW = w;
  };
  let stage = 'light alone';
  const onLine = (l: { progress: { message: string } | null; done: boolean; line: string }) => {
      const m = l.progress?.message ?? '';
      process.stderr.write(`${l.line}  [cpu ${(cpu() - c0).toFixed(1)} s]\n`);
      let next: string | null = null;
      const start = /^mass, start (\d+)\/(\d+) done/.exec(m);
      if (/ring radius/.test(m)) next = 'starts (scan + Nelder–Mead)';
      else if (start && start[1] === start[2]) next = 'light and mass in turn';
      else if (/^fitted/.test(m)) next = 'Hessian steps';
      else if (/Hessian of/.test(m)) next = 'Hessian';
      else if (/λ marginalised/.test(m)) next = 'error terms (λ, grids, optimiser)';
      else if (/^source:/.test(m)) next = 'final inversion';
      else if (l.done) next = 'products';
      if (next !== null && next !== stage) {
        mark(stage);
        stage = next;
      }
  };
  // --full-starts: the starts on the full image (fitLens's coarseStarts: false), the fit called as runLensFit calls it
  // (its products, under a second, left out)
  const image = { shape: obs.shape, scale: Number(truth.scale) };
  const r = rest.includes('--full-starts')
    ? fitLens({ data: obs.data, sigma: noise.data, image, mask: mask ? annulusMask(image, mask.r1, mask.r2) : null, psf }, {
        lightComponents: s.light, fitSourceSize: s.fitSourceSize, sourceSize: s.sourceSize, supersample: s.supersample, regularisation: s.regularisation, starts: s.starts, errors: s.errors, mass: 'sie', coarseStarts: false,
        onProgress: (pr) => onLine({ progress: pr, done: false, line: `lens-fit: ${((Date.now() - w0) / 1000).toFixed(0)}s ${pr.message}` }),
      })
    : runLensFit({ obs, sigma: noise.data, noiseText: 'noise.fits', psf, pixelScale: Number(truth.scale), mask }, s, 'lens-fit (timing)', { onLine, threads, speculate, split: !rest.includes('--no-split'), factor: !rest.includes('--no-factor'), columns: rest.includes('--columns'), ...(flag(rest, '--factor-min') ? { factorMinN: Number(flag(rest, '--factor-min')) } : {}) }).result;
  mark(stage);
  stages.push({ name: 'total', cpu: cpu() - c0, wall: (Date.now() - w0) / 1000 });
  const p = r.parameters;
  const rows = stages.map((x) => `${x.name.padEnd(36)} ${x.cpu.toFixed(1).padStart(8)} s CPU ${x.wall.toFixed(1).padStart(8)} s wall`);
  console.log(rows.join('\n'));
  // the process's peak resident memory (its worker threads' heaps included)
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(`threads ${threads}: peak resident memory ${maxRssMB.toFixed(0)} MB`);
  const t = truth.lens;
  const fmt = (k: string, tv: number) => `${k} ${p[k].value.toFixed(5)} ± ${p[k].error?.toFixed(5) ?? '—'} (truth ${tv}, pull ${p[k].error ? ((p[k].value - tv) / p[k].error).toFixed(2) : '—'})`;
  console.log([fmt('thetaE', t.thetaE), fmt('q', t.q), fmt('phi', t.phi), fmt('x0', t.x0), fmt('y0', t.y0), fmt('gamma1', t.gamma1), fmt('gamma2', t.gamma2)].join('\n'));
  console.log(`log Z ${r.logEvidence.toFixed(3)} (fit grid ${r.logEvidenceFit.toFixed(3)}), χ²/pixel ${r.chi2PerPixel.toFixed(4)} over ${r.nPixels} px, λ ${r.lambda.toPrecision(5)}; evaluations ${JSON.stringify(r.evaluations)}`);
  const json = flag(rest, '--json');
  if (json) {
    writeFileSync(json, JSON.stringify({ threads, maxRssMB, stages, parameters: p, logEvidence: r.logEvidence, logEvidenceFit: r.logEvidenceFit, chi2PerPixel: r.chi2PerPixel, nPixels: r.nPixels, evaluations: r.evaluations, errorBudget: r.covarianceParts ? Object.fromEntries(Object.entries(r.covarianceParts).map(([k, m]) => [k, m ? r.names.map((_, i) => Math.sqrt(Math.max(0, m[i * r.names.length + i]))) : null])) : null, names: r.names, sigmaLnLambda: r.systematics?.sigmaLnLambda ?? null, covarianceParts: r.covarianceParts ? Object.fromEntries(Object.entries(r.covarianceParts).map(([k, m]) => [k, m ? Array.from(m) : null])) : null, mass: r.mass, light: r.light, lambda: r.lambda, fitSourceGrid: r.fitSourceGrid, image: r.image, truth }, null, 1));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
