import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ROOT, dataPath } from '../helpers/data.js';
import { readFits, readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { DEFAULT_GAUSSIAN, DEFAULT_UNET, fluxScaleForUnitData, priorSpecOf, runEvaluation, evalMarkdown } from '../../src-main/evaluation.js';
import type { ResolvedPrior } from '../../src-main/priors.js';
import { demoCommand } from '../../src-main/cli/commands/demo.js';

describe('bundled Gaussian-field galaxy prior', () => {
  it('is the train split second moment: mean P = mean x² (Parseval, orthonormal DFT), even, positive, small', () => {
    const file = path.join(DEFAULT_GAUSSIAN, 'power-spectrum.fits');
    const bytes = new Uint8Array(readFileSync(file));
    expect(bytes.length).toBeLessThan(100_000);
    const p = readFitsImage(bytes);
    expect(p.shape.slice(0, 2)).toEqual([64, 64]);
    let meanP = 0;
    for (const v of p.data) {
      expect(v).toBeGreaterThan(0);
      meanP += v / p.data.length;
    }
    for (let l = 0; l < 64; l++) for (let k = 0; k < 64; k++) expect(p.data[l * 64 + k]).toBeCloseTo(p.data[((64 - l) % 64) * 64 + ((64 - k) % 64)]!, 7);
    const cube = readFits(new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits'))));
    const img = cube.hdus[0]!.readImage();
    const split = cube.hdus[1]!.readTable().column('SPLIT')!.data as string[];
    let sq = 0;
    let n = 0;
    split.forEach((s, g) => {
      if (s.trim() !== 'train') return;
      n++;
      for (let i = 0; i < 4096; i++) sq += (img.data[g * 4096 + i]! / 255) ** 2;
    });
    expect(n).toBe(1400);
    expect(Math.abs(meanP / (sq / (n * 4096)) - 1)).toBeLessThan(1e-5);
    // the DC term: N·(mean pixel)² averaged, the largest power
    expect(p.data[0]).toBe(Math.max(...p.data));
  });

  it('a folder with power-spectrum.fits and no model.json resolves as a gaussian-field spec', () => {
    expect(priorSpecOf(DEFAULT_GAUSSIAN)).toBe(`gaussian-field:${path.join(DEFAULT_GAUSSIAN, 'power-spectrum.fits')}`);
    expect(priorSpecOf('gaussian-field:x.fits')).toBe('gaussian-field:x.fits');
    expect(priorSpecOf(path.join(ROOT, 'assets'))).toBe(path.join(ROOT, 'assets'));
  });
});

describe('flux scale for pixel/255 data', () => {
  const fake = (scale: number, data: Record<string, unknown>): ResolvedPrior =>
    ({ kind: 'unet', normalisation: { offset: 0, scale }, meta: { data } }) as unknown as ResolvedPrior;
  it('8-bit training (raw counts, x_train = 255 x) needs F = scale/255; pixel/255 training F = scale; Gaussian field 1', () => {
    expect(fluxScaleForUnitData(fake(255, { source: 'a.fits', normalisationRule: '8-bit data: divided by 255' })).value).toBe(1);
    expect(fluxScaleForUnitData(fake(510, { source: '../shared/data/train/galaxyzoo_kaggle2000_gray64.fits' })).value).toBe(2);
    expect(fluxScaleForUnitData(fake(0.8, { source: 'normalised.fits', normalisationRule: 'given' })).value).toBe(0.8);
    expect(fluxScaleForUnitData({ kind: 'gaussian-field', normalisation: { offset: 0, scale: 1 } } as ResolvedPrior).value).toBe(1);
  });
});

const GF = priorSpecOf(DEFAULT_GAUSSIAN);

describe('evaluation harness', () => {
  it('runs on 2 validation images: finite, sane numbers, baselines beat the data, simulated noise has χ² ≈ 1', async () => {
    const r = await runEvaluation({ prior: GF, nImages: 2, samples: 4, steps: 40, rlMaxIter: 40, lambdaGrid: [-2, -1.5, -1, -0.5, 0], seed: 3, workers: 1 });
    expect(r.images).toHaveLength(2);
    expect(r.prior.kind).toBe('gaussian-field');
    for (const im of r.images) {
      for (const v of Object.values(im.psnr)) expect(Number.isFinite(v)).toBe(true);
      expect(im.psnr.rl).toBeGreaterThan(im.psnr.blurred);
      expect(im.psnr.wiener).toBeGreaterThan(im.psnr.blurred);
      expect(im.psnr.posterior).toBeGreaterThan(im.psnr.blurred);
      // χ²/px of the TRUE image: mean of 4096 χ²₁ variables, sd √(2/4096) = 0.022; 5 sd
      expect(Math.abs(im.chi2Truth - 1)).toBeLessThan(0.11);
      expect(im.chi2PerPixel).toBeGreaterThan(0.5);
      expect(im.chi2PerPixel).toBeLessThan(1.5);
      expect(im.rlIterations).toBeGreaterThanOrEqual(1);
      expect([0.01, 10 ** -1.5, 0.1, 10 ** -0.5, 1]).toContain(im.wienerLambda);
      expect(im.sigma).toBeGreaterThan(0);
      for (let i = 1; i < im.coverage.length; i++) expect(im.coverage[i]).toBeGreaterThanOrEqual(im.coverage[i - 1]!);
    }
    expect(r.coverage.levels).toEqual([0.5, 0.68, 0.9, 0.95]);
    for (const c of r.coverage.observed) expect(c).toBeGreaterThan(0);
    expect(r.tarp.ecp.length).toBe(r.tarp.alpha.length);
    expect(r.mean.gainOverBestBaseline).toBeCloseTo(r.mean.psnr.posterior - Math.max(r.mean.psnr.rl, r.mean.psnr.wiener), 10);
    const md = evalMarkdown(r);
    // the mean product (Rao–Blackwellised) and, beside it, the plain mean of the draws
    expect(md).toContain(`| posterior mean (Rao–Blackwellised, the product) | ${r.mean.psnr.posterior.toFixed(2)} |`);
    expect(md).toContain(`| mean of the 4 draws | ${r.mean.psnr.posteriorDraws.toFixed(2)} |`);
    expect(r.mean.psnr.posteriorDraws).not.toBe(r.mean.psnr.posterior);
    expect(md.split('\n').filter((l) => /^\| 14\d\d \|/.test(l))).toHaveLength(2);
    // 40 pc levels is below reconstruct's threshold (100): the same warning in the report and its table
    expect(r.warnings).toEqual([expect.stringMatching(/^40 steps is few for the pc sampler \(default 500; at least 100 recommended\)/)]);
    expect(md).toContain(`**Warning:** ${r.warnings[0]}.`);
    // the same seed gives the same data and the same numbers
    const again = await runEvaluation({ prior: GF, nImages: 1, samples: 4, steps: 40, rlMaxIter: 40, lambdaGrid: [-2, -1.5, -1, -0.5, 0], seed: 3, workers: 1 });
    expect(again.images[0]!.psnr.blurred).toBe(r.images[0]!.psnr.blurred);
    expect(again.images[0]!.psnr.rl).toBe(r.images[0]!.psnr.rl);
    // on two worker threads (the forward model rebuilt there from an M.json): the same chains, so the same posterior
    const par = await runEvaluation({ prior: GF, nImages: 1, samples: 4, steps: 40, rlMaxIter: 40, lambdaGrid: [-2, -1.5, -1, -0.5, 0], seed: 3, workers: 2 });
    expect(par.setup.workers).toBe(2);
    expect(par.images[0]!.psnr.posterior).toBeCloseTo(r.images[0]!.psnr.posterior, 3);
    expect(par.images[0]!.chi2PerPixel).toBeCloseTo(r.images[0]!.chi2PerPixel, 3);
    expect(par.images[0]!.coverage).toEqual(r.images[0]!.coverage);
  }, 180_000);

  it('--truth: other images in other units (NaN images left out), the automatic flux scale, PSNR independent of the units', async () => {
    // three validation images of the galaxy cube in counts ×1000 (units the prior has never seen); one spoiled by a NaN
    const file = readFits(new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits'))));
    const cube = file.hdus[0]!.readImage();
    const split = file.hdus[1]!.readTable().column('SPLIT')!.data as string[];
    const val = split.map((v, i) => (v.trim() === 'validation' ? i : -1)).filter((i) => i >= 0).slice(0, 3);
    const npix = 64 * 64;
    const make = (unit: number) => {
      const data = new Float32Array(3 * npix);
      val.forEach((gi, k) => {
        for (let i = 0; i < npix; i++) data[k * npix + i] = (unit * cube.data[gi * npix + i]!) / 255;
      });
      data[npix + 100] = NaN;
      return writeFits([{ data, shape: [64, 64, 3] }]);
    };
    const logs: string[] = [];
    // 150 levels: fewer leave the under-trained U-Net's chains unconverged (the demo test's setting)
    const opts = { prior: DEFAULT_UNET, nImages: 2, samples: 2, steps: 150, rlMaxIter: 20, lambdaGrid: [-2, -1], seed: 5, workers: 2 };
    const big = await runEvaluation({ ...opts, truth: { files: [{ name: 'counts.fits', bytes: make(1000) }] }, log: (l) => logs.push(l) });
    expect(logs.join('\n')).toMatch(/counts\.fits\[1\] has non-finite pixels: left out/);
    expect(big.images.map((i) => i.galaxyId)).toEqual(['counts.fits[0]', 'counts.fits[2]']);
    expect(big.setup.images).toBe('images of counts.fits');
    expect(big.prior.fluxSource).toMatch(/^automatic per image/);
    // F ≈ 1000 × (99.5th percentile of the blurred, noisy image)/peak: far from the pixel/255 rule's 1
    expect(big.prior.fluxScale).toBeGreaterThan(100);
    for (const im of big.images) {
      expect(im.psnr.posterior).toBeGreaterThan(im.psnr.blurred);
      expect(im.chi2PerPixel).toBeGreaterThan(0.5);
      expect(im.chi2PerPixel).toBeLessThan(1.5);
    }
    expect(evalMarkdown(big)).toMatch(/2 images of counts\.fits, Gaussian PSF/);
    // 150 levels: at or above the steps threshold, no warning
    expect(big.warnings).toEqual([]);
    expect(evalMarkdown(big)).not.toContain('Warning');
    // the same images in units 1: every number in prior units is the same, so the PSNRs agree (float32 rounding)
    const unit = await runEvaluation({ ...opts, nImages: 1, truth: { files: [{ name: 'unit.fits', bytes: make(1) }] } });
    expect(unit.images[0]!.fluxScale / (big.images[0]!.fluxScale / 1000)).toBeCloseTo(1, 5);
    for (let k = 0; k < 1; k++) {
      expect(unit.images[k]!.psnr.posterior).toBeCloseTo(big.images[k]!.psnr.posterior, 1);
      expect(unit.images[k]!.psnr.blurred).toBeCloseTo(big.images[k]!.psnr.blurred, 3);
      expect(unit.images[k]!.chi2PerPixel).toBeCloseTo(big.images[k]!.chi2PerPixel, 2);
    }
  }, 300_000);
});

describe('eval on images of several sizes and files', () => {
  const valImages = (count: number) => {
    const file = readFits(new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits'))));
    const cube = file.hdus[0]!.readImage();
    const split = file.hdus[1]!.readTable().column('SPLIT')!.data as string[];
    const val = split.map((v, i) => (v.trim() === 'validation' ? i : -1)).filter((i) => i >= 0).slice(0, count);
    return val.map((gi) => Float32Array.from(cube.data.subarray(gi * 4096, (gi + 1) * 4096), (v) => v / 255));
  };
  /** Rows y0.. and columns x0.. of a 64×64 image (FITS order: x fastest). */
  const crop = (img: Float32Array, y0: number, ny: number, x0: number, nx: number) => {
    const out = new Float32Array(ny * nx);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[y * nx + x] = img[(y0 + y) * 64 + x0 + x]!;
    return out;
  };

  it('takes every image HDU of a multi-extension file, each with its own size and forward model', async () => {
    const [a, b] = valImages(2);
    // HDU 0: a 64×64 image; HDU 1 (an IMAGE extension): a 36×52 crop, padded by reflection for the U-Net
    const bytes = writeFits([
      { data: a!, shape: [64, 64] },
      { data: crop(b!, 10, 36, 6, 52), shape: [52, 36] },
    ]);
    const logs: string[] = [];
    const r = await runEvaluation({
      prior: DEFAULT_UNET,
      nImages: 5,
      samples: 2,
      steps: 150,
      rlMaxIter: 20,
      lambdaGrid: [-2, -1],
      seed: 3,
      workers: 2,
      truth: { files: [{ name: 'stamps.fits', bytes }] },
      log: (l) => logs.push(l),
    });
    expect(r.images.map((i) => i.galaxyId)).toEqual(['stamps.fits[HDU 0]', 'stamps.fits[HDU 1]']);
    expect(r.setup.images).toBe('images of stamps.fits (2 sizes)');
    // the size note is logged once, for the size that is not the prior's training size
    expect(logs.filter((l) => /note: .*trained on 64×64 images and is used on 36×52/.test(l))).toHaveLength(1);
    // TARP across the two sizes: each size has its own reference box (no NaN from unmatched pixels)
    expect(r.tarp.ecp.every((e) => Number.isFinite(e) && e >= 0 && e <= 1)).toBe(true);
    for (const im of r.images) {
      expect(im.psnr.posterior).toBeGreaterThan(im.psnr.blurred);
      expect(im.chi2PerPixel).toBeGreaterThan(0.5);
      expect(im.chi2PerPixel).toBeLessThan(1.5);
      expect(im.coverage.every((c) => c >= 0 && c <= 1)).toBe(true);
    }
  }, 600_000);

  it('npm run eval takes a folder of FITS files and several --truth, and refuses an empty folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-eval-truth-'));
    try {
      const imgs = valImages(3);
      const two = new Float32Array(2 * 4096);
      two.set(imgs[1]!, 0);
      two.set(imgs[2]!, 4096);
      // b.fits: a cube of two planes; a.fits: one image; notes.txt is not FITS and is skipped
      writeFileSync(path.join(dir, 'b.fits'), writeFits([{ data: two, shape: [64, 64, 2] }]));
      writeFileSync(path.join(dir, 'a.fits'), writeFits([{ data: imgs[0]!, shape: [64, 64] }]));
      writeFileSync(path.join(dir, 'notes.txt'), 'not a FITS file');
      const extra = path.join(os.tmpdir(), `skyscore-eval-extra-${process.pid}.fits`);
      writeFileSync(extra, writeFits([{ data: imgs[2]!, shape: [64, 64] }]));
      const out = path.join(dir, 'out');
      // the Gaussian-field prior: the harness, not the network, is under test here (seconds, not minutes)
      const args = ['--prior', DEFAULT_GAUSSIAN, '--truth', dir, '--truth', extra, '--samples', '2', '--steps', '30', '--workers', '1', '--out', out];
      const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'eval.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
      rmSync(extra, { force: true });
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(readFileSync(path.join(out, 'eval.json'), 'utf8'));
      expect(report.images.map((i: { galaxyId: string }) => i.galaxyId)).toEqual(['a.fits', 'b.fits[0]', 'b.fits[1]', path.basename(extra)]);
      expect(report.setup.split).toBe(`files a.fits, b.fits, ${path.basename(extra)}`);
      // --steps 30: reconstruct's steps warning on stderr, in eval.json and in eval.md
      expect(r.stderr).toMatch(/eval: warning: 30 steps is few for the pc sampler/);
      expect(report.warnings).toEqual([expect.stringMatching(/^30 steps is few for the pc sampler/)]);
      expect(readFileSync(path.join(out, 'eval.md'), 'utf8')).toMatch(/\*\*Warning:\*\* 30 steps is few/);
      const empty = path.join(dir, 'empty');
      mkdirSync(empty);
      const bad = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'eval.ts'), '--truth', empty], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/cannot read --truth .*empty: no FITS files/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('skyscore demo', () => {
  async function runDemo(args: string[]): Promise<{ out: string; text: string; report: { chi2PerPixel: number; fluxScale: { value: number }; prior: { spec: string; kind: string } } }> {
    const out = mkdtempSync(path.join(os.tmpdir(), 'skyscore-demo-'));
    const lines: string[] = [];
    const spyOut = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true));
    const spyErr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (lines.push(String(s)), true));
    try {
      const rc = await demoCommand.run(['--out', out, ...args, '--quiet']);
      expect(rc).toBe(0);
    } finally {
      spyOut.mockRestore();
      spyErr.mockRestore();
    }
    for (const f of ['posterior-mean.fits', 'posterior-std.fits', 'posterior-samples.fits', 'residual.fits', 'report.json']) expect(existsSync(path.join(out, f))).toBe(true);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    return { out, text: lines.join(''), report };
  }
  function expectGain(text: string, out: string, dB: number) {
    const m = /posterior mean ([\d.]+) dB \(the observation: ([\d.]+) dB\)/.exec(text);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(Number(m![2]) + dB);
    expect(text).toContain(out);
    rmSync(out, { recursive: true, force: true });
  }

  it('reconstructs the bundled observation with the shipped galaxy-64 U-Net by default (flux scale 1, χ² ≈ 1, PSNR gain)', async () => {
    expect(existsSync(path.join(ROOT, 'models', 'galaxy-64', 'model.json'))).toBe(true);
    // 150 pc levels: fewer leave the U-Net's posterior mean noisier than the data (40 levels gave 24.6 dB < 26.3 dB)
    const { out, text, report } = await runDemo(['--n', '2', '--steps', '150']);
    expect(text).not.toMatch(/Gaussian-field galaxy prior/);
    expect(report.prior.kind).toBe('unet');
    expect(report.prior.spec).toMatch(/models[\\/]galaxy-64$/);
    expect(report.fluxScale.value).toBe(1);
    expect(report.chi2PerPixel).toBeGreaterThan(0.7);
    expect(report.chi2PerPixel).toBeLessThan(1.3);
    expectGain(text, out, 1);
  }, 300_000);

  it('reconstructs it with the Gaussian-field fallback prior when asked', async () => {
    const { out, text, report } = await runDemo(['--prior', DEFAULT_GAUSSIAN, '--n', '4', '--steps', '40']);
    expect(report.prior.kind).toBe('gaussian-field');
    expect(report.fluxScale.value).toBe(1);
    expect(report.chi2PerPixel).toBeGreaterThan(0.5);
    expect(report.chi2PerPixel).toBeLessThan(1.5);
    expectGain(text, out, 0);
  }, 120_000);
});
