/**
 * The learned noise prior through the command line: `skyscore train --kind noise` on a noise-only image (a short run:
 * what model.json records), and `skyscore reconstruct --noise-model learned --noise-prior DIR` with the shipped test
 * fixture (tests/fixtures/noise-mixture) — its likelihood method, report, χ² with the noise's σ, no KS warning, the
 * command that reproduces it, M.json's noise block, the same chains on two workers — and the input errors.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reconstructCommand } from '../../src-main/cli/commands/reconstruct.js';
import { trainCommand } from '../../src-main/cli/commands/train.js';
import { readImage2d } from '../../src-main/forward-model-files.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { ROOT } from '../helpers/data.js';
import { MIXTURE_NOISE, drawMixtureNoise, mixtureVariance } from '../helpers/mixture-noise.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const N = 32;
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'noise-mixture');
let dir = '';
const p = (f: string) => path.join(dir, f);

async function quiet(run: () => Promise<number>): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr += String(s);
    return true;
  });
  try {
    return { code: await run(), stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-learned-noise-'));
  writeFileSync(p('M.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'mask', fits: 'ones.fits' }] }));
  writeFileSync(p('ones.fits'), writeFits([{ data: new Float32Array(N * N).fill(1), shape: [N, N] }]));
  cpSync(FIXTURE, p('noise-prior'), { recursive: true });
  writeFileSync(p('M-noise.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'mask', fits: 'ones.fits' }], noise: { model: 'learned', prior: 'noise-prior' } }));
  writePowerSpectrumPrior(p('pk.fits'), N, 0.02, 4, 2);
  const rng = new Rng(11);
  const n = drawMixtureNoise(rng, N * N, MIXTURE_NOISE);
  const y = Float32Array.from(n, (v, i) => v + 0.05 * Math.exp(-(((i % N) - 16) ** 2 + (Math.floor(i / N) - 16) ** 2) / 20));
  writeFileSync(p('y.fits'), writeFits([{ data: y, shape: [N, N] }]));
  writeFileSync(p('noise.fits'), writeFits([{ data: drawMixtureNoise(rng, 64 * 64, MIXTURE_NOISE), shape: [64, 64] }]));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('skyscore train --kind noise', () => {
  it('learns from patches of a noise image and records the noise prior in model.json', async () => {
    const args = ['--kind', 'noise', '--data', p('noise.fits'), '--out', p('np'), '--nf', '8', '--ch-mult', '1', '--res-blocks', '1', '--no-attention', '--steps', '6', '--batch', '4', '--warmup', '0'];
    const r = await quiet(() => trainCommand.run([...args, '--patches', '32', '--patch', '8', '--val-fraction', '0.25', '--backend', 'wasm', '--workers', '1', '--log-every', '0', '--val-every', '6', '--checkpoint-every', '6']));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/training a noise prior/);
    const meta = JSON.parse(readFileSync(p('np/model.json'), 'utf8'));
    expect(meta.imageShape).toEqual([8, 8]);
    expect(meta.noisePrior.patch).toBe(8);
    expect(meta.noisePrior.patches).toBe(32);
    expect(meta.sde).toEqual({ type: 've', sigmaMin: 0.1, sigmaMax: 10 });
    expect(meta.training.augment).toBe('none');
    // the normalisation is the training rows' mean and σ (the last quarter of the rows are for validation)
    const st = meta.noisePrior.statistics;
    expect(st.pixels).toBe(48 * 64);
    expect(meta.normalisation.scale).toBeCloseTo(st.std, 12);
    expect(Math.abs(st.std / Math.sqrt(mixtureVariance(MIXTURE_NOISE)) - 1)).toBeLessThan(0.1);
    expect(st.excessKurtosis).toBeGreaterThan(5);
    expect(meta.data.validation).toBe(8);
  });

  it('refuses image-prior flags with --kind noise and noise flags without it', async () => {
    await expect(trainCommand.run(['--kind', 'noise', '--data', p('noise.fits'), '--out', p('x1'), '--size', '16'])).rejects.toThrow(/--size is for image priors/);
    await expect(trainCommand.run(['--data', p('noise.fits'), '--out', p('x2'), '--patch', '16'])).rejects.toThrow(/--patch is for --kind noise/);
    await expect(trainCommand.run(['--kind', 'sky', '--data', p('noise.fits'), '--out', p('x3')])).rejects.toThrow(/--kind must be prior or noise/);
  });
});

interface Report {
  command: string;
  chi2PerPixel: number;
  likelihood?: { method: string; description?: string };
  noiseModel: Record<string, unknown>;
  noiseDiagnostics: { warnings: string[]; ksDistance: number; ksThreshold: number };
}

async function reconstruct(out: string, noise: string[], model = 'M.json', workers = 1): Promise<{ report: Report; stderr: string }> {
  const args = ['--obs', p('y.fits'), '--model', p(model), '--prior', `gaussian-field:${p('pk.fits')}`, ...noise, '--out', p(out), '--n', '4', '--steps', '40', '--seed', '1', '--workers', String(workers), '--backend', 'wasm', '--quiet'];
  const r = await quiet(() => reconstructCommand.run(args));
  expect(r.code).toBe(0);
  return { report: JSON.parse(readFileSync(p(`${out}/report.json`), 'utf8')) as Report, stderr: r.stderr };
}

describe('skyscore reconstruct --noise-model learned', () => {
  it('samples with the noise network; report, χ² with the noise’s σ, the command; M.json’s block; two workers', async () => {
    const a = await reconstruct('learned', ['--noise-model', 'learned', '--noise-prior', p('noise-prior')]);
    expect(a.report.likelihood?.method).toBe('learned-noise');
    expect(a.report.noiseModel.model).toBe('learned');
    expect(a.report.noiseModel.prior).toBe('noise-prior');
    expect(a.report.noiseModel.sigma).toBeCloseTo(0.0425936, 5);
    expect(a.report.command).toMatch(/--noise-model learned --noise-prior \S*noise-prior/);
    expect(a.stderr).toMatch(/note: learned noise prior .*noise σ 0\.04259/);
    // heavy-tailed residuals: the KS distance to N(0, 1) is large, and no warning is raised for it
    expect(a.report.noiseDiagnostics.ksDistance).toBeGreaterThan(a.report.noiseDiagnostics.ksThreshold);
    expect(a.report.noiseDiagnostics.warnings).toEqual([]);
    // χ² of the mean with the noise's empirical σ: (y − mean)²/σ² averaged
    const y = (await readImage2d(p('y.fits'))).data;
    const m = (await readImage2d(p('learned/posterior-mean.fits'))).data;
    let chi2 = 0;
    for (let i = 0; i < y.length; i++) chi2 += ((y[i]! - m[i]!) / 0.042593482650239926) ** 2;
    expect(a.report.chi2PerPixel).toBeCloseTo(chi2 / y.length, 3);
    // M.json's noise block (the folder relative to M.json) gives the same run
    const b = await reconstruct('block', [], 'M-noise.json');
    expect(b.report.likelihood?.method).toBe('learned-noise');
    const mb = (await readImage2d(p('block/posterior-mean.fits'))).data;
    expect(Array.from(mb)).toEqual(Array.from(m));
    // the noise prior reaches the worker threads: the same chains on two workers
    await reconstruct('two', ['--noise-model', 'learned', '--noise-prior', p('noise-prior')], 'M.json', 2);
    const m2 = (await readImage2d(p('two/posterior-mean.fits'))).data;
    let worst = 0;
    for (let i = 0; i < m.length; i++) worst = Math.max(worst, Math.abs(m[i]! - m2[i]!));
    expect(worst).toBeLessThan(1e-4);
  });

  it('input errors in the user’s terms', async () => {
    const base = ['--obs', p('y.fits'), '--model', p('M.json'), '--prior', `gaussian-field:${p('pk.fits')}`, '--out', p('err'), '--n', '1', '--steps', '2'];
    await expect(reconstructCommand.run([...base, '--noise-model', 'learned'])).rejects.toThrow(/--noise-model learned needs --noise-prior DIR/);
    await expect(reconstructCommand.run([...base, '--noise-model', 'white', '--noise', '0.1', '--noise-prior', p('noise-prior')])).rejects.toThrow(/--noise-prior is for --noise-model learned/);
    await expect(quiet(() => reconstructCommand.run([...base, '--noise-prior', p('nowhere')]))).rejects.toThrow(/noise prior .*nowhere: no model\.json there/);
    await expect(quiet(() => reconstructCommand.run([...base, '--noise-model', 'learned', '--noise-prior', p('noise-prior'), '--noise', '0.1']))).rejects.toThrow(/the learned noise model takes no σ/);
    // a noise prior is not an image prior
    await expect(quiet(() => reconstructCommand.run(['--obs', p('y.fits'), '--model', p('M.json'), '--prior', p('noise-prior'), '--noise', '0.1', '--out', p('err2'), '--n', '1', '--steps', '2']))).rejects.toThrow(
      /is a learned noise prior .*--noise-model learned --noise-prior/,
    );
  });
});
