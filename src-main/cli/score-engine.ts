/** The CLI's score-engine flags (--score-engine, --onnx-provider, --onnx-threads), shared by the commands that sample. */
import type { OptionSpec, Parsed } from './args.js';
import { numberFlag, optionalString } from './args.js';
import { UsageError } from './errors.js';
import { SCORE_ENGINES, isScoreEngine, type ScoreEngineOptions } from '../onnx/priors.js';
import { ONNX_PROVIDERS, isOnnxProvider } from '../onnx/runtime.js';

export const SCORE_ENGINE_OPTIONS: OptionSpec = {
  'score-engine': { type: 'string' },
  'onnx-provider': { type: 'string' },
  'onnx-threads': { type: 'string' },
};

export const SCORE_ENGINE_USAGE = `  --score-engine E    what evaluates a learned prior's network: auto (default: ONNX Runtime where onnxruntime-node
                      loads, else tfjs with a note), onnx, or tfjs (the --backend). Env SKYSCORE_SCORE_ENGINE.
                      dps differentiates through the network with tfjs on either engine
  --onnx-provider P   ONNX Runtime's execution provider: auto (default: cuda where its binaries are installed,
                      webgpu on a hardware adapter, dml on Windows, coreml on macOS, else cpu), ${ONNX_PROVIDERS.join(', ')}.
                      Env SKYSCORE_ONNX_PROVIDER. report.json states the engine, provider, threads and device
  --onnx-threads T    the CPU provider's threads per worker (default: the cores divided between the workers).
                      Env SKYSCORE_ONNX_THREADS`;

/** The flags as ScoreEngineOptions (unset ones are left to the environment and the defaults). */
export function scoreEngineFlags(p: Parsed, command: string): ScoreEngineOptions {
  const o: ScoreEngineOptions = {};
  const engine = optionalString(p, 'score-engine');
  if (engine !== undefined) {
    if (!isScoreEngine(engine)) throw new UsageError(`${command}: --score-engine must be one of ${SCORE_ENGINES.join(', ')}, got '${engine}'`);
    o.engine = engine;
  }
  const provider = optionalString(p, 'onnx-provider');
  if (provider !== undefined) {
    if (provider !== 'auto' && !isOnnxProvider(provider)) throw new UsageError(`${command}: --onnx-provider must be auto or one of ${ONNX_PROVIDERS.join(', ')}, got '${provider}'`);
    o.provider = provider;
  }
  if (p.values['onnx-threads'] !== undefined) o.threads = numberFlag(p, 'onnx-threads', command, { integer: true, min: 1, max: 256 });
  return o;
}
