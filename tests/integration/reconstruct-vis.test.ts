/**
 * The posterior from visibilities, end to end on real data (the VLBA 43 GHz BL Lac file):
 *  - the normal equations (src-shared/radio/normal-equations.ts) equal their definitions, summed directly over the
 *    visibilities: the weighted dirty image Re(Aᴴ W y), the beam Re(Aᴴ W A) at pixel offsets, and χ² through
 *    the measurement operator, which the visibility likelihood's own χ² from the normal equations matches;
 *  - `skyscore reconstruct --vis` writes the posterior products with the SIN sky grid and the restoring beam,
 *    report.json with the χ² per visibility degree of freedom of the mean and of every sample and the weights'
 *    thermal check (and, with --reweight, the weights rescaled to it); flags of the image-plane path are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src-main/engine/backend.js';
import { readUvfits, selectVisibilities } from '../../src-shared/radio/uvfits.js';
import { visibilityNormalEquations } from '../../src-shared/radio/normal-equations.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { VisibilityLikelihood } from '../../src-shared/diffusion/visibility-likelihood.js';
import { ARCSEC } from '../../src-shared/radio/grid.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { runCli } from '../helpers/cli.js';
import { DATA_DIR } from '../helpers/data.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const FILE = path.join(DATA_DIR, 'uvfits', 'vlba43_BLLAC_2013may30.uvfits');
let dir = '';

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-vis-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the normal equations of real visibilities', () => {
  it('equal their definitions summed over the visibilities; χ² through A and through the normal equations agree', async () => {
    const all = selectVisibilities(readUvfits(new Uint8Array(readFileSync(FILE)), 'bllac'), 'I', 'bllac');
    const m = 400;
    const vis = { u: all.u.slice(0, m), v: all.v.slice(0, m), re: all.re.slice(0, m), im: all.im.slice(0, m), weight: all.weight.slice(0, m) };
    const n = 12;
    const cell = 0.05e-3 * ARCSEC;
    const eq = visibilityNormalEquations(vis, { nx: n, ny: n, cell });
    const c = Math.floor(n / 2);
    // d_p = Σ w (re cos θ − im sin θ), θ = 2π(u l + v m), l = −(x − c)·cell, m = (y − c)·cell
    let maxD = 0;
    let errD = 0;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        let s = 0;
        for (let k = 0; k < m; k++) {
          const t = 2 * Math.PI * (vis.u[k] * -(x - c) * cell + vis.v[k] * (y - c) * cell);
          s += vis.weight[k] * (vis.re[k] * Math.cos(t) - vis.im[k] * Math.sin(t));
        }
        maxD = Math.max(maxD, Math.abs(s));
        errD = Math.max(errD, Math.abs(eq.dirty[y * n + x] - s));
      }
    }
    expect(errD / maxD).toBeLessThan(1e-9);
    let errB = 0;
    let sw = 0;
    for (const w of vis.weight) sw += w;
    const bw = 2 * n - 1;
    for (const [di, dj] of [[0, 0], [3, -5], [-11, 11], [7, 2]]) {
      let s = 0;
      for (let k = 0; k < m; k++) s += vis.weight[k] * Math.cos(2 * Math.PI * (vis.u[k] * -dj * cell + vis.v[k] * di * cell));
      errB = Math.max(errB, Math.abs(eq.beam[(di + n - 1) * bw + dj + n - 1] - s));
    }
    expect(errB / sw).toBeLessThan(1e-9);
    expect(eq.visibilities).toBe(m);
    const x = Float32Array.from({ length: n * n }, (_, i) => 0.02 * Math.exp(-((Math.floor(i / n) - c) ** 2 + ((i % n) - c + 1) ** 2) / 4));
    const exact = eq.exact!.chi2(x);
    const lik = new VisibilityLikelihood({ equations: { ...eq, exact: undefined } });
    try {
      expect(Math.abs((await lik.chi2OfImage(x)) * 2 * m - exact) / exact).toBeLessThan(1e-4);
    } finally {
      lik.dispose();
    }
    // A made by the caller gives the same normal equations to the bit; A of other visibilities or another grid is refused
    const grid = { nx: n, ny: n, cell };
    for (const method of ['dft', 'nufft'] as const) {
      const own = visibilityNormalEquations(vis, grid, { method });
      const given = visibilityNormalEquations(vis, grid, { method, measurement: chooseMeasurement(vis.u, vis.v, grid, { method }) });
      expect(Array.from(given.dirty)).toEqual(Array.from(own.dirty));
      expect(Array.from(given.beam)).toEqual(Array.from(own.beam));
      expect(given.exact!.chi2(x)).toBe(own.exact!.chi2(x));
    }
    expect(() => visibilityNormalEquations(vis, grid, { measurement: chooseMeasurement(vis.u.slice(1), vis.v.slice(1), grid) })).toThrow(/not A of these visibilities/);
    expect(() => visibilityNormalEquations(vis, grid, { measurement: chooseMeasurement(vis.u, vis.v, { ...grid, cell: 2 * cell }) })).toThrow(/not A of these visibilities/);
  });
});

describe('skyscore reconstruct --vis', () => {
  it('writes the posterior products on the sky grid with the beam, and the χ² per visibility in report.json', () => {
    const n = 16;
    writePowerSpectrumPrior(path.join(dir, 'pk.fits'), n, 0.05, 3, 2);
    const out = path.join(dir, 'out');
    const r = runCli(['reconstruct', '--vis', FILE, '--prior', `gaussian-field:${path.join(dir, 'pk.fits')}`, '--size', String(n), '--cell', '0.05e-3', '--n', '6', '--steps', '60', '--seed', '3', '--reweight', '--out', out, '--quiet', '--backend', 'wasm'], { timeoutMs: 300_000 });
    expect(r.stderr).not.toMatch(/Error|at .*\.ts/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/χ² per visibility degree of freedom of the mean \d/);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report.visibilities).toMatchObject({ product: 'I', formed: '(RR+LL)/2', used: 2462, flagged: 0, object: 'BLLAC', telescope: 'VLBA' });
    expect(report.visibilities.thermalCheck.pairs).toBeGreaterThan(1000);
    // --reweight: the weights rescaled to the data's own scatter (they state σ 1/0.47 too large)
    // the variance of the data's scatter: the thermal check's rms ratio (0.470 on this file; the robust one is 0.413)
    expect(report.visibilities.weightScale).toBeCloseTo(1 / report.visibilities.thermalCheck.ratio ** 2, 10);
    expect(report.visibilities.weightScale).toBeGreaterThan(4);
    expect(report.notes.some((t: string) => /^weights × 4\.5\d+: rescaled to the data's scatter between successive visibilities \(rms ratio 0\.470; robust 0\.413/.test(t))).toBe(true);
    expect(report.image).toMatchObject({ size: [n, n], projection: 'SIN' });
    expect(report.image.cellArcsec).toBeCloseTo(0.05e-3, 12);
    expect(report.likelihood).toMatchObject({ kind: 'visibilities', degreesOfFreedom: 2 * 2462 });
    expect(report.chi2PerVisibility.samples).toHaveLength(6);
    expect(report.chi2PerVisibility.mean).toBeGreaterThan(0);
    // a 0.8 mas field holds a fraction of BL Lac's flux and a Gaussian field is no model of it: far from the
    // noise, and said so
    expect(report.chi2PerVisibility.mean).toBeGreaterThan(10);
    expect(report.warnings.some((t: string) => /the model does not fit the data to their noise/.test(t))).toBe(true);
    // without self-calibration the causes it lists include the station gains, naming the flag
    expect(report.warnings.some((t: string) => /station gains not calibrated \(--selfcal p\|ap\)/.test(t))).toBe(true);
    for (const f of ['posterior-mean', 'posterior-std', 'posterior-samples', 'residual']) {
      const img = readFitsImage(new Uint8Array(readFileSync(path.join(out, `${f}.fits`))));
      expect(img.shape.slice(0, 2)).toEqual([n, n]);
      const h = img.header;
      expect(h.getString('CTYPE1')).toBe('RA---SIN');
      expect(h.getString('CTYPE2')).toBe('DEC--SIN');
      expect(h.getNumber('CDELT1')).toBeLessThan(0);
      expect(h.getNumber('CRPIX1')).toBe(n / 2 + 1);
      expect(h.getNumber('BMAJ')).toBeGreaterThan(h.getNumber('BMIN')!);
      expect(h.getString('SKYCMD')).toBe('reconstruct');
    }
    const cube = readFitsImage(new Uint8Array(readFileSync(path.join(out, 'posterior-samples.fits'))));
    // NAXIS3 is the sample index: no FREQ (or STOKES) axis in its WCS that would make the samples channels
    expect(cube.shape).toEqual([n, n, 6]);
    expect(cube.header.getNumber('WCSAXES')).toBe(2);
    expect(cube.header.has('CTYPE3')).toBe(false);
    expect(readFitsImage(new Uint8Array(readFileSync(path.join(out, 'posterior-mean.fits')))).header.getString('CTYPE3')).toBe('FREQ');
    expect(readFitsImage(new Uint8Array(readFileSync(path.join(out, 'posterior-mean.fits')))).header.getString('BUNIT')).toBe('JY/PIXEL');
  }, 300_000);

  it('on uncalibrated data (the EHT file: station phases jump between time stamps) the warnings name --selfcal', () => {
    const n = 16;
    writePowerSpectrumPrior(path.join(dir, 'pk-eht.fits'), n, 0.05, 3, 2);
    const out = path.join(dir, 'out-eht');
    const eht = path.join(DATA_DIR, 'uvfits', 'ehtim_sample_SYNTHETIC_sgra.uvfits');
    const r = runCli(['reconstruct', '--vis', eht, '--prior', `gaussian-field:${path.join(dir, 'pk-eht.fits')}`, '--size', String(n), '--cell', '3e-6', '--n', '1', '--steps', '10', '--out', out, '--quiet', '--backend', 'wasm'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
    // the scatter of successive visibilities, 14.9 × the weights' σ: the weights, or gains that change between time stamps
    const thermal = report.warnings.find((t: string) => /^the data's scatter between successive visibilities is 14\.89 ×/.test(t));
    expect(thermal).toMatch(/--reweight rescales them to the scatter\), or the station gains change between time stamps \(uncalibrated data: --selfcal p\|ap corrects them/);
  }, 300_000);

  it('refuses the image-plane flags with --vis, and --size without it', () => {
    const a = runCli(['reconstruct', '--vis', FILE, '--obs', 'y.fits', '--prior', 'models/galaxy-64', '--out', path.join(dir, 'x')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--obs does not apply to --vis/);
    const b = runCli(['reconstruct', '--obs', 'y.fits', '--model', 'M.json', '--noise', '1', '--prior', 'models/galaxy-64', '--size', '64', '--out', path.join(dir, 'y')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--size applies to --vis only/);
  });
});
