/**
 * The likelihood's dense products on ONNX Runtime's CPU kernels (MLAS): the host side of
 * src-shared/linalg/product-engine.ts. Registered in a thread (a sampling worker, the reconstruction's own thread)
 * where that thread's score runs on ONNX Runtime's CPU provider, with the score model's intra-op threads (no
 * spinning, runtime.ts); on tfjs or a GPU provider the products stay on tfjs. Each graph becomes one model loaded on the CPU provider,
 * synchronously at its first product.
 *
 * Measured on an Intel Xeon (2 cores, shared), one intra-op thread against tfjs-wasm's matMul (XNNPACK), float32:
 * docs/onnx-priors.md "The likelihood's dense products".
 */
import { rightProductModel, setProductEngine, type CompiledProduct, type ProductEngine } from '../../src-shared/linalg/product-engine.js';
import { OnnxSession, loadOrt } from './runtime.js';
import type { ScoreEngineReport } from './score-model.js';

export class OrtProductEngine implements ProductEngine {
  readonly name: string;

  constructor(readonly threads: number) {
    const version = loadOrt().version;
    this.name = `ONNX Runtime ${version} on the CPU (MLAS)`;
  }

  compile(model: Uint8Array): CompiledProduct {
    const session = OnnxSession.createCpuSync(model, this.threads);
    return {
      run: (x, dims) => session.run({ x: { data: x, dims } }, 'y').data,
      dispose: () => session.dispose(),
    };
  }
}

/**
 * Registers (or unregisters) this thread's product engine after the score engine: ONNX Runtime's CPU kernels where
 * the score runs on ONNX Runtime's CPU provider, else tfjs. Returns what the products run on, for the engine report
 * (with the reason where ONNX Runtime was wanted and cannot be had: the products then stay on tfjs).
 * SKYSCORE_ONNX_PRODUCTS=0 (or off, tfjs) keeps them on tfjs (the worker threads share the environment).
 */
export function useOrtProducts(score: ScoreEngineReport, env: NodeJS.ProcessEnv = process.env): string {
  setProductEngine(null);
  if (score.engine !== 'onnx' || score.provider !== 'cpu') return 'tfjs (the score is not on ONNX Runtime\'s CPU provider)';
  const off = env.SKYSCORE_ONNX_PRODUCTS?.trim().toLowerCase();
  if (off === '0' || off === 'off' || off === 'tfjs') return `tfjs (SKYSCORE_ONNX_PRODUCTS=${env.SKYSCORE_ONNX_PRODUCTS!.trim()})`;
  try {
    const engine = new OrtProductEngine(Math.max(1, score.threads ?? 1));
    // a 2 × 2 product built and run now: a runtime that cannot build graphs synchronously is found here, with its reason
    const probe = engine.compile(rightProductModel(Float32Array.of(1, 2, 2, 3), 2));
    try {
      const y = probe.run(Float32Array.of(1, 1), [1, 2]);
      if (y[0] !== 3 || y[1] !== 5) throw new Error(`ONNX Runtime's probe product gave ${Array.from(y).join(', ')}, not 3, 5`);
    } finally {
      probe.dispose();
    }
    setProductEngine(engine);
    return engine.name;
  } catch (e) {
    return `tfjs (${(e as Error).message.split('\n')[0]})`;
  }
}
