/**
 * What evaluates a learned prior's score network (engine.info's `scoreEngine`): ONNX Runtime with its execution
 * provider, threads and device, or tfjs with the reason; and how the status bar and the About box word it.
 */

export interface ScoreEngineInfo {
  /** 'onnx': ONNX Runtime; 'tfjs': the compute backend (`note` says why); 'unavailable': the configured engine cannot run (`note`). */
  engine: 'onnx' | 'tfjs' | 'unavailable';
  /** ONNX Runtime's execution provider: cpu, cuda, webgpu, dml, coreml; null on tfjs. */
  provider: string | null;
  /** ONNX Runtime's intra-op threads per worker (CPU provider); null elsewhere. */
  threads: number | null;
  /** Worker threads of a run with at least as many samples as workers; null on tfjs (its own rule). */
  workers: number | null;
  /** What the score runs on: the CPU's model and cores, or the GPU. */
  device: string;
  /** onnxruntime-node's version, where it loads. */
  onnxruntime: string | null;
  /** Why this engine (a fallback's reason), providers tried or skipped; null when there is nothing to say. */
  note: string | null;
}

const PROVIDER_NAMES: Record<string, string> = { cpu: 'CPU', cuda: 'CUDA', webgpu: 'WebGPU', dml: 'DirectML', coreml: 'CoreML' };

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One line: "ONNX Runtime 1.31.1 · CPU · 2 workers × 1 thread · AMD EPYC (2 logical cores)", or "tfjs wasm — why". */
export function describeScoreEngine(s: ScoreEngineInfo): string {
  if (s.engine === 'onnx') {
    const provider = PROVIDER_NAMES[s.provider ?? ''] ?? s.provider ?? '?';
    const threads = s.threads !== null ? ` · ${plural(s.workers ?? 1, 'worker')} × ${plural(s.threads, 'thread')}` : '';
    return `ONNX Runtime ${s.onnxruntime ?? ''} · ${provider}${threads} · ${s.device}`;
  }
  if (s.engine === 'tfjs') return `${s.device}${s.note ? ` — ${s.note}` : ''}`;
  return `unavailable — ${s.note ?? 'unknown reason'}`;
}
