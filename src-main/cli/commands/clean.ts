import path from 'node:path';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../../io.js';
import { readImage2d } from '../../forward-model-files.js';
import { readUvfitsFile } from '../../visibility-file.js';
import { defaultProduct, noVisibilitiesMessage, selectVisibilities } from '../../../src-shared/radio/uvfits.js';
import type { WeightingScheme } from '../../../src-shared/radio/weighting.js';
import type { CleanMethod } from '../../../src-shared/radio/clean.js';
import { cleanProductsSync, imagingGeometry, productNames, type MeasurementMethod } from '../../reconstruct/clean-products.js';
import { describeClosureStart, describeRound, gainPhaseRms, gainTableFile, selfcalFlags, selfcalHistory, selfcalLoop, type SelfcalMode } from '../../../src-shared/radio/selfcal.js';

export { productNames } from '../../reconstruct/clean-products.js';

/** An angle given in degrees, in mas, arcsec, arcmin or degrees. */
function angle(deg: number): string {
  const as = deg * 3600;
  if (as < 1) return `${+(as * 1000).toPrecision(4)} mas`;
  if (as < 60) return `${+as.toPrecision(4)}″`;
  if (as < 3600) return `${+(as / 60).toPrecision(4)}′`;
  return `${+deg.toPrecision(4)}°`;
}

function jy(x: number): string {
  const a = Math.abs(x);
  return a >= 1 || a === 0 ? `${+x.toPrecision(4)} Jy` : a >= 1e-3 ? `${+(x * 1e3).toPrecision(4)} mJy` : `${+(x * 1e6).toPrecision(4)} µJy`;
}

