import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { cropForwardModel, instantiateForwardModel, prepareForwardModel, type ForwardModelFileLoader } from '../../src-shared/operators/forward-model.js';
import { validateForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { LensOperator } from '../../src-shared/operators/lens.js';
import { cropImage, maskWindow, uncropImage } from '../../src-shared/operators/window.js';
import { randn, relErr, run } from './operators-ref.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const NY = 120;
const NX = 140;

function loader(images: Record<string, { data: Float32Array; shape: number[] }>): ForwardModelFileLoader {
  return {
    loadImage: async (rel) => {
      const img = images[rel];
      if (!img) throw new Error('no such file');
      return img;
    },
    loadText: () => Promise.reject(new Error('no tables')),
  };
}

/** A disc of radius r pixels around (row cy, column cx) on the NY × NX grid. */
function disc(cy: number, cx: number, r: number): Float32Array {
  const m = new Float32Array(NY * NX);
  for (let i = 0; i < NY; i++) for (let j = 0; j < NX; j++) if ((i - cy) ** 2 + (j - cx) ** 2 <= r * r) m[i * NX + j] = 1;
  return m;
}

/** lens → PSF (an asymmetric 7 × 10 image: centre [3, 5], reach 5) → mask, with an additive image; the lens off the grid's centre. */
async function lensModel(mask: Float32Array) {
  const psf = Float32Array.from(randn(70, 5), (v) => Math.abs(v) + 0.1);
  const spec = validateForwardModel({
    shape: [48, 48],
    operators: [
      {
        type: 'lens',
        imageShape: [NY, NX],
        imagePixelScale: 0.05,
        sourcePixelScale: 0.04,
        supersample: 2,
        lens: { model: 'SIE', thetaE: 1.0, q: 0.8, phi: 0.3, x0: 0.4, y0: -0.3 },
        shear: { gamma1: 0.02, gamma2: -0.01 },
      },
      { type: 'psf', fits: 'psf.fits' },
      { type: 'mask', fits: 'mask.fits' },
    ],
    additive: { fits: 'light.fits' },
  });
  const light = Float32Array.from(randn(NY * NX, 6));
  return prepareForwardModel(spec, loader({ 'psf.fits': { data: psf, shape: [7, 10] }, 'mask.fits': { data: mask, shape: [NY, NX] }, 'light.fits': { data: light, shape: [NY, NX] } }));
}

describe('a lens model on the window of its mask (cropForwardModel)', () => {
  it('an off-centre mask: the window is its bounding box dilated by the PSF reach, and the model on it equals the whole grid’s (apply, adjoint, lens rows, additive)', async () => {
    // the disc around the lens (row 53.5, column 77.5: x0 = 0.4″, y0 = −0.3″ at 0.05″/px), radius 30 px
    const mask = disc(53.5, 77.5, 30);
    const full = await lensModel(mask);
    const crop = cropForwardModel(full);
    expect(crop).not.toBeNull();
    const w = crop!.window;
    // observed rows 24..83, columns 48..107; dilated by the PSF's reach of 5
    expect(w).toEqual({ y0: 19, x0: 43, shape: [70, 70], fullShape: [NY, NX] });
    const a = instantiateForwardModel(full);
    const b = instantiateForwardModel(crop!.prepared);
    try {
      expect(b.operator.outShape).toEqual([70, 70]);
      expect(b.operator.inShape).toEqual([48, 48]);
      // the lens rows of the window are the whole grid's rows, entry for entry (the same rays)
      const la = a.stages[0] as LensOperator;
      const lb = b.stages[0] as LensOperator;
      for (const [i, j] of [[0, 0], [35, 35], [50, 10], [69, 69], [30, 62]]) {
        const ra = (i + w.y0) * NX + j + w.x0;
        const rb = i * 70 + j;
        const ea = Array.from({ length: la.matrix.rowPtr[ra + 1] - la.matrix.rowPtr[ra] }, (_, k) => [la.matrix.colIdx[la.matrix.rowPtr[ra] + k], la.matrix.values[la.matrix.rowPtr[ra] + k]]);
        const eb = Array.from({ length: lb.matrix.rowPtr[rb + 1] - lb.matrix.rowPtr[rb] }, (_, k) => [lb.matrix.colIdx[lb.matrix.rowPtr[rb] + k], lb.matrix.values[lb.matrix.rowPtr[rb] + k]]);
        expect(eb).toEqual(ea);
      }
      // A x: the window's values are the whole grid's, and the whole grid's are zero outside the window
      const x = randn(48 * 48, 7);
      const ya = run(a.operator, x);
      const yb = run(b.operator, x);
      const onWindow = cropImage(ya, w);
      let peak = 0;
      for (const v of onWindow) peak = Math.max(peak, Math.abs(v));
      expect(peak).toBeGreaterThan(0.1);
      for (let k = 0; k < yb.length; k++) expect(Math.abs(yb[k] - onWindow[k])).toBeLessThanOrEqual(2e-6 * peak);
      expect(relErr(uncropImage(yb, w, 0), ya)).toBeLessThan(1e-6);
      // Aᵀ y: any y of the data grid gives the same source image from the window
      const y = randn(NY * NX, 8);
      expect(relErr(run(b.operator, cropImage(y, w), true), run(a.operator, y, true))).toBeLessThan(1e-6);
      // the additive image and the mask are the window's
      expect(Array.from(b.additive!)).toEqual(Array.from(cropImage(a.additive!, w)));
      expect(b.info[2].summary).toContain(`${mask.reduce((s, v) => s + v, 0)} of 4900 pixels observed`);
    } finally {
      a.operator.dispose();
      b.operator.dispose();
    }
  });

  it('a mask at the grid’s edge: the window is clipped to the grid, the model on it still the whole grid’s', async () => {
    // a disc over the ring's upper part, cut by the grid's first row: rows 0..39 observed, columns 48..107
    const mask = disc(10, 77.5, 30);
    const full = await lensModel(mask);
    const crop = cropForwardModel(full)!;
    expect(crop.window).toEqual({ y0: 0, x0: 43, shape: [45, 70], fullShape: [NY, NX] });
    const a = instantiateForwardModel(full);
    const b = instantiateForwardModel(crop.prepared);
    try {
      const x = randn(48 * 48, 9);
      const ya = run(a.operator, x);
      expect(Math.max(...Array.from(ya, Math.abs))).toBeGreaterThan(0.1);
      expect(relErr(run(b.operator, x), cropImage(ya, crop.window))).toBeLessThan(1e-6);
      expect(relErr(uncropImage(run(b.operator, x), crop.window, 0), ya)).toBeLessThan(1e-6);
    } finally {
      a.operator.dispose();
      b.operator.dispose();
    }
  });

  it('no window where it saves less than half the pixels, where no pixel is observed, or for a model other than lens → psf → mask', async () => {
    expect(cropForwardModel(await lensModel(disc(60, 70, 55)))).toBeNull();
    expect(cropForwardModel(await lensModel(new Float32Array(NY * NX)))).toBeNull();
    const m = await lensModel(disc(60, 70, 20));
    expect(cropForwardModel(m)).not.toBeNull();
    expect(cropForwardModel(m, 20)).toBeNull();
    expect(cropForwardModel({ ...m, spec: { ...m.spec, operators: m.spec.operators.slice(0, 2) }, resources: m.resources.slice(0, 2) })).toBeNull();
  });

  it('maskWindow and uncropImage', () => {
    const m = new Float32Array(6 * 8);
    m[2 * 8 + 3] = 1;
    m[3 * 8 + 5] = 1;
    expect(maskWindow(m, [6, 8], 0)).toEqual({ y0: 2, x0: 3, shape: [2, 3], fullShape: [6, 8] });
    expect(maskWindow(m, [6, 8], 3)).toEqual({ y0: 0, x0: 0, shape: [6, 8], fullShape: [6, 8] });
    const w = maskWindow(m, [6, 8], 1)!;
    expect(w).toEqual({ y0: 1, x0: 2, shape: [4, 5], fullShape: [6, 8] });
    const img = Float32Array.from({ length: 48 }, (_, k) => k);
    const back = uncropImage(cropImage(img, w), w, Number.NaN);
    for (let k = 0; k < 48; k++) {
      const i = Math.floor(k / 8);
      const j = k % 8;
      if (i >= 1 && i < 5 && j >= 2 && j < 7) expect(back[k]).toBe(k);
      else expect(back[k]).toBeNaN();
    }
  });
});
