/**
 * Compute-backend selection for the engine (Node side: it loads native modules and wasm files).
 * Order, best first (docs/architecture.md, Compute backends): tensorflow (tfjs-node-gpu, CUDA) → webgpu (Dawn, a real GPU adapter only) → wasm → cpu.
 * An explicit request is honoured or fails with a clear reason; the choice is always reported.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import path from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import type { BackendInfo, BackendName, BackendProbe } from '../../src-shared/protocol/index.js';
import { BACKEND_NAMES } from '../../src-shared/protocol/index.js';
import { UserInputError } from '../../src-shared/errors.js';

const nodeRequire = createRequire(import.meta.url);

// Production mode: no debug checks and no console advice to install tfjs-node (we choose backends ourselves).
tf.env().set('PROD', true);

export class BackendInputError extends UserInputError {
  override name = 'BackendInputError';
}

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

const SOFTWARE_ADAPTER = /llvmpipe|softpipe|swiftshader|lavapipe|software|microsoft basic render/i;

interface GpuAdapterInfo {
  found: boolean;
  description?: string;
  software?: boolean;
}

let webgpuState: { adapter: GpuAdapterInfo; registered: boolean } | null = null;

/**
 * Whether this machine can have a hardware GPU adapter at all. On Linux a GPU shows up as a device node
 * (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg under WSL); without one, Dawn can only offer software adapters,
 * and probing it just prints loader warnings. Elsewhere (macOS, Windows) we always ask Dawn.
 */
export function gpuDevicePresent(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (existsSync('/dev/nvidia0') || existsSync('/dev/dxg')) return true;
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD') || f.startsWith('card'));
  } catch {
    return false;
  }
}

/** Looks for a WebGPU adapter through Dawn; with allowSoftware, falls back to OpenGL ES on Mesa (for testing the code path). */
async function probeWebgpu(allowSoftware: boolean): Promise<GpuAdapterInfo> {
  if (!allowSoftware && !gpuDevicePresent()) return { found: false, description: 'no GPU device on this machine (/dev/dri, /dev/nvidia*)' };
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    return { found: false, description: `webgpu (Dawn) not loadable: ${(e as Error).message.split('\n')[0]}` };
  }
  const g = globalThis as unknown as Record<string, unknown>;
  Object.assign(g, mod.globals);
  let gpu = mod.create([]);
  let adapter = await gpu.requestAdapter();
  let software = false;
  if (!adapter && allowSoftware) {
    process.env.EGL_PLATFORM ??= 'surfaceless';
    gpu = mod.create(['backend=opengles']);
    adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    software = true; // only reached when no hardware adapter exists
  }
  if (!adapter) return { found: false, description: 'no WebGPU adapter' };
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const description = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ').trim() || 'unknown adapter';
  software ||= SOFTWARE_ADAPTER.test(description) || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  if (software && !allowSoftware) return { found: false, description: `only a software adapter (${description})`, software };
  // tfjs-webgpu asks for a core adapter; on a compatibility-only adapter, hand it the one we found.
  const origRequest = gpu.requestAdapter.bind(gpu);
  const wrapped = Object.assign(Object.create(Object.getPrototypeOf(gpu) as object) as GPU, gpu, {
    requestAdapter: (opts?: GPURequestAdapterOptions) =>
      software ? origRequest({ ...(opts ?? {}), featureLevel: 'compatibility' } as GPURequestAdapterOptions) : origRequest(opts),
  });
  const nav = (g.navigator as Record<string, unknown> | undefined) ?? {};
  try {
    Object.defineProperty(nav, 'gpu', { value: wrapped, configurable: true });
  } catch {
    /* read-only navigator: handled below */
  }
  if (!g.navigator) g.navigator = nav;
  return { found: true, description, software };
}

function wasmDir(): string {
  return path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep;
}

/** Tries each backend (without switching to it) and says which exist here. */
export async function probeBackends(): Promise<BackendProbe[]> {
  const out: BackendProbe[] = [];
  // tensorflow
  try {
    nodeRequire.resolve('@tensorflow/tfjs-node-gpu');
    out.push({ name: 'tensorflow', available: true });
  } catch {
    out.push({ name: 'tensorflow', available: false, reason: '@tensorflow/tfjs-node-gpu is not installed (optional; needs CUDA)' });
  }
  const gpu = webgpuState?.adapter ?? (await probeWebgpu(false));
  out.push(gpu.found ? { name: 'webgpu', available: true, detail: gpu.description } : { name: 'webgpu', available: false, reason: gpu.description ?? 'no adapter' });
  out.push({ name: 'wasm', available: true, detail: 'XNNPACK, SIMD' });
  out.push({ name: 'cpu', available: true, detail: 'reference (slow)' });
  return out;
}

async function activate(name: BackendName, allowSoftwareGpu: boolean): Promise<GpuAdapterInfo | undefined> {
  switch (name) {
    case 'tensorflow': {
      try {
        await import('@tensorflow/tfjs-node-gpu' as string);
      } catch (e) {
        throw new BackendInputError(`backend tensorflow: @tensorflow/tfjs-node-gpu does not load (${(e as Error).message.split('\n')[0]})`);
      }
      break;
    }
    case 'webgpu': {
      if (!webgpuState) {
        const adapter = await probeWebgpu(allowSoftwareGpu);
        if (!adapter.found) throw new BackendInputError(`backend webgpu: ${adapter.description ?? 'no adapter'}`);
        await import('@tensorflow/tfjs-backend-webgpu');
        webgpuState = { adapter, registered: true };
      }
      break;
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // a bundler may hand the CommonJS build back as the default export
      const setWasmPaths = wasm.setWasmPaths ?? (wasm as unknown as { default: typeof wasm }).default.setWasmPaths;
      setWasmPaths(wasmDir());
      break;
    }
    case 'cpu':
      break;
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendInputError(`backend ${name}: failed to initialise`);
  await tf.ready();
  return name === 'webgpu' ? webgpuState?.adapter : undefined;
}

/**
 * Selects and initialises a backend. With no request: the best that works here, never a software GPU adapter.
 * With a request: that one (a software WebGPU adapter is accepted when asked for by name) or a BackendInputError.
 */
export async function initBackend(requested?: BackendName | 'auto'): Promise<BackendInfo> {
  const t0 = performance.now();
  const order: BackendName[] = requested && requested !== 'auto' ? [requested] : ['tensorflow', 'webgpu', 'wasm', 'cpu'];
  const failures: string[] = [];
  let adapter: GpuAdapterInfo | undefined;
  let chosen: BackendName | undefined;
  for (const name of order) {
    try {
      adapter = await activate(name, requested === 'webgpu');
      chosen = name;
      break;
    } catch (e) {
      if (requested && requested !== 'auto') throw e;
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  if (!chosen) throw new Error(`no backend could be initialised: ${failures.join('; ')}`);
  const gpu = adapter ?? webgpuState?.adapter ?? (chosen === 'tensorflow' ? { found: true, description: 'CUDA (tfjs-node-gpu)' } : { found: false });
  return {
    backend: chosen,
    requested: requested ?? 'auto',
    tfjsVersion: tf.version_core,
    gpuAdapter: { found: gpu.found, description: gpu.description ?? null, software: gpu.software ?? false },
    cpuCores: cpus().length,
    initMs: Math.round(performance.now() - t0),
    skipped: failures,
  };
}
