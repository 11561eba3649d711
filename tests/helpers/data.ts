import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/data beside the checkout (CI has it at the same relative path). */
export const DATA_DIR = path.resolve(ROOT, '../shared/data');

export function dataPath(...parts: string[]): string {
  const p = path.join(DATA_DIR, ...parts);
  if (!existsSync(p)) throw new Error(`test data missing: ${p} (expected ../shared/data beside the checkout)`);
  return p;
}
