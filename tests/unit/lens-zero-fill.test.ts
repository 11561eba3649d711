/**
 * A drizzle's zero fill where no exposure fell (zeroFill): blocks of exactly 0 in data that are not counts are no
 * data. Found as blocks (not lone zeros, not counts), made NaN by lensFitNoiseAndSky with a note, so that σ_sky
 * estimated from the blank sky reads the sky's scatter and not the fill's absence of it, and a fitted sky level the
 * sky's level and not the fill's zero.
 */
import { describe, expect, it } from 'vitest';
import { zeroFill } from '../../src-shared/lensing/inputs.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { lensFitNoiseAndSky } from '../../src-main/lens-fit/inputs.js';
import { lensFitGaussianPsf } from '../../src-main/reconstruct/lens-fit-run.js';
import { decodeImage2d } from '../../src-main/forward-model-files.js';
import { CORR_N } from '../helpers/lens-mef.js';
import { openMef } from '../helpers/lens-fit-app.js';

describe('the zero fill of a drizzled image', () => {
  it('blocks of exactly 0 in float data, edges included; not lone zeros or a one-pixel line; not counts', () => {
    const ny = 40;
    const nx = 50;
    const rng = new SeededRandom(3);
    const data = Float64Array.from({ length: ny * nx }, () => 0.01 * rng.normal());
    // a 6 × 9 block at the corner, a lone zero, a zero line one pixel wide
    for (let i = 0; i < 6; i++) for (let j = 0; j < 9; j++) data[i * nx + j] = 0;
    data[20 * nx + 25] = 0;
    for (let i = 10; i < 30; i++) data[i * nx + 40] = 0;
    const f = zeroFill(data, [ny, nx])!;
    expect(f.count).toBe(54);
    for (let i = 0; i < ny; i++) for (let j = 0; j < nx; j++) expect(f.mask[i * nx + j]).toBe(i < 6 && j < 9 ? 1 : 0);
    // counts: zeros are measurements
    const counts = Float64Array.from(data, (v) => Math.max(0, Math.round(100 * v)));
    for (let i = 0; i < 6; i++) for (let j = 0; j < 9; j++) expect(counts[i * nx + j]).toBe(0);
    expect(zeroFill(counts, [ny, nx])).toBeNull();
    // none
    expect(zeroFill(Float64Array.from(data, (v) => (v === 0 ? 1e-9 : v)), [ny, nx])).toBeNull();
  });

  it('left out of the lens fit as no data: σ_sky from the blank sky as without the fill, with a note', async () => {
    const m = await openMef({ correlated: true, bunit: 'ELECTRONS/S' });
    const obs = decodeImage2d(m.bytes, 'mef.fits', 1);
    const rows = 20;
    const strip = (v: number) => ({ ...obs, data: Float64Array.from(obs.data, (d, k) => (k < rows * CORR_N ? v : d)) });
    const psf = lensFitGaussianPsf(2, 21, [CORR_N, CORR_N]);
    const run = (o: typeof obs, sky: 'none' | 'fit' = 'none') =>
      lensFitNoiseAndSky(o, null, { kind: 'estimate', arg: 'estimate' }, { weightType: 'ivm', poisson: 'none' }, { kind: 'annulus', r1: 0, r2: 1.35 }, 0.05, undefined, psf, sky);
    const sigmaOf = (r: ReturnType<typeof run>) => (r.ns.json.estimate as { sigmaSky: { value: number } }).sigmaSky.value;
    const clean = run(obs);
    const filled = run(strip(0));
    // the fill is no data: NaN in the observation the fit takes, σ NaN there, a note
    for (let k = 0; k < rows * CORR_N; k++) expect(filled.obs.data[k]).toBeNaN();
    for (let k = 0; k < rows * CORR_N; k++) expect(filled.ns.sigma[k]).toBeNaN();
    expect(filled.ns.flaggedNotes[0]).toMatch(new RegExp(`^${rows * CORR_N} pixels of exactly 0 in blocks of 3×3 or more .* left out of the fit as no data`));
    expect(clean.ns.flaggedNotes.some((n) => /exactly 0/.test(n))).toBe(false);
    // σ_sky as from the image without the strip (less sky to read it from: a few per cent)
    expect(Math.abs(sigmaOf(filled) / sigmaOf(clean) - 1)).toBeLessThan(0.03);
    // the control: the same strip as data of no scatter (not exactly 0) pulls σ_sky down
    expect(sigmaOf(run(strip(1e-7))) / sigmaOf(clean)).toBeLessThan(0.9);
    // a sky left in the data (4σ per pixel) and fitted: the fill stays no data (NaN, not 0 less the level) and the
    // level comes back within the sky's per-pixel σ (0.02 · √0.368 = 0.0121); taken as data, the strip pulls it down
    const p = await openMef({ correlated: true, bunit: 'ELECTRONS/S', pedestal: 0.05 });
    const withSky = decodeImage2d(p.bytes, 'mef.fits', 1);
    const stripSky = (v: number) => ({ ...withSky, data: Float64Array.from(withSky.data, (d, k) => (k < rows * CORR_N ? v : d)) });
    const fitted = run(stripSky(0), 'fit');
    for (let k = 0; k < rows * CORR_N; k++) expect(fitted.obs.data[k]).toBeNaN();
    expect(fitted.ns.flaggedNotes[0]).toMatch(/pixels of exactly 0 in blocks/);
    expect(Math.abs(fitted.sky!.level - 0.05)).toBeLessThan(0.0121);
    expect(0.05 - run(stripSky(1e-7), 'fit').sky!.level).toBeGreaterThan(0.0121);
  });
});
