import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildForwardModel, prepareForwardModel, type ForwardModelFileLoader } from '../../src-shared/operators/forward-model.js';
import { outputShape, validateForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { dataPath } from '../helpers/data.js';
import { dotTest, randn, refConvolve, refGaussian, refLens, relErr, run } from './operators-ref.js';
import { FORWARD_MODEL_EXAMPLE } from '../helpers/forward-model-example.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});


/** An in-memory loader: images by name, station tables from ../shared/data/arrays. */
function memLoader(images: Record<string, { data: Float64Array | Float32Array; shape: number[] }>): ForwardModelFileLoader & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async loadImage(rel) {
      calls.push(rel);
      const img = images[rel];
      if (!img) throw new Error('no such file');
      return img;
    },
    async loadText(rel) {
      calls.push(rel);
      return readFileSync(dataPath('arrays', rel), 'utf8');
    },
  };
}

function maskOf(ny: number, nx: number, seed: number): Float32Array {
  const r = randn(ny * nx, seed);
  return Float32Array.from(r, (v) => (v > -0.8 ? 1 : 0));
}

describe('building models', () => {
  it("the documented lens → psf → mask chain: apply agrees with the definitions, the dot test passes, gram is none", async () => {
    const mask = maskOf(96, 96, 3);
    const loader = memLoader({ 'mask.fits': { data: mask, shape: [96, 96] } });
    const built = await buildForwardModel(validateForwardModel(FORWARD_MODEL_EXAMPLE), loader);
    expect(built.operator.name).toBe('lens→psf→mask');
    expect(built.operator.inShape).toEqual([64, 64]);
    expect(built.operator.outShape).toEqual([96, 96]);
    expect(loader.calls).toEqual(['mask.fits']);
    const x = randn(64 * 64, 9);
    const L = { thetaE: 1.1, q: 0.75, phi: 0.4, x0: 0, y0: 0, gamma1: 0.02, gamma2: -0.01 };
    const lensed = refLens(L, x, 64, 64, 2, 96, 96, 0.05, 0.03);
    const g = refGaussian(2.5);
    const conv = refConvolve(lensed, 96, 96, g.h, g.k, g.k);
    const want = conv.map((v, i) => v * mask[i]);
    expect(relErr(run(built.operator, x), want)).toBeLessThan(1e-5);
    expect(dotTest(built.operator, 4, 2)).toBeLessThan(1e-5);
    expect(built.operator.gram().kind).toBe('none');
    built.operator.dispose();
  });

  it('a lens written with its defaults (SIS, no q, no shear, no supersample) builds as the one written in full', async () => {
    const geometry = { type: 'lens', imageShape: [20, 22], imagePixelScale: 0.1, sourcePixelScale: 0.08 };
    const sparse = validateForwardModel({ shape: [16, 18], operators: [{ ...geometry, lens: { model: 'SIS', thetaE: 0.6 } }] });
    const full = validateForwardModel({ shape: [16, 18], operators: [{ ...geometry, supersample: 1, lens: { model: 'SIS', thetaE: 0.6, q: 1, phi: 0, x0: 0, y0: 0 }, shear: { gamma1: 0, gamma2: 0 } }] });
    const a = await buildForwardModel(sparse, memLoader({}));
    const b = await buildForwardModel(full, memLoader({}));
    expect(a.info[0].summary).toBe(b.info[0].summary);
    expect(a.info[0].summary).toMatch(/^SIS lens θE=0\.6″ q=1, .*supersample 1$/);
    const x = randn(16 * 18, 4);
    const want = refLens({ thetaE: 0.6, q: 1, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 }, x, 16, 18, 1, 20, 22, 0.1, 0.08);
    expect(relErr(run(a.operator, x), want)).toBeLessThan(1e-5);
    expect(relErr(run(a.operator, x), run(b.operator, x))).toBe(0);
    a.operator.dispose();
    b.operator.dispose();
  });

  it('mask shape mismatch, a missing file and a non-binary mask are refused with their own messages', async () => {
    const spec = validateForwardModel(FORWARD_MODEL_EXAMPLE);
    await expect(prepareForwardModel(spec, memLoader({ 'mask.fits': { data: new Float32Array(64 * 64).fill(1), shape: [64, 64] } }), { source: 'M.json' })).rejects.toThrow(
      /M\.json: operators\[2\] \(mask\): shape mismatch: 'mask\.fits' is \[64, 64\] \(ny, nx\) but this stage's input is \[96, 96\]/,
    );
    await expect(prepareForwardModel(spec, memLoader({}))).rejects.toThrow(/operators\[2\] \(mask\): cannot read 'mask\.fits': no such file/);
    const half = new Float32Array(96 * 96).fill(1);
    half[5] = 0.5;
    await expect(prepareForwardModel(spec, memLoader({ 'mask.fits': { data: half, shape: [96, 96] } }))).rejects.toThrow(/must contain only 0 and 1; pixel \(row 0, column 5\) is 0\.5/);
    // a FITS-like [1, ny, nx] (degenerate third axis) is accepted
    const ok = await prepareForwardModel(spec, memLoader({ 'mask.fits': { data: new Float32Array(96 * 96).fill(1), shape: [1, 96, 96] } }));
    expect(ok.resources.length).toBe(3);
  });

  it('a PSF from an image (even size, unit sum unless normalize: false), NaN PSF pixels refused', async () => {
    const k = Float64Array.from(randn(6 * 4, 2), (v) => Math.abs(v));
    const spec = validateForwardModel({ shape: [20, 18], operators: [{ type: 'psf', fits: 'psf.fits' }] });
    const built = await buildForwardModel(spec, memLoader({ 'psf.fits': { data: k, shape: [6, 4] } }));
    const x = randn(360, 3);
    const sum = k.reduce((a, b) => a + b, 0);
    expect(relErr(run(built.operator, x), refConvolve(x, 20, 18, k.map((v) => v / sum), 6, 4))).toBeLessThan(1e-5);
    expect(built.operator.gram().kind).toBe('fourier-diagonal');
    built.operator.dispose();
    const raw = await buildForwardModel(validateForwardModel({ shape: [20, 18], operators: [{ type: 'psf', fits: 'psf.fits', normalize: false }] }), memLoader({ 'psf.fits': { data: k, shape: [6, 4] } }));
    expect(relErr(run(raw.operator, x), refConvolve(x, 20, 18, k, 6, 4))).toBeLessThan(1e-5);
    raw.operator.dispose();
    const bad = k.slice();
    bad[3] = NaN;
    await expect(prepareForwardModel(spec, memLoader({ 'psf.fits': { data: bad, shape: [6, 4] } }))).rejects.toThrow(/operators\[0\] \(psf\): 'psf\.fits' has 1 NaN or infinite pixel/);
    await expect(prepareForwardModel(spec, memLoader({ 'psf.fits': { data: new Float64Array(24), shape: [6, 4] } }))).rejects.toThrow(/sums to zero/);
  });

  it('a PSF larger than the image works and is noted', async () => {
    const g = refGaussian(9); // 2⌈4σ⌉+1 = 33 > 20
    const spec = validateForwardModel({ shape: [16, 20], operators: [{ type: 'psf', fits: 'big.fits' }] });
    const built = await buildForwardModel(spec, memLoader({ 'big.fits': { data: g.h, shape: [g.k, g.k] } }));
    expect(built.notes.join()).toMatch(/larger than the image/);
    const x = randn(320, 6);
    expect(relErr(run(built.operator, x), refConvolve(x, 16, 20, g.h, g.k, g.k))).toBeLessThan(1e-5);
    expect(dotTest(built.operator, 1)).toBeLessThan(1e-5);
    built.operator.dispose();
  });

  it('uv-sampling: output shape = input shape, station table read through the loader, no-coverage refused', async () => {
    const uv = { type: 'uv-sampling', array: 'VLA_BNA.txt', declinationDeg: 34, hourAngleH: [-4, 4], stepMin: 5, wavelengthM: 0.06, pixelScaleArcsec: 0.5 };
    const spec = validateForwardModel({ shape: [32, 40], operators: [uv, { type: 'mask', fits: 'm.fits' }] });
    expect(outputShape(spec)).toEqual([32, 40]);
    const built = await buildForwardModel(spec, memLoader({ 'm.fits': { data: maskOf(32, 40, 1), shape: [32, 40] } }));
    expect(built.info[0].uv!.u.length).toBe(2 * 351 * 97);
    expect(built.info[0].summary).toMatch(/27 stations, 351 baselines × 97 hour angles/);
    expect(dotTest(built.operator, 2)).toBeLessThan(1e-5);
    built.operator.dispose();
    const huge = validateForwardModel({ shape: [32, 40], operators: [{ ...uv, pixelScaleArcsec: 3600 }] });
    await expect(prepareForwardModel(huge, memLoader({}))).rejects.toThrow(/operators\[0\] \(uv-sampling\): no uv point falls on the 32×40 grid/);
    const missing = validateForwardModel({ shape: [32, 40], operators: [{ ...uv, array: 'NOPE.txt' }] });
    await expect(prepareForwardModel(missing, memLoader({}))).rejects.toThrow(/operators\[0\] \(uv-sampling\): cannot read station table 'NOPE\.txt'/);
  });

  it('an empty operator list is the identity', async () => {
    const built = await buildForwardModel(validateForwardModel({ shape: [5, 7], operators: [] }), memLoader({}));
    const x = randn(35, 1);
    expect(relErr(run(built.operator, x), x)).toBe(0);
    const g = built.operator.gram();
    expect(g.kind === 'pixel-diagonal' && g.diag.every((v) => v === 1)).toBe(true);
    built.operator.dispose();
  });

  it('an additive image: loaded and checked against the output shape; shape mismatch, NaN and a missing file refused', async () => {
    const withB = (extra: Record<string, unknown>) => validateForwardModel({ ...FORWARD_MODEL_EXAMPLE, additive: { fits: 'light.fits', ...extra } }, 'M.json');
    const mask = { data: new Float32Array(96 * 96).fill(1), shape: [96, 96] };
    const b = Float32Array.from(randn(96 * 96, 3));
    const ok = await prepareForwardModel(withB({}), memLoader({ 'mask.fits': mask, 'light.fits': { data: b, shape: [1, 96, 96] } }), { source: 'M.json' });
    expect(ok.additive).not.toBeNull();
    expect(Array.from(ok.additive!)).toEqual(Array.from(b));
    const built = await buildForwardModel(withB({}), memLoader({ 'mask.fits': mask, 'light.fits': { data: b, shape: [96, 96] } }));
    expect(built.additive![17]).toBe(b[17]);
    built.operator.dispose();
    // a model without the block has none
    expect((await prepareForwardModel(validateForwardModel(FORWARD_MODEL_EXAMPLE), memLoader({ 'mask.fits': mask }))).additive).toBeNull();
    await expect(prepareForwardModel(withB({}), memLoader({ 'mask.fits': mask, 'light.fits': { data: new Float32Array(64 * 96), shape: [64, 96] } }), { source: 'M.json' })).rejects.toThrow(
      /^M\.json: additive: shape mismatch: 'light\.fits' is \[64, 96\] \(ny, nx\) but the model's output is \[96, 96\]$/,
    );
    const nan = b.slice();
    nan[96 * 2 + 5] = NaN;
    nan[96 * 4] = Infinity;
    await expect(prepareForwardModel(withB({}), memLoader({ 'mask.fits': mask, 'light.fits': { data: nan, shape: [96, 96] } }), { source: 'M.json' })).rejects.toThrow(
      /^M\.json: additive: 'light\.fits' has 2 NaN or infinite pixels \(the first at row 2, column 5\); a known additive image must be finite everywhere/,
    );
    await expect(prepareForwardModel(withB({ hdu: 1 }), memLoader({ 'mask.fits': mask }), { source: 'M.json' })).rejects.toThrow(/^M\.json: additive: cannot read 'light\.fits' \(HDU 1\): no such file/);
  });
});
