/**
 * The score engine a run would use here, found without loading a prior: the engine choice from the environment
 * (priors.ts resolveEngineOptions), onnxruntime-node loaded, and a session of a tiny score graph of the contract's
 * shape (x [batch, 1, h, w], σ [batch] → a 3×3 convolution of x divided by σ) built and run on the provider
 * 'auto' (or SKYSCORE_ONNX_PROVIDER) chooses, with the CPU threads of the default worker plan. The engine process
 * answers it in engine.info (the status bar and the About box); report.json states what a run actually used.
 */
import type { BackendInfo, ScoreEngineInfo } from '../../src-shared/protocol/index.js';
import { ONNX_FLOAT, encodeModel } from '../../src-shared/diffusion/nn/onnx-proto.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../../src-shared/diffusion/nn/onnx-export.js';
import { OnnxSession, cpuName, loadOrt, providerCandidates } from './runtime.js';
import { onnxWorkerPlan, resolveEngineOptions } from './priors.js';

const GPU_BACKENDS = new Set(['webgpu', 'tensorflow', 'webgl']);

/** A tiny graph of the score-model contract: score = conv3×3(x)/σ. */
export function probeGraph(): Uint8Array {
  const w = new Float32Array(9).fill(1 / 9);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producer: { name: 'skyscore', version: 'probe' },
    graph: {
      name: 'skyscore_probe',
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], name: 'conv', attrs: { kernel_shape: { kind: 'ints', v: [3, 3] }, pads: { kind: 'ints', v: [1, 1, 1, 1] } } },
        { op: 'Reshape', inputs: ['sigma', 'shape'], outputs: ['s4'], name: 'reshape' },
        { op: 'Div', inputs: ['c', 's4'], outputs: ['score'], name: 'score' },
      ],
      initializers: [
        { name: 'w', dims: [1, 1, 3, 3], data: w },
        { name: 'shape', dims: [4], data: { int64: [-1, 1, 1, 1] } },
      ],
      inputs: [
        { name: 'x', elemType: ONNX_FLOAT, dims: ['batch', 1, 'height', 'width'] },
        { name: 'sigma', elemType: ONNX_FLOAT, dims: ['batch'] },
      ],
      outputs: [{ name: 'score', elemType: ONNX_FLOAT, dims: ['batch', 1, 'height', 'width'] }],
    },
  });
}

/** tfjs evaluates the score: on the compute backend, with the reason. */
function onTfjs(backend: Pick<BackendInfo, 'backend' | 'gpuAdapter'>, note: string, onnxruntime: string | null = null): ScoreEngineInfo {
  const gpu = GPU_BACKENDS.has(backend.backend) && backend.gpuAdapter.found;
  return { engine: 'tfjs', provider: null, threads: null, workers: null, device: `tfjs ${backend.backend} on ${gpu ? (backend.gpuAdapter.description ?? 'the GPU') : cpuName()}`, onnxruntime, note };
}

const firstLine = (e: unknown): string => (e as Error).message.split('\n')[0]!;

/**
 * What evaluates a U-Net prior's score in a run started now, with the tfjs backend `backend` (an ONNX prior always
 * needs ONNX Runtime). Never throws: a configuration that cannot run is engine 'unavailable' with the reason.
 */
export async function probeScoreEngine(backend: Pick<BackendInfo, 'backend' | 'gpuAdapter'>, env: NodeJS.ProcessEnv = process.env): Promise<ScoreEngineInfo> {
  let o: ReturnType<typeof resolveEngineOptions>;
  try {
    o = resolveEngineOptions({}, env);
  } catch (e) {
    return { engine: 'unavailable', provider: null, threads: null, workers: null, device: cpuName(), onnxruntime: null, note: firstLine(e) };
  }
  if (o.engine === 'tfjs') return onTfjs(backend, 'chosen (SKYSCORE_SCORE_ENGINE=tfjs)');
  let version: string;
  try {
    version = loadOrt().version;
  } catch (e) {
    if (o.engine === 'onnx') return { engine: 'unavailable', provider: null, threads: null, workers: null, device: cpuName(), onnxruntime: null, note: `SKYSCORE_SCORE_ENGINE=onnx: ${firstLine(e)}` };
    return onTfjs(backend, `ONNX Runtime is not available (${firstLine(e)})`);
  }
  // the CPU threads of the default plan for a run of many samples (one worker per core, at most 4)
  const cpuPlan = onnxWorkerPlan({ engine: 'onnx', provider: 'cpu' }, null, Number.MAX_SAFE_INTEGER, o)!;
  let session: OnnxSession;
  let skipped: string[] = [];
  try {
    if (o.provider === 'auto') skipped = (await providerCandidates()).skipped;
    session = await OnnxSession.create(probeGraph(), { provider: o.provider, threads: cpuPlan.threads });
  } catch (e) {
    if (o.engine === 'onnx' || o.provider !== 'auto') return { engine: 'unavailable', provider: o.provider, threads: null, workers: null, device: cpuName(), onnxruntime: version, note: firstLine(e) };
    return onTfjs(backend, `ONNX Runtime could not run a network (${firstLine(e)})`, version);
  }
  try {
    const out = session.run({ x: { data: new Float32Array(2 * 8 * 8).fill(1), dims: [2, 1, 8, 8] }, sigma: { data: Float32Array.of(1, 2), dims: [2] } });
    if (out.data.length !== 2 * 8 * 8 || !Number.isFinite(out.data[0])) throw new Error(`the probe returned ${out.data.length} values`);
  } catch (e) {
    session.dispose();
    if (o.engine === 'onnx') return { engine: 'unavailable', provider: session.info.provider, threads: null, workers: null, device: session.info.device, onnxruntime: version, note: firstLine(e) };
    return onTfjs(backend, `ONNX Runtime could not run a network (${firstLine(e)})`, version);
  }
  const { provider, device } = session.info;
  const notes = [...session.notes.map((n) => `provider ${n}`), ...skipped.map((n) => `skipped ${n}`)];
  session.dispose();
  if (o.engine === 'auto' && provider === 'cpu' && GPU_BACKENDS.has(backend.backend)) {
    return onTfjs(backend, `auto: tfjs on ${backend.backend} rather than ONNX Runtime on the CPU`, version);
  }
  const plan = onnxWorkerPlan({ engine: 'onnx', provider }, null, Number.MAX_SAFE_INTEGER, o)!;
  return { engine: 'onnx', provider, threads: plan.threads, workers: plan.workers, device, onnxruntime: version, note: notes.length ? notes.join('; ') : null };
}
