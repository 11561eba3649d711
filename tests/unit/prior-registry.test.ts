/**
 * The prior registry rule: a client of the engine names a prior by its id in priors.list (`shipped/NAME`,
 * `user/NAME`); the engine maps the id to the folder. Anything else — a path, gaussian-field:FILE, /dev/zero, a
 * FIFO — is refused before it reaches the file system, and the refusal repeats no path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listPriors, registryPrior } from '../../src-main/engine/jobs.js';
import { PriorInputError } from '../../src-main/priors.js';
import { writeFits } from '../../src-shared/fits/index.js';

let dir = '';
const env: Record<string, string | undefined> = {};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-registry-'));
  mkdirSync(path.join(dir, 'user', 'models', 'field-8'), { recursive: true });
  writeFileSync(path.join(dir, 'user', 'models', 'field-8', 'power-spectrum.fits'), writeFits([{ data: new Float32Array(64).fill(1), shape: [8, 8] }]));
  writeFileSync(path.join(dir, 'secret.fits'), writeFits([{ data: new Float32Array(64).fill(1), shape: [8, 8] }]));
  spawnSync('mkfifo', [path.join(dir, 'fifo')]);
  for (const k of ['SKYSCORE_USER_DIR', 'SKYSCORE_MODELS_DIR']) env[k] = process.env[k];
  process.env.SKYSCORE_USER_DIR = path.join(dir, 'user');
  process.env.SKYSCORE_MODELS_DIR = path.join(dir, 'none');
});

afterAll(() => {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the prior registry', () => {
  it('lists priors by id, with no path', async () => {
    const { priors } = await listPriors();
    expect(priors.map((p) => p.spec)).toEqual(['user/field-8']);
    expect(JSON.stringify(priors)).not.toContain(dir);
  });

  it('maps a listed id to its folder', async () => {
    expect(await registryPrior('user/field-8')).toBe(path.join(dir, 'user', 'models', 'field-8'));
  });

  it('refuses every other name at once, without a path or a hint of what exists in its message', async () => {
    const hostile = [
      'gaussian-field:/etc/passwd',
      `gaussian-field:${path.join(dir, 'secret.fits')}`,
      'gaussian-field:/dev/zero',
      `gaussian-field:${path.join(dir, 'fifo')}`,
      path.join(dir, 'fifo'),
      path.join(dir, 'user', 'models', 'field-8'),
      `gaussian-field:${path.join(dir, 'user', 'models', 'field-8', 'power-spectrum.fits')}`,
      '/etc',
      '../../etc/passwd',
      'user/../../../etc',
      'user/field-8/../../secret.fits',
      'shipped/field-8',
      'analytic:ring',
      '',
    ];
    const messages: string[] = [];
    for (const given of hostile) {
      const t0 = performance.now();
      const e = await registryPrior(given).then(
        () => null,
        (x: Error) => x,
      );
      expect(e, given).toBeInstanceOf(PriorInputError);
      expect(performance.now() - t0, `${given}: answered at once (a FIFO is never opened)`).toBeLessThan(2000);
      expect(e!.message).not.toContain(dir);
      expect(e!.message).not.toMatch(/passwd|secret|fifo|zero|\/etc/);
      expect(e!.message).toMatch(/user\/field-8/);
      messages.push(e!.message);
    }
    // a path that exists and one that does not get the same answer
    expect(messages[1]).toBe(messages[0]);
  });
});
