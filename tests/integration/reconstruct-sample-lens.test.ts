/** skyscore reconstruct --sample-lens: joint lens–source Gibbs sampling end to end on a small simulated lens. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { lensMatrix, pixelCentre, type LensParams } from '../../src-shared/operators/lens-model.js';
import { csrMultiply } from '../../src-shared/operators/csr.js';
import { convolve } from '../../src-shared/lensing/mass.js';
import { gaussianPsf } from '../../src-shared/operators/psf.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { MASS_NAMES } from '../../src-shared/lensing/fit.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const TRUE_LENS: LensParams = { thetaE: 0.5, q: 0.8, phi: 0.3, x0: 0, y0: 0, gamma1: 0, gamma2: 0 };
const SIGMA = 0.02;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-samplelens-'));
  // a 16² source of 0.06″ (a round blob), lensed onto 32² pixels of 0.05″, blurred (FWHM 2 px), σ = 0.02
  const src = new Float64Array(256);
  for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) src[i * 16 + j] = Math.exp(-(pixelCentre(j, 16, 0.06) ** 2 + (pixelCentre(i, 16, 0.06) - 0.03) ** 2) / (2 * 0.12 ** 2));
  const L = lensMatrix(TRUE_LENS, { sourceShape: [16, 16], sourcePixelScale: 0.06, imageShape: [32, 32], imagePixelScale: 0.05, supersample: 2 });
  const img = convolve(csrMultiply(L, src), [32, 32], gaussianPsf(2));
  const rng = new SeededRandom(11);
  writeFileSync(p('obs.fits'), writeFits([{ data: Float32Array.from(img, (v) => v + SIGMA * rng.normal()), shape: [32, 32] }]));
  writePowerSpectrumPrior(p('pk16.fits'), 16, 1, 2, 2);
  // the model at a lens a little off the truth (as a fit would give), and a lens.json covariance for the proposal
  const model = {
    shape: [16, 16],
    operators: [
      { type: 'lens', imageShape: [32, 32], imagePixelScale: 0.05, sourcePixelScale: 0.06, supersample: 2, lens: { model: 'SIE', thetaE: 0.51, q: 0.8, phi: 0.3, x0: 0, y0: 0 }, shear: { gamma1: 0, gamma2: 0 } },
      { type: 'psf', fwhmPx: 2 },
    ],
  };
  writeFileSync(p('model.json'), JSON.stringify(model));
  const names = [...MASS_NAMES, 'light0.x0'];
  const sd = [0.004, 0.01, 0.01, 0.004, 0.004, 0.006, 0.006, 0.01];
  const matrix = names.flatMap((_, i) => names.map((__, j) => (i === j ? sd[i] ** 2 : 0)));
  writeFileSync(p('lens.json'), JSON.stringify({ parameters: {}, covariance: { names, matrix } }));
  writeFileSync(p('no-cov.json'), JSON.stringify({ parameters: {}, covariance: null }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('skyscore reconstruct --sample-lens', () => {
  const base = () => ['reconstruct', '--obs', p('obs.fits'), '--model', p('model.json'), '--prior', `gaussian-field:${p('pk16.fits')}`, '--noise', String(SIGMA), '--steps', '30', '--seed', '3', '--quiet'];

  it('alternates source draws and lens steps; report.json has the lens posterior, the products the kept draws', async () => {
    const r = await runCliAsync([...base(), '--sample-lens', p('lens.json'), '--gibbs', '10', '--gibbs-burn', '3', '--lens-steps', '15', '--out', p('out')], { timeoutMs: 600_000 });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const rep = JSON.parse(readFileSync(p('out/report.json'), 'utf8'));
    const lp = rep.lensPosterior;
    expect(lp.names).toEqual([...MASS_NAMES]);
    expect(lp.chain).toHaveLength(10);
    expect(lp.chain[0]).toHaveLength(7);
    expect(lp.iterations).toBe(10);
    expect(lp.burn).toBe(3);
    expect(lp.acceptanceRate).toBeGreaterThan(0.02);
    expect(lp.acceptanceRate).toBeLessThan(1);
    // the chain moved the lens from the model's 0.51″ to the data's 0.5″
    expect(Math.abs(lp.mean[0] - TRUE_LENS.thetaE)).toBeLessThan(0.006);
    expect(lp.std[0]).toBeGreaterThan(0);
    expect(lp.std[0]).toBeLessThan(0.01);
    expect(lp.meanLens.thetaE).toBeCloseTo(lp.mean[0], 12);
    expect(lp.note).toMatch(/approximation of the exact conditional/);
    // the products: the 7 kept source draws; the residual at the lens posterior's mean
    expect(rep.n).toBe(7);
    const samples = readFitsImage(new Uint8Array(readFileSync(p('out/posterior-samples.fits'))));
    expect(samples.data.length).toBe(7 * 16 * 16);
    expect(rep.chi2PerPixel).toBeGreaterThan(0.5);
    expect(rep.chi2PerPixel).toBeLessThan(2);
    expect(rep.command).toMatch(/--sample-lens lens\.json --gibbs 10 --gibbs-burn 3 --lens-steps 15/);
    expect(rep.command).not.toMatch(/ --n /);
  }, 700_000);

  it('refuses inconsistent flags and a lens.json without a covariance (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [[...base(), '--gibbs', '5', '--out', p('bad')], /--gibbs applies to --sample-lens only/],
      [[...base(), '--sample-lens', p('lens.json'), '--n', '4', '--out', p('bad')], /--n does not apply to --sample-lens/],
      [[...base(), '--sample-lens', p('lens.json'), '--gibbs', '4', '--gibbs-burn', '4', '--out', p('bad')], /--gibbs-burn must be below --gibbs \(4\), got 4/],
      [[...base(), '--sample-lens', p('no-cov.json'), '--out', p('bad')], /no-cov\.json: no covariance/],
    ];
    for (const [args, msg] of cases) {
      const r = await runCliAsync(args, { timeoutMs: 120_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  }, 600_000);
});
