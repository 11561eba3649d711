import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { writeFits } from '../../src-shared/fits/index.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { madSigma, MAD_TO_SIGMA, median, validateRequestModel, previewRequest, overlaysRequest, noiseEstimateRequest, decodeObs } from '../../src-main/engine/forward-model-requests.js';
import { listPriors, readPriorFolder } from '../../src-main/engine/jobs.js';
import { dataPath } from '../helpers/data.js';

const fits2d = (data: Float32Array, ny: number, nx: number) => writeFits([{ data, shape: [nx, ny] }]);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('noise σ from the median absolute deviation', () => {
  it('median of odd and even counts', () => {
    expect(median(Float64Array.from([3, 1, 2]))).toBe(2);
    expect(median(Float64Array.from([4, 1, 3, 2]))).toBe(2.5);
  });

  it('recovers σ of Gaussian noise within its Monte Carlo error, ignoring a bright source covering 5% of pixels', () => {
    const [ny, nx] = [100, 100];
    const sigma = 0.37;
    const r = new SeededRandom(7);
    const d = new Float32Array(ny * nx);
    for (let i = 0; i < d.length; i++) d[i] = 5 + sigma * r.normal();
    // a bright source on 5% of the pixels biases MAD only slightly (the median moves by ≪ σ)
    for (let i = 0; i < 500; i++) d[i * 20] += 1000;
    const est = madSigma(d, [ny, nx]);
    expect(est.n).toBe(10000);
    // The MAD estimator of σ has asymptotic standard error √(1.3605/n)·σ ≈ 1.1664 σ/√n (efficiency 36.75%).
    // Moving 5% of the mass to +∞ makes the MAD the quantile of |z| at 0.5/0.95 instead of 0.5:
    // Φ⁻¹((1 + 0.5/0.95)/2) / Φ⁻¹(0.75) ≈ 1.062 (≈ 1.064 with the median's own shift of 0.066σ); bound: 1.07.
    const se = 1.1664 * sigma / Math.sqrt(est.n);
    expect(est.sigma).toBeGreaterThan(sigma - 4 * se);
    expect(est.sigma).toBeLessThan(sigma * 1.07 + 4 * se);
    expect(est.median).toBeCloseTo(5, 1);
  });

  it('on a clean region the estimate is unbiased within 4 standard errors', () => {
    const r = new SeededRandom(11);
    const d = Float32Array.from({ length: 64 * 64 }, () => 2 * r.normal());
    for (let i = 0; i < 32; i++) for (let j = 0; j < 32; j++) d[i * 64 + j] = 1e6; // a "source" outside the region
    const est = madSigma(d, [64, 64], { x0: 32, y0: 0, x1: 64, y1: 64 });
    expect(est.n).toBe(32 * 64);
    const se = (1.1664 * 2) / Math.sqrt(est.n);
    expect(Math.abs(est.sigma - 2)).toBeLessThan(4 * se);
    expect(MAD_TO_SIGMA).toBeCloseTo(1 / 0.6744897501960817, 12);
  });

  it('refuses a constant region and a region with too few pixels', () => {
    expect(() => madSigma(new Float32Array(400).fill(3), [20, 20])).toThrow(/median absolute deviation is 0/);
    expect(() => madSigma(new Float32Array(400), [20, 20], { x0: 0, y0: 0, x1: 3, y1: 3 })).toThrow(/at least 16/);
  });

  it('reads the chosen plane of a real cube and estimates σ from it', () => {
    const bytes = new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits')));
    const obs = decodeObs({ name: 'g.fits', bytes, hdu: 0, plane: 5 });
    expect(obs.shape).toEqual([64, 64]);
    const direct = decodeObs({ name: 'g.fits', bytes, hdu: 0, plane: 6 });
    expect(Array.from(obs.data.subarray(0, 10))).not.toEqual(Array.from(direct.data.subarray(0, 10)));
    const est = noiseEstimateRequest({ obs: { name: 'g.fits', bytes, hdu: 0, plane: 5 }, region: { x0: 0, y0: 0, x1: 12, y1: 12 } });
    expect(est.n).toBe(144);
    expect(est.sigma).toBeGreaterThan(0);
    expect(() => decodeObs({ name: 'g.fits', bytes, hdu: 0, plane: 2000 })).toThrow(/no plane 2000/);
  });
});

