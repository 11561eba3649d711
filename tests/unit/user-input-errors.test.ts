/**
 * One rule for the user's bad input: every user-input error class extends UserInputError (src-shared/errors.ts),
 * and the decision is `instanceof UserInputError`, never the class name. The CLI maps it to exit code 2 and one
 * `skyscore:` line; the engine answers with the error code 'input' (responses and job.error events).
 *
 * The classes are found in the sources, so a new `*Error` class fails here until it is classified: it extends
 * UserInputError (bad files, flags, specs), or it is listed below as not the user's (bugs, cancellations, …).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../../src-shared/errors.js';
import { isInputError, UsageError } from '../../src-main/cli/errors.js';
import { main } from '../../src-main/cli/main.js';
import { EngineClient, workerThreadSpawner } from '../../src-main/engine/client.js';
import type { EngineEvent } from '../../src-shared/protocol/index.js';
import { ROOT } from '../helpers/data.js';

/** Error classes that are not the user's input: cancellations, a dead engine, a malformed protocol message, the renderer's transport error, a native runtime that cannot load (the engine falls back to tfjs), the lens fit's worker threads failing. */
const NOT_INPUT = new Set(['CancelledError', 'SamplingCancelledError', 'EngineDiedError', 'ProtocolError', 'ApiError', 'OnnxRuntimeUnavailableError', 'LensFitPoolError']);

interface Found {
  file: string;
  name: string;
  exported: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !f.split(path.sep).includes('node_modules'));
}

const found: Found[] = ['src-shared', 'src-main', 'src-renderer/src', 'scripts'].flatMap((d) =>
  sources(path.join(ROOT, d)).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/^(export )?class (\w+Error) extends /gm)].map((m) => ({ file, name: m[2]!, exported: !!m[1] })),
  ),
);

async function classOf(f: Found): Promise<new (message?: string) => Error> {
  const mod = (await import(pathToFileURL(f.file).href)) as Record<string, unknown>;
  const C = mod[f.name];
  if (typeof C !== 'function') throw new Error(`${path.relative(ROOT, f.file)} does not export ${f.name}`);
  return C as new (message?: string) => Error;
}

const inputClasses = found.filter((f) => !NOT_INPUT.has(f.name) && f.name !== 'UserInputError');

describe('user-input error classes', () => {
  it('are found in the sources (the scan works) and all exported', () => {
    const names = found.map((f) => f.name);
    for (const n of ['FitsInputError', 'ForwardModelInputError', 'ScoreModelInputError', 'UsageError', 'JobInputError', 'ProjectInputError', 'FiguresInputError', 'CancelledError']) expect(names).toContain(n);
    expect(found.filter((f) => !f.exported).map((f) => `${path.relative(ROOT, f.file)}: ${f.name}`)).toEqual([]);
  });

  it('have distinct names (one class per name: no two ModelInputErrors)', () => {
    const dup = found.map((f) => f.name).filter((n, i, a) => a.indexOf(n) !== i);
    expect(dup).toEqual([]);
  });

  for (const f of inputClasses) {
    it(`${f.name} (${path.relative(ROOT, f.file)}) extends UserInputError and keeps its name`, async () => {
      const C = await classOf(f);
      const e = new C('bad input');
      expect(e, `${f.name} must extend UserInputError (or be listed in NOT_INPUT if it is not the user's input)`).toBeInstanceOf(UserInputError);
      expect(e.name).toBe(f.name);
      expect(e.message).toBe('bad input');
      expect(isInputError(e)).toBe(true);
    });
  }

  for (const f of found.filter((x) => NOT_INPUT.has(x.name))) {
    it(`${f.name} is not the user's input`, async () => {
      const C = await classOf(f);
      const e = new C('not yours');
      expect(e).not.toBeInstanceOf(UserInputError);
      expect(isInputError(e)).toBe(false);
    });
  }

  it('no source decides by matching the class name (/InputError$/)', () => {
    const byName = ['src-shared', 'src-main', 'src-renderer/src', 'scripts'].flatMap((d) => sources(path.join(ROOT, d))).filter((f) => /InputError\$|UsageError\$/.test(readFileSync(f, 'utf8')));
    expect(byName.map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  it('the rule is the class, not the name', () => {
    expect(isInputError(Object.assign(new Error('x'), { name: 'SomethingInputError' }))).toBe(false);
    expect(isInputError(new Error('x'))).toBe(false);
    expect(isInputError('FitsInputError')).toBe(false);
    expect(isInputError(new UserInputError('x'))).toBe(true);
    expect(new UsageError('x')).toBeInstanceOf(UserInputError);
  });
});

const tmp = mkdtempSync(path.join(tmpdir(), 'skyscore-input-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

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

describe('the CLI: a UserInputError exits with code 2 and one skyscore: line', () => {
  it('a missing file (io.ts, no longer the CLI layer\'s UsageError)', async () => {
    const missing = path.join(tmp, 'missing.fits');
    const r = await cli(['info', missing]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toBe(`skyscore: ${missing}: no such file\n`);
  });

  it('a file that is not FITS (FitsInputError)', async () => {
    const junk = path.join(tmp, 'notes.fits');
    writeFileSync(junk, 'hello, not a FITS file');
    const r = await cli(['info', junk]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/^skyscore: .*notes\.fits: /);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});

describe("the engine worker: a UserInputError leaves it as the code 'input'", () => {
  it("a response (fits.open of junk), a job.error event (training on junk), and 'bad-request' for a protocol error", async () => {
    process.env.SKYSCORE_USER_DIR = path.join(tmp, 'user');
    const client = new EngineClient(workerThreadSpawner({ backend: 'cpu' }));
    const events: EngineEvent[] = [];
    client.on('event', (ev: EngineEvent) => events.push(ev));
    try {
      const junk = new TextEncoder().encode('hello, not a FITS file');
      await expect(client.request('fits.open', { name: 'notes.txt', bytes: junk })).rejects.toMatchObject({ code: 'input', message: expect.stringMatching(/^notes\.txt: /) });
      await expect(client.forward('no.such.method', {})).rejects.toMatchObject({ code: 'bad-request' });

      const { jobId } = await client.request('job.train', { data: [{ name: 'junk.fits', bytes: junk }], name: 'junk', size: 32, steps: 1, batch: 1, scale: null, nf: 8, resume: false });
      const deadline = Date.now() + 60_000;
      let end: EngineEvent | undefined;
      while (!(end = events.find((e) => (e.event === 'job.error' || e.event === 'job.done') && e.data.jobId === jobId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(end).toMatchObject({ event: 'job.error', data: { jobId, kind: 'train', code: 'input', message: expect.stringMatching(/junk\.fits/) } });
    } finally {
      await client.stop();
      delete process.env.SKYSCORE_USER_DIR;
    }
  });
});
