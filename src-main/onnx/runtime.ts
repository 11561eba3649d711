/**
 * ONNX Runtime (onnxruntime-node) for score models: loading the native module, choosing an execution provider,
 * and sessions whose `run` is synchronous.
 *
 * Why synchronous: the samplers call ScoreModel.score synchronously from inside a step (posterior.ts, samplers/).
 * onnxruntime-node's native InferenceSession.run is itself synchronous (it returns the outputs); the package's
 * public `run` only defers that call with setImmediate and returns a Promise. SkyScore calls the native method
 * directly (through the package's own binding module, after its own initialisation), so score() stays synchronous,
 * the samplers and the driver are unchanged, and a blocked thread does exactly what a tfjs-wasm evaluation does.
 * The binding is an internal of the package: the dependency is pinned to an exact version, the layout is checked
 * when it loads (a missing or changed binding is a load failure, reported, and the score model falls back to
 * tfjs), and tests/unit/onnx-runtime.test.ts runs it.
 *
 * Providers, best first in 'auto' mode: CUDA (only where onnxruntime-node's CUDA binaries were installed, see
 * README.md) → WebGPU on a hardware adapter (never a software one) → DirectML (Windows) / CoreML (macOS) → CPU with
 * one intra-op thread per core. SKYSCORE_ONNX_PROVIDER or the CLI's --onnx-provider picks one; an explicit choice
 * that cannot be had is an error.
 */
import { UserInputError } from '../../src-shared/errors.js';
import { gpuDevicePresent } from '../engine/backend.js';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { availableParallelism, cpus } from 'node:os';

const nodeRequire = createRequire(import.meta.url);

export class OnnxRuntimeUnavailableError extends Error {
  override name = 'OnnxRuntimeUnavailableError';
}

export class OnnxProviderInputError extends UserInputError {
  override name = 'OnnxProviderInputError';
}

/** A tensor as onnxruntime-common represents it (the fields SkyScore reads). */
export interface OrtTensor {
  readonly type: string;
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  readonly dims: readonly number[];
}

interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
}

interface NativeMetadata {
  name: string;
  isTensor: boolean;
  symbolicDimensions: string[];
  shape: number[];
  type: number;
}

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Record<string, unknown>): Promise<void> | void;
  readonly inputMetadata: NativeMetadata[];
  readonly outputMetadata: NativeMetadata[];
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: Record<string, unknown>): Record<string, OrtTensor>;
  dispose(): void;
}

interface OrtModule {
  Tensor: OrtTensorConstructor;
  env: { versions: Record<string, string> };
  listSupportedBackends(): { name: string; bundled: boolean }[];
}

interface Loaded {
  ort: OrtModule;
  NativeSession: new () => NativeSession;
  initOrt: () => void;
  binDir: string;
  version: string;
}

let loaded: Loaded | null = null;
let loadError: string | null = null;

