/** Loads the astropy-produced expected values (scripts/astropy-expected.py) and the files they describe. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DATA_DIR, ROOT } from '../helpers/data.js';

export interface ExpectedStats {
  min: number | null;
  max: number | null;
  mean: number | null;
  nan: number;
}

export interface ExpectedColumn {
  name: string;
  format: string;
  kind: 'str' | 'bool' | 'var' | 'num' | 'other' | 'error';
  first?: Array<string | number>;
  sum?: number;
  size?: number;
  true?: number;
  lengths?: number[];
}

export interface ExpectedHdu {
  index: number;
  kind: string;
  name: string | null;
  bitpix: number;
  shape: number[];
  cards: Array<[string, unknown]>;
  stats: ExpectedStats | null;
  dtype?: string;
  values?: Array<number | null>;
  nrows?: number;
  columns?: ExpectedColumn[];
  groups?: {
    gcount: number;
    paramNames: string[];
    parSums: Record<string, number>;
    parFirst: Record<string, number>;
    dataShape: number[];
    dataStats: ExpectedStats;
  };
}

export interface ExpectedFile {
  file: string;
  error?: string;
  hdus?: ExpectedHdu[];
}

export const FIXTURES = path.join(ROOT, 'tests', 'fixtures');

export function loadJson<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'fits-expected', name), 'utf8')) as T;
}

export function corpus(): ExpectedFile[] {
  return loadJson<{ files: ExpectedFile[] }>('corpus.json').files;
}

/** Absolute path of a corpus entry ('fits/x.fits' under the shared data, 'fixtures/x.fits' in the repository). */
export function filePath(rel: string): string {
  if (rel.startsWith('fixtures/')) return path.join(FIXTURES, 'fits', rel.slice('fixtures/'.length));
  return path.join(DATA_DIR, rel);
}

export function readBytes(rel: string): Uint8Array {
  const b = readFileSync(filePath(rel));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** |a − b| ≤ rtol·max(|a|, |b|) + atol. */
export function close(a: number, b: number, rtol: number, atol = 0): boolean {
  return Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b)) + atol;
}
