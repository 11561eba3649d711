/**
 * skyscore reconstruct on a simulated strong lens with its deflector light, through a model.json that holds the
 * light as its additive image: the automatic flux scale is taken on the source plane (the model's fluxReference,
 * else the back-projection of the data), report.json says which, and the learned prior's posterior mean carries
 * the true source's total flux.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { galaxySource, galaxyZoo, simulateLens } from '../helpers/lens-sim.js';
import { readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { convolve } from '../../src-shared/lensing/mass.js';
import { sersicImage } from '../../src-shared/lensing/light.js';
import { annulusMask } from '../../src-shared/lensing/fit.js';
import { fluxReference } from '../../src-shared/diffusion/flux-reference.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const read = (f: string) => readFitsImage(new Uint8Array(readFileSync(f)));
const N = 64; // image pixels per side (0.05″)
const S = 64; // source pixels per side
const SOURCE_SCALE = 0.0225; // 64 × 0.0225″ = 1.44″: the simulation's 96 × 0.015″ source grid
const GALAXY = 5;
const lens = { thetaE: 1.0, q: 0.8, phi: 0.4, x0: 0.02, y0: -0.01, gamma1: 0.02, gamma2: -0.01 };
const sim = simulateLens({ size: N, psfSize: 9, seed: 21, galaxy: GALAXY, lens });

/** The simulated source's total flux (surface brightness × arcsec²) and 99.5th percentile. */
function truthSource(): { total: number; q: number } {
  const { cube, validation } = galaxyZoo();
  const src = galaxySource(cube, validation[GALAXY], 96, 3, 2);
  return { total: src.reduce((s, v) => s + v, 0) * 0.015 ** 2, q: fluxReference(src) };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-reclens-'));
  writeFileSync(p('obs.fits'), writeFits([{ data: Float32Array.from(sim.data), shape: [N, N] }]));
  writeFileSync(p('psf.fits'), writeFits([{ data: Float32Array.from(sim.psf.data), shape: [sim.psf.shape[1], sim.psf.shape[0]] }]));
  // the deflector's light as the simulation made it (before the noise), blurred: the model's additive image
  const light = convolve(
    sersicImage(sim.truth.light, sim.image, 5).map((v) => v * sim.truth.lightAmplitude),
    [N, N],
    sim.psf,
  );
  writeFileSync(p('light.fits'), writeFits([{ data: Float32Array.from(light), shape: [N, N] }]));
  writeFileSync(p('mask.fits'), writeFits([{ data: Float32Array.from(annulusMask(sim.image, 0, 1.55)), shape: [N, N] }]));
  const model = {
    shape: [S, S],
    operators: [
      { type: 'lens', imageShape: [N, N], imagePixelScale: 0.05, sourcePixelScale: SOURCE_SCALE, supersample: 2, lens: { model: 'SIE', thetaE: lens.thetaE, q: lens.q, phi: lens.phi, x0: lens.x0, y0: lens.y0 }, shear: { gamma1: lens.gamma1, gamma2: lens.gamma2 } },
      { type: 'psf', fits: 'psf.fits' },
      { type: 'mask', fits: 'mask.fits' },
    ],
    additive: { fits: 'light.fits' },
  };
  writeFileSync(p('M.json'), JSON.stringify(model));
  // the same with a flux reference (what lens-fit writes: its source inversion's figures)
  writeFileSync(p('M-ref.json'), JSON.stringify({ ...model, fluxReference: { flux: 0.5, background: 0 } }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('reconstruct through a lens with its light', () => {
  it('the automatic flux scale reads the source plane (back-projection; the model\'s fluxReference first); the posterior mean keeps the true total flux', async () => {
    const run = (n: number, steps: number) => ['reconstruct', '--obs', p('obs.fits'), '--noise', '0.02', '--prior', 'models/galaxy-64', '--n', String(n), '--steps', String(steps), '--seed', '2', '--quiet', '--workers', '1'];
    const a = await runCliAsync([...run(4, 100), '--model', p('M.json'), '--out', p('rec')], { timeoutMs: 1_000_000 });
    expect(a.code).toBe(0);
    const report = JSON.parse(readFileSync(p('rec/report.json'), 'utf8'));
    expect(report.model.additive).toBe('light.fits');
    expect(report.fluxScale.reference.of).toBe('back-projection');
    expect(report.fluxScale.source).toMatch(/^auto.*the data back-projected onto the source grid/);
    const truth = truthSource();
    const yb = Float64Array.from(sim.data, (v, k) => v - read(p('light.fits')).data[k]);
    const imagePlane = fluxReference(yb);
    // total flux of the posterior mean against the truth's (surface brightness × pixel area)
    const mean = read(p('rec/posterior-mean.fits')).data;
    const total = Array.from(mean).reduce((s, v) => s + v, 0) * SOURCE_SCALE ** 2;
    console.log(`source total flux: posterior mean ${total.toFixed(5)}, truth ${truth.total.toFixed(5)} (ratio ${(total / truth.total).toFixed(3)}); 99.5th percentile: back-projection ${report.fluxScale.reference.flux.toFixed(4)}, image plane ${imagePlane.toFixed(4)}, truth ${truth.q.toFixed(4)}; F ${report.fluxScale.value.toFixed(4)}`);
    // the back-projection's 99.5th percentile against the true source's on the same extent: the PSF lowers the
    // plain one's to 0.76 of it here, the van Cittert sharpening brings it to 0.99
    expect(report.fluxScale.reference.flux / truth.q).toBeGreaterThan(0.9);
    expect(report.fluxScale.reference.flux / truth.q).toBeLessThan(1.1);
    expect(report.fluxScale.source).toMatch(/sharpened by 3 van Cittert iterations/);
    expect(Math.abs(total / truth.total - 1)).toBeLessThan(0.1);

  }, 1_200_000);

  it("the model's fluxReference takes precedence over the back-projection", async () => {
    const meta = JSON.parse(readFileSync('models/galaxy-64/model.json', 'utf8')).data;
    const run = ['reconstruct', '--obs', p('obs.fits'), '--noise', '0.02', '--prior', 'models/galaxy-64', '--n', '1', '--steps', '3', '--seed', '2', '--quiet', '--workers', '1'];
    const b = await runCliAsync([...run, '--model', p('M-ref.json'), '--out', p('rec-ref')], { timeoutMs: 600_000 });
    expect(b.code).toBe(0);
    const rb = JSON.parse(readFileSync(p('rec-ref/report.json'), 'utf8'));
    expect(rb.fluxScale.reference).toEqual({ of: 'model fluxReference', flux: 0.5, background: 0 });
    // a sky of 0, darker than the prior's: F = (flux − sky)/(peakPrior − backgroundPrior), offset sky − F·backgroundPrior
    const F = 0.5 / (meta.peakPrior - meta.backgroundPrior);
    expect(rb.fluxScale.value).toBeCloseTo(F, 6);
    expect(rb.fluxScale.background).toBeCloseTo(-F * meta.backgroundPrior, 6);
    expect(rb.fluxScale.source).toMatch(/M-ref\.json's fluxReference/);
  }, 1_200_000);
});
