/**
 * The typed API between the renderer, the hosts (Electron main, serve) and the engine worker.
 * Every message that crosses a process boundary is validated here: requests (method + params),
 * responses and events. A new method is one entry in `Methods` plus its params validator in `methodParams`.
 */
import { ProtocolError, obj, num, str, optional, type Validator } from './validate.js';
import { jobMethodParams, type JobMethods, type JobEvent } from './jobs.js';
import { fitsMethodParams, type FitsMethods } from './fits.js';
import { exampleMethodParams, type ExampleMethods } from './example.js';
import { radioMethodParams, type RadioMethods } from './radio.js';
import { lensingMethodParams, type LensingMethods } from './lensing.js';
import type { ScoreEngineInfo } from './score-engine.js';

export { ProtocolError } from './validate.js';
export * from './jobs.js';
export * from './fits.js';
export * from './example.js';
export * from './radio.js';
export * from './lensing.js';
export * from './score-engine.js';

export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  reason?: string;
  detail?: string;
}

export interface BackendInfo {
  backend: BackendName;
  requested: BackendName | 'auto';
  tfjsVersion: string;
  gpuAdapter: { found: boolean; description: string | null; software: boolean };
  cpuCores: number;
  initMs: number;
  /** Backends tried before the chosen one, with why they were not used. */
  skipped: string[];
}

export interface EngineInfo {
  versions: { skyscore: string; node: string; tfjs: string; electron?: string };
  backend: BackendInfo;
  backends: BackendProbe[];
  /** What evaluates a learned prior's score network in a run (probed once, without loading a prior). */
  scoreEngine: ScoreEngineInfo;
  /** 'child_process' (serve), 'worker_threads' (tests, a host's own) or 'utilityProcess' (Electron). */
  process: string;
  pid: number;
}

/** Method name → params and result types. */
export interface Methods extends JobMethods, FitsMethods, ExampleMethods, RadioMethods, LensingMethods {
  'engine.info': { params: Record<string, never>; result: EngineInfo };
  'engine.ping': { params: { payload?: string }; result: { pong: string } };
}
export type MethodName = keyof Methods;
export type ParamsOf<M extends MethodName> = Methods[M]['params'];
export type ResultOf<M extends MethodName> = Methods[M]['result'];

export const methodParams: { [M in MethodName]: Validator<ParamsOf<M>> } = {
  'engine.info': obj({}) as Validator<Record<string, never>>,
  'engine.ping': obj({ payload: optional(str({ max: 1000 })) }),
  ...jobMethodParams,
  ...fitsMethodParams,
  ...exampleMethodParams,
  ...radioMethodParams,
  ...lensingMethodParams,
};

export interface Request<M extends MethodName = MethodName> {
  id: number;
  method: M;
  params: ParamsOf<M>;
}

export type ErrorCode = 'bad-request' | 'input' | 'internal' | 'cancelled' | 'engine-died';
export type Response =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: ErrorCode; message: string } };

/** Events pushed from the engine/host to the renderer. */
export type EngineEvent =
  | { event: 'engine.status'; data: { state: 'starting' | 'ready' | 'restarting' | 'died'; message?: string } }
  | { event: 'engine.log'; data: { level: 'info' | 'warn' | 'error'; message: string } }
  | JobEvent;

const MAX_ID = 2 ** 31;

/** Validates a request envelope and its params; throws ProtocolError naming the first problem. */
export function validateRequest(msg: unknown): Request {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new ProtocolError('request: expected an object');
  const m = msg as Record<string, unknown>;
  for (const k of Object.keys(m)) if (k !== 'id' && k !== 'method' && k !== 'params') throw new ProtocolError(`request: unexpected field '${k}'`);
  const id = num({ integer: true, min: 0, max: MAX_ID })(m.id, 'request.id');
  const method = str({ max: 64 })(m.method, 'request.method');
  if (!Object.prototype.hasOwnProperty.call(methodParams, method)) throw new ProtocolError(`request.method: unknown method '${method}'`);
  const validator = methodParams[method as MethodName] as Validator<unknown>;
  const params = validator(m.params ?? {}, `${method}.params`);
  return { id, method: method as MethodName, params } as Request;
}

const ERROR_CODES: readonly ErrorCode[] = ['bad-request', 'input', 'internal', 'cancelled', 'engine-died'];

export function validateResponse(msg: unknown): Response {
  if (typeof msg !== 'object' || msg === null) throw new ProtocolError('response: expected an object');
  const m = msg as Record<string, unknown>;
  const id = num({ integer: true, min: 0, max: MAX_ID })(m.id, 'response.id');
  if (m.ok === true) return { id, ok: true, result: m.result };
  if (m.ok === false) {
    const e = m.error as Record<string, unknown> | undefined;
    if (!e || typeof e.message !== 'string' || !ERROR_CODES.includes(e.code as ErrorCode)) throw new ProtocolError('response.error: malformed');
    return { id, ok: false, error: { code: e.code as ErrorCode, message: e.message } };
  }
  throw new ProtocolError('response.ok: expected a boolean');
}

export function isEngineEvent(msg: unknown): msg is EngineEvent {
  return typeof msg === 'object' && msg !== null && typeof (msg as { event?: unknown }).event === 'string' && 'data' in msg;
}

