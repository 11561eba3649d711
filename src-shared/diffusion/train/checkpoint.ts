/**
 * Training state and its serialisation as one self-describing file (so that it can be written atomically):
 * "SKYCKPT1", a little-endian u32 header length, the JSON header, zero padding to 4 bytes, then the float32
 * vectors params, ema, adam.m, adam.v.
 */
import type { AdamState } from './optim.js';
import type { RngState } from '../nn/rng.js';
import { UserInputError } from '../../errors.js';

export class CheckpointInputError extends UserInputError {
  override name = 'CheckpointInputError';
}

export interface TrainState {
  step: number;
  imagesSeen: number;
  /** Wall time spent training so far (every segment of the run, resumes included). */
  elapsedS: number;
  params: Float32Array;
  ema: Float32Array;
  adam: AdamState;
  rng: RngState;
  sampler: { perm: number[]; pos: number };
  lastLoss: number | null;
  valLoss: number | null;
}

const MAGIC = 'SKYCKPT1';

export function encodeCheckpoint(state: TrainState, config: Record<string, unknown>): Uint8Array {
  const n = state.params.length;
  if (state.ema.length !== n || state.adam.m.length !== n || state.adam.v.length !== n) throw new Error('checkpoint: vectors of different lengths');
  const header = {
    version: 1,
    size: n,
    step: state.step,
    imagesSeen: state.imagesSeen,
    elapsedS: state.elapsedS,
    adamT: state.adam.t,
    rng: state.rng,
    sampler: state.sampler,
    lastLoss: state.lastLoss,
    valLoss: state.valLoss,
    config,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headLen = 8 + 4 + json.length;
  const pad = (4 - (headLen % 4)) % 4;
  const total = headLen + pad + 4 * 4 * n;
  const out = new Uint8Array(total);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, json.length, true);
  out.set(json, 12);
  let off = headLen + pad;
  for (const v of [state.params, state.ema, state.adam.m, state.adam.v]) {
    for (let i = 0; i < n; i++) dv.setFloat32(off + 4 * i, v[i], true);
    off += 4 * n;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, name = 'checkpoint'): { state: TrainState; config: Record<string, unknown> } {
  const bad = (why: string): never => {
    throw new CheckpointInputError(`${name}: ${why}`);
  };
  if (bytes.length < 12) bad('file too short');
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) bad('not a SkyScore training checkpoint');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jl = dv.getUint32(8, true);
  if (12 + jl > bytes.length) bad('truncated header');
  let h: {
    version: number;
    size: number;
    step: number;
    imagesSeen: number;
    elapsedS: number;
    adamT: number;
    rng: RngState;
    sampler: { perm: number[]; pos: number };
    lastLoss: number | null;
    valLoss: number | null;
    config: Record<string, unknown>;
  };
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + jl)));
  } catch {
    return bad('corrupt header');
  }
  if (h.version !== 1) bad(`unsupported checkpoint version ${String(h.version)}`);
  const n = h.size;
  const headLen = 12 + jl;
  const start = headLen + ((4 - (headLen % 4)) % 4);
  if (!Number.isInteger(n) || n < 0 || start + 16 * n !== bytes.length) bad(`truncated or corrupt data (expected ${start + 16 * n} bytes, found ${bytes.length})`);
  const vec = (k: number): Float32Array => {
    const v = new Float32Array(n);
    const off = start + 4 * n * k;
    for (let i = 0; i < n; i++) v[i] = dv.getFloat32(off + 4 * i, true);
    return v;
  };
  const state: TrainState = {
    step: h.step,
    imagesSeen: h.imagesSeen,
    elapsedS: h.elapsedS,
    params: vec(0),
    ema: vec(1),
    adam: { t: h.adamT, m: vec(2), v: vec(3) },
    rng: h.rng,
    sampler: h.sampler,
    lastLoss: h.lastLoss,
    valLoss: h.valLoss,
  };
  return { state, config: h.config };
}
