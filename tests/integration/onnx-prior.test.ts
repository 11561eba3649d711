/**
 * ONNX priors and the score-engine choice, end to end:
 *  - the PyTorch-exported fixture (tests/fixtures/onnx-prior, scripts/make-onnx-prior-fixture.py) is a prior: its
 *    score is −ε̂/σ of PyTorch's own output, at a size other than the export's and at one padded by reflection;
 *  - the contract's three output kinds (score, epsilon, denoised) give the same score for the same density
 *    (hand-written graphs of the exact N(0, 1) denoiser), a fixed batch size in the file is honoured;
 *  - bad model.json and bad engine settings are one clear input error;
 *  - U-Net folders run on ONNX Runtime by default, on tfjs when asked (flag, option or environment), and
 *    report.json says which engine, provider, threads and device evaluated the score.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src-main/engine/backend.js';
import { resolvePrior } from '../../src-main/priors.js';
import { onnxWorkerPlan, resolveEngineOptions, scoreEngineReport } from '../../src-main/onnx/priors.js';
import { OnnxSession, providerCandidates } from '../../src-main/onnx/runtime.js';
import { encodeModel, ONNX_FLOAT, type OnnxNode } from '../../src-shared/diffusion/nn/onnx-proto.js';
import { readFitsImage } from '../../src-shared/fits/index.js';
import { runCliAsync } from '../helpers/cli.js';
import { ROOT } from '../helpers/data.js';

const cores = availableParallelism();
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'onnx-prior');
let dir = '';

/** A model folder with a hand-written graph of the N(0, 1) prior's denoiser, returning `output`. */
function gaussianPrior(name: string, output: 'score' | 'epsilon' | 'denoised', batch: number | string = 'batch'): string {
  // r = 1 + σ² per image; score −x/r, noise σ·x/r, denoised x/r (the exact ones for x₀ ~ N(0, 1), x = x₀ + σ z)
  const nodes: OnnxNode[] = [
    { op: 'Mul', inputs: ['sigma', 'sigma'], outputs: ['s2'] },
    { op: 'Add', inputs: ['s2', 'one'], outputs: ['r'] },
    { op: 'Reshape', inputs: ['r', 'shape4'], outputs: ['r4'] },
    { op: 'Div', inputs: ['x', 'r4'], outputs: ['d'] },
  ];
  if (output === 'score') nodes.push({ op: 'Neg', inputs: ['d'], outputs: ['out'] });
  if (output === 'denoised') nodes.push({ op: 'Identity', inputs: ['d'], outputs: ['out'] });
  if (output === 'epsilon') nodes.push({ op: 'Reshape', inputs: ['sigma', 'shape4'], outputs: ['s4'] }, { op: 'Mul', inputs: ['d', 's4'], outputs: ['out'] });
  const bytes = encodeModel({
    irVersion: 8,
    opset: 17,
    producer: { name: 'test', version: '0' },
    graph: {
      name: 'gauss',
      nodes,
      initializers: [
        { name: 'one', dims: [], data: Float32Array.from([1]) },
        { name: 'shape4', dims: [4], data: { int64: [-1, 1, 1, 1] } },
      ],
      inputs: [
        { name: 'x', elemType: ONNX_FLOAT, dims: [batch, 1, 'h', 'w'] },
        { name: 'sigma', elemType: ONNX_FLOAT, dims: [batch] },
      ],
      outputs: [{ name: 'out', elemType: ONNX_FLOAT, dims: [batch, 1, 'h', 'w'] }],
    },
  });
  const folder = path.join(dir, name);
  cpSync(FIXTURE, folder, { recursive: true });
  writeFileSync(path.join(folder, 'gauss.onnx'), bytes);
  const meta = JSON.parse(readFileSync(path.join(FIXTURE, 'model.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(folder, 'model.json'), JSON.stringify({ ...meta, file: 'gauss.onnx', output, sizeMultiple: 1, name }));
  return folder;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-onnx-'));
  await initBackend('wasm');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('an ONNX prior exported by PyTorch', () => {
  it('resolves as a prior whose score is −ε̂/σ of PyTorch’s output (another size than the export’s)', async () => {
    const prior = await resolvePrior(FIXTURE);
    try {
      expect(prior.kind).toBe('onnx');
      expect(prior.name).toBe('onnx-fixture');
      expect(prior.shape).toEqual([16, 16]);
      expect(prior.sde).toEqual({ sigmaMin: 0.01, sigmaMax: 20 });
      expect(prior.peak).toBe(1);
      expect(prior.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(scoreEngineReport(prior.model, 'wasm')).toMatchObject({ engine: 'onnx', provider: 'cpu' });
      const e = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as { x: number[]; shape: [number, number, number]; sigma: number[]; eps: number[] };
      const [b, ny, nx] = e.shape;
      const per = ny * nx;
      const want = e.eps.map((v, i) => -v / e.sigma[Math.floor(i / per)]);
      const got = tf.tidy(() => prior.model.score(tf.tensor3d(e.x, [b, ny, nx]), tf.tensor1d(e.sigma)).dataSync());
      expect(maxRel(got, want)).toBeLessThan(1e-5);
      // a size its down-sampling does not divide: padded by reflection, cropped back
      const odd = tf.tidy(() => prior.model.score(tf.ones([2, 7, 9]), tf.tensor1d([0.1, 1])));
      expect(odd.shape).toEqual([2, 7, 9]);
      expect(Array.from(odd.dataSync()).every(Number.isFinite)).toBe(true);
      odd.dispose();
    } finally {
      prior.dispose();
    }
  });

  it('samples with skyscore sample; tfjs cannot evaluate it, nor dps differentiate it (clear input errors)', async () => {
    const out = path.join(dir, 'samples.fits');
    const r = await runCliAsync(['sample', '--prior', FIXTURE, '--n', '2', '--steps', '3', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const img = readFitsImage(new Uint8Array(readFileSync(out)));
    expect(img.shape).toEqual([16, 16, 2]);
    const t = await runCliAsync(['sample', '--prior', FIXTURE, '--n', '1', '--steps', '1', '--out', out, '--score-engine', 'tfjs']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/^skyscore: .*ONNX prior is evaluated by ONNX Runtime only/);
    const demo = path.join(ROOT, 'assets', 'demo');
    const d = await runCliAsync(['reconstruct', '--obs', path.join(demo, 'observation.fits'), '--model', path.join(demo, 'model.json'), '--prior', FIXTURE, '--noise', '0.02', '--n', '1', '--steps', '1', '--sampler', 'dps', '--out', path.join(dir, 'dps'), '--quiet']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/skyscore: .*has no gradient: samplers that differentiate through the network \(dps\)/);
  });
});

describe('the ONNX prior contract', () => {
  it('gives one score for the three output kinds (score, epsilon, denoised), with a dynamic or a fixed batch', async () => {
    const x = tf.tensor3d(Array.from({ length: 3 * 5 * 6 }, (_, i) => Math.sin(i) * 2), [3, 5, 6]);
    const sigma = tf.tensor1d([0.01, 0.7, 15]);
    const exact = tf.tidy(() => tf.neg(tf.div(x, tf.reshape(tf.add(tf.square(sigma), 1), [-1, 1, 1]))).dataSync());
    for (const [kind, batch] of [
      ['score', 'batch'],
      ['epsilon', 'batch'],
      ['denoised', 'batch'],
      ['epsilon', 1],
      ['denoised', 2],
    ] as const) {
      const prior = await resolvePrior(gaussianPrior(`gauss-${kind}-${batch}`, kind, batch));
      try {
        const s = tf.tidy(() => prior.model.score(x, sigma).dataSync());
        // denoised: (x̂ − x)/σ² loses digits at σmin where x̂ ≈ x (float32: |x|·ε/σ² relative)
        expect(maxRel(s, exact), `${kind}, batch ${batch}`).toBeLessThan(kind === 'denoised' ? 2e-3 : 1e-6);
      } finally {
        prior.dispose();
      }
    }
    tf.dispose([x, sigma]);
  });

  it('refuses a bad model.json or a missing network with one input error naming the field', async () => {
    const bad = (name: string, patch: Record<string, unknown>) => {
      const folder = path.join(dir, name);
      cpSync(FIXTURE, folder, { recursive: true });
      const meta = JSON.parse(readFileSync(path.join(FIXTURE, 'model.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(path.join(folder, 'model.json'), JSON.stringify({ ...meta, ...patch }));
      return folder;
    };
    await expect(resolvePrior(bad('b1', { output: 'logits' }))).rejects.toThrow(/output must be one of score, epsilon, denoised/);
    await expect(resolvePrior(bad('b2', { file: 'nope.onnx' }))).rejects.toThrow(/nope\.onnx: no such file/);
    await expect(resolvePrior(bad('b3', { file: '../x.onnx' }))).rejects.toThrow(/plain name of a \.onnx file/);
    await expect(resolvePrior(bad('b4', { imageShape: [15, 16] }))).rejects.toThrow(/not a multiple of sizeMultiple 2/);
    await expect(resolvePrior(bad('b5', { sde: { type: 've', sigmaMin: 1, sigmaMax: 0.5 } }))).rejects.toThrow(/sigmaMin < sigmaMax/);
    const b6 = bad('b6', {});
    writeFileSync(path.join(b6, 'score.onnx'), 'not a model');
    await expect(resolvePrior(b6)).rejects.toThrow(/ONNX Runtime cannot load it/);
    for (const name of ['b1', 'b6']) await expect(resolvePrior(path.join(dir, name))).rejects.toMatchObject({ name: 'PriorInputError' });
  });
});

describe('execution providers', () => {
  it('are chosen best first, ending with the CPU; skipped ones say why; runs are synchronous', async () => {
    const { candidates, skipped } = await providerCandidates();
    expect(candidates[candidates.length - 1]).toBe('cpu');
    if (process.platform === 'linux' && process.arch === 'x64' && !candidates.includes('cuda')) {
      expect(skipped.join('\n')).toMatch(/cuda: onnxruntime-node was installed without its CUDA binaries/);
    }
    const session = await OnnxSession.create(readFileSync(path.join(FIXTURE, 'score.onnx')), { provider: 'cpu', threads: 1 });
    try {
      expect(session.info).toMatchObject({ provider: 'cpu', threads: 1 });
      const out = session.run({ x: { data: new Float32Array(2 * 4 * 6), dims: [2, 1, 4, 6] }, sigma: { data: Float32Array.from([0.1, 1]), dims: [2] } });
      expect(out).not.toBeInstanceOf(Promise);
      expect(out.dims).toEqual([2, 1, 4, 6]);
    } finally {
      session.dispose();
    }
  });

  it('share the cores between workers on the CPU; a GPU provider gets one worker', () => {
    const cpu = { engine: 'onnx' as const, provider: 'cpu', threads: cores };
    expect(onnxWorkerPlan(cpu, null, 16)).toEqual({ workers: Math.min(cores, 4), threads: Math.max(1, Math.floor(cores / Math.min(cores, 4))) });
    expect(onnxWorkerPlan(cpu, null, 1)).toEqual({ workers: 1, threads: cores });
    expect(onnxWorkerPlan(cpu, 1, 16, { threads: 3 })).toEqual({ workers: 1, threads: 3 });
    expect(onnxWorkerPlan({ engine: 'onnx', provider: 'webgpu', threads: null }, null, 16)).toEqual({ workers: 1, threads: null });
    expect(onnxWorkerPlan({ engine: 'tfjs' }, null, 16)).toBeNull();
  });
});

describe('the score engine of a U-Net prior', () => {
  const galaxy = path.join(ROOT, 'models', 'galaxy-64');

  it('is ONNX Runtime by default and tfjs when asked (option or environment); bad settings are input errors', async () => {
    const a = await resolvePrior(galaxy);
    const b = await resolvePrior(galaxy, undefined, { engine: 'tfjs' });
    try {
      expect(scoreEngineReport(a.model, 'wasm')).toMatchObject({ engine: 'onnx', provider: 'cpu', onnxruntime: '1.31.1' });
      expect(scoreEngineReport(a.model, 'wasm').device).toBeTruthy();
      expect(scoreEngineReport(b.model, 'wasm')).toMatchObject({ engine: 'tfjs', backend: 'wasm' });
      expect(a.model.trainedShape).toEqual([64, 64]);
      expect(a.model.invariance).toBe(b.model.invariance);
    } finally {
      a.dispose();
      b.dispose();
    }
    expect(resolveEngineOptions({}, { SKYSCORE_SCORE_ENGINE: 'tfjs', SKYSCORE_ONNX_PROVIDER: 'cpu', SKYSCORE_ONNX_THREADS: '3' })).toEqual({ engine: 'tfjs', provider: 'cpu', threads: 3 });
    expect(resolveEngineOptions({ engine: 'onnx', threads: 1 }, { SKYSCORE_SCORE_ENGINE: 'tfjs', SKYSCORE_ONNX_THREADS: '3' })).toMatchObject({ engine: 'onnx', threads: 1 });
    expect(() => resolveEngineOptions({}, { SKYSCORE_SCORE_ENGINE: 'torch' })).toThrow(/SKYSCORE_SCORE_ENGINE must be one of auto, onnx, tfjs/);
    expect(() => resolveEngineOptions({}, { SKYSCORE_ONNX_PROVIDER: 'tpu' })).toThrow(/SKYSCORE_ONNX_PROVIDER/);
    expect(() => resolveEngineOptions({}, { SKYSCORE_ONNX_THREADS: '0' })).toThrow(/SKYSCORE_ONNX_THREADS/);
    await expect(resolvePrior(galaxy, undefined, { engine: 'onnx', provider: 'dml' })).rejects.toThrow(/provider 'dml' is not part of onnxruntime-node/);
  });

  it('is stated in report.json by skyscore reconstruct (onnx by default, tfjs with --score-engine tfjs), dps included', async () => {
    const demo = path.join(ROOT, 'assets', 'demo');
    const base = ['reconstruct', '--obs', path.join(demo, 'observation.fits'), '--model', path.join(demo, 'model.json'), '--prior', galaxy, '--noise', '0.0176471', '--n', '2', '--steps', '2', '--quiet'];
    const runs = [
      { out: 'rec-onnx', extra: ['--sampler', 'em', '--denoise', 'none'], engine: 'onnx' },
      { out: 'rec-tfjs', extra: ['--sampler', 'em', '--denoise', 'none', '--score-engine', 'tfjs'], engine: 'tfjs' },
      { out: 'rec-dps', extra: ['--sampler', 'dps', '--onnx-threads', '1'], engine: 'onnx' },
    ];
    for (const run of runs) {
      const out = path.join(dir, run.out);
      const r = await runCliAsync([...base, '--out', out, ...run.extra]);
      expect(r.code, r.stderr).toBe(0);
      const rep = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as { scoreEngine: Record<string, unknown>; workers: number; chi2PerPixel: number };
      expect(rep.scoreEngine.engine).toBe(run.engine);
      // one worker per core (at most N = 2), the cores shared out as ONNX Runtime's intra-op threads
      const workers = Math.min(cores, 2);
      expect(rep.workers).toBe(workers);
      expect(Number.isFinite(rep.chi2PerPixel)).toBe(true);
      if (run.engine === 'onnx') expect(rep.scoreEngine).toMatchObject({ provider: 'cpu', threads: run.out === 'rec-dps' ? 1 : Math.max(1, Math.floor(cores / workers)) });
    }
    const bad = await runCliAsync([...base, '--out', path.join(dir, 'rec-bad'), '--score-engine', 'torch']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^skyscore: reconstruct: --score-engine must be one of auto, onnx, tfjs, got 'torch'/);
  });
});