describe('editor requests in the engine', () => {
  it('validates a PSF + mask model sent with its files, and explains the likelihood it gets', async () => {
    const mask = new Float32Array(32 * 32).fill(1);
    mask[5] = 0;
    const files = [{ name: 'mask.fits', bytes: fits2d(mask, 32, 32) }];
    const model = { shape: [32, 32], operators: [{ type: 'psf', fwhmPx: 3 }, { type: 'mask', fits: 'mask.fits' }] };
    const s = await validateRequestModel({ model, files, obsShape: [32, 32] });
    expect(s.inShape).toEqual([32, 32]);
    expect(s.outShape).toEqual([32, 32]);
    expect(s.operators.map((o) => o.type)).toEqual(['psf', 'mask']);
    expect(s.operators[1]!.detail).toMatch(/1023 of 1024 pixels observed/);
    expect(s.gram).toMatch(/conjugate gradients/);
    const m2 = await validateRequestModel({ model: { shape: [32, 32], operators: [{ type: 'mask', fits: 'mask.fits' }] }, files });
    expect(m2.gram).toMatch(/exact \(A Aᵀ diagonal in pixels\)/);
    await expect(validateRequestModel({ model, files, obsShape: [30, 32] })).rejects.toThrow(/output is \[32, 32\] but the observation is \[30, 32\]/);
    await expect(validateRequestModel({ model, files: [] })).rejects.toThrow(/operators\[1\] \(mask\): cannot read 'mask.fits'.*not loaded/);
    await expect(validateRequestModel({ model: { shape: [32, 32], operators: [{ type: 'psf', fwhmPx: -1 }] }, files: [] })).rejects.toThrow(/fwhmPx must be positive/);
  });

  it('a PSF larger than the image is accepted with a note, and a PSF with NaN is refused', async () => {
    const big = gaussianPsf(8); // 2⌈4σ⌉+1 = 29 px
    const k = Float32Array.from(big.data);
    const ok = await validateRequestModel({ model: { shape: [16, 16], operators: [{ type: 'psf', fits: 'p.fits' }] }, files: [{ name: 'p.fits', bytes: fits2d(k, 29, 29) }] });
    expect(ok.warnings.join(' ')).toMatch(/larger than the image/);
    k[3] = NaN;
    await expect(validateRequestModel({ model: { shape: [16, 16], operators: [{ type: 'psf', fits: 'p.fits' }] }, files: [{ name: 'p.fits', bytes: fits2d(k, 29, 29) }] })).rejects.toThrow(/NaN or infinite/);
    await expect(validateRequestModel({ model: { shape: [16, 16], operators: [{ type: 'psf', fits: 'p.fits' }] }, files: [{ name: 'p.fits', bytes: new TextEncoder().encode('not a fits file at all') }] })).rejects.toThrow(/cannot read 'p.fits'/);
  });

  it('A x of a delta is the PSF kernel (preview), and the tensor count does not grow', async () => {
    const n = 21;
    const x = new Float32Array(n * n);
    x[10 * n + 10] = 1;
    const before = tf.memory().numTensors;
    const r = await previewRequest({ model: { shape: [n, n], operators: [{ type: 'psf', fwhmPx: 2.5 }] }, files: [], x, shape: [n, n] });
    expect(tf.memory().numTensors).toBe(before);
    const g = gaussianPsf(2.5);
    const [ky] = g.shape;
    const h = (ky - 1) / 2;
    for (let i = 0; i < ky; i++) for (let j = 0; j < ky; j++) expect(r.data[(10 - h + i) * n + (10 - h + j)]).toBeCloseTo(g.data[i * ky + j]!, 6);
    let sum = 0;
    for (const v of r.data) sum += v;
    expect(sum).toBeCloseTo(1, 5);
    await expect(previewRequest({ model: { shape: [n, n], operators: [] }, files: [], x: new Float32Array(4), shape: [2, 2] })).rejects.toThrow(/model's unknown is \[21, 21\]/);
  });

  it('overlays: the PSF kernel (unit sum), an SIS critical curve on the Einstein circle and its point caustic', async () => {
    const psf = await overlaysRequest({ model: { shape: [32, 32], operators: [{ type: 'psf', fwhmPx: 2 }] }, files: [], operator: 0 });
    expect(psf.kind).toBe('psf');
    if (psf.kind === 'psf') expect(psf.sum).toBeCloseTo(1, 10);
    const lens = {
      shape: [40, 40],
      operators: [{ type: 'lens', imageShape: [60, 60], imagePixelScale: 0.05, sourcePixelScale: 0.03, supersample: 1, lens: { model: 'SIE', thetaE: 1.0, q: 1, phi: 0, x0: 0, y0: 0 } }],
    };
    const o = await overlaysRequest({ model: lens, files: [], operator: 0 });
    expect(o.kind).toBe('lens');
    if (o.kind !== 'lens') return;
    expect(o.critical.length).toBeGreaterThan(0);
    // For an SIS, det(∂β/∂θ) = 1 − θE/r: the tangential critical curve is r = θE exactly; the caustic is the origin.
    for (const c of o.critical) for (let k = 0; k < c.length; k += 2) expect(Math.hypot(c[k]!, c[k + 1]!)).toBeCloseTo(1.0, 3);
    for (const c of o.caustics) for (let k = 0; k < c.length; k += 2) expect(Math.hypot(c[k]!, c[k + 1]!)).toBeLessThan(1e-3);
    expect(o.sourceShape).toEqual([40, 40]);
    await expect(overlaysRequest({ model: lens, files: [], operator: 3 })).rejects.toThrow(/no operator 3/);
  });

  it('overlays: uv coverage from a real station table, the dirty beam peaking at 1 at the centre', async () => {
    const table = new Uint8Array(readFileSync(dataPath('arrays', 'VLA_BNA.txt')));
    const model = { shape: [64, 64], operators: [{ type: 'uv-sampling', array: 'VLA_BNA.txt', declinationDeg: 34, hourAngleH: [-2, 2], stepMin: 30, wavelengthM: 0.06, pixelScaleArcsec: 0.5 }] };
    const o = await overlaysRequest({ model, files: [{ name: 'VLA_BNA.txt', bytes: table }], operator: 0 });
    expect(o.kind).toBe('uv');
    if (o.kind !== 'uv') return;
    expect(o.u.length).toBe(o.v.length);
    expect(o.u.length % 2).toBe(0);
    for (let k = 0; k < o.u.length; k += 2) {
      expect(o.u[k + 1]).toBe(-o.u[k]!);
      expect(o.v[k + 1]).toBe(-o.v[k]!);
    }
    let max = -Infinity;
    let at = -1;
    o.beam.forEach((v, i) => {
      if (v > max) [max, at] = [v, i];
    });
    expect(max).toBeCloseTo(1, 5);
    expect(at).toBe(32 * 64 + 32);
    expect(o.maxBaseline).toBeGreaterThan(0);
  });
});

describe('the prior list', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-priors-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads model folders with their card; skips folders that are not priors', async () => {
    const p = path.join(dir, 'models', 'tiny-32');
    mkdirSync(p, { recursive: true });
    writeFileSync(
      path.join(p, 'model.json'),
      JSON.stringify({ kind: 'unet', imageShape: [32, 32], sde: { type: 've', sigmaMin: 0.01, sigmaMax: 20 }, steps: 1200, validationLoss: 0.123456789, date: '2025-03-04T05:06:07Z', normalisation: { offset: 0, scale: 2 } }),
    );
    writeFileSync(path.join(p, 'README.md'), '# tiny\nTrained on test images.\n');
    mkdirSync(path.join(dir, 'models', 'junk'));
    writeFileSync(path.join(dir, 'models', 'junk', 'model.json'), '{ not json');
    // a Gaussian-field folder: its power spectrum (numpy fft2 layout) and a card
    const gf = path.join(dir, 'models', 'field-16');
    mkdirSync(gf, { recursive: true });
    const P = new Float64Array(16 * 16).fill(4);
    writeFileSync(path.join(gf, 'power-spectrum.fits'), writeFits([{ data: P, shape: [16, 16] }]));
    const gi = await readPriorFolder(gf, 'user');
    // σmin = 10⁻³·√mean(P) = 0.002, σmax = √(2ΣP) = √(2·4·256) = 45.25…
    expect(gi).toMatchObject({ spec: 'user/field-16', kind: 'gaussian-field', imageShape: [16, 16], card: '' });
    expect(gi!.sigmaMin).toBeCloseTo(0.002, 12);
    expect(gi!.sigmaMax).toBeCloseTo(Math.sqrt(2048), 10);
    const info = await readPriorFolder(p, 'user');
    expect(info).toMatchObject({ spec: 'user/tiny-32', name: 'tiny-32', kind: 'unet', source: 'user', imageShape: [32, 32], sigmaMin: 0.01, sigmaMax: 20 });
    expect(info!.card).toMatch(/Trained on test images/);
    expect(info!.facts).toMatchObject({ 'training steps': '1200', 'validation loss': '0.12346', trained: '2025-03-04', normalisation: '(x − 0) / 2' });
    expect(await readPriorFolder(path.join(dir, 'models', 'junk'), 'user')).toBeNull();
    const old = process.env.SKYSCORE_USER_DIR;
    const oldShipped = process.env.SKYSCORE_MODELS_DIR;
    process.env.SKYSCORE_USER_DIR = dir;
    process.env.SKYSCORE_MODELS_DIR = path.join(dir, 'none');
    try {
      const list = await listPriors();
      expect(list.userDir).toBe(path.join(dir, 'models'));
      expect(list.priors.map((x) => x.name)).toEqual(['field-16', 'tiny-32']);
    } finally {
      if (old === undefined) delete process.env.SKYSCORE_USER_DIR;
      else process.env.SKYSCORE_USER_DIR = old;
      if (oldShipped === undefined) delete process.env.SKYSCORE_MODELS_DIR;
      else process.env.SKYSCORE_MODELS_DIR = oldShipped;
    }
  });
});

