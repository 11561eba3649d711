import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Strict option parsing; unknown flags and missing values become UsageErrors naming the flag. */
export function parse(argv: string[], options: OptionSpec, command: string): Parsed {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(`${command}: ${msg.replace(/^TypeError \[[A-Z_]+\]: /, '')}`);
  }
}

export function requireString(p: Parsed, name: string, command: string): string {
  const v = p.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`${command}: missing --${name}`);
  return v;
}

export function optionalString(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A number flag, checked: finite, optionally integer and bounded. */
export function numberFlag(
  p: Parsed,
  name: string,
  command: string,
  opts: { default?: number; integer?: boolean; min?: number; max?: number; positive?: boolean } = {},
): number {
  const raw = p.values[name];
  if (raw === undefined) {
    if (opts.default === undefined) throw new UsageError(`${command}: missing --${name}`);
    return opts.default;
  }
  const v = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v)) {
    throw new UsageError(`${command}: --${name} must be a number, got '${String(raw)}'`);
  }
  if (opts.integer && !Number.isInteger(v)) throw new UsageError(`${command}: --${name} must be an integer, got ${raw}`);
  if (opts.positive && !(v > 0)) throw new UsageError(`${command}: --${name} must be positive, got ${raw}`);
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`${command}: --${name} must be ≥ ${opts.min}, got ${raw}`);
  if (opts.max !== undefined && v > opts.max) throw new UsageError(`${command}: --${name} must be ≤ ${opts.max}, got ${raw}`);
  return v;
}
