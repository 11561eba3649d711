/**
 * CLEAN in steps (`cleanSteps`, which the app's CLEAN job runs between progress events): the chunked Högbom
 * minor cycles continue one another exactly, so the result equals one uninterrupted minor cycle; the reported
 * progress grows to the final count.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';
import { readUvfits, selectVisibilities } from '../../src-shared/radio/uvfits.js';
import { makeDft } from '../../src-shared/radio/measurement.js';
import { dirtyBeam, dirtyImage, doubleGrid } from '../../src-shared/radio/imaging.js';
import { CLEAN_CHUNK, cleanSteps, clean, hogbomMinor, type CleanProgress } from '../../src-shared/radio/clean.js';
import { ARCSEC, type ImageGrid } from '../../src-shared/radio/grid.js';

const f = 'vlba43_BLLAC_2013may30.uvfits';
const x = selectVisibilities(readUvfits(new Uint8Array(readFileSync(dataPath('uvfits', f))), f));
const grid: ImageGrid = { nx: 48, ny: 48, cell: 0.06e-3 * ARCSEC };
const A = makeDft(x.u, x.v, grid);
const w = Float64Array.from(x.weight);
const big = dirtyBeam(x.u, x.v, w, doubleGrid(grid), { method: 'dft' });

describe('cleanSteps', () => {
  it('Högbom in chunks equals one uninterrupted minor cycle, and reports each chunk', () => {
    const niter = 3 * CLEAN_CHUNK + 17;
    const it = cleanSteps(A, x.re, x.im, w, big, { method: 'hogbom', niter, gain: 0.1 });
    const reports: CleanProgress[] = [];
    let r = it.next();
    while (!r.done) {
      reports.push(r.value);
      r = it.next();
    }
    const res = r.value;
    const residual = dirtyImage(A, x.re, x.im, w);
    const model = new Float64Array(grid.nx * grid.ny);
    const direct = hogbomMinor(residual, model, big, grid, { gain: 0.1, maxIter: niter, stopAt: 0 });
    expect(res.iterations).toBe(direct.iterations);
    expect(res.iterations).toBe(niter);
    expect(Array.from(res.model)).toEqual(Array.from(model));
    expect(Array.from(res.residual)).toEqual(Array.from(residual));
    expect(reports.map((p) => p.iterations)).toEqual([CLEAN_CHUNK, 2 * CLEAN_CHUNK, 3 * CLEAN_CHUNK]);
  });

  it('Cotton–Schwab: progress after every major cycle, growing to the result; clean() gives the same', () => {
    const opts = { method: 'cotton-schwab' as const, niter: 700, gain: 0.1 };
    const it = cleanSteps(A, x.re, x.im, w, big, opts);
    const reports: CleanProgress[] = [];
    let r = it.next();
    while (!r.done) {
      reports.push(r.value);
      r = it.next();
    }
    expect(reports.length).toBeGreaterThan(1);
    for (let i = 1; i < reports.length; i++) expect(reports[i].iterations).toBeGreaterThanOrEqual(reports[i - 1].iterations);
    const last = reports[reports.length - 1];
    expect(last.iterations).toBe(r.value.iterations);
    expect(last.majorCycles).toBe(r.value.majorCycles);
    const once = clean(A, x.re, x.im, w, big, opts);
    expect(Array.from(once.model)).toEqual(Array.from(r.value.model));
    expect(once.peak).toBe(r.value.peak);
  });
});
