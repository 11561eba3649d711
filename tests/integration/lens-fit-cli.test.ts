/** skyscore lens-fit end to end on a simulated lens written to a temporary folder; bad input (exit 2). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { simulateLens } from '../helpers/lens-sim.js';
import { FitsHeader, readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { parseForwardModel } from '../../src-shared/operators/forward-model-spec.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const read = (f: string) => readFitsImage(new Uint8Array(readFileSync(f)));
const sim = simulateLens({ size: 56, psfSize: 7, seed: 4, galaxy: 9, lens: { thetaE: 0.9, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01 } });

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-'));
  // a drizzled HST cutout's WCS: 0.05″ pixels, +y at position angle 37° East of North (ORIENTAT)
  const t = (37 * Math.PI) / 180;
  const s = 0.05 / 3600;
  const wcs = new FitsHeader().set('CTYPE1', 'RA---TAN').set('CTYPE2', 'DEC--TAN').set('CRVAL1', 143.5).set('CRVAL2', 10.1).set('CRPIX1', 28.5).set('CRPIX2', 28.5);
  wcs.set('CD1_1', -s * Math.cos(t)).set('CD1_2', s * Math.sin(t)).set('CD2_1', s * Math.sin(t)).set('CD2_2', s * Math.cos(t));
  writeFileSync(p('obs.fits'), writeFits([{ data: Float32Array.from(sim.data), shape: [56, 56], header: wcs }]));
  const sigma = Float32Array.from(sim.sigma);
  sigma[3] = NaN; // a pixel without information: left out
  writeFileSync(p('noise.fits'), writeFits([{ data: sigma, shape: [56, 56] }]));
  writeFileSync(p('psf.fits'), writeFits([{ data: Float32Array.from(sim.psf.data), shape: [sim.psf.shape[1], sim.psf.shape[0]] }]));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('skyscore lens-fit', () => {
  it('fits a simulated lens and writes every product; model.json reproduces the lensed source through skyscore forward', async () => {
    const args = ['lens-fit', '--obs', p('obs.fits'), '--noise-map', p('noise.fits'), '--psf', p('psf.fits'), '--pixel-scale', '0.05', '--annulus', '0,1.35'];
    // (--threads 2: the starts' ellipticity scan and the start on the fit's pool of worker threads; --speculate 1:
    // the cycles' Nelder–Mead candidates there too — the same fit bit for bit, lensing-fit-threads.test.ts)
    const opts = ['--starts', '1', '--no-errors', '--fit-source-size', '12', '--source-size', '16', '--threads', '2', '--speculate', '1', '--out', p('out')];
    const r = await runCliAsync([...args, ...opts], { timeoutMs: 1_100_000 });
    expect(r.stderr).toMatch(/lens-fit: \d+s light fitted; ring radius/);
    expect(r.stderr).toMatch(/lens-fit: \d+s done: θE/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lens-fit: wrote .*out: θE = /);
    for (const f of ['lens.json', 'model.json', 'psf.fits', 'mask.fits', 'lens-light.fits', 'light-subtracted.fits', 'model-image.fits', 'normalised-residual.fits', 'source-inversion.fits', 'critical-curves.json']) {
      expect(existsSync(p(`out/${f}`))).toBe(true);
    }
    const lens = JSON.parse(readFileSync(p('out/lens.json'), 'utf8'));
    const t = sim.truth.lens;
    expect(Math.abs(lens.parameters.thetaE.value - t.thetaE) / t.thetaE).toBeLessThan(0.03);
    expect(Math.abs(lens.parameters.q.value - t.q)).toBeLessThan(0.08);
    for (const k of ['thetaE', 'q', 'phi', 'x0', 'y0', 'gamma1', 'gamma2']) expect(Object.keys(lens.parameters[k]).sort()).toEqual(['error', 'value']);
    expect(lens.parameters.thetaE.error).toBeNull(); // --no-errors
    expect(lens.chi2PerPixel).toBeGreaterThan(0.7);
    expect(lens.chi2PerPixel).toBeLessThan(1.5);
    expect(Number.isFinite(lens.logEvidence)).toBe(true);
    // on the sky through the WCS: the major axis's position angle East of North is φ + ORIENTAT − 90° (mod 180) near
    // the tangent point; the centre's RA/Dec that of the pixel at (x0, y0)
    const pa = (((lens.parameters.phi.value * 180) / Math.PI + 37 - 90) % 180 + 180) % 180;
    expect(Math.abs(((lens.onSky.positionAngle.value - pa + 90) % 180 + 180) % 180 - 90)).toBeLessThan(1e-3);
    expect(lens.onSky.frame.lon).toBe('RA');
    const [dx, dy] = [lens.parameters.x0.value / 0.05, lens.parameters.y0.value / 0.05];
    const [sd, rot] = [0.05 / 3600, (37 * Math.PI) / 180];
    expect(lens.onSky.centre.lat).toBeCloseTo(10.1 + sd * (Math.sin(rot) * dx + Math.cos(rot) * dy), 7);
    // the fitted lens in every product's header: lens.json's values
    for (const f of ['model-image.fits', 'normalised-residual.fits', 'light-subtracted.fits', 'source-inversion.fits']) {
      const h = read(p(`out/${f}`)).header;
      expect(h.get('LENSMOD')).toBe('SIE');
      expect(h.get('THETAE')).toBeCloseTo(lens.parameters.thetaE.value, 10);
      expect(h.get('LENSQ')).toBeCloseTo(lens.parameters.q.value, 10);
      expect(h.get('LENSPA')).toBeCloseTo(lens.onSky.positionAngle.value, 8);
      expect(h.get('LENSDEC')).toBeCloseTo(lens.onSky.centre.lat, 10);
      expect(h.get('CHI2PIX')).toBeCloseTo(lens.chi2PerPixel, 10);
      expect(h.has('THETAEER')).toBe(false); // --no-errors
    }
    // the fitted pixels: the disc minus the NaN-σ pixel
    const mask = read(p('out/mask.fits'));
    expect(mask.data[3]).toBe(0);
    expect(lens.nPixels).toBe(Array.from(mask.data).reduce((s, v) => s + v, 0));
    // source plane: a linear arcsec WCS of the source grid
    const src = read(p('out/source-inversion.fits'));
    expect(src.shape).toEqual([16, 16]);
    expect(src.header.get('CTYPE1')).toBe('LINEAR');
    expect(src.header.get('CUNIT1')).toBe('arcsec');
    expect(src.header.get('CRPIX1')).toBe(8.5);
    expect(src.header.get('CDELT1')).toBeCloseTo(lens.sourceGrid.pixelScale, 10);
    // light-subtracted = data − lens light; model = light + lensed source
    const obs = read(p('obs.fits'));
    const light = read(p('out/lens-light.fits'));
    const sub = read(p('out/light-subtracted.fits'));
    const model = read(p('out/model-image.fits'));
    for (const k of [0, 500, 1500, 56 * 28 + 28]) expect(sub.data[k]).toBeCloseTo(obs.data[k] - light.data[k], 4);
    // model.json: a valid forward model whose source grid is the inversion's; skyscore forward of the source
    // through it is the model image on the fitted pixels (lensed source + light) and the light elsewhere
    const spec = parseForwardModel(readFileSync(p('out/model.json'), 'utf8'));
    expect(spec.shape).toEqual([16, 16]);
    // the lens light is the model's additive image, the source inversion's statistics its flux reference
    expect(spec.additive).toEqual({ fits: 'lens-light.fits' });
    expect(spec.fluxReference).toEqual({ flux: lens.sourceFluxReference, background: lens.sourceBackgroundReference });
    const fw = await runCliAsync(['forward', '--model', p('out/model.json'), '--in', p('out/source-inversion.fits'), '--out', p('lensed.fits'), '--backend', 'cpu'], { timeoutMs: 300_000 });
    expect(fw.code).toBe(0);
    const lensed = read(p('lensed.fits'));
    let maxErr = 0;
    let peak = 0;
    for (let k = 0; k < 56 * 56; k++) {
      const want = mask.data[k] ? model.data[k] : light.data[k];
      maxErr = Math.max(maxErr, Math.abs(lensed.data[k] - want));
      peak = Math.max(peak, Math.abs(want));
    }
    expect(peak).toBeGreaterThan(0.05);
    expect(maxErr / peak).toBeLessThan(1e-4);
    const curves = JSON.parse(readFileSync(p('out/critical-curves.json'), 'utf8'));
    expect(curves.critical.length).toBeGreaterThan(0);
    expect(curves.caustics.length).toBe(curves.critical.length);
  }, 1_200_000);

  it('reconstruct on the observation with model.json (light as its additive image) gives the posterior of the light-subtracted data', async () => {
    // a Gaussian-field prior on the 16×16 source grid (data units: no flux scale to choose), the same seed
    writePowerSpectrumPrior(p('pk16.fits'), 16, 1, 2, 2);
    const spec = JSON.parse(readFileSync(p('out/model.json'), 'utf8'));
    delete spec.additive;
    writeFileSync(p('out/without-light.json'), JSON.stringify(spec));
    const run = ['reconstruct', '--noise', p('noise.fits'), '--prior', `gaussian-field:${p('pk16.fits')}`, '--n', '4', '--steps', '30', '--seed', '5', '--quiet'];
    const a = await runCliAsync([...run, '--obs', p('obs.fits'), '--model', p('out/model.json'), '--workers', '2', '--out', p('rec-additive')], { timeoutMs: 300_000 });
    expect(a.code).toBe(0);
    // (the same workers: with 4 chains in one worker the lens's solves go through its normal matrix, deflated, and
    // stop at other iterates within their tolerance — draws 3 % of the peak apart; docs/sampling.md, Likelihood)
    const b = await runCliAsync([...run, '--obs', p('out/light-subtracted.fits'), '--model', p('out/without-light.json'), '--workers', '2', '--out', p('rec-subtracted')], { timeoutMs: 300_000 });
    expect(b.code).toBe(0);
    const ma = read(p('rec-additive/posterior-mean.fits')).data;
    const mb = read(p('rec-subtracted/posterior-mean.fits')).data;
    let diff = 0;
    let peak = 0;
    for (let k = 0; k < ma.length; k++) {
      diff = Math.max(diff, Math.abs(ma[k] - mb[k]));
      peak = Math.max(peak, Math.abs(mb[k]));
    }
    expect(peak).toBeGreaterThan(0.05);
    // float32: y − b here, the file's float32(y − b) there; the chains amplify that rounding: 0.69·10⁻³ and 1.06·10⁻³
    // of the peak measured for two fits of this simulation ending at the same χ²/pixel (0.92208, 0.92207) from first
    // θE 0.933″ and 0.925″
    expect(diff / peak).toBeLessThan(2e-3);
    const ra = JSON.parse(readFileSync(p('rec-additive/report.json'), 'utf8'));
    const rb = JSON.parse(readFileSync(p('rec-subtracted/report.json'), 'utf8'));
    expect(ra.model.additive).toBe('lens-light.fits');
    expect(rb.model.additive).toBeUndefined();
    expect(ra.chi2PerPixel).toBeCloseTo(rb.chi2PerPixel, 3);
    // the residual is of y − b − A x: the light is not left in it
    const res = read(p('rec-additive/residual.fits')).data;
    const fin = Array.from(res).filter(Number.isFinite);
    expect(Math.abs(fin.reduce((s, v) => s + v, 0) / fin.length)).toBeLessThan(0.2);
  }, 700_000);

  it('refuses bad input with exit code 2 and one message', async () => {
    const base = ['lens-fit', '--obs', p('obs.fits'), '--noise-map', p('noise.fits'), '--psf', p('psf.fits'), '--pixel-scale', '0.05', '--out', p('bad')];
    const cases: [string[], RegExp][] = [
      [['lens-fit', '--noise-map', p('noise.fits')], /missing --obs/],
      [[...base, '--annulus', '1,0.5'], /--annulus must be R1,R2/],
      [[...base, '--annulus', '0,1', '--mask', p('obs.fits')], /--mask or --annulus, not both/],
      [[...base, '--mask', p('obs.fits')], /mask values must be 0 or 1/],
      [[...base, '--mask', p('obs.fits'), '--mask-convention', 'exclude'], /mask values must be 0 or 1/],
      [[...base, '--mask-convention', 'fit'], /--mask-convention says how to read --mask: give --mask too/],
      [[...base, '--mask', p('obs.fits'), '--mask-convention', 'pyautolens'], /--mask-convention must be auto, fit, exclude, got 'pyautolens'/],
      [[...base, '--regularisation', 'smooth'], /--regularisation must be one of gradient, curvature, identity/],
      [[...base, '--psf-size', '8'], /--psf-size must be odd/],
      [[...base, '--noise-correlation', 'yes'], /--noise-correlation must be auto or none/],
      [[...base, '--noise-region', '0,0,8'], /--noise-region must be four non-negative integers/],
      [[...base, '--noise-region', '0,0,80,80'], /the noise region 0,0,80,80 is not a box inside the 56×56/],
      [[...base, '--noise-region', '0,0,20,20', '--noise-correlation', 'none'], /--noise-region measures the noise's correlation: not with --noise-correlation none/],
      [[...base, '--poisson', 'yes'], /--poisson must be auto or none/],
      [[...base, '--sky', 'auto'], /--sky must be none, fit or a number \(the sky level in data units\), got 'auto'/],
      [[...base, '--sky', ''], /--sky must be none, fit or a number/],
      [[...base, '--weight-type', 'ivm2'], /--weight-type must be ivm or exp/],
      [[...base, '--weight-type', 'exp'], /--weight-type exp describes a --weight-map/],
      [[...base, '--exposure-time', '100', '--poisson', 'none'], /--exposure-time gives the sources' Poisson noise: not with --poisson none/],
      [[...base, '--exposure-time', '-5'], /--exposure-time/],
      [[...base, '--threads', '0'], /--threads must be ≥ 1/],
      [[...base, '--speculate', '4', '--threads', '2'], /--speculate must be ≤ 3/],
      [[...base, '--speculate', '1', '--threads', '1'], /--speculate needs --threads 2 or more/],
      [[...base, '--light-core', '5'], /--light-core must be ≤ 4/],
      [[...base, '--light', '0', '--light-core', '1'], /--light-core needs a Sérsic component to tie to/],
      [[...base, '--light-centres', 'joint'], /--light-centres must be free or tied, got 'joint'/],
      [[...base, '--light', '1', '--light-centres', 'tied'], /--light 1 has none/],
    ];
    for (const [args, msg] of cases) {
      const r = await runCliAsync(args, { timeoutMs: 120_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  }, 600_000);
});

// Drizzle-like correlated noise: unit white noise filtered by [a, 1 − 2a, a] per axis (a = 0.12: neighbour correlation
// 0.30, per-pixel variance 0.37 of the large-scale one, like drizzled ACS data), σ = 0.02 the large-scale noise as a
// weight map states it, on a 112² simulation whose sky beyond twice the fitted disc holds ≈ 3400 pixels.
describe('skyscore lens-fit on correlated noise', () => {
  const N = 112;
  const sim2 = simulateLens({ size: N, psfSize: 7, seed: 6, galaxy: 9, lens: { thetaE: 0.9, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01 } });
  const a = 0.12;
  const t = [a, 1 - 2 * a, a];
  const rng = new SeededRandom(77);
  const w = Float64Array.from({ length: (N + 2) ** 2 }, () => rng.normal());
  const noise = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) noise[i * N + j] += t[u] * t[v] * w[(i + u) * (N + 2) + j + v];
  const data = Float32Array.from(sim2.noiseFree, (v, k) => v + 0.02 * noise[k]);
  // a hot pixel the weights do not flag, 0.5″ from the centre (on the deflector's light): 25 σ
  const HOT: [number, number] = [N / 2 + 8, N / 2 + 6];
  data[HOT[0] * N + HOT[1]] += 0.5;
  const q = (f: string) => path.join(dir, 'corr', f);
  const args = () => ['lens-fit', '--obs', q('obs.fits'), '--weight-map', q('wht.fits'), '--psf', q('psf.fits'), '--pixel-scale', '0.05', '--annulus', '0,1.35', '--starts', '1', '--light', '1', '--no-errors', '--fit-source-size', '12', '--source-size', '16'];

  beforeAll(() => {
    mkdirSync(q(''), { recursive: true });
    writeFileSync(q('obs.fits'), writeFits([{ data, shape: [N, N] }]));
    writeFileSync(q('wht.fits'), writeFits([{ data: new Float32Array(N * N).fill(1 / 0.02 ** 2), shape: [N, N] }]));
    writeFileSync(q('psf.fits'), writeFits([{ data: Float32Array.from(sim2.psf.data), shape: [sim2.psf.shape[1], sim2.psf.shape[0]] }]));
  });

  it('measures the correlation from the sky, whitens, and writes the images in data units and the correlated noise for reconstruct', async () => {
    const r = await runCliAsync([...args(), '--out', q('auto')], { timeoutMs: 1_100_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skyscore: note: noise correlation: correlated \(neighbour correlation 0\.[23]\d\d \(x\) \/ 0\.[23]\d\d \(y\)/);
    const lens = JSON.parse(readFileSync(q('auto/lens.json'), 'utf8'));
    const nc = lens.noiseCorrelation;
    expect(nc.decision).toBe('whitened');
    expect(Math.abs(nc.lag1.x - 0.304)).toBeLessThan(0.04);
    expect(Math.abs(nc.varianceRatio - 0.368)).toBeLessThan(0.04);
    expect(nc.skyPixels).toBeGreaterThan(3000);
    // the hot pixel found in the whitened data and left out with W's support around it (else its whitened image,
    // W's side lobes, would stay in the fit)
    expect(nc.sharpPixels.pixels).toContainEqual(HOT);
    expect(read(q('auto/mask.fits')).data[(HOT[0] + nc.kernelRadius) * N + HOT[1]]).toBe(0);
    // χ²/pixel in the whitened space ≈ 1; σ = 1/√WHT without whitening reads the per-pixel scatter's 0.37
    expect(lens.chi2PerPixel).toBeGreaterThan(0.8);
    expect(lens.chi2PerPixel).toBeLessThan(1.25);
    expect(nc.chi2PerPixelUnwhitened).toBeLessThan(0.6);
    // the images in data units through the original PSF: the model against the noise-free simulation
    const mask = read(q('auto/mask.fits')).data;
    const model = read(q('auto/model-image.fits')).data;
    const light = read(q('auto/lens-light.fits')).data;
    const sub = read(q('auto/light-subtracted.fits')).data;
    let ss = 0;
    let m = 0;
    for (let k = 0; k < N * N; k++) {
      if (!mask[k]) continue;
      ss += (model[k] - sim2.noiseFree[k]) ** 2;
      m++;
      expect(sub[k]).toBeCloseTo(data[k] - light[k], 4);
    }
    // (0.40 σ measured: the 16² source grid)
    expect(Math.sqrt(ss / m) / 0.02).toBeLessThan(0.5);
    const centre = (N / 2) * N + N / 2;
    // the normalised residual says it is whitened
    expect(String(read(q('auto/normalised-residual.fits')).header.get('SKYRESID'))).toMatch(/whitened/);
    // model.json: the correlated noise block; its files
    const spec = parseForwardModel(readFileSync(q('auto/model.json'), 'utf8'));
    expect(spec.noise).toEqual({ model: 'correlated', image: 'noise-realisation.fits', sigmaFits: 'noise-sigma.fits' });
    const sig = read(q('auto/noise-sigma.fits')).data;
    expect(sig[centre]).toBeCloseTo(0.02 * Math.sqrt(nc.varianceRatio), 5);
    expect(read(q('auto/noise-realisation.fits')).shape).toEqual([256, 256]);
    // …which reconstruct reads without a noise flag (the correlated likelihood)
    writePowerSpectrumPrior(q('pk16.fits'), 16, 1, 2, 2);
    const rec = await runCliAsync(['reconstruct', '--obs', q('obs.fits'), '--model', q('auto/model.json'), '--prior', `gaussian-field:${q('pk16.fits')}`, '--n', '2', '--steps', '10', '--seed', '5', '--quiet', '--workers', '1', '--out', q('rec')], { timeoutMs: 300_000 });
    expect(rec.code, rec.stderr).toBe(0);
    const rep = JSON.parse(readFileSync(q('rec/report.json'), 'utf8'));
    expect(JSON.stringify(rep.noiseModel)).toMatch(/correlated/);
  }, 1_200_000);

  it("--noise-correlation none: σ as given, nothing measured, lens.json says so", async () => {
    const r = await runCliAsync([...args(), '--noise-correlation', 'none', '--out', q('none')], { timeoutMs: 1_100_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/noise correlation: none/);
    const lens = JSON.parse(readFileSync(q('none/lens.json'), 'utf8'));
    expect(lens.noiseCorrelation.decision).toMatch(/^white \(not measured/);
    expect(lens.noiseCorrelation.lag1).toBeUndefined();
    // the per-pixel scatter is 0.37 of σ²: χ²/pixel far below 1
    expect(lens.chi2PerPixel).toBeLessThan(0.6);
    expect(existsSync(q('none/noise-sigma.fits'))).toBe(false);
    expect(JSON.parse(readFileSync(q('none/model.json'), 'utf8')).noise).toBeUndefined();
  }, 1_200_000);
});

// The sources' Poisson noise that a drizzled weight map leaves out: the first simulation in e⁻/s, the WHT the sky's
// alone (σ_w = 0.02), the noise drawn with the full variance σ_w² + f/T, T such that the deflector's peak has 100× the
// sky's variance (a SLACS deflector's core: docs/lensing.md, The sources' Poisson noise); EXPTIME and BUNIT in the header.
describe("skyscore lens-fit: the sources' Poisson noise the weights leave out", () => {
  const N = 56;
  const SW = 0.02;
  const peak = Math.max(...sim.noiseFree);
  const T = peak / (100 * SW * SW);
  const rng = new SeededRandom(21);
  const data = Float32Array.from(sim.noiseFree, (v) => v + rng.normal() * Math.sqrt(SW * SW + Math.max(v, 0) / T));
  const q = (f: string) => path.join(dir, 'poisson', f);
  const run = (flags: string[], out: string) =>
    runCliAsync(
      ['lens-fit', '--obs', q('obs.fits'), '--weight-map', q('wht.fits'), '--psf', p('psf.fits'), '--pixel-scale', '0.05', '--annulus', '0,1.35', '--starts', '1', '--light', '1', '--no-errors', '--fit-source-size', '12', '--source-size', '16', ...flags, '--out', q(out)],
      { timeoutMs: 1_100_000 },
    );
  /** χ²/pixel of normalised-residual.fits over the fitted pixels within r pixels of the centre (all: Infinity). */
  const chi2Within = (out: string, r: number) => {
    const m = read(q(`${out}/mask.fits`)).data;
    const z = read(q(`${out}/normalised-residual.fits`)).data;
    let c = 0;
    let n = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const k = i * N + j;
        if (!m[k] || Math.hypot(i - (N - 1) / 2, j - (N - 1) / 2) > r) continue;
        c += z[k] * z[k];
        n++;
      }
    }
    return { chi2: c / n, n };
  };

  beforeAll(() => {
    mkdirSync(q(''), { recursive: true });
    const h = new FitsHeader().set('BUNIT', 'ELECTRONS/S').set('EXPTIME', T);
    writeFileSync(q('obs.fits'), writeFits([{ data, shape: [N, N], header: h }]));
    writeFileSync(q('wht.fits'), writeFits([{ data: new Float32Array(N * N).fill(1 / (SW * SW)), shape: [N, N] }]));
  });

  it('the default adds it (EXPTIME read): χ²/pixel ≈ 1 in the mask and the core; --poisson none: far above 1', async () => {
    const a = await run([], 'auto');
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/skyscore: note: the sources' Poisson noise added to σ: .*effective exposure [\d.]+ s \(EXPTIME\)/);
    const la = JSON.parse(readFileSync(q('auto/lens.json'), 'utf8'));
    expect(la.noise.read.EXPTIME).toBeCloseTo(T, 3);
    expect(la.noise.read.BUNIT).toBe('ELECTRONS/S');
    // sigma.fits is the σ used: at the centre √(σ_w² + f/T) within 10 % (f smoothed there), the sky's far out
    const sig = read(q('auto/sigma.fits')).data;
    const c = 28 * N + 28;
    expect(Math.abs(sig[c] / Math.sqrt(SW * SW + sim.noiseFree[c] / T) - 1)).toBeLessThan(0.1);
    expect(sig[c]).toBeGreaterThan(5 * SW);
    const b = await run(['--poisson', 'none'], 'none');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/Poisson noise: not added \(--poisson none\)/);
    const lb = JSON.parse(readFileSync(q('none/lens.json'), 'utf8'));
    expect(lb.noise.poisson).toMatch(/^none/);
    expect(read(q('none/sigma.fits')).data[c]).toBeCloseTo(SW, 6);
    // the mask, and the core (within 0.25″ of the centre); measured 0.956 and 1.10 (80 pixels) with the term,
    // 9.35 and 37.8 without
    const core = chi2Within('auto', 5);
    expect(core.n).toBeGreaterThan(60);
    expect(la.chi2PerPixel).toBeGreaterThan(0.8);
    expect(la.chi2PerPixel).toBeLessThan(1.2);
    expect(core.chi2).toBeGreaterThan(0.6);
    expect(core.chi2).toBeLessThan(1.6);
    expect(lb.chi2PerPixel).toBeGreaterThan(3);
    expect(chi2Within('none', 5).chi2).toBeGreaterThan(15);
    // the fitted θE stays within 3 % with the Poisson term
    expect(Math.abs(la.parameters.thetaE.value / sim.truth.lens.thetaE - 1)).toBeLessThan(0.03);
  }, 1_200_000);

  it('--light-core 2: two Gaussians tied to the Sérsic in lens.json, the core and θE as without them', async () => {
    const r = await run(['--light-core', '2'], 'core');
    expect(r.code, r.stderr).toBe(0);
    const l = JSON.parse(readFileSync(q('core/lens.json'), 'utf8'));
    expect(l.command).toMatch(/--light-core 2/);
    expect(l.lightCore.map((c: { sigmaPixels: number }) => c.sigmaPixels)).toEqual([0.5, 1]);
    expect(l.lightCore.map((c: { sigmaArcsec: number }) => c.sigmaArcsec)).toEqual([0.025, 0.05]);
    // tied to the Sérsic component's centre; only its parameters are reported
    for (const c of l.lightCore) expect([c.x0, c.y0]).toEqual([l.parameters['light0.x0'].value, l.parameters['light0.y0'].value]);
    expect(Object.keys(l.parameters).filter((k) => k.startsWith('light1.'))).toEqual([]);
    // a single-Sérsic deflector: the core at the noise still, θE within 3 %
    const core = chi2Within('core', 5);
    expect(core.chi2).toBeGreaterThan(0.6);
    expect(core.chi2).toBeLessThan(1.6);
    expect(Math.abs(l.parameters.thetaE.value / sim.truth.lens.thetaE - 1)).toBeLessThan(0.03);
  }, 1_200_000);
});
