/**
 * `skyscore reconstruct` with the noise models: correlated noise measured from a noise-only image (--noise-image)
 * and from a blank box of the observation (--noise-region), Poisson–Gaussian counts with the gain from the header,
 * and the report's noiseModel and noiseDiagnostics — the white model on correlated data is flagged, the correlated
 * model is not — with the command line that reproduces the run, and the flags' input errors.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reconstructCommand } from '../../src-main/cli/commands/reconstruct.js';
import { readImage2d } from '../../src-main/forward-model-files.js';
import { FitsHeader, writeFits } from '../../src-shared/fits/index.js';
import { addNoise, correlatedNoise } from '../../src-shared/operators/noise.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { kernelSpectrum } from '../helpers/noise-spectra.js';
import type { NoiseDiagnostics } from '../../src-shared/noise/diagnostics.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const N = 32;

interface Report {
  command: string;
  likelihood?: { method: string };
  noiseModel: Record<string, unknown> & { lag1: { x: number } };
  noiseDiagnostics: NoiseDiagnostics;
}
let dir = '';
const p = (f: string) => path.join(dir, f);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-noise-'));
  writeFileSync(p('M.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }] }));
  writeFileSync(p('M-noise.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }], noise: { model: 'correlated', image: 'noise.fits' } }));
  mkdirSync(p('pk'));
  writePowerSpectrumPrior(p('pk/power-spectrum.fits'), N, 10, 4, 2);
  const r = new SeededRandom(5);
  const normal = () => r.normal();
  // drizzle-like correlated noise, σ = 0.1: a blob in the upper rows, the lowest 10 rows blank
  const corr = correlatedNoise(kernelSpectrum(N, N, 0.25), [N, N], 0.1);
  const clean = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) clean[i * N + j] = 2 * Math.exp(-((i - 21) ** 2 + (j - 16) ** 2) / 12);
  writeFileSync(p('y.fits'), writeFits([{ data: addNoise(clean, corr, [N, N], normal), shape: [N, N] }]));
  const big = correlatedNoise(kernelSpectrum(96, 96, 0.25), [96, 96], 0.1);
  writeFileSync(p('noise.fits'), writeFits([{ data: addNoise(new Float32Array(96 * 96), big, [96, 96], normal), shape: [96, 96] }]));
  // counts: 40 ADU of sky, gain 2 e⁻/ADU in the header, read noise 4 e⁻
  const h = new FitsHeader();
  h.set('GAIN', 2);
  const counts = Float32Array.from(clean, (v) => {
    const mu = 40 + 200 * v;
    return mu + Math.sqrt(mu / 2 + 4) * r.normal();
  });
  writeFileSync(p('counts.fits'), writeFits([{ data: counts, shape: [N, N], header: h }]));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function reconstruct(obs: string, out: string, noise: string[], model = 'M.json', workers = 1): Promise<{ report: Report; stderr: string }> {
  const args = ['--obs', p(obs), '--model', p(model), '--prior', p('pk'), ...noise, '--out', p(out), '--n', '4', '--steps', '60', '--seed', '1', '--workers', String(workers), '--backend', 'wasm', '--quiet'];
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    expect(await reconstructCommand.run(args)).toBe(0);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { report: JSON.parse(readFileSync(p(`${out}/report.json`), 'utf8')) as Report, stderr };
}

describe('skyscore reconstruct --noise-model', () => {
  it('correlated noise from a noise-only image: its own likelihood, no warning; the white model is flagged', async () => {
    const c = await reconstruct('y.fits', 'corr', ['--noise-model', 'correlated', '--noise-image', p('noise.fits')]);
    expect(c.report.noiseModel.model).toBe('correlated');
    expect(c.report.noiseModel.source).toBe('image noise.fits');
    expect(c.report.noiseModel.lag1.x).toBeGreaterThan(0.4);
    expect(c.report.likelihood?.method).toBe('correlated-cg');
    expect(c.report.command).toMatch(/--noise-model correlated --noise-image noise\.fits/);
    const cd = c.report.noiseDiagnostics;
    console.log(`correlated model: spectral ratio ${cd.spectralRatio.toFixed(3)}, KS ${cd.ksDistance.toFixed(4)}, χ²/px ${cd.whitenedChi2PerPixel.toFixed(3)}`);
    expect(cd.warnings).toEqual([]);
    expect(c.stderr).toMatch(/note: correlated noise measured from the image noise\.fits/);
    // the model reaches the worker threads: the same chains on two workers (to the CG tolerance: the batches differ)
    const two = await reconstruct('y.fits', 'corr2', ['--noise-model', 'correlated', '--noise-image', p('noise.fits')], 'M.json', 2);
    expect(two.report.likelihood?.method).toBe('correlated-cg');
    expect(two.report.noiseModel).toEqual(c.report.noiseModel);
    const m1 = (await readImage2d(p('corr/posterior-mean.fits'))).data;
    const m2 = (await readImage2d(p('corr2/posterior-mean.fits'))).data;
    let worst = 0;
    for (let i = 0; i < m1.length; i++) worst = Math.max(worst, Math.abs(m1[i]! - m2[i]!));
    expect(worst).toBeLessThan(0.01);
    const w = await reconstruct('y.fits', 'white', ['--noise', '0.1']);
    expect(w.report.noiseModel.model).toBe('white');
    const wd = w.report.noiseDiagnostics;
    console.log(`white model: spectral ratio ${wd.spectralRatio.toFixed(3)}, KS ${wd.ksDistance.toFixed(4)}, χ²/px ${wd.whitenedChi2PerPixel.toFixed(3)}`);
    expect(wd.spectralRatio).toBeLessThan(0.5);
    expect(w.report.noiseDiagnostics.warnings.join('\n')).toMatch(/more correlated than the model/);
    expect(w.stderr).toMatch(/warning: noise model 'white' looks wrong/);
  });

  it('correlated noise from a blank box of the observation', async () => {
    const c = await reconstruct('y.fits', 'region', ['--noise-region', '0,0,32,10']);
    expect(c.report.noiseModel).toMatchObject({ model: 'correlated', source: 'region 0,0,32,10', tile: 10 });
    expect(c.report.command).toMatch(/--noise-model correlated --noise-region 0,0,32,10/);
  });

  it('Poisson–Gaussian counts with the header gain', async () => {
    const c = await reconstruct('counts.fits', 'pg', ['--noise-model', 'poisson-gaussian', '--read-noise', '4']);
    expect(c.report.noiseModel).toMatchObject({ model: 'poisson-gaussian', gain: 2, gainSource: 'header GAIN', readNoise: 4 });
    expect(c.report.command).toMatch(/--noise-model poisson-gaussian --read-noise 4/);
    expect(c.report.noiseDiagnostics.pixels).toBe(N * N);
  });

  it("M.json's noise block gives the model where no noise flag is given", async () => {
    const c = await reconstruct('y.fits', 'mjson', [], 'M-noise.json');
    expect(c.report.noiseModel).toMatchObject({ model: 'correlated', source: 'image noise.fits' });
    expect(c.report.command).not.toMatch(/--noise/);
    expect(c.report.noiseDiagnostics.warnings).toEqual([]);
    // flags take precedence
    const w = await reconstruct('y.fits', 'mjson-white', ['--noise', '0.1', '--steps', '20'], 'M-noise.json');
    expect(w.report.noiseModel.model).toBe('white');
    await expect(reconstruct('y.fits', 'bad', [])).rejects.toThrow(/missing --noise \(σ, a σ map, or --noise-model; or a noise block in M\.json\)/);
  });

  it('refuses flags that do not fit the model', async () => {
    const run = (noise: string[]) => reconstruct('y.fits', 'bad', noise);
    await expect(run(['--noise-model', 'poisson-gaussian', '--gain', '2'])).rejects.toThrow(/needs the read noise in e⁻/);
    await expect(run(['--noise-model', 'correlated'])).rejects.toThrow(/exactly one of a blank-sky region/);
    await expect(run(['--noise-model', 'pink', '--noise', '0.1'])).rejects.toThrow(/--noise-model must be one of white, sigma-map, correlated, poisson-gaussian/);
    await expect(run(['--noise-region', '0,0,40,10'])).rejects.toThrow(/reaches outside the 32×32/);
    await expect(run(['--noise-model', 'white', '--noise', '0.1', '--gain', '2'])).rejects.toThrow(/white noise model takes no gain/);
    await expect(run(['--noise-model', 'poisson-gaussian', '--read-noise', '3'])).rejects.toThrow(/no GAIN, CCDGAIN or ATODGAIN/);
  });
});
