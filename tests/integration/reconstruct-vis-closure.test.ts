/**
 * `reconstruct --vis --likelihood closure` through its service (reconstructUvfits) on simulated VLBI data of the EHT
 * file's seven sites with random station phases and amplitudes (tests/helpers/vlbi-sim.ts), a Gaussian-field prior on
 * 32² × 10 µas: report.json's chi2PerClosure (the mean's and every sample's, closure phases and log closure
 * amplitudes apart, flux, centroid; each draw's smallest model amplitude; the draws' aligned mean), the likelihood's kind and the total flux's source; the products' HISTORY gives
 * the flags; the same data through the complex visibilities fit to χ²/dof in the hundreds; --total-flux is recorded;
 * --selfcal with it is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend.js';
import { readFits } from '../../src-shared/fits/index.js';
import { reconstructUvfits } from '../../src-main/reconstruct/visibilities.js';
import { simulateVlbi, uniforms, UAS, writePowerLawPrior } from '../helpers/vlbi-sim.js';

const N = 32;
let dir = '';
let prior = '';

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-closure-'));
  prior = writePowerLawPrior(dir, N);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const SKY = [
  { flux: 1.5, l: 0, m: 0, fwhm: 20 * UAS },
  { flux: 0.5, l: 50 * UAS, m: -30 * UAS, fwhm: 40 * UAS },
];

function gains(seed: number): (scan: number, station: number) => [number, number] {
  const r = uniforms(seed);
  const t = new Map<string, [number, number]>();
  return (s, i) => {
    const k = `${s}:${i}`;
    if (!t.has(k)) {
      const ph = 2 * Math.PI * (r() - 0.5);
      const a = 0.7 + 0.6 * r();
      t.set(k, [a * Math.cos(ph), a * Math.sin(ph)]);
    }
    return t.get(k)!;
  };
}

function run(likelihood: 'closure' | 'visibilities', extra: { totalFlux?: number; selfcal?: boolean } = {}) {
  const sim = simulateVlbi({ sky: SKY, scans: 12, sigma: 0.05, seed: 5, gain: gains(29) });
  return reconstructUvfits(sim.uv, {
    name: 'sim.uvfits',
    file: 'sim.uvfits',
    size: N,
    cellArcsec: 10e-6,
    prior,
    settings: { sampler: 'pc', n: 2, steps: 30, seed: 3, fluxScale: 0.01, workers: 1, batch: null },
    backend: () => initBackend('wasm'),
    command: `reconstruct --vis sim.uvfits --likelihood ${likelihood}`,
    ...(likelihood === 'closure' ? { likelihood } : {}),
    ...(extra.totalFlux !== undefined ? { totalFlux: extra.totalFlux } : {}),
    ...(extra.selfcal ? { selfcal: { mode: 'p' as const, rounds: 1, solint: 0, start: 'auto' as const } } : {}),
  });
}

describe('reconstruct --vis --likelihood closure', () => {
  it('writes the closure figures of the mean and every sample, and fits the closures where the visibilities do not fit', async () => {
    const r = await run('closure', { totalFlux: 2 });
    const report = JSON.parse(new TextDecoder().decode(r.files.find((f) => f.name === 'report.json')!.bytes));
    expect(report.likelihood.kind).toBe('closure');
    expect(report.chi2PerVisibility).toBeNull();
    const c = report.chi2PerClosure;
    expect(c.closurePhases).toBe(12 * 15);
    expect(c.logClosureAmplitudes).toBe(12 * 14);
    expect(c.totalFluxJy).toBe(2);
    expect(c.totalFluxSource).toContain('--total-flux');
    expect(c.samples).toHaveLength(2);
    expect(c.sampleParts).toHaveLength(2);
    expect(c.mean).toBeCloseTo(r.chi2, 12);
    // the mean's χ² per closure is the closures' weighted mean of its two parts
    const m = c.meanParts;
    expect(c.mean).toBeCloseTo((m.phase * c.closurePhases + m.logAmplitude * c.logClosureAmplitudes) / (c.closurePhases + c.logClosureAmplitudes), 8);
    // the ending's discrepancy rule: every draw's widening and fit as it recorded them, which the products keep
    // (the ending recentres before the fit, nothing shifts a draw after it)
    expect(c.ending.draws).toHaveLength(2);
    c.ending.draws.forEach((d: { widening: number; chi2PerClosure: number }, k: number) => {
      expect(d.widening).toBeGreaterThanOrEqual(1);
      expect(Math.abs(c.samples[k] - d.chi2PerClosure)).toBeLessThan(1e-3 * d.chi2PerClosure);
    });
    for (const s of c.sampleParts) {
      expect(Number.isFinite(s.phase) && Number.isFinite(s.logAmplitude) && Number.isFinite(s.fluxJy)).toBe(true);
      expect(s.centroidPixels).toHaveLength(2);
    }
    // each draw's smallest model amplitude against its datum's (the null guard's report), and the draws' aligned mean
    expect(c.nullGuardFloorSigmas).toBeGreaterThan(0);
    expect(c.lowModelAmplitudes).toHaveLength(2);
    for (const l of c.lowModelAmplitudes) {
      expect(l.smallestRatio).toBeCloseTo(l.smallestModelJy / l.dataJy, 12);
      expect(l.baseline).toMatch(/^\S+-\S+$/);
      expect(l.used).toBeGreaterThan(0);
      expect(Math.max(l.below, l.belowGuardFloor)).toBeLessThanOrEqual(l.used);
    }
    expect(c.alignedMean.shiftsPixels[0]).toEqual([0, 0]);
    expect(c.alignedMean.shiftsPixels).toHaveLength(2);
    expect(c.alignedMean.chi2PerClosure).toBeCloseTo((c.alignedMean.phase * c.closurePhases + c.alignedMean.logAmplitude * c.logClosureAmplitudes) / (c.closurePhases + c.logClosureAmplitudes), 8);
    const vis = await run('visibilities');
    const visReport = JSON.parse(new TextDecoder().decode(vis.files.find((f) => f.name === 'report.json')!.bytes));
    console.log(`closure: χ² per closure of the mean ${r.chi2.toFixed(3)} (draws ${c.samples.map((v: number) => v.toFixed(3)).join(', ')}; fluxes ${c.sampleParts.map((s: { fluxJy: number }) => s.fluxJy.toFixed(2)).join(', ')}; σmin widened ×${c.ending.draws.map((d: { widening: number }) => d.widening.toFixed(2)).join(', ')}; model amplitudes below the null guard's floor ${c.lowModelAmplitudes.map((l: { belowGuardFloor: number; used: number }) => `${l.belowGuardFloor} of ${l.used}`).join(', ')}; aligned mean ${c.alignedMean.chi2PerClosure.toFixed(2)}); visibilities: χ²/dof ${vis.chi2.toFixed(1)}, its draws' ${JSON.stringify(visReport.chi2PerVisibility.samples)}`);
    expect(visReport.likelihood.kind).toBe('visibilities');
    expect(vis.chi2).toBeGreaterThan(50);
    // measured: the closure draws at 7.8 and 12.6 per closure with the null guard (9.2 and 15.3 without it, 15.2 and
    // 21.8 with its floor at σ_k instead of 0.1 σ_k; 9.9 and 17.4 before the ending's discrepancy rule;
    // here it stops at its most widening, × 32: this prior's σmin is 1e-3 of its pixel σ), the visibilities' at 139.6
    // per dof (30 steps; the fluxes 0.99 and 0.96 Jy: this Gaussian field's prior holds the total flux at 0 ± about
    // 0.07 Jy, against the pseudo-datum's 2 ± 0.1)
    expect(Math.min(...c.samples)).toBeLessThan(vis.chi2 / 5);
    const history = readFits(r.files.find((f) => f.name === 'posterior-mean.fits')!.bytes).hdus[0].header.history().join('');
    expect(history).toContain('--likelihood closure --total-flux 2');
    expect(history).toContain('closure phases (180)');
  }, 300_000);

  it('refuses --selfcal with the closure likelihood', async () => {
    await expect(run('closure', { selfcal: true })).rejects.toThrow(/needs no self-calibration/);
  });
});
