/**
 * The command line never destroys its inputs and writes its products as one set: `reconstruct` (and `demo`,
 * `train`) refuse an --out that holds any input — named on the command line, named by M.json, reached through a
 * symbolic link —, refuse an existing --out holding other files, and replace a previous product set as a whole
 * (a temporary folder beside --out renamed into place: no mix of old and new, nothing left behind).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src-main/cli/main.js';
import { writeProductSet } from '../../src-main/io.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const N = 8;
let dir = '';
const p = (...f: string[]) => path.join(dir, ...f);

async function cli(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const wo = process.stdout.write.bind(process.stdout);
  const we = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), err };
  } finally {
    process.stdout.write = wo;
    process.stderr.write = we;
  }
}

const run = (obs: string, model: string, out: string, seed = 1) =>
  cli(['reconstruct', '--obs', obs, '--model', model, '--prior', p('pk'), '--noise', '0.5', '--out', out, '--n', '2', '--steps', '4', '--seed', String(seed), '--backend', 'cpu', '--quiet']);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-out-'));
  const y = new Float32Array(N * N).map((_, i) => Math.cos(i / 5));
  writeFileSync(p('y.fits'), writeFits([{ data: y, shape: [N, N] }]));
  writeFileSync(p('M.json'), JSON.stringify({ shape: [N, N], operators: [] }));
  mkdirSync(p('pk'));
  writePowerSpectrumPrior(p('pk', 'power-spectrum.fits'), N, 1, 2, 2);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reconstruct --out', () => {
  it('writes the product set, then replaces it as a whole, leaving nothing beside it', async () => {
    const r = await run(p('y.fits'), p('M.json'), p('out'));
    expect(r.code, r.err).toBe(0);
    const names = readdirSync(p('out')).sort();
    expect(names).toEqual(['posterior-mean.fits', 'posterior-samples.fits', 'posterior-std.fits', 'report.json', 'residual.fits']);
    const before = readFileSync(p('out', 'report.json'), 'utf8');
    const again = await run(p('y.fits'), p('M.json'), p('out'), 2);
    expect(again.code, again.err).toBe(0);
    expect(readdirSync(p('out')).sort()).toEqual(names);
    expect(JSON.parse(readFileSync(p('out', 'report.json'), 'utf8')).seed).toBe(2);
    expect(readFileSync(p('out', 'report.json'), 'utf8')).not.toBe(before);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses an --out that holds an input, and leaves the inputs as they were', async () => {
    const residual = readFileSync(p('out', 'residual.fits'));
    const report = readFileSync(p('out', 'report.json'));
    // the probe's command: products of a previous run used as the inputs of the next, into the same folder
    writeFileSync(p('out-model.json'), JSON.stringify({ shape: [N, N], operators: [] }));
    for (const [obs, model] of [
      [p('out', 'residual.fits'), p('M.json')],
      [p('y.fits'), p('out', 'report.json')],
    ] as const) {
      const r = await run(obs, model, p('out'));
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^skyscore: reconstruct: --out .*out holds the input .*; inputs are never overwritten/);
    }
    // --out . beside the data, the prior's folder, a folder reached through a symbolic link
    expect((await run(p('y.fits'), p('M.json'), dir)).err).toMatch(/holds the input/);
    expect((await run(p('y.fits'), p('M.json'), p('pk'))).err).toMatch(/holds the input .*pk/);
    symlinkSync(dir, p('link'));
    expect((await run(p('y.fits'), p('M.json'), p('link'))).err).toMatch(/holds the input/);
    expect(readFileSync(p('out', 'residual.fits')).equals(residual)).toBe(true);
    expect(readFileSync(p('out', 'report.json')).equals(report)).toBe(true);
  });

  it('refuses an --out that holds a file the model names, once M.json is read (before sampling)', async () => {
    mkdirSync(p('res'));
    // a mask under a product's name (a previous run's folder): only reading M.json shows that it is an input
    writeFileSync(p('res', 'residual.fits'), writeFits([{ data: new Float32Array(N * N).fill(1), shape: [N, N] }]));
    writeFileSync(p('masked.json'), JSON.stringify({ shape: [N, N], operators: [{ type: 'mask', fits: 'res/residual.fits' }] }));
    const r = await run(p('y.fits'), p('masked.json'), p('res'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds the input .*residual\.fits/);
    expect(readdirSync(p('res'))).toEqual(['residual.fits']);
  });

  it('refuses an existing --out holding other files than products', async () => {
    mkdirSync(p('notes'));
    writeFileSync(p('notes', 'todo.txt'), 'mine');
    const r = await run(p('y.fits'), p('M.json'), p('notes'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds other files than a previous run's products \(todo\.txt\)/);
    expect(readFileSync(p('notes', 'todo.txt'), 'utf8')).toBe('mine');
  });
});

describe('writeProductSet', () => {
  it('leaves the old set in place and nothing beside it when writing the new one fails midway', async () => {
    await writeProductSet(p('set'), [
      { name: 'a.fits', bytes: 'old a' },
      { name: 'b.json', bytes: 'old b' },
    ]);
    await expect(
      writeProductSet(p('set'), [
        { name: 'a.fits', bytes: 'new a' },
        { name: 'no-such-folder/b.json', bytes: 'new b' },
      ]),
    ).rejects.toThrow();
    expect(readFileSync(p('set', 'a.fits'), 'utf8')).toBe('old a');
    expect(readFileSync(p('set', 'b.json'), 'utf8')).toBe('old b');
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('train --out', () => {
  it('refuses a prior folder that holds its training data', async () => {
    mkdirSync(p('models', 'mine'), { recursive: true });
    writeFileSync(p('models', 'mine', 'cube.fits'), writeFits([{ data: new Float32Array(8 * 8 * 4), shape: [8, 8, 4] }]));
    const r = await cli(['train', '--data', p('models', 'mine', 'cube.fits'), '--out', p('models', 'mine'), '--steps', '1']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^skyscore: train: --out .*mine holds the input .*cube\.fits/);
  });
});
