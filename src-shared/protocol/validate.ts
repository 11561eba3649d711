/**
 * Tiny structural validators for messages crossing a process boundary (renderer ↔ host ↔ engine).
 * A validator returns the value typed, or throws ProtocolError with the path of the first problem.
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export type Validator<T> = (v: unknown, path: string) => T;

const fail = (path: string, what: string, v: unknown): never => {
  const shown = v === undefined ? 'undefined' : typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v === 'object' ? (v === null ? 'null' : Array.isArray(v) ? 'array' : 'object') : String(v);
  throw new ProtocolError(`${path}: expected ${what}, got ${shown}`);
};

export const str =
  (opts: { max?: number; pattern?: RegExp } = {}): Validator<string> =>
  (v, p) => {
    if (typeof v !== 'string') return fail(p, 'a string', v);
    if (opts.max !== undefined && v.length > opts.max) return fail(p, `a string of at most ${opts.max} characters`, v);
    if (opts.pattern && !opts.pattern.test(v)) return fail(p, `a string matching ${opts.pattern}`, v);
    return v;
  };

export const num =
  (opts: { integer?: boolean; min?: number; max?: number } = {}): Validator<number> =>
  (v, p) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(p, 'a finite number', v);
    if (opts.integer && !Number.isInteger(v)) return fail(p, 'an integer', v);
    if (opts.min !== undefined && v < opts.min) return fail(p, `a number ≥ ${opts.min}`, v);
    if (opts.max !== undefined && v > opts.max) return fail(p, `a number ≤ ${opts.max}`, v);
    return v;
  };

export const bool: Validator<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'a boolean', v));

export const literal =
  <const T extends readonly (string | number)[]>(...values: T): Validator<T[number]> =>
  (v, p) =>
    (values as readonly unknown[]).includes(v) ? (v as T[number]) : fail(p, `one of ${values.join(', ')}`, v);

export const optional =
  <T>(inner: Validator<T>): Validator<T | undefined> =>
  (v, p) =>
    v === undefined ? undefined : inner(v, p);

export const nullable =
  <T>(inner: Validator<T>): Validator<T | null> =>
  (v, p) =>
    v === null ? null : inner(v, p);

export const arrayOf =
  <T>(inner: Validator<T>, opts: { max?: number; min?: number } = {}): Validator<T[]> =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'an array', v);
    if (opts.max !== undefined && v.length > opts.max) return fail(p, `at most ${opts.max} items`, v);
    if (opts.min !== undefined && v.length < opts.min) return fail(p, `at least ${opts.min} items`, v);
    return v.map((x, i) => inner(x, `${p}[${i}]`));
  };

export const bytes: Validator<Uint8Array> = (v, p) => {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return fail(p, 'binary data (Uint8Array)', v);
};

export const float32: Validator<Float32Array> = (v, p) => (v instanceof Float32Array ? v : fail(p, 'a Float32Array', v));

type Shape = Record<string, Validator<unknown>>;
type FromShape<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/** An object with exactly these keys (unknown keys are refused: messages are narrow). */
export const obj =
  <S extends Shape>(shape: S): Validator<FromShape<S>> =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return fail(p, 'an object', v);
    const rec = v as Record<string, unknown>;
    // own keys of the shape only: `k in shape` would let __proto__, constructor, toString… through
    for (const k of Object.keys(rec)) if (!Object.prototype.hasOwnProperty.call(shape, k)) throw new ProtocolError(`${p}: unexpected field '${k.slice(0, 40)}'`);
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(shape)) {
      const r = val(Object.prototype.hasOwnProperty.call(rec, k) ? rec[k] : undefined, `${p}.${k}`);
      if (r !== undefined) out[k] = r;
    }
    return out as FromShape<S>;
  };

/** Any JSON-like value (used only for free-form documents such as M.json, validated further by their own code). */
export const json: Validator<unknown> = (v, p) => {
  const seen = (x: unknown, depth: number): void => {
    if (depth > 32) throw new ProtocolError(`${p}: nested too deeply`);
    if (x === null || typeof x === 'string' || typeof x === 'boolean') return;
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) throw new ProtocolError(`${p}: non-finite number`);
      return;
    }
    if (Array.isArray(x)) return x.forEach((y) => seen(y, depth + 1));
    if (typeof x === 'object') return Object.values(x as object).forEach((y) => seen(y, depth + 1));
    throw new ProtocolError(`${p}: not JSON data`);
  };
  seen(v, 0);
  return v;
};
