import path from 'node:path';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../../io.js';
import { readImage2d } from '../../forward-model-files.js';
import { readUvfitsFile } from '../../visibility-file.js';
import { writeFits, type FitsHeader } from '../../../src-shared/fits/index.js';
import { radioProductHeader } from '../../reconstruct/radio-header.js';
import { defaultProduct, selectVisibilities } from '../../../src-shared/radio/uvfits.js';
import { ARCSEC, type ImageGrid } from '../../../src-shared/radio/grid.js';
import { chooseMeasurement } from '../../../src-shared/radio/measurement.js';
import { imagingWeights, thermalCheck, type WeightingScheme } from '../../../src-shared/radio/weighting.js';
import { cropBeam, defaultGeometry, dirtyBeam, dirtyImage, doubleGrid } from '../../../src-shared/radio/imaging.js';
import { clean, fitBeam, restore, type CleanMethod } from '../../../src-shared/radio/clean.js';

/** The product files, WSClean's names. */
export function productNames(out: string, niter: number): string[] {
  const kinds = niter > 0 ? ['dirty', 'psf', 'model', 'residual', 'image'] : ['dirty', 'psf'];
  return kinds.map((k) => `${out}-${k}.fits`);
}

function fits(data: Float64Array, grid: ImageGrid, header: FitsHeader): Uint8Array {
  return writeFits([{ data: Float32Array.from(data), shape: [grid.nx, grid.ny, 1, 1], header, bitpix: -32 }]);
}

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
                      [--weighting natural|uniform|briggs] [--robust R] [--stokes P]
                      [--niter K] [--gain G] [--threshold JY] [--mask MASK.fits]
                      [--cotton-schwab | --hogbom] [--method auto|dft|nufft]

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
  --niter K           most CLEAN iterations (default 1000; 0 writes the dirty image and beam only)
  --gain G            loop gain, 0 < G ≤ 1 (default 0.1)
  --threshold JY      stop when the residual's peak falls below JY (Jy/beam; default 0)
  --mask MASK.fits    CLEAN only where MASK is non-zero (an image of the output's size)
  --cotton-schwab     major cycles through the measurement operator (default)
  --hogbom            image-plane minor cycles only
  --method M          the measurement operator: auto (default: DFT for small problems), dft or nufft`,
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
        niter: { type: 'string' },
        gain: { type: 'string' },
        threshold: { type: 'string' },
        mask: { type: 'string' },
        'cotton-schwab': { type: 'boolean' },
        hogbom: { type: 'boolean' },
        method: { type: 'string' },
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
    const names = productNames(out, niter);
    for (const f of names) {
      if (path.resolve(f) === path.resolve(visPath)) throw new UsageError(`clean: --out ${out} would overwrite the input ${visPath}`);
    }

    const t0 = performance.now();
    const uv = await readUvfitsFile(visPath);
    const product = optionalString(p, 'stokes')?.toUpperCase() ?? defaultProduct(uv.meta);
    const vis = selectVisibilities(uv, product, visPath);
    for (const n of vis.notes) process.stderr.write(`skyscore: note: ${n}\n`);
    if (vis.n === 0) {
      throw new UsageError(
        `clean: ${visPath}: every ${vis.product} visibility is flagged (${vis.nFlagged} with weight ≤ 0${vis.nAuto ? `, ${vis.nAuto} autocorrelations` : ''}): nothing to image`,
      );
    }
    let fmin = Infinity;
    for (const f of uv.meta.freqs) fmin = Math.min(fmin, f);
    const geo = defaultGeometry(vis.u, vis.v, { freqMin: fmin, dishDiameter: uv.meta.dishDiameter, cell: cellAs === undefined ? undefined : cellAs * ARCSEC, size });
    const grid: ImageGrid = { nx: geo.size, ny: geo.size, cell: geo.cell };
    let umax = 0;
    for (let k = 0; k < vis.n; k++) umax = Math.max(umax, Math.abs(vis.u[k]), Math.abs(vis.v[k]));
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
    const w = imagingWeights(vis.u, vis.v, vis.weight, grid, { scheme, robust });
    // the image noise the data weights predict: σ² = Σ w'² (1/w) / (Σ w')²
    let sw = 0;
    let s2 = 0;
    for (let k = 0; k < vis.n; k++) {
      sw += w[k];
      s2 += (w[k] * w[k]) / vis.weight[k];
    }
    const noise = Math.sqrt(s2) / sw;
    const thermal = thermalCheck(vis);
    const A = chooseMeasurement(vis.u, vis.v, grid, { method: measure as 'auto' | 'dft' | 'nufft' });
    const big = dirtyBeam(vis.u, vis.v, w, doubleGrid(grid), { method: measure as 'auto' | 'dft' | 'nufft' });
    const psf = cropBeam(big, grid);
    const beam = fitBeam(psf, grid);
    const dirty = dirtyImage(A, vis.re, vis.im, w);

    const cellText = angle((grid.cell * 180) / Math.PI);
    const history = [
      `skyscore clean --vis ${path.basename(visPath)} --size ${grid.nx} --cell ${+(grid.cell / ARCSEC).toPrecision(8)} --weighting ${scheme}` +
        `${scheme === 'briggs' ? ` --robust ${robust}` : ''} --niter ${niter} --gain ${gain} --threshold ${threshold} --${method}`,
      `product ${vis.product} = ${vis.formed}; ${vis.n} visibilities, ${vis.nFlagged} flagged; measurement ${A.kind}`,
    ];
    const files: { name: string; bytes: Uint8Array }[] = [
      { name: names[0], bytes: fits(dirty, grid, radioProductHeader(vis, grid, beam, 'JY/BEAM', history, 'clean')) },
      { name: names[1], bytes: fits(psf, grid, radioProductHeader(vis, grid, beam, 'JY/BEAM', history, 'clean')) },
    ];
    const lines = [
      `clean: ${visPath}: ${vis.n} ${vis.product} visibilities (${vis.formed}), ${vis.nFlagged} flagged`,
      `  image ${grid.nx}×${grid.ny}, cell ${cellText}${geo.notes.length ? ` (${geo.notes.join('; ')})` : ''}; weighting ${scheme}${scheme === 'briggs' ? ` robust ${robust}` : ''}; measurement ${A.kind}`,
      `  restoring beam ${angle(beam.bmaj)} × ${angle(beam.bmin)}, PA ${beam.bpa.toFixed(1)}°`,
      `  noise from the weights ${jy(noise)}/beam` +
        (thermal ? `; scatter of successive visibilities / weights' σ = ${thermal.robustRatio.toFixed(3)} (robust), ${thermal.ratio.toFixed(3)} (rms), ${thermal.pairs} pairs` : ''),
    ];
    if (niter > 0) {
      const r = clean(A, vis.re, vis.im, w, big, { method, niter, gain, threshold, mask });
      const image = restore(r.model, r.residual, beam, grid);
      files.push(
        { name: names[2], bytes: fits(r.model, grid, radioProductHeader(vis, grid, beam, 'JY/PIXEL', history, 'clean')) },
        { name: names[3], bytes: fits(r.residual, grid, radioProductHeader(vis, grid, beam, 'JY/BEAM', history, 'clean')) },
        { name: names[4], bytes: fits(image, grid, radioProductHeader(vis, grid, beam, 'JY/BEAM', history, 'clean')) },
      );
      let ss = 0;
      for (const x of r.residual) ss += x * x;
      const rms = Math.sqrt(ss / r.residual.length);
      lines.push(
        `  ${method}: ${r.iterations} iterations${method === 'cotton-schwab' ? `, ${r.majorCycles} major cycles` : ''}, stopped by ${r.stoppedBy}; ` +
          `model flux ${jy(r.modelFlux)}, residual peak ${jy(r.peak)}/beam, rms ${jy(rms)}/beam (${(rms / noise).toFixed(2)} × the weights' noise)`,
      );
    }
    for (const f of files) await writeFileAtomic(f.name, f.bytes);
    lines.push(`  wrote ${files.map((f) => path.basename(f.name)).join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