describe('blob store (the observation uploaded once, in chunks)', () => {
  it('assembles chunks in order, verifies the SHA-256, and is used by requests by key', async () => {
    const { putChunk, getBlob } = await import('../../src-main/engine/blobs.js');
    const { createHash } = await import('node:crypto');
    const bytes = new Uint8Array(readFileSync(dataPath('fits', 'm13.fits')));
    const key = createHash('sha256').update(bytes).digest('hex');
    const CH = 50_000;
    let last = { key, complete: false };
    for (let o = 0; o < bytes.length; o += CH) last = putChunk(key, o, bytes.length, bytes.slice(o, o + CH));
    expect(last.complete).toBe(true);
    expect(getBlob(key)).toEqual(bytes);
    const est = noiseEstimateRequest({ obs: { name: 'm13.fits', blob: key, hdu: 0, plane: 0 } });
    const direct = noiseEstimateRequest({ obs: { name: 'm13.fits', bytes, hdu: 0, plane: 0 } });
    expect(est).toEqual(direct);
    // out of order, wrong content, unknown key
    const other = 'ab'.repeat(32);
    putChunk(other, 0, 10, new Uint8Array(4));
    expect(() => putChunk(other, 8, 10, new Uint8Array(2))).toThrow(/chunk at 8, expected 4/);
    expect(() => putChunk(other, 4, 10, new Uint8Array(6))).toThrow(/hash to/);
    expect(() => getBlob(other)).toThrow(/unknown blob/);
    expect(() => noiseEstimateRequest({ obs: { name: 'x.fits', blob: 'cd'.repeat(32), hdu: 0, plane: 0 } })).toThrow(/unknown blob .*upload it again/);
  });
});
