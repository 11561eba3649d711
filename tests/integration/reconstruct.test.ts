/**
 * skyscore reconstruct / sample end to end: the products (FITS with the observation's WCS and provenance cards,
 * report.json), reproducibility for a seed, NaN pixels masked with a note, and bad input (exit 2 with one
 * `skyscore:` line): a prior of another size, a forward model whose output shape is not the data's, a missing
 * model folder, an unknown sampler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { backgroundReference } from '../../src-shared/diffusion/flux-reference.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { readFitsImage, writeFits, FitsHeader } from '../../src-shared/fits/index.js';
import { powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';
import { circulantCovariance, convolutionMatrix, gaussianDraws, sparseTimesVector } from '../helpers/gaussian-posterior.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { unetLayout } from '../../src-shared/diffusion/nn/unet.js';
import { encodeWeights } from '../../src-shared/diffusion/nn/weights.js';
import { writePriorFolder } from '../../src-main/prior-folder.js';
import { tinyUnetMeta } from '../helpers/unet-meta.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const read = (f: string) => readFitsImage(new Uint8Array(readFileSync(f)));
const N = 32;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-rec-'));
  // a tiny U-Net prior trained (here: initialised) on 16×16 images
  const arch = { nf: 8, chMult: [1, 2], numResBlocks: 1, attention: false, embeddingDim: 16, fourierScale: 16 };
  const { manifest, bytes } = encodeWeights(unetLayout(arch), unetLayout(arch).initialise(5), 'float32');
  await writePriorFolder(p('tiny16'), tinyUnetMeta(arch, manifest), bytes);
  const power = powerLawSpectrum(N, N, 10, 4, 2);
  writeFileSync(p('pk.fits'), writeFits([{ data: Float32Array.from(power), shape: [N, N] }]));
  writePowerSpectrumPrior(p('pk16.fits'), 16, 10, 2, 2);
  const r = new ChainRandom(12, 0);
  const truth = gaussianDraws(circulantCovariance(power, N, N), N * N, 1, () => r.normal());
  const k = gaussianPsf(2.5);
  const y = sparseTimesVector(convolutionMatrix(N, N, k.data, k.shape[0], k.shape[1], k.center[0], k.center[1]), truth).map((v) => v + 0.1 * r.normal());
  const h = new FitsHeader();
  for (const [key, v] of [
    ['CTYPE1', 'RA---TAN'],
    ['CTYPE2', 'DEC--TAN'],
    ['CRPIX1', 16.5],
    ['CRPIX2', 16.5],
    ['CRVAL1', 150.1],
    ['CRVAL2', 2.2],
    ['CDELT1', -1e-4],
    ['CDELT2', 1e-4],
    ['BUNIT', 'Jy/beam'],
  ] as const)
    h.set(key, v);
  writeFileSync(p('y.fits'), writeFits([{ data: Float32Array.from(y), shape: [N, N], header: h }]));
  const yNan = Float32Array.from(y);
  yNan[5] = NaN;
  yNan[700] = NaN;
  writeFileSync(p('ynan.fits'), writeFits([{ data: yNan, shape: [N, N], header: h }]));
  writeFileSync(p('y30.fits'), writeFits([{ data: new Float32Array(30 * 30), shape: [30, 30] }]));
  writeFileSync(p('M.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2.5 }] }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const base = () => ['reconstruct', '--obs', p('y.fits'), '--model', p('M.json'), '--prior', `gaussian-field:${p('pk.fits')}`, '--noise', '0.1', '--quiet'];

describe('skyscore reconstruct', () => {
  it('writes the products with the WCS and provenance, and report.json', async () => {
    const r = await runCliAsync([...base(), '--n', '6', '--steps', '150', '--seed', '3', '--out', p('out')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*report\.json: χ²\/pixel of the mean/);
    for (const f of ['posterior-mean.fits', 'posterior-std.fits', 'posterior-samples.fits', 'residual.fits', 'report.json']) expect(existsSync(p(`out/${f}`))).toBe(true);
    const mean = read(p('out/posterior-mean.fits'));
    expect(mean.shape).toEqual([N, N]);
    expect(mean.header.get('CTYPE1')).toBe('RA---TAN');
    expect(mean.header.get('CRVAL2')).toBe(2.2);
    expect(mean.header.get('BUNIT')).toBe('Jy/beam');
    expect(mean.header.get('SKYSAMP')).toBe('pc');
    expect(mean.header.get('SKYSTEPS')).toBe(150);
    expect(mean.header.get('SKYSEED')).toBe(3);
    expect(mean.header.get('SKYNSAMP')).toBe(6);
    expect(mean.header.get('SKYPRIOR')).toBe('gaussian-field:pk.fits');
    expect(String(mean.header.get('SKYMODEL'))).toMatch(/^[0-9a-f]{64}$/);
    expect(mean.header.get('SKYSCORE PRIOR SHA256')).toMatch(/^[0-9a-f]{32}$/);
    expect(mean.header.history().join(' ')).toMatch(/skyscore reconstruct --obs y\.fits --model M\.json/);
    const samples = read(p('out/posterior-samples.fits'));
    expect(samples.shape).toEqual([N, N, 6]);
    const std = read(p('out/posterior-std.fits'));
    // std is the samples'; the mean is the Rao–Blackwellised estimate (the next test), which differs from the
    // samples' mean by less than the samples' own standard error of it
    for (const i of [0, 100, 555]) {
      const v = Array.from({ length: 6 }, (_, k) => samples.data[k * N * N + i]);
      const m = v.reduce((a, b) => a + b, 0) / 6;
      const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / 5);
      expect(std.data[i]).toBeCloseTo(s, 4);
      expect(Math.abs(mean.data[i] - m)).toBeLessThan((3 * s) / Math.sqrt(6));
    }
    const res = read(p('out/residual.fits'));
    expect(res.header.get('BUNIT')).toBeUndefined();
    const report = JSON.parse(readFileSync(p('out/report.json'), 'utf8'));
    for (const k of ['chi2PerPixel', 'n', 'steps', 'sampler', 'backend', 'seconds', 'scoreEvaluations', 'seed', 'versions']) expect(report).toHaveProperty(k);
    expect(report.n).toBe(6);
    // two evaluations per level and the final second-order Tweedie draw (1 + 2 × 8 probes per chain)
    expect(report.scoreEvaluations).toBe(6 * 150 * 2 + 6 * 17);
    expect(report.samplerSettings).toMatchObject({ snr: 0.16, correctorSteps: 1, denoise: 'tweedie-draw (8 probes)' });
    expect(report.likelihood.method).toBe('kronecker');
    expect(report.fluxScale.value).toBe(1);
    // χ² per pixel of the residual map = report
    let chi = 0;
    for (const v of res.data) chi += v * v;
    expect(chi / (N * N)).toBeCloseTo(report.chi2PerPixel, 4);
    expect(report.chi2PerPixel).toBeLessThan(1.2);
  });

  it('--denoise none|mean|draw: the same chains, then no final step, Tweedie\'s mean or a draw; --symmetrise is reported', async () => {
    const run = async (extra: string[], out: string) => {
      const r = await runCliAsync([...base(), '--n', '2', '--steps', '30', '--seed', '4', '--out', p(out), ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return { report: JSON.parse(readFileSync(p(`${out}/report.json`), 'utf8')), samples: read(p(`${out}/posterior-samples.fits`)).data };
    };
    const raw = await run(['--no-denoise'], 'raw');
    const den = await run(['--denoise', 'mean'], 'den');
    const drawn = await run([], 'drawn');
    expect(raw.report.samplerSettings.denoise).toBe('none');
    expect(den.report.samplerSettings.denoise).toBe('tweedie');
    expect(drawn.report.samplerSettings.denoise).toBe('tweedie-draw (8 probes)');
    expect(raw.report.scoreEvaluations).toBe(2 * 30 * 2);
    expect(den.report.scoreEvaluations).toBe(2 * 30 * 2 + 2);
    expect(drawn.report.scoreEvaluations).toBe(2 * 30 * 2 + 2 * 17);
    // the samples' and the std's headers say how the draws end
    const history = (f: string) => read(p(f)).header.history().join(' ');
    expect(history('drawn/posterior-samples.fits')).toMatch(/draws end with a second-order Tweedie draw at sigma_min/);
    expect(history('drawn/posterior-std.fits')).toMatch(/draws end with a second-order Tweedie draw at sigma_min/);
    expect(history('den/posterior-samples.fits')).toMatch(/draws end with Tweedie's mean at sigma_min/);
    expect(history('raw/posterior-samples.fits')).toMatch(/raw draws at sigma_min/);
    // the mean product does not depend on the ending (Rao–Blackwellised, its probes are not draws)
    const meanOf = (out: string) => read(p(`${out}/posterior-mean.fits`)).data;
    const [mDen, mDrawn] = [meanOf('den'), meanOf('drawn')];
    for (let i = 0; i < mDen.length; i++) expect(mDrawn[i]).toBeCloseTo(mDen[i]!, 4);
    expect((await runCliAsync([...base(), '--out', p('bad'), '--denoise', 'median'])).stderr).toMatch(/--denoise must be mean, draw or none, got 'median'/);
    expect((await runCliAsync([...base(), '--out', p('bad'), '--denoise', 'draw', '--no-denoise'])).stderr).toMatch(/--no-denoise contradicts --denoise draw/);
    // σmin of this Gaussian field is 10⁻³ of its pixel standard deviation: the step moves the draws, but little
    let moved = 0;
    let scale = 0;
    for (let i = 0; i < raw.samples.length; i++) {
      moved = Math.max(moved, Math.abs(raw.samples[i]! - den.samples[i]!));
      scale = Math.max(scale, Math.abs(raw.samples[i]!));
    }
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(1e-2 * scale);
    // --symmetrise (through worker threads too): a Gaussian field declares no symmetry, so all eight transforms;
    // the same number of evaluations, and the report says what was done
    const sym = await run(['--symmetrise', '--workers', '2', '--denoise', 'mean'], 'sym');
    expect(sym.report.samplerSettings.symmetry).toMatch(/^dihedral: .*one of its 8 flips\/rotations per noise level/);
    expect(sym.report.scoreEvaluations).toBe(den.report.scoreEvaluations);
    expect(den.report.samplerSettings.symmetry).toBeUndefined();
    expect(sym.samples.every(Number.isFinite)).toBe(true);
  });

  it('is reproducible for a seed, whatever --batch and --workers', async () => {
    const a = await runCliAsync([...base(), '--n', '4', '--steps', '40', '--seed', '9', '--out', p('r1'), '--workers', '1']);
    const b = await runCliAsync([...base(), '--n', '4', '--steps', '40', '--seed', '9', '--out', p('r2'), '--batch', '1', '--workers', '2']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(JSON.parse(readFileSync(p('r2/report.json'), 'utf8')).workers).toBe(2);
    const s1 = read(p('r1/posterior-samples.fits')).data;
    const s2 = read(p('r2/posterior-samples.fits')).data;
    let d = 0;
    for (let i = 0; i < s1.length; i++) d = Math.max(d, Math.abs(s1[i] - s2[i]));
    expect(d).toBeLessThan(1e-3);
    // the Rao–Blackwellised mean comes back from the worker threads too: the same mean
    const m1 = read(p('r1/posterior-mean.fits')).data;
    const m2 = read(p('r2/posterior-mean.fits')).data;
    let dm = 0;
    for (let i = 0; i < m1.length; i++) dm = Math.max(dm, Math.abs(m1[i] - m2[i]));
    expect(dm).toBeLessThan(1e-3);
  });

  it('posterior-mean.fits is the Rao–Blackwellised mean by default; --no-rao-blackwell makes it the mean of the draws', async () => {
    const run = async (extra: string[], out: string) => {
      const r = await runCliAsync([...base(), '--n', '3', '--steps', '60', '--seed', '5', '--out', p(out), ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return {
        report: JSON.parse(readFileSync(p(`${out}/report.json`), 'utf8')),
        samples: read(p(`${out}/posterior-samples.fits`)).data,
        mean: read(p(`${out}/posterior-mean.fits`)).data,
      };
    };
    const rb = await run([], 'rb');
    const plain = await run(['--no-rao-blackwell'], 'plain');
    // σ_n = 0.1 and a PSF of unit sum: the window is σ ≤ 1/√λmax(AᵀA/σ_n²), a little above σ_n
    expect(rb.report.samplerSettings.meanEstimate).toMatch(/^rao-blackwellised/);
    expect(rb.report.samplerSettings.raoBlackwellSigma).toBeGreaterThan(0.1);
    expect(rb.report.samplerSettings.raoBlackwellSigma).toBeLessThan(0.11);
    expect(rb.report.samplerSettings.raoBlackwellTerms).toBeGreaterThan(2);
    expect(plain.report.samplerSettings.meanEstimate).toBe('mean of the draws');
    // and the mean's FITS header says which
    expect(read(p('rb/posterior-mean.fits')).header.history().join('')).toMatch(/mean Rao-Blackwellised: Tweedie/);
    expect(read(p('plain/posterior-mean.fits')).header.history().join('')).toMatch(/mean of the 3 samples/);
    // the same chains either way; only the mean differs
    expect(Array.from(plain.samples)).toEqual(Array.from(rb.samples));
    const per = N * N;
    let dPlain = 0;
    let dRb = 0;
    for (let i = 0; i < per; i++) {
      const m = (plain.samples[i]! + plain.samples[per + i]! + plain.samples[2 * per + i]!) / 3;
      dPlain = Math.max(dPlain, Math.abs(plain.mean[i]! - m));
      dRb = Math.max(dRb, Math.abs(rb.mean[i]! - m));
    }
    expect(dPlain).toBeLessThan(1e-5);
    expect(dRb).toBeGreaterThan(1e-2);
  });

  it("takes the observation's HDU in brackets (FILE.fits[SCI]) as lens-fit does: the same products as --hdu", async () => {
    const y = readFitsImage(new Uint8Array(readFileSync(p('y.fits'))));
    const sci = new FitsHeader();
    sci.set('EXTNAME', 'SCI');
    for (const k of ['CTYPE1', 'CTYPE2', 'CRPIX1', 'CRPIX2', 'CRVAL1', 'CRVAL2', 'CDELT1', 'CDELT2', 'BUNIT']) sci.set(k, y.header.get(k)!);
    writeFileSync(p('mef.fits'), writeFits([{ data: null, shape: [] }, { data: Float32Array.from(y.data), shape: [y.shape[0], y.shape[1]], header: sci }]));
    const mef = (obs: string, extra: string[], out: string) =>
      runCliAsync(['reconstruct', '--obs', obs, ...extra, '--model', p('M.json'), '--prior', `gaussian-field:${p('pk.fits')}`, '--noise', '0.1', '--quiet', '--n', '1', '--steps', '20', '--seed', '2', '--out', p(out)]);
    const a = await mef(`${p('mef.fits')}[SCI]`, [], 'mef-sci');
    expect(a.code, a.stderr).toBe(0);
    const b = await mef(p('mef.fits'), ['--hdu', '1'], 'mef-hdu');
    expect(b.code, b.stderr).toBe(0);
    const mean = (d: string) => readFitsImage(new Uint8Array(readFileSync(p(`${d}/posterior-mean.fits`))));
    expect(Array.from(mean('mef-sci').data)).toEqual(Array.from(mean('mef-hdu').data));
    expect(mean('mef-sci').header.getString('CTYPE1')).toBe('RA---TAN');
    const c = await mef(`${p('mef.fits')}[SCI]`, ['--hdu', '1'], 'mef-both');
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/give the HDU in brackets or by --hdu, not both/);
    const d = await mef(`${p('mef.fits')}[ERR]`, [], 'mef-err');
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/no image HDU named ERR .*1 SCI/);
  });

  it('masks NaN pixels and says so', async () => {
    const r = await runCliAsync([...base().map((v) => (v === p('y.fits') ? p('ynan.fits') : v)), '--n', '2', '--steps', '30', '--out', p('nan')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/skyscore: note: 2 NaN\/infinite pixels in ynan\.fits masked \(2 of 1024\)/);
    const res = read(p('nan/residual.fits')).data;
    expect(Number.isNaN(res[5])).toBe(true);
    expect(Number.isNaN(res[700])).toBe(true);
    expect(Number.isFinite(res[6])).toBe(true);
    const report = JSON.parse(readFileSync(p('nan/report.json'), 'utf8'));
    expect(report.observedPixels).toBe(1022);
    expect(report.warnings.join(' ')).toMatch(/2 NaN/);
    expect(report.likelihood.method).toBe('cg');
  });

  it('warns, on stderr and in report.json, when χ² per pixel leaves its expected range (a noise σ stated 5× too small)', async () => {
    const args = base().map((v) => (v === '0.1' ? '0.02' : v));
    const r = await runCliAsync([...args, '--n', '2', '--steps', '100', '--out', p('chi2')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skyscore: warning: χ² per pixel of the posterior samples [\d.]+ is above the range 0\.58–1\.70 expected for 1024 observed pixels/);
    // every warning line once (the diagnostics' were printed twice)
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('skyscore: warning: '));
    expect(lines.length).toBeGreaterThan(0);
    expect(new Set(lines).size).toBe(lines.length);
    const report = JSON.parse(readFileSync(p('chi2/report.json'), 'utf8'));
    expect(report.chi2PerPixelSamples).toBeGreaterThan(5);
    expect(report.warnings.join('\n')).toMatch(/posterior samples .* above the range/);
  });

  it("warns, on stderr and in report.json, when the PSF file's stated sampling is not the observation's pixel scale", async () => {
    // y.fits: CDELT 1e-4 deg = 0.36″; a PSF sampled at 0.09″ (an IRAC PRF's SECPIX keyword) is 4× too narrow there
    const k = gaussianPsf(2.5);
    const psf = (name: string, key: string, scale: number) => {
      writeFileSync(p(name), writeFits([{ data: Float32Array.from(k.data), shape: [k.shape[1], k.shape[0]], header: new FitsHeader().set(key, scale) }]));
      writeFileSync(p(`M-${name}.json`), JSON.stringify({ shape: [N, N], operators: [{ type: 'psf', fits: name }] }));
      return base().map((v) => (v === p('M.json') ? p(`M-${name}.json`) : v));
    };
    const r = await runCliAsync([...psf('psf-fine.fits', 'SECPIX', 0.09), '--n', '2', '--steps', '100', '--out', p('psf-fine')]);
    expect(r.code, r.stderr).toBe(0);
    const said = /operators\[0\] \(psf\): the PSF psf-fine\.fits is sampled at 0\.09″ per pixel \(SECPIX = 0\.09\) but y\.fits has 0\.36″ pixels \(its WCS: CDELTi\): the PSF is 4× finer than the image, .*resample the PSF to the image's pixels \(0\.36″\)/;
    expect(r.stderr).toMatch(new RegExp(`skyscore: note: ${said.source}`));
    const report = JSON.parse(readFileSync(p('psf-fine/report.json'), 'utf8'));
    expect(report.warnings.filter((w: string) => said.test(w))).toHaveLength(1);
    // 1.4 % off (TinyTim's PIXSCALE): within the tolerance, no warning
    const near = await runCliAsync([...psf('psf-near.fits', 'PIXSCALE', 0.355), '--n', '2', '--steps', '100', '--out', p('psf-near')]);
    expect(near.code, near.stderr).toBe(0);
    expect(near.stderr).not.toMatch(/sampled at/);
    expect(JSON.parse(readFileSync(p('psf-near/report.json'), 'utf8')).warnings.join(' ')).not.toMatch(/sampled at/);
  });

  it('bad input: a prior of another size, an output shape that is not the data’s, a missing model folder, an unknown sampler', async () => {
    const size = await runCliAsync([...base().map((v) => (v.endsWith('pk.fits') ? `gaussian-field:${p('pk16.fits')}` : v)), '--out', p('bad1')]);
    expect(size.code).toBe(2);
    expect(size.stderr.trim().split('\n')).toHaveLength(1);
    expect(size.stderr).toMatch(/^skyscore: the prior gaussian-field:pk16\.fits describes 16×16 images but the forward model's unknown is 32×32/);
    const shape = await runCliAsync([...base().map((v) => (v === p('y.fits') ? p('y30.fits') : v)), '--out', p('bad2')]);
    expect(shape.code).toBe(2);
    expect(shape.stderr).toMatch(/^skyscore: .*y30\.fits: the data are 30×30 .* but the forward model M\.json produces 32×32 .*output shape must match the data/);
    const missing = await runCliAsync([...base().map((v) => (v.endsWith('pk.fits') ? p('models/nope') : v)), '--out', p('bad3')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^skyscore: prior .*models\/nope: .*no such model folder/);
    const sampler = await runCliAsync([...base(), '--sampler', 'magic', '--out', p('bad4')]);
    expect(sampler.code).toBe(2);
    expect(sampler.stderr).toMatch(/^skyscore: reconstruct: --sampler must be one of pc, em, ald, ula, dps, got 'magic'/);
    for (const d of ['bad1', 'bad2', 'bad3', 'bad4']) expect(existsSync(p(d))).toBe(false);
  });
});

describe('skyscore reconstruct with a learned prior', () => {
  it('warns when a fully convolutional U-Net is used outside its training size; automatic flux scale', async () => {
    const r = await runCliAsync([...base().map((v) => (v.endsWith('pk.fits') ? p('tiny16') : v)), '--n', '2', '--steps', '3', '--out', p('unet'), '--workers', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/skyscore: note: the prior tiny16 was trained on 16×16 images and is used on 32×32/);
    const report = JSON.parse(readFileSync(p('unet/report.json'), 'utf8'));
    // F = q99.5(y)/1 (data units per prior unit; numpy's linear-interpolation percentile; tiny16 records no peakPrior)
    const y = Array.from(read(p('y.fits')).data).sort((a, b) => a - b);
    const rank = 0.995 * (y.length - 1);
    const k = Math.floor(rank);
    expect(report.fluxScale.value).toBeCloseTo(y[k] + (rank - k) * (y[k + 1] - y[k]), 5);
    expect(report.fluxScale.source).toMatch(/^auto: 99\.5th percentile/);
    expect(report.fluxScale.background).toBe(0);
    expect(read(p('unet/posterior-mean.fits')).header.get('SKYBKG')).toBe(0);
    expect(report.prior.kind).toBe('unet');
    expect(report.warnings.join(' ')).toMatch(/trained on 16×16/);
  });

  it('refuses a U-Net on an unknown smaller than its down-sampling factor, before any sampling', async () => {
    writeFileSync(p('y1.fits'), writeFits([{ data: new Float32Array([1]), shape: [1, 1] }]));
    writeFileSync(p('M1.json'), JSON.stringify({ shape: [1, 1], operators: [] }));
    const args = base().map((v) => (v.endsWith('pk.fits') ? p('tiny16') : v === p('y.fits') ? p('y1.fits') : v === p('M.json') ? p('M1.json') : v));
    const r = await runCliAsync([...args, '--out', p('unet1')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^skyscore: the prior tiny16 is a U-Net that runs on images of at least 2×2 pixels \(its down-sampling factor\) but the forward model's unknown is 1×1/);
    expect(existsSync(p('unet1'))).toBe(false);
  });

  it('a prior that records its training sky: data darker than it (here a zero-mean field) get an offset', async () => {
    cpSync(p('tiny16'), p('tiny16sky'), { recursive: true });
    const meta = JSON.parse(readFileSync(p('tiny16sky/model.json'), 'utf8'));
    meta.data = { ...meta.data, peakPrior: 0.5, backgroundPrior: 0.05 };
    writeFileSync(p('tiny16sky/model.json'), JSON.stringify(meta));
    const r = await runCliAsync([...base().map((v) => (v.endsWith('pk.fits') ? p('tiny16sky') : v)), '--n', '2', '--steps', '3', '--out', p('unetsky'), '--workers', '1']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(p('unetsky/report.json'), 'utf8'));
    const y = read(p('y.fits')).data;
    const sorted = Array.from(y).sort((a, b) => a - b);
    const rank = 0.995 * (sorted.length - 1);
    const k = Math.floor(rank);
    const q = sorted[k] + (rank - k) * (sorted[k + 1] - sorted[k]);
    const sky = backgroundReference(y);
    expect(sky).toBeLessThan((q / 0.5) * 0.05);
    expect(report.fluxScale.value).toBeCloseTo((q - sky) / (0.5 - 0.05), 4);
    expect(report.fluxScale.background).toBeCloseTo(sky - report.fluxScale.value * 0.05, 4);
    expect(report.fluxScale.source).toMatch(/^auto, sky darker than the prior's/);
    expect(read(p('unetsky/posterior-mean.fits')).header.get('SKYBKG')).toBeCloseTo(report.fluxScale.background, 6);
  });

  it('runs on a size its down-sampling factor does not divide (31×31: padded by reflection for the network)', async () => {
    const y = read(p('y.fits')).data;
    const y31 = new Float32Array(31 * 31);
    for (let i = 0; i < 31; i++) for (let j = 0; j < 31; j++) y31[i * 31 + j] = y[i * N + j];
    writeFileSync(p('y31.fits'), writeFits([{ data: y31, shape: [31, 31] }]));
    writeFileSync(p('M31.json'), JSON.stringify({ shape: [31, 31], operators: [{ type: 'psf', fwhmPx: 2.5 }] }));
    const args = base().map((v) => (v.endsWith('pk.fits') ? p('tiny16') : v === p('y.fits') ? p('y31.fits') : v === p('M.json') ? p('M31.json') : v));
    const r = await runCliAsync([...args, '--n', '2', '--steps', '3', '--out', p('unet31'), '--workers', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/used on 31×31 \(the forward model's unknown, padded by reflection to 32×32 for the network\)/);
    for (const f of ['posterior-mean.fits', 'posterior-std.fits', 'residual.fits']) {
      const img = read(p(`unet31/${f}`));
      expect(img.shape.slice(0, 2)).toEqual([31, 31]);
      expect(Array.from(img.data).every(Number.isFinite)).toBe(true);
    }
  });
});

describe('skyscore sample', () => {
  it('draws from a Gaussian field and from the ring density', async () => {
    const g = await runCliAsync(['sample', '--prior', `gaussian-field:${p('pk.fits')}`, '--n', '3', '--steps', '50', '--seed', '1', '--out', p('g.fits'), '--quiet']);
    expect(g.code).toBe(0);
    const gi = read(p('g.fits'));
    expect(gi.shape).toEqual([N, N, 3]);
    // the reconstruction products' provenance keys
    expect([gi.header.get('SKYSAMP'), gi.header.get('SKYSTEPS'), gi.header.get('SKYSEED'), gi.header.get('SKYNSAMP')]).toEqual(['pc', 50, 1, 3]);
    expect(gi.header.cards.filter((c) => /^SKYSCORE /.test(c.key)).map((c) => c.key)).toEqual(['SKYSCORE PRIOR SHA256']);
    const ring = await runCliAsync(['sample', '--prior', 'analytic:ring', '--n', '200', '--steps', '100', '--seed', '2', '--out', p('ring.fits'), '--quiet']);
    expect(ring.code).toBe(0);
    const ri = read(p('ring.fits'));
    expect(ri.shape).toEqual([2, 200]);
    // the ring: |x| concentrates around 2 (width 0.4)
    let inside = 0;
    for (let k = 0; k < 200; k++) if (Math.abs(Math.hypot(ri.data[2 * k], ri.data[2 * k + 1]) - 2) < 0.8) inside++;
    expect(inside).toBeGreaterThan(190);
    const bad = await runCliAsync(['sample', '--prior', 'analytic:ring', '--sampler', 'dps', '--out', p('x.fits')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/dps samples a posterior and needs data/);
  });
});
