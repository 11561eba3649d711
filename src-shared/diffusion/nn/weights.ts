/**
 * Weights in the tfjs weight format: a manifest (groups of {paths, weights: [{name, shape, dtype, quantization?}]})
 * and the concatenated little-endian bytes. float32, or float16 stored as IEEE half precision
 * (`dtype: 'float32', quantization: {dtype: 'float16'}`, as tfjs writes quantised weights).
 */
import { sizeOf, type ParamLayout } from './params.js';
import { UserInputError } from '../../errors.js';

export type WeightDtype = 'float32' | 'float16';

export interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: 'float16' };
}

export interface WeightGroup {
  paths: string[];
  weights: WeightEntry[];
}

export type WeightsManifest = WeightGroup[];

export class WeightsInputError extends UserInputError {
  override name = 'WeightsInputError';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE 754 half (round to nearest even; overflow → ±Inf; NaN kept). */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  if ((h & 0x7fff) >= 0x7c00) return sign | 0x7c00;
  return sign | h;
}

/** IEEE 754 half → number. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encodes a flat parameter vector laid out by `layout` as (manifest, bytes). */
export function encodeWeights(layout: ParamLayout, values: Float32Array, dtype: WeightDtype, file = 'weights.bin'): { manifest: WeightsManifest; bytes: Uint8Array } {
  if (values.length !== layout.size) throw new Error(`encodeWeights: ${values.length} values for a layout of ${layout.size}`);
  const weights: WeightEntry[] = layout.specs.map((s) => (dtype === 'float16' ? { name: s.name, shape: s.shape, dtype: 'float32', quantization: { dtype: 'float16' } } : { name: s.name, shape: s.shape, dtype: 'float32' }));
  let bytes: Uint8Array;
  if (dtype === 'float32') {
    bytes = new Uint8Array(values.length * 4);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  } else {
    bytes = new Uint8Array(values.length * 2);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) dv.setUint16(i * 2, toHalf(values[i]), true);
  }
  return { manifest: [{ paths: [file], weights }], bytes };
}

/**
 * Decodes weight bytes with their manifest into the flat vector of `layout`: every parameter of the layout must be
 * present with its shape (extra entries are an error too, so a mismatched architecture is caught).
 */
export function decodeWeights(layout: ParamLayout, manifest: WeightsManifest, bytes: Uint8Array): Float32Array {
  if (!Array.isArray(manifest) || manifest.length === 0) throw new WeightsInputError('weights manifest is empty or not a list of groups');
  const out = new Float32Array(layout.size);
  const seen = new Set<string>();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  for (const group of manifest) {
    if (!group || !Array.isArray(group.weights)) throw new WeightsInputError('weights manifest group without a weights list');
    for (const w of group.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape)) throw new WeightsInputError('weights manifest entry without name or shape');
      const q = w.quantization?.dtype;
      if (w.dtype !== 'float32') throw new WeightsInputError(`weight ${w.name}: dtype ${String(w.dtype)} not supported (float32 or float16-quantised)`);
      if (q !== undefined && q !== 'float16') throw new WeightsInputError(`weight ${w.name}: quantisation ${String(q)} not supported`);
      const n = sizeOf(w.shape);
      const width = q === 'float16' ? 2 : 4;
      if (off + n * width > bytes.byteLength) {
        throw new WeightsInputError(`weights file is truncated: ${w.name} needs bytes ${off}..${off + n * width}, the file has ${bytes.byteLength}`);
      }
      if (!layout.has(w.name)) throw new WeightsInputError(`weight ${w.name} is not part of this architecture`);
      const spec = layout.spec(w.name);
      if (spec.shape.length !== w.shape.length || spec.shape.some((d, i) => d !== w.shape[i])) {
        throw new WeightsInputError(`weight ${w.name} has shape [${w.shape.join(', ')}], the architecture needs [${spec.shape.join(', ')}]`);
      }
      const base = layout.offsets[layout.specs.indexOf(spec)];
      if (width === 4) for (let i = 0; i < n; i++) out[base + i] = dv.getFloat32(off + 4 * i, true);
      else for (let i = 0; i < n; i++) out[base + i] = fromHalf(dv.getUint16(off + 2 * i, true));
      off += n * width;
      seen.add(w.name);
    }
  }
  const missing = layout.specs.filter((s) => !seen.has(s.name)).map((s) => s.name);
  if (missing.length) throw new WeightsInputError(`weights are missing ${missing.length} parameter(s) of the architecture, e.g. ${missing.slice(0, 3).join(', ')}`);
  if (off !== bytes.byteLength) throw new WeightsInputError(`weights file has ${bytes.byteLength - off} unexpected trailing bytes`);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new WeightsInputError('weights contain NaN or infinite values');
  }
  return out;
}
