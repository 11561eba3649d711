/**
 * The engine's request handlers: runs inside the engine process (worker thread or Electron utilityProcess),
 * never on a UI thread or the Electron main thread. A new method is one handler here plus its protocol entry.
 */
import type { EngineEvent, EngineInfo, MethodName, ParamsOf, Request, ResultOf } from '../../src-shared/protocol/index.js';
import type { BackendInfo, BackendName, ScoreEngineInfo } from '../../src-shared/protocol/index.js';
import { initBackend, probeBackends } from './backend.js';
import { versions } from '../version.js';
import { fitsHandlers } from './fits-files.js';
import { jobHandlers, priorRegistry } from './jobs.js';
import { radioHandlers } from './visibility-requests.js';
import { lensingHandlers } from './lens-fit-job.js';
import { probeScoreEngine } from '../onnx/probe.js';

export type Emit = (ev: EngineEvent, transfer?: ArrayBuffer[]) => void;

export interface EngineContext {
  emit: Emit;
  backend(): Promise<BackendInfo>;
  processKind: string;
}

// the score engine is probed once per engine process (its tfjs backend and environment do not change)
let scoreEngine: Promise<ScoreEngineInfo> | null = null;

type Handler<M extends MethodName> = (params: ParamsOf<M>, ctx: EngineContext) => Promise<ResultOf<M>>;
type Handlers = { [M in MethodName]: Handler<M> };

const handlers: Handlers = {
  'engine.info': async (_p, ctx): Promise<EngineInfo> => {
    const backend = await ctx.backend();
    scoreEngine ??= probeScoreEngine(backend);
    return { versions: versions(), backend, backends: await probeBackends(), scoreEngine: await scoreEngine, process: ctx.processKind, pid: process.pid };
  },
  'engine.ping': async (p) => ({ pong: p.payload ?? '' }),
  ...fitsHandlers,
  ...jobHandlers,
  ...radioHandlers,
  ...lensingHandlers,
  // the bundled example (assets/demo) with the default prior among those the app lists; loaded on demand
  'example.get': async (_p, ctx) => {
    await ctx.backend();
    const { loadExample } = await import('../demo-example.js');
    const { entries } = await priorRegistry();
    return loadExample(
      entries.map((e) => e.info),
      undefined,
      (spec) => entries.find((e) => e.info.spec === spec)!.local,
    );
  },
};

export function createEngine(opts: { emit: Emit; backend?: BackendName | 'auto'; processKind: string }) {
  let backendPromise: Promise<BackendInfo> | null = null;
  const ctx: EngineContext = {
    emit: opts.emit,
    processKind: opts.processKind,
    backend: () => (backendPromise ??= initBackend(opts.backend ?? 'auto')),
  };
  return {
    ctx,
    async handle(req: Request): Promise<unknown> {
      const h = handlers[req.method] as Handler<MethodName>;
      return h(req.params, ctx);
    },
  };
}
