/**
 * The score engine engine.info reports (src-main/onnx/probe.ts), found without loading a prior: ONNX Runtime with
 * its provider, threads per worker, workers and device (the default worker plan); tfjs with the reason where the
 * environment asks for it or tfjs runs on a GPU; 'unavailable' with the reason where the configured engine cannot
 * run; and the line the status bar and the About box show (src-shared/protocol/score-engine.ts).
 */
import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { probeScoreEngine, probeGraph } from '../../src-main/onnx/probe.js';
import { OnnxSession } from '../../src-main/onnx/runtime.js';
import { describeScoreEngine, type ScoreEngineInfo } from '../../src-shared/protocol/index.js';

const cores = availableParallelism();
const wasm = { backend: 'wasm' as const, gpuAdapter: { found: false, description: null, software: false } };
const webgpu = { backend: 'webgpu' as const, gpuAdapter: { found: true, description: 'NVIDIA H200', software: false } };

describe('score engine probe', () => {
  it('reports ONNX Runtime on the CPU with the default plan: one worker per core (at most 4), the cores shared out as threads', async () => {
    const s = await probeScoreEngine(wasm, {});
    const workers = Math.min(cores, 4);
    expect(s).toMatchObject({ engine: 'onnx', provider: 'cpu', workers, threads: Math.max(1, Math.floor(cores / workers)), onnxruntime: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(s.device).toMatch(/logical cores/);
    expect(describeScoreEngine(s)).toMatch(new RegExp(`^ONNX Runtime \\d+\\.\\d+\\.\\d+.* · CPU · ${workers} workers? × \\d+ threads? · .*logical cores\\)$`));
  });

  it('honours SKYSCORE_ONNX_THREADS', async () => {
    expect(await probeScoreEngine(wasm, { SKYSCORE_ONNX_THREADS: '3' })).toMatchObject({ engine: 'onnx', threads: 3 });
  });

  it('reports tfjs with the reason when the environment chooses it, or when tfjs runs on a GPU and ONNX Runtime would run on the CPU', async () => {
    const chosen = await probeScoreEngine(wasm, { SKYSCORE_SCORE_ENGINE: 'tfjs' });
    expect(chosen).toMatchObject({ engine: 'tfjs', provider: null, threads: null, note: expect.stringMatching(/chosen/) });
    expect(describeScoreEngine(chosen)).toMatch(/^tfjs wasm on .* — chosen/);
    const gpu = await probeScoreEngine(webgpu, { SKYSCORE_ONNX_PROVIDER: 'cpu' });
    expect(gpu).toMatchObject({ engine: 'tfjs', note: 'auto: tfjs on webgpu rather than ONNX Runtime on the CPU' });
    expect(gpu.device).toBe('tfjs webgpu on NVIDIA H200');
  });

  it('says why a configured engine cannot run, without throwing', async () => {
    const bad = await probeScoreEngine(wasm, { SKYSCORE_ONNX_PROVIDER: 'tpu' });
    expect(bad).toMatchObject({ engine: 'unavailable', note: expect.stringMatching(/SKYSCORE_ONNX_PROVIDER must be auto or one of/) });
    expect(describeScoreEngine(bad)).toMatch(/^unavailable — SKYSCORE_ONNX_PROVIDER/);
    // a provider this build does not have (CUDA is opt-in; CoreML is macOS only)
    const provider = process.platform === 'darwin' ? 'dml' : 'coreml';
    expect(await probeScoreEngine(wasm, { SKYSCORE_ONNX_PROVIDER: provider })).toMatchObject({ engine: 'unavailable', provider, note: expect.stringMatching(new RegExp(provider)) });
  });

  it("the probe's graph follows the score-model contract", async () => {
    const session = await OnnxSession.create(probeGraph(), { provider: 'cpu', threads: 1 });
    try {
      expect(session.inputs).toEqual([
        { name: 'x', shape: ['batch', 1, 'height', 'width'] },
        { name: 'sigma', shape: ['batch'] },
      ]);
      const out = session.run({ x: { data: new Float32Array(16).fill(1), dims: [1, 1, 4, 4] }, sigma: { data: Float32Array.of(2), dims: [1] } });
      expect(out.dims).toEqual([1, 1, 4, 4]);
      expect(out.data[5]).toBeCloseTo(0.5, 6); // an inner pixel: the 3×3 mean of ones, over σ = 2
    } finally {
      session.dispose();
    }
  });

  it('words a GPU provider without threads', () => {
    const s: ScoreEngineInfo = { engine: 'onnx', provider: 'cuda', threads: null, workers: 1, device: 'CUDA device 0', onnxruntime: '1.31.1', note: null };
    expect(describeScoreEngine(s)).toBe('ONNX Runtime 1.31.1 · CUDA · CUDA device 0');
  });
});
