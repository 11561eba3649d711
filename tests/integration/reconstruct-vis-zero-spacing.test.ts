/**
 * `reconstruct --vis … --total-flux JY:SIGMA` through reconstructUvfits on simulated visibilities of a sparse VLBI
 * array (tests/helpers/vlbi-sim.ts; a 32² × 10 µas field), the chains over two workers (the pseudo-visibility
 * travels with the visibilities to them): report.json's
 * zeroSpacing gives F, σ and the pseudo-visibility's χ² of the mean; chi2PerVisibility and its degrees of freedom are
 * the visibilities' alone, as the normal equations of the data without it give them; HISTORY gives the flag; the
 * mean's total flux keeps within 3σ of F. With --size and --cell given and no --total-flux, the survey that runs for
 * the default constraint is the one report.json's totalFluxJy (its CLEAN flux, the mean's within its extent) and the
 * total-flux warning compare with.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend.js';
import { readFits, readFitsImage } from '../../src-shared/fits/index.js';
import { reconstructUvfits } from '../../src-main/reconstruct/visibilities.js';
import { selectVisibilities } from '../../src-shared/radio/uvfits.js';
import { visibilityNormalEquations } from '../../src-shared/radio/normal-equations.js';
import { ARCSEC } from '../../src-shared/radio/grid.js';
import { sourceExtent, surveyZeroSpacing, totalFluxWarning } from '../../src-shared/radio/field.js';
import { uvRange } from '../../src-shared/radio/imaging.js';
import { simulateVlbi, UAS, writePowerLawPrior } from '../helpers/vlbi-sim.js';

const N = 32;
const CELL_ARCSEC = 10e-6;
let dir = '';
let prior = '';

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-zero-spacing-'));
  prior = writePowerLawPrior(dir, N);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('reconstruct --vis --total-flux JY:SIGMA', () => {
  it('reports the pseudo-visibility apart from the visibilities\' χ², and holds the total flux', async () => {
    const sky = [
      { flux: 1.5, l: 0, m: 0, fwhm: 0 },
      { flux: 0.5, l: 50 * UAS, m: -30 * UAS, fwhm: 40 * UAS },
    ];
    const sim = simulateVlbi({ sky, scans: 24, sigma: 0.05, seed: 5 });
    const vis = selectVisibilities(sim.uv);
    const grid = { nx: N, ny: N, cell: CELL_ARCSEC * ARCSEC };
    const r = await reconstructUvfits(sim.uv, {
      name: 'sim.uvfits',
      file: 'sim.uvfits',
      size: N,
      cellArcsec: CELL_ARCSEC,
      prior,
      settings: { sampler: 'pc', n: 2, steps: 40, seed: 3, fluxScale: null, workers: 2, batch: null },
      backend: () => initBackend('wasm'),
      command: 'reconstruct --vis sim.uvfits --total-flux 2:0.1',
      zeroSpacing: { flux: 2, sigma: 0.1 },
    });
    const report = JSON.parse(new TextDecoder().decode(r.files.find((f) => f.name === 'report.json')!.bytes));
    const mean = Float32Array.from(readFitsImage(r.files.find((f) => f.name === 'posterior-mean.fits')!.bytes).data);
    let total = 0;
    for (const x of mean) total += x;
    console.log(`zero spacing 2 ± 0.1 Jy: the mean's total ${total.toFixed(3)} Jy, χ² per visibility dof ${r.chi2.toFixed(3)}, the pseudo-visibility's ${report.zeroSpacing.chi2Mean.toFixed(3)}`);
    expect(report.zeroSpacing).toMatchObject({ fluxJy: 2, sigmaJy: 0.1 });
    expect(report.zeroSpacing.chi2Mean).toBeCloseTo(((2 - total) / 0.1) ** 2, 3);
    expect(report.zeroSpacing.chi2Samples).toHaveLength(2);
    // the visibilities' χ² and degrees of freedom, without the pseudo-visibility
    expect(report.likelihood.degreesOfFreedom).toBe(2 * vis.n);
    const eq = visibilityNormalEquations(vis, grid);
    const want = eq.exact!.chi2(mean) / (2 * vis.n);
    expect(Math.abs(r.chi2 - want)).toBeLessThan(1e-6 * want);
    expect(report.chi2PerVisibility.mean).toBe(r.chi2);
    const history = readFits(r.files.find((f) => f.name === 'posterior-mean.fits')!.bytes).hdus[0].header.history().join('');
    expect(history).toContain('--total-flux 2:0.1');
    expect(Math.abs(total - 2)).toBeLessThan(0.3);
  }, 300_000);

  it('with --size and --cell given, takes the survey CLEAN\'s flux by default (the survey runs for it alone), and none leaves it out', async () => {
    const sky = [
      { flux: 1.5, l: 0, m: 0, fwhm: 0 },
      { flux: 0.5, l: 50 * UAS, m: -30 * UAS, fwhm: 40 * UAS },
    ];
    const sim = simulateVlbi({ sky, scans: 24, sigma: 0.05, seed: 5 });
    const vis = selectVisibilities(sim.uv);
    const run = (zeroSpacing?: 'none') =>
      reconstructUvfits(sim.uv, {
        name: 'sim.uvfits',
        file: 'sim.uvfits',
        size: N,
        cellArcsec: CELL_ARCSEC,
        prior,
        settings: { sampler: 'pc', n: 1, steps: 10, seed: 3, fluxScale: null, workers: 1, batch: null },
        backend: () => initBackend('wasm'),
        command: `reconstruct --vis sim.uvfits --size ${N} --cell ${CELL_ARCSEC}`,
        ...(zeroSpacing ? { zeroSpacing } : {}),
      });
    // the survey as field.ts runs it on these visibilities, independent of the given field
    const ext = sourceExtent(vis, { freqMin: Math.min(...sim.uv.meta.freqs), dishDiameter: sim.uv.meta.dishDiameter });
    const want = surveyZeroSpacing(ext)!;
    expect(want.flux).toBeGreaterThan(1);
    const r = await run();
    const report = JSON.parse(new TextDecoder().decode(r.files.find((f) => f.name === 'report.json')!.bytes));
    console.log(`field given (${N}² × ${CELL_ARCSEC * 1e6} µas): zero spacing ${report.zeroSpacing?.fluxJy} ± ${report.zeroSpacing?.sigmaJy} Jy (short baselines ${want.shortFlux.toFixed(3)} Jy)`);
    expect(report.zeroSpacing.fluxJy).toBe(+want.flux.toPrecision(8));
    expect(report.zeroSpacing.sigmaJy).toBe(+want.sigma.toPrecision(8));
    expect(report.zeroSpacing.source).toContain('survey CLEAN');
    // the field stays the given one, not the survey's
    expect(report.image.sourceExtent).toBeUndefined();
    expect(r.notes.some((n) => /run for it alone: the field is given/.test(n))).toBe(true);
    const history = readFits(r.files.find((f) => f.name === 'posterior-mean.fits')!.bytes).hdus[0].header.history().join('');
    expect(history).toContain(`--total-flux ${+want.flux.toPrecision(8)}:${+want.sigma.toPrecision(8)}`);
    // totalFluxJy and the total-flux warning compare with that survey as where the field came from one: its CLEAN
    // flux, the mean's flux within its extent (summed here from posterior-mean.fits), the warning where the mean's
    // total is outside 0.5–2 × its flux
    const mean = Float32Array.from(readFitsImage(r.files.find((f) => f.name === 'posterior-mean.fits')!.bytes).data);
    let total = 0;
    let inner = 0;
    for (let i = 0; i < mean.length; i++) {
      total += mean[i]!;
      const off = Math.max(Math.abs((i % N) - N / 2), Math.abs(Math.floor(i / N) - N / 2)) * CELL_ARCSEC * ARCSEC;
      if (off <= ext.radius) inner += mean[i]!;
    }
    expect(report.totalFluxJy.cleanSurvey).toBe(ext.flux);
    expect(report.totalFluxJy.withinExtent).toBeCloseTo(inner, 4);
    expect(report.totalFluxJy.mean).toBeCloseTo(total, 4);
    const warned = r.warnings.filter((w) => w.startsWith("the posterior mean's total flux"));
    const fw = totalFluxWarning({
      meanFlux: report.totalFluxJy.mean,
      sampleFlux: report.totalFluxJy.samples,
      cleanFlux: ext.flux,
      innerFlux: report.totalFluxJy.withinExtent,
      uMin: uvRange(vis.u, vis.v).umin,
      fieldRad: N * CELL_ARCSEC * ARCSEC,
    });
    expect(warned).toEqual(fw ? [fw] : []);
    const off = await run('none');
    const offReport = JSON.parse(new TextDecoder().decode(off.files.find((f) => f.name === 'report.json')!.bytes));
    expect(offReport.zeroSpacing ?? null).toBeNull();
    // with the field given and none, no survey runs: nothing to compare the total flux with
    expect(offReport.totalFluxJy.cleanSurvey).toBeNull();
    expect(off.notes.some((n) => /total flux at zero spacing/.test(n))).toBe(false);
  }, 300_000);
});
