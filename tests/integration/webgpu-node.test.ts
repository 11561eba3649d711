/**
 * Posterior sampling on the webgpu backend in a Node host. tfjs-webgpu cannot read tensors synchronously there
 * (its sync read needs OffscreenCanvas), so every read on the sampling path must be asynchronous, and the
 * conjugate-gradient stopping test stays on the device (src-shared/diffusion/readback.ts,
 * likelihood/cg-loop.ts). A synchronous read would end `reconstruct` at its first
 * progress line on any machine with a GPU, where `--backend auto` picks webgpu.
 *
 * The test machines have no GPU, so the tests ask for webgpu by name, which accepts Dawn's software adapter (OpenGL ES
 * on Mesa's llvmpipe; `.ci/run` installs Mesa's EGL/GLES where it is missing). The code path is the one a real
 * GPU takes; the products must be the wasm backend's to float32 rounding, for the same seed. Both runs evaluate the
 * prior with tfjs (--score-engine tfjs): the comparison is between tfjs backends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { unetLayout } from '../../src-shared/diffusion/nn/unet.js';
import { encodeWeights } from '../../src-shared/diffusion/nn/weights.js';
import { writePriorFolder } from '../../src-main/prior-folder.js';
import { tinyUnetMeta } from '../helpers/unet-meta.js';
import { ChainRandom } from '../../src-shared/diffusion/chain-rng.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const read = (f: string) => readFitsImage(new Uint8Array(readFileSync(f)));
const S = 16;

/** max |a − b| / max |b| */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-webgpu-'));
  const arch = { nf: 8, chMult: [1, 2], numResBlocks: 1, attention: false, embeddingDim: 16, fourierScale: 16 };
  const { manifest, bytes } = encodeWeights(unetLayout(arch), unetLayout(arch).initialise(3), 'float32');
  await writePriorFolder(p('tiny16'), tinyUnetMeta(arch, manifest), bytes);
  // a galaxy-like blob with noise, in 8-bit-like units
  const r = new ChainRandom(4, 0);
  const y = new Float32Array(S * S);
  for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) y[i * S + j] = 5 + 150 * Math.exp(-((i - 7.5) ** 2 + (j - 8) ** 2 / 2) / 8) + 3 * r.normal();
  writeFileSync(p('y.fits'), writeFits([{ data: y, shape: [S, S] }]));
  // a rotated elliptical 7×7 PSF: not separable, so the likelihood solves by conjugate gradients
  const k = new Float32Array(49);
  for (let a = 0; a < 7; a++)
    for (let b = 0; b < 7; b++) {
      const u = (a - 3) * 0.87 + (b - 3) * 0.5;
      const v = -(a - 3) * 0.5 + (b - 3) * 0.87;
      k[a * 7 + b] = Math.exp(-(u * u) / 2 - (v * v) / 0.8);
    }
  writeFileSync(p('psf.fits'), writeFits([{ data: k, shape: [7, 7] }]));
  writeFileSync(p('M-cg.json'), JSON.stringify({ shape: [S, S], operators: [{ type: 'psf', fits: p('psf.fits') }] }));
  writeFileSync(p('M-gauss.json'), JSON.stringify({ shape: [S, S], operators: [{ type: 'psf', fwhmPx: 2 }] }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const reconstruct = (backend: string, model: string, out: string) =>
  runCliAsync(['reconstruct', '--obs', p('y.fits'), '--model', p(model), '--prior', p('tiny16'), '--noise', '3', '--out', p(out), '--n', '2', '--steps', '8', '--seed', '3', '--backend', backend, '--score-engine', 'tfjs'], {
    timeoutMs: 300_000,
  });

describe('posterior sampling on webgpu in Node (software adapter)', () => {
  for (const [model, method] of [
    ['M-cg.json', 'cg'],
    ['M-gauss.json', 'kronecker'],
  ] as const) {
    it(`reconstruct --backend webgpu gives wasm's products (likelihood: ${method})`, async () => {
      const [gpu, cpu] = await Promise.all([reconstruct('webgpu', model, `gpu-${method}`), reconstruct('wasm', model, `cpu-${method}`)]);
      expect(gpu.stderr + gpu.stdout, 'webgpu run').not.toMatch(/internal error|OffscreenCanvas/);
      expect(gpu.code, gpu.stderr).toBe(0);
      expect(cpu.code, cpu.stderr).toBe(0);
      const rg = JSON.parse(readFileSync(p(`gpu-${method}/report.json`), 'utf8'));
      const rc = JSON.parse(readFileSync(p(`cpu-${method}/report.json`), 'utf8'));
      expect(rg.backend).toBe('webgpu');
      expect(rc.backend).toBe('wasm');
      expect(rg.likelihood.method).toBe(method);
      if (method === 'cg') {
        // the device-side solves report what they did once the batch is read back
        expect(rg.likelihood.cgSolves).toBeGreaterThan(0);
        expect(rg.likelihood.cgMeanIterations).toBeGreaterThan(0);
        expect(rg.likelihood.cgMeanIterations).toBeLessThanOrEqual(30);
        expect(rg.likelihood.cgMaxRelResidual).toBeGreaterThan(0);
      }
      expect(rg.chi2PerPixel).toBeCloseTo(rc.chi2PerPixel, 3);
      for (const f of ['posterior-samples', 'posterior-mean', 'posterior-std', 'residual']) {
        const a = read(p(`gpu-${method}/${f}.fits`)).data;
        const b = read(p(`cpu-${method}/${f}.fits`)).data;
        expect(a.length).toBe(b.length);
        expect(relDiff(a, b), f).toBeLessThan(1e-3);
      }
    }, 320_000);
  }

  it('sample --prior analytic:ring (ula: its step size is read back first) on webgpu gives wasm samples', async () => {
    const run = (backend: string) =>
      runCliAsync(['sample', '--prior', 'analytic:ring', '--sampler', 'ula', '--n', '32', '--steps', '20', '--seed', '1', '--out', p(`ring-${backend}.fits`), '--backend', backend, '--quiet'], {
        timeoutMs: 300_000,
      });
    const [gpu, cpu] = await Promise.all([run('webgpu'), run('wasm')]);
    expect(gpu.code, gpu.stderr).toBe(0);
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(gpu.stdout).toMatch(/backend webgpu/);
    const a = read(p('ring-webgpu.fits')).data;
    const b = read(p('ring-wasm.fits')).data;
    expect(a.length).toBe(64);
    expect(relDiff(a, b)).toBeLessThan(1e-4);
  }, 320_000);
});
