/**
 * The model editor's physics (src-renderer/src/model/editing.ts, fields.tsx, PsfForm.tsx): a new operator goes
 * where it belongs in the chain (lens → PSF → mask, uv sampling last), an out-of-order chain is explained and
 * put in order, refused numbers are worded in the field's units, and a FITS kernel's FWHM is its Gaussian's.
 */
import { describe, expect, it } from 'vitest';
import { checkForwardModel, defaultStage, type ForwardModelSpec, type LensStage } from '../../src-shared/operators/forward-model-spec.js';
import { insertOperator, orderAdvice, physicalOrder, withMassModel } from '../../src-renderer/src/model/editing.js';
import { numberProblem } from '../../src-renderer/src/model/fields.js';
import { kernelFwhm } from '../../src-renderer/src/model/PsfForm.js';

const doc = (...types: ('psf' | 'mask' | 'lens' | 'uv-sampling')[]): ForwardModelSpec => ({ shape: [64, 64], operators: types.map((t) => defaultStage(t, [64, 64])) });
const types = (d: ForwardModelSpec) => d.operators.map((o) => o.type);

describe('operator order', () => {
  it('a new operator goes where it belongs', () => {
    expect(types(insertOperator(doc('psf'), defaultStage('lens', [64, 64])).doc)).toEqual(['lens', 'psf']);
    expect(insertOperator(doc('psf'), defaultStage('lens', [64, 64])).index).toBe(0);
    expect(types(insertOperator(doc('lens', 'psf'), defaultStage('mask', [64, 64])).doc)).toEqual(['lens', 'psf', 'mask']);
    expect(types(insertOperator(doc('psf', 'uv-sampling'), defaultStage('mask', [64, 64])).doc)).toEqual(['psf', 'mask', 'uv-sampling']);
    expect(types(insertOperator(doc('lens', 'mask'), defaultStage('psf', [64, 64])).doc)).toEqual(['lens', 'psf', 'mask']);
    expect(types(insertOperator(doc(), defaultStage('uv-sampling', [64, 64])).doc)).toEqual(['uv-sampling']);
    // a second PSF after the first (stages of a kind keep their order)
    const two = insertOperator(doc('psf', 'mask'), { type: 'psf', fwhmPx: 7 });
    expect(two.index).toBe(1);
    expect(two.doc.operators[1]).toEqual({ type: 'psf', fwhmPx: 7 });
  });

  it('an out-of-order chain is explained and reordered', () => {
    expect(orderAdvice(doc('lens', 'psf', 'mask'))).toBeNull();
    expect(orderAdvice(doc('psf', 'lens'))).toMatch(/PSF \(convolution\) \(1\) comes before Strong lens \(SIE\/EPL \+ shear\) \(2\): a PSF before the lens blurs the source plane/);
    expect(orderAdvice(doc('mask', 'psf'))).toMatch(/the detector loses them after the blur/);
    const d = doc('uv-sampling', 'mask', 'psf', 'lens');
    expect(types(physicalOrder(d))).toEqual(['lens', 'psf', 'mask', 'uv-sampling']);
    expect(orderAdvice(physicalOrder(d))).toBeNull();
  });
});

describe('refused numbers in the field’s units', () => {
  const fwhm = { label: 'FWHM', unit: 'px', min: Number.MIN_VALUE };
  it('never "at least 5e-324"', () => {
    expect(numberProblem('-1', fwhm)).toBe('FWHM must be > 0 px');
    expect(numberProblem('0', fwhm)).toBe('FWHM must be > 0 px');
    expect(numberProblem('2.5', fwhm)).toBeNull();
    expect(numberProblem('abc', fwhm)).toBe('FWHM: enter a number (px)');
    expect(numberProblem('0', { label: 'θE', unit: '″', min: 1e-6 })).toBe('θE must be > 0″');
    expect(numberProblem('4', { label: 'Size', unit: 'px', min: 8, integer: true })).toBe('Size must be at least 8 px');
    expect(numberProblem('8.5', { label: 'Size', unit: 'px', min: 8, integer: true })).toBe('Size must be a whole number');
    expect(numberProblem('100', { label: 'Declination', unit: '°', min: -90, max: 90 })).toBe('Declination must be at most 90°');
    for (const t of ['-1', '0', '1e-400']) expect(numberProblem(t, fwhm) ?? '').not.toMatch(/e-3\d\d/);
  });
});

describe('the FWHM of a FITS kernel', () => {
  it('is the Gaussian’s for a sampled Gaussian', () => {
    for (const f of [2, 3.7, 6]) {
      const s = f / 2.3548;
      const n = 2 * Math.ceil(5 * s) + 1;
      const k = new Float64Array(n * n);
      const c = (n - 1) / 2;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * s * s));
      // pixel sampling adds 1/12 px² to the variance: within 2 % at these widths
      expect(Math.abs(kernelFwhm(k, [n, n])! / f - 1)).toBeLessThan(0.02);
    }
    expect(kernelFwhm(new Float64Array(9), [3, 3])).toBeNull();
  });
});

describe('the lens stage’s mass profile', () => {
  const lens = defaultStage('lens', [64, 64]) as LensStage;
  const checked = (L: LensStage['lens']) => checkForwardModel({ shape: [64, 64], operators: [{ ...lens, lens: L }] }).issues;
  it('an EPL starts at the SIE’s slope and keeps q; back to the SIE drops the slope; an SIS is round', () => {
    const epl = withMassModel({ ...lens.lens, q: 0.7 }, 'EPL');
    expect(epl).toMatchObject({ model: 'EPL', gamma: 2, q: 0.7 });
    expect(checked(epl)).toEqual([]);
    expect(withMassModel({ ...epl, gamma: 2.3 }, 'EPL').gamma).toBe(2.3);
    const sie = withMassModel({ ...epl, gamma: 2.3 }, 'SIE');
    expect(sie.gamma).toBeUndefined();
    expect(sie.q).toBe(0.7);
    expect(checked(sie)).toEqual([]);
    const sis = withMassModel(epl, 'SIS');
    expect(sis).toMatchObject({ model: 'SIS', q: 1 });
    expect(sis.gamma).toBeUndefined();
    expect(checked(sis)).toEqual([]);
    // the spec would refuse a slope left on an SIE: the editor never writes one
    expect(checked({ ...sie, gamma: 2.3 }).some((i) => i.field === 'lens.gamma')).toBe(true);
  });
});