export const cleanCommand: Command = {
  name: 'clean',
  summary: 'dirty image, dirty beam and CLEAN (Högbom or Cotton–Schwab) of UVFITS visibilities',
  usage: `usage: skyscore clean --vis FILE.uvfits --out NAME [--size N] [--cell ARCSEC]
                      [--weighting natural|uniform|briggs] [--robust R] [--stokes P] [--source NAME]
                      [--niter K] [--gain G] [--threshold JY] [--mask MASK.fits]
                      [--cotton-schwab | --hogbom] [--method auto|dft|nufft]
                      [--selfcal p|ap [--selfcal-rounds R] [--solint SECONDS] [--selfcal-start auto|point|clean|closure]]

Images the visibilities of a UVFITS file and deconvolves them with CLEAN (docs/radio.md). Stokes I is
formed from the parallel hands ((RR+LL)/2 or (XX+YY)/2; a single hand alone when the file has one);
flagged data (weight ≤ 0) are left out. Each channel and IF is gridded at its own (u, v) (multi-frequency
synthesis). Writes, as WSClean names them, NAME-dirty.fits and NAME-psf.fits, and with --niter > 0
NAME-model.fits (Jy/pixel), NAME-residual.fits and NAME-image.fits (model ⊛ restoring beam + residual,
Jy/beam), each with a SIN-projection WCS at the phase centre (RA increasing to the left), BMAJ, BMIN and
BPA (the restoring beam: a Gaussian fitted to the dirty beam's main lobe), frequency and Stokes axes.

  --vis FILE.uvfits   the visibilities (a CASA Measurement Set is refused: export it with exportuvfits)
  --out NAME          the products' path prefix (NAME-dirty.fits, …; each written to a temporary name, then renamed)
  --size N            image size, N × N pixels (default: from the primary beam if the AN table gives the
                      dish diameter, else 2/u_min; within 64…1024)
  --cell ARCSEC       pixel size (default 1/(6·u_max): three pixels across the longest baseline's half fringe)
  --weighting W       natural (default), uniform or briggs, on the image's uv grid
  --robust R          Briggs robustness, −2 (≈ uniform) … 2 (≈ natural); default 0
  --stokes P          the product to image: I (default) or a correlation in the file (RR, LL, XX, XY, …)
  --source NAME       the source of a multi-source file (its SU table name or SOURCE number); required there
  --niter K           most CLEAN iterations (default 1000; 0 writes the dirty image and beam only)
  --gain G            loop gain, 0 < G ≤ 1 (default 0.1)
  --threshold JY      stop when the residual's peak falls below JY (Jy/beam; default 0)
  --mask MASK.fits    CLEAN only where MASK is non-zero (an image of the output's size)
  --cotton-schwab     major cycles through the measurement operator (default)
  --hogbom            image-plane minor cycles only
  --method M          the measurement operator: auto (default: DFT for small problems), dft or nufft
  --selfcal p|ap      self-calibrate first (docs/radio.md, Self-calibration): R rounds of CLEAN (these settings),
                      antenna gains solved against the CLEAN model (p: phases; ap: phases in round 1, then
                      amplitudes and phases) and applied to the data; the products are made from the corrected
                      visibilities, and NAME-gains.json holds the last round's gains (time, antenna, amplitude, phase)
  --selfcal-rounds R  rounds of CLEAN, solve, apply (default 3)
  --solint SECONDS    solution interval (default 0: each time stamp); one gain per antenna for every IF and channel
  --selfcal-start S   the first round's model: clean (the CLEAN of the data as given), point (a point source at
                      the phase centre, difmap's starting model: it pulls the first phases toward a point), closure
                      (a regularised maximum-likelihood image of the closure phases and log closure amplitudes,
                      which station gains do not change: 64² pixels over 4 × the amplitudes' half-power size, the
                      shortest baselines' flux; for sparse VLBI arrays, at most 20000 visibilities in closures:
                      about a minute on the EHT file's 714), or auto (default): clean
                      where that CLEAN's model fits the data to χ²/dof ≤ 10, else point`,
  async run(argv) {
    const p = parse(
      argv,
      {
        vis: { type: 'string' },
        out: { type: 'string' },
        size: { type: 'string' },
        cell: { type: 'string' },
        weighting: { type: 'string' },
        robust: { type: 'string' },
        stokes: { type: 'string' },
        source: { type: 'string' },
        niter: { type: 'string' },
        gain: { type: 'string' },
        threshold: { type: 'string' },
        mask: { type: 'string' },
        'cotton-schwab': { type: 'boolean' },
        hogbom: { type: 'boolean' },
        method: { type: 'string' },
        selfcal: { type: 'string' },
        'selfcal-rounds': { type: 'string' },
        solint: { type: 'string' },
        'selfcal-start': { type: 'string' },
      },
      'clean',
    );
    if (p.positionals.length) throw new UsageError(`clean: unexpected argument '${p.positionals[0]}'`);
    const visPath = requireString(p, 'vis', 'clean');
    const out = requireString(p, 'out', 'clean');
    const size = optionalString(p, 'size') === undefined ? undefined : numberFlag(p, 'size', 'clean', { integer: true, min: 8, max: 8192 });
    const cellAs = optionalString(p, 'cell') === undefined ? undefined : numberFlag(p, 'cell', 'clean', { positive: true });
    const scheme = (optionalString(p, 'weighting') ?? 'natural') as WeightingScheme;
    if (!['natural', 'uniform', 'briggs'].includes(scheme)) throw new UsageError(`clean: --weighting must be natural, uniform or briggs, got '${scheme}'`);
    const robust = numberFlag(p, 'robust', 'clean', { default: 0, min: -2, max: 2 });
    if (optionalString(p, 'robust') !== undefined && scheme !== 'briggs') throw new UsageError('clean: --robust applies to --weighting briggs only');
    const niter = numberFlag(p, 'niter', 'clean', { default: 1000, integer: true, min: 0 });
    const gain = numberFlag(p, 'gain', 'clean', { default: 0.1, positive: true, max: 1 });
    const threshold = numberFlag(p, 'threshold', 'clean', { default: 0, min: 0 });
    if (p.values.hogbom === true && p.values['cotton-schwab'] === true) throw new UsageError('clean: give --hogbom or --cotton-schwab, not both');
    const method: CleanMethod = p.values.hogbom === true ? 'hogbom' : 'cotton-schwab';
    const measure = optionalString(p, 'method') ?? 'auto';
    if (!['auto', 'dft', 'nufft'].includes(measure)) throw new UsageError(`clean: --method must be auto, dft or nufft, got '${measure}'`);
    const selfcalMode = optionalString(p, 'selfcal') as SelfcalMode | undefined;
    if (selfcalMode !== undefined && selfcalMode !== 'p' && selfcalMode !== 'ap') throw new UsageError(`clean: --selfcal must be p or ap, got '${selfcalMode}'`);
    for (const f of ['selfcal-rounds', 'solint', 'selfcal-start'] as const) {
      if (selfcalMode === undefined && optionalString(p, f) !== undefined) throw new UsageError(`clean: --${f} applies with --selfcal only`);
    }
    const rounds = numberFlag(p, 'selfcal-rounds', 'clean', { default: 3, integer: true, min: 1, max: 50 });
    const solint = numberFlag(p, 'solint', 'clean', { default: 0, min: 0 });
    const start = optionalString(p, 'selfcal-start') ?? 'auto';
    if (start !== 'auto' && start !== 'clean' && start !== 'point' && start !== 'closure') throw new UsageError(`clean: --selfcal-start must be auto, point, clean or closure, got '${start}'`);
    if (selfcalMode !== undefined && niter < 1) throw new UsageError('clean: --selfcal needs a CLEAN model: --niter ≥ 1');
    const names = [...productNames(out, niter), ...(selfcalMode ? [`${out}-gains.json`] : [])];
    for (const f of names) {
      if (path.resolve(f) === path.resolve(visPath)) throw new UsageError(`clean: --out ${out} would overwrite the input ${visPath}`);
    }

    const t0 = performance.now();
    const uv = await readUvfitsFile(visPath);
    const product = optionalString(p, 'stokes')?.toUpperCase() ?? defaultProduct(uv.meta);
    const vis = selectVisibilities(uv, product, visPath, optionalString(p, 'source'));
    for (const n of vis.notes) process.stderr.write(`skyscore: note: ${n}\n`);
    if (vis.n === 0) {
      throw new UsageError(`clean: ${noVisibilitiesMessage(visPath, vis)}`);
    }
    const { grid, notes: geoNotes, umax } = imagingGeometry(uv, vis, { size, cellArcsec: cellAs });
    if (grid.cell * umax > 0.5) {
      process.stderr.write(
        `skyscore: note: the cell ${angle((grid.cell * 180) / Math.PI)} is coarser than 1/(2·u_max) = ${angle(90 / Math.PI / umax)}: the longest baselines alias into the image\n`,
      );
    }
    let mask: Uint8Array | undefined;
    const maskPath = optionalString(p, 'mask');
    if (maskPath) {
      const img = await readImage2d(maskPath);
      if (img.shape[0] !== grid.ny || img.shape[1] !== grid.nx) {
        throw new UsageError(`clean: the mask ${maskPath} is ${img.shape[1]}×${img.shape[0]} but the image is ${grid.nx}×${grid.ny} (--size)`);
      }
      mask = Uint8Array.from(img.data, (v) => (Number.isFinite(v) && v !== 0 ? 1 : 0));
      if (!mask.some((v) => v)) throw new UsageError(`clean: the mask ${maskPath} has no non-zero pixel`);
    }
    let data = vis;
    const scLines: string[] = [];
    const scHistory: string[] = [];
    let gainsJson: Uint8Array | null = null;
    if (selfcalMode) {
      const sc = selfcalLoop(vis, grid, {
        mode: selfcalMode,
        rounds,
        solint,
        start,
        clean: { weighting: scheme, robust, niter, gain, threshold, method, measure: measure as MeasurementMethod, mask },
      });
      data = sc.vis;
      const flags = selfcalFlags({ mode: selfcalMode, rounds, solint, start });
      scLines.push(
        `  self-calibration (${flags}; first model: ${sc.start}): before, CLEAN model flux ${jy(sc.initial.modelFlux)}, χ²/dof ${sc.initial.chi2.toPrecision(4)}, residual rms ${sc.initial.residualOverNoise.toFixed(2)} × noise` +
          (sc.initial.thermalRobustRatio !== null ? `, successive-visibility scatter / σ ${sc.initial.thermalRobustRatio.toFixed(2)}` : ''),
        ...(sc.closure ? [`    ${describeClosureStart(sc.closure)}`] : []),
        ...sc.rounds.map((x) => `    ${describeRound(x)}`),
        `    ${data.n} of ${vis.n} visibilities kept; gains of the last round in ${path.basename(out)}-gains.json (phase rms ${gainPhaseRms(sc.gains).toFixed(1)}°)`,
      );
      scHistory.push(selfcalHistory(sc, flags, vis.n));
      gainsJson = gainTableFile(sc, uv.meta.antennas, { file: path.basename(visPath), command: `skyscore clean ${argv.join(' ')}` });
      if (data.n === 0) throw new UsageError(`clean: ${visPath}: self-calibration left no visibility (every antenna solution failed)`);
    }
    const r = cleanProductsSync(data, grid, path.basename(visPath), out, {
      weighting: scheme,
      robust,
      niter,
      gain,
      threshold,
      method,
      measure: measure as MeasurementMethod,
      mask,
      history: scHistory,
    });
    const { noise, thermal, beam } = r;
    const files = r.files;
    const cellText = angle((grid.cell * 180) / Math.PI);
    const lines = [
      `clean: ${visPath}: ${vis.n} ${vis.product} visibilities (${vis.formed}), ${vis.nFlagged} flagged`,
      `  image ${grid.nx}×${grid.ny}, cell ${cellText}${geoNotes.length ? ` (${geoNotes.join('; ')})` : ''}; weighting ${scheme}${scheme === 'briggs' ? ` robust ${robust}` : ''}; measurement ${r.measurement.kind}`,
      `  restoring beam ${angle(beam.bmaj)} × ${angle(beam.bmin)}, PA ${beam.bpa.toFixed(1)}°` +
        (beam.lobeAtEdge
          ? ` — the dirty beam's main lobe reaches the image's edge: the uv coverage does not resolve the sky along PA ${beam.bpa.toFixed(0)}° within ${grid.nx} × ${angle((grid.cell * 180) / Math.PI)} (baselines of nearly one length and direction), and BMAJ is extrapolated`
          : ''),
      `  noise from the weights ${jy(noise)}/beam` +
        (thermal ? `; scatter of successive visibilities / weights' σ = ${thermal.robustRatio.toFixed(3)} (robust), ${thermal.ratio.toFixed(3)} (rms), ${thermal.pairs} pairs` : ''),
    ];
    lines.push(...scLines);
    if (r.clean) {
      let ss = 0;
      for (const x of r.clean.residual) ss += x * x;
      const rms = Math.sqrt(ss / r.clean.residual.length);
      lines.push(
        `  ${method}: ${r.clean.iterations} iterations${method === 'cotton-schwab' ? `, ${r.clean.majorCycles} major cycles` : ''}, stopped by ${r.clean.stoppedBy}; ` +
          `model flux ${jy(r.clean.modelFlux)}, residual peak ${jy(r.clean.peak)}/beam, rms ${jy(rms)}/beam (${(rms / noise).toFixed(2)} × the weights' noise)`,
      );
    }
    for (const f of files) await writeFileAtomic(f.name, f.bytes);
    if (gainsJson) await writeFileAtomic(`${out}-gains.json`, gainsJson);
    lines.push(`  wrote ${[...files.map((f) => path.basename(f.name)), ...(gainsJson ? [`${path.basename(out)}-gains.json`] : [])].join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
