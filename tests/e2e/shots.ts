/**
 * Screenshots of the e2e specs: written under test-results/ (SUBDIR/NAME), and copied to $SKYSCORE_SHOTS when set
 * (to look at them after a run).
 */
import path from 'node:path';
import { copyFileSync, mkdirSync } from 'node:fs';
import { ROOT } from '../helpers/data.js';

/** A page or a locator: anything Playwright can screenshot. */
export interface Shootable {
  screenshot(o: { path: string }): Promise<unknown>;
}

/** Screenshot `target` to test-results/[subdir/]name (and $SKYSCORE_SHOTS/name). */
export async function shot(target: Shootable, name: string, subdir = ''): Promise<void> {
  const dir = path.join(ROOT, 'test-results', subdir);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  await target.screenshot({ path: file });
  const extra = process.env.SKYSCORE_SHOTS;
  if (extra) {
    mkdirSync(extra, { recursive: true });
    copyFileSync(file, path.join(extra, name));
  }
}