/** onnxruntime-node with its native session class, or an OnnxRuntimeUnavailableError saying why not. */
export function loadOrt(): Loaded {
  if (loaded) return loaded;
  if (loadError !== null) throw new OnnxRuntimeUnavailableError(loadError);
  try {
    const ort = nodeRequire('onnxruntime-node') as OrtModule;
    const bindingModule = nodeRequire('onnxruntime-node/dist/binding.js') as { binding?: { InferenceSession?: unknown }; initOrt?: unknown };
    const NativeSession = bindingModule.binding?.InferenceSession;
    if (typeof NativeSession !== 'function' || typeof bindingModule.initOrt !== 'function' || typeof (NativeSession as { prototype: { run?: unknown } }).prototype.run !== 'function') {
      throw new Error(`onnxruntime-node ${ort.env?.versions?.node ?? '?'} has no native InferenceSession with a run method where SkyScore expects it (dist/binding.js)`);
    }
    const main = nodeRequire.resolve('onnxruntime-node');
    const binDir = path.join(path.dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    loaded = { ort, NativeSession: NativeSession as new () => NativeSession, initOrt: bindingModule.initOrt as () => void, binDir, version: ort.env.versions.node ?? ort.env.versions.common ?? 'unknown' };
    return loaded;
  } catch (e) {
    loadError = `onnxruntime-node cannot be loaded: ${(e as Error).message.split('\n')[0]}`;
    throw new OnnxRuntimeUnavailableError(loadError);
  }
}

/** Whether onnxruntime-node loads here, and if not why. */
export function ortAvailability(): { available: true; version: string } | { available: false; reason: string } {
  try {
    return { available: true, version: loadOrt().version };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

/** Execution providers SkyScore knows how to ask for (onnxruntime-node's names). */
export const ONNX_PROVIDERS = ['cuda', 'webgpu', 'dml', 'coreml', 'cpu'] as const;
export type OnnxProvider = (typeof ONNX_PROVIDERS)[number];

export function isOnnxProvider(s: string): s is OnnxProvider {
  return (ONNX_PROVIDERS as readonly string[]).includes(s);
}

/** What a session runs on: reported in report.json and by the bench. */
export interface ProviderInfo {
  provider: OnnxProvider;
  /** Intra-op threads (CPU provider), else null. */
  threads: number | null;
  device: string;
}

const SOFTWARE_ADAPTER = /llvmpipe|softpipe|swiftshader|lavapipe|software|microsoft basic render/i;


let adapterProbe: Promise<{ hardware: boolean; description: string }> | null = null;

/** The WebGPU adapter Dawn offers (the `webgpu` package, the same Dawn that tfjs-webgpu uses): hardware or not. */
function probeAdapter(): Promise<{ hardware: boolean; description: string }> {
  adapterProbe ??= (async () => {
    if (!gpuDevicePresent()) return { hardware: false, description: 'no GPU device on this machine' };
    try {
      const mod = await import('webgpu');
      const adapter = await mod.create([]).requestAdapter();
      if (!adapter) return { hardware: false, description: 'no WebGPU adapter' };
      const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
      const description = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ').trim() || 'unknown adapter';
      const software = SOFTWARE_ADAPTER.test(description) || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
      return { hardware: !software, description };
    } catch (e) {
      return { hardware: false, description: `WebGPU not available: ${(e as Error).message.split('\n')[0]}` };
    }
  })();
  return adapterProbe;
}

/** The CPU's model and its logical cores. */
export function cpuName(): string {
  const c = cpus();
  return `${c[0]?.model?.trim() ?? 'CPU'} (${c.length} logical cores)`;
}

/** The CPU provider's default intra-op threads: one per core the process may use. */
export function defaultOnnxThreads(): number {
  return Math.max(1, typeof availableParallelism === 'function' ? availableParallelism() : cpus().length);
}

/** The provider candidates for 'auto', best first, with the reason each other one is skipped. */
export async function providerCandidates(): Promise<{ candidates: OnnxProvider[]; skipped: string[] }> {
  const { ort, binDir } = loadOrt();
  const listed = new Map(ort.listSupportedBackends().map((b) => [b.name, b.bundled]));
  const candidates: OnnxProvider[] = [];
  const skipped: string[] = [];
  if (listed.has('cuda')) {
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (listed.get('cuda') || existsSync(path.join(binDir, lib))) candidates.push('cuda');
    else skipped.push('cuda: onnxruntime-node was installed without its CUDA binaries (README.md: opting in to CUDA)');
  }
  if (listed.has('webgpu')) {
    const a = await probeAdapter();
    if (a.hardware) candidates.push('webgpu');
    else skipped.push(`webgpu: ${a.description}`);
  }
  if (listed.has('dml') && process.platform === 'win32') candidates.push('dml');
  if (listed.has('coreml') && process.platform === 'darwin') candidates.push('coreml');
  candidates.push('cpu');
  return { candidates, skipped };
}

async function describe(provider: OnnxProvider): Promise<string> {
  if (provider === 'cpu') return cpuName();
  if (provider === 'webgpu') return (await probeAdapter()).description;
  if (provider === 'cuda') return 'CUDA device 0';
  if (provider === 'dml') return 'DirectML default adapter';
  return 'Apple CoreML';
}

/** Load options: all graph optimisations, sequential; on the CPU `threads` intra-op threads that do not spin. */
function sessionOptions(provider: OnnxProvider, threads: number | null): Record<string, unknown> {
  const options: Record<string, unknown> = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
  };
  if (threads !== null) {
    options.intraOpNumThreads = threads;
    options.interOpNumThreads = 1;
    // no spinning: between evaluations the calling thread does the sampler's own work (tfjs), and idle
    // intra-op threads spinning for new work took the core it needed (the demo ran 2× slower with them)
    options.extra = { session: { intra_op: { allow_spinning: '0' } } };
  }
  return options;
}

/** A loaded ONNX model with a synchronous run. */
export class OnnxSession {
  private disposed = false;

  private constructor(
    private readonly native: NativeSession,
    private readonly Tensor: OrtTensorConstructor,
    readonly info: ProviderInfo,
    /** Providers tried before this one and why they failed (auto mode). */
    readonly notes: string[],
  ) {}

  /** Input names and shapes (a symbolic dimension is its name). */
  get inputs(): { name: string; shape: (number | string)[] }[] {
    return this.native.inputMetadata.map((m) => ({ name: m.name, shape: m.shape.map((d, i) => (d >= 0 ? d : (m.symbolicDimensions[i] ?? '?'))) }));
  }

  get outputs(): { name: string; shape: (number | string)[] }[] {
    return this.native.outputMetadata.map((m) => ({ name: m.name, shape: m.shape.map((d, i) => (d >= 0 ? d : (m.symbolicDimensions[i] ?? '?'))) }));
  }

  /**
   * Loads the model on one provider, or in 'auto' mode on the best one that accepts it (a provider whose session
   * fails to build is noted and the next is tried; the CPU always works for a valid model).
   */
  static async create(bytes: Uint8Array, o: { provider?: OnnxProvider | 'auto'; threads?: number | null } = {}): Promise<OnnxSession> {
    const { ort, NativeSession, initOrt } = loadOrt();
    initOrt();
    const want = o.provider ?? 'auto';
    let order: OnnxProvider[];
    const notes: string[] = [];
    if (want === 'auto') {
      const c = await providerCandidates();
      order = c.candidates;
    } else {
      const listed = ort.listSupportedBackends().map((b) => b.name);
      if (want !== 'cpu' && !listed.includes(want)) {
        throw new OnnxProviderInputError(`ONNX provider '${want}' is not part of onnxruntime-node on ${process.platform}/${process.arch} (it has ${listed.join(', ')})`);
      }
      order = [want];
    }
    for (const provider of order) {
      const threads = provider === 'cpu' ? (o.threads ?? defaultOnnxThreads()) : null;
      const options = sessionOptions(provider, threads);
      const native = new NativeSession();
      try {
        await native.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, options);
      } catch (e) {
        const why = `${provider}: ${(e as Error).message.split('\n')[0]}`;
        if (want !== 'auto' || provider === 'cpu') throw new OnnxProviderInputError(`ONNX Runtime could not load the model on ${why}`);
        notes.push(why);
        continue;
      }
      return new OnnxSession(native, ort.Tensor, { provider, threads, device: await describe(provider) }, notes);
    }
    throw new OnnxProviderInputError('ONNX Runtime: no execution provider accepted the model');
  }

  /**
   * Loads the model on the CPU provider synchronously (onnxruntime-node's native loadModel returns when the model
   * is loaded): for graphs built while a synchronous evaluation runs (the likelihood's dense products, products.ts).
   */
  static createCpuSync(bytes: Uint8Array, threads: number): OnnxSession {
    const { ort, NativeSession, initOrt } = loadOrt();
    initOrt();
    const native = new NativeSession();
    try {
      const r = native.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, sessionOptions('cpu', threads));
      // 1.31 returns a promise, but loads synchronously where no JavaScript callback is registered (backend.js:
      // "the native binding retains the synchronous zero-copy path otherwise"); a rejection is observed here so
      // that it is never unhandled, and the load is checked through the metadata, which exists once it is loaded
      if (r && typeof (r as Promise<void>).then === 'function') (r as Promise<void>).catch(() => {});
      if (native.inputMetadata.length === 0 || native.outputMetadata.length === 0) throw new Error('the model did not load synchronously');
    } catch (e) {
      try {
        native.dispose();
      } catch {
        // nothing loaded: nothing to free
      }
      throw new OnnxProviderInputError(`ONNX Runtime could not load the model on cpu: ${(e as Error).message.split('\n')[0]}`);
    }
    return new OnnxSession(native, ort.Tensor, { provider: 'cpu', threads, device: cpuName() }, []);
  }

  /** Runs the model on float32 inputs; returns the named (or first) output's values and dims. Synchronous. */
  run(feeds: Record<string, { data: Float32Array; dims: number[] }>, output = this.native.outputMetadata[0]!.name): { data: Float32Array; dims: number[] } {
    if (this.disposed) throw new Error('ONNX session used after dispose');
    const f: Record<string, OrtTensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new this.Tensor('float32', v.data, v.dims);
    const out = this.native.run(f, { [output]: null }, {})[output];
    if (!out) throw new Error(`ONNX model returned no output '${output}'`);
    if (out.type !== 'float32') throw new Error(`ONNX model output '${output}' is ${out.type}, float32 is needed`);
    return { data: out.data as Float32Array, dims: out.dims.map(Number) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.native.dispose();
  }
}
