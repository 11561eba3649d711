/** skyscore lens-fit --mass epl end to end on a simulated power-law lens (fast settings); a bad --mass (exit 2). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { simulateLens } from '../helpers/lens-sim.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { lensParams, parseForwardModel } from '../../src-shared/operators/forward-model-spec.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const sim = simulateLens({ size: 56, psfSize: 7, seed: 4, galaxy: 9, lens: { thetaE: 0.9, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01, gamma: 2.2 } });

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-epl-'));
  writeFileSync(p('obs.fits'), writeFits([{ data: Float32Array.from(sim.data), shape: [56, 56] }]));
  writeFileSync(p('psf.fits'), writeFits([{ data: Float32Array.from(sim.psf.data), shape: [sim.psf.shape[1], sim.psf.shape[0]] }]));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('skyscore lens-fit --mass epl', () => {
  it('fits the slope; lens.json reports it, model.json is an EPL lens stage that reconstruct accepts', async () => {
    const args = ['lens-fit', '--obs', p('obs.fits'), '--noise-map', '0.02', '--psf', p('psf.fits'), '--pixel-scale', '0.05', '--annulus', '0,1.35', '--mass', 'epl'];
    const opts = ['--starts', '1', '--no-errors', '--fit-source-size', '12', '--source-size', '16', '--out', p('out')];
    const r = await runCliAsync([...args, ...opts], { timeoutMs: 1_100_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/lens-fit: \d+s done: θE .*γ /);
    expect(r.stdout).toMatch(/γ = \d/);
    const lens = JSON.parse(readFileSync(p('out/lens.json'), 'utf8'));
    expect(lens.massProfile).toBe('epl');
    expect(lens.slopePrior).toEqual({ kind: 'flat', range: [1.2, 2.8] });
    expect(Object.keys(lens.parameters.gamma).sort()).toEqual(['error', 'value']);
    const g = lens.parameters.gamma.value;
    expect(g).toBeGreaterThanOrEqual(1.2);
    expect(g).toBeLessThanOrEqual(2.8);
    expect(lens.chi2PerPixel).toBeLessThan(1.5);
    const spec = parseForwardModel(readFileSync(p('out/model.json'), 'utf8'));
    const st = spec.operators[0]!;
    if (st.type !== 'lens') throw new Error('not a lens stage');
    expect(st.lens.model).toBe('EPL');
    expect(lensParams(st).gamma).toBe(g);
    expect(lensParams(st).thetaE).toBe(lens.parameters.thetaE.value);
  }, 1_200_000);

  it('refuses an unknown mass profile with exit code 2', async () => {
    const r = await runCliAsync(['lens-fit', '--obs', p('obs.fits'), '--noise-map', '0.02', '--psf', p('psf.fits'), '--pixel-scale', '0.05', '--mass', 'nfw', '--out', p('bad')], { timeoutMs: 120_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--mass must be one of sie, epl, got 'nfw'/);
  }, 200_000);
});
