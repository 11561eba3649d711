/**
 * `skyscore serve` against hostile and faulty clients, as a probe would go at it on 127.0.0.1 with a valid
 * token: malformed WebSocket frames written byte by byte (each closes its own connection, the server and a
 * running job stay), malformed messages (answered 'bad-request', the connection kept), upgrades from another
 * origin or host (refused), priors named by path (refused without touching the file), clients that go away
 * mid-job (their job is cancelled), and ten clients starting jobs at once (a queue, first come first served).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startServe } from '../helpers/cli.js';
import { closeCode, frame, rawUpgrade } from '../helpers/raw-ws.js';
import { encodeFrame, decodeFrame } from '../../src-shared/protocol/codec.js';
import { writeFits } from '../../src-shared/fits/index.js';
import type { EngineEvent, PriorInfo, ReconstructParams } from '../../src-shared/protocol/index.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { writePowerSpectrumPrior, powerSpectrumFits } from '../helpers/power-spectrum-prior.js';

let server: Awaited<ReturnType<typeof startServe>>;
let dir = '';
const N = 16;

interface Client {
  ws: WebSocket;
  events: EngineEvent[];
  call(msg: unknown, binary?: boolean): Promise<Record<string, unknown>>;
  request(method: string, params: unknown): Promise<Record<string, unknown>>;
  close(): void;
}

let nextId = 1;
/** Arrival order of every event, over all clients. */
let arrival = 0;

function connect(headers: Record<string, string> = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { headers });
    const events: EngineEvent[] = [];
    // answers in the order of the calls (one call at a time per client in these tests)
    const waiting: ((m: Record<string, unknown>) => void)[] = [];
    ws.on('message', (data: Buffer) => {
      const m = decodeFrame(new Uint8Array(data)) as Record<string, unknown>;
      if ('event' in m) events.push({ ...(m as unknown as EngineEvent), seq: arrival++ } as unknown as EngineEvent);
      else waiting.shift()?.(m);
    });
    ws.once('open', () => {
      const call = (msg: unknown, binary = true) =>
        new Promise<Record<string, unknown>>((res, rej) => {
          const t = setTimeout(() => rej(new Error(`no answer to ${JSON.stringify(msg).slice(0, 80)}`)), 20_000);
          waiting.push((m) => {
            clearTimeout(t);
            res(m);
          });
          ws.send(msg instanceof Uint8Array ? msg : binary ? encodeFrame(msg) : typeof msg === 'string' ? msg : JSON.stringify(msg));
        });
      resolve({ ws, events, call, request: (method, params) => call({ id: nextId++, method, params }), close: () => ws.close() });
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** The server answers a ping on a fresh connection. */
async function alive(): Promise<boolean> {
  const c = await connect();
  const r = await c.request('engine.ping', { payload: 'still here' });
  c.close();
  return r.ok === true && (r.result as { pong: string }).pong === 'still here';
}

function waitEnd(c: Client, jobId: string, ms = 60_000): Promise<EngineEvent> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const ev = c.events.find((e) => (e.event === 'job.done' || e.event === 'job.error') && e.data.jobId === jobId);
      if (ev) {
        clearInterval(t);
        resolve(ev);
      } else if (Date.now() - t0 > ms) {
        clearInterval(t);
        reject(new Error(`job ${jobId} did not end in ${ms} ms`));
      }
    }, 20);
  });
}

let priorSpec = '';

/** A small reconstruction: identity model on N×N data, the Gaussian-field prior of the registry. */
function job(steps: number): ReconstructParams {
  const y = new Float32Array(N * N).map((_, i) => Math.sin(i / 7));
  return {
    obs: { name: 'y.fits', bytes: writeFits([{ data: y, shape: [N, N] }]), hdu: 0, plane: 0 },
    model: { shape: [N, N], operators: [] },
    files: [],
    noise: { kind: 'sigma', sigma: 0.5 },
    prior: priorSpec,
    settings: { sampler: 'pc', n: 1, steps, seed: 1, fluxScale: null, workers: 1 },
    previewHz: 0,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-hostile-'));
  mkdirSync(path.join(dir, 'renderer'));
  writeFileSync(path.join(dir, 'renderer', 'index.html'), '<!doctype html><div id="root"></div>');
  mkdirSync(path.join(dir, 'user', 'models', 'field-16'), { recursive: true });
  writePowerSpectrumPrior(path.join(dir, 'user', 'models', 'field-16', 'power-spectrum.fits'), N, 1, 2, 2);
  process.env.SKYSCORE_USER_DIR = path.join(dir, 'user');
  process.env.SKYSCORE_MODELS_DIR = path.join(dir, 'no-shipped-models');
  try {
    server = await startServe(['--renderer-dir', path.join(dir, 'renderer'), '--backend', 'cpu']);
  } finally {
    delete process.env.SKYSCORE_USER_DIR;
    delete process.env.SKYSCORE_MODELS_DIR;
  }
  const c = await connect();
  const r = await c.request('priors.list', {});
  c.close();
  priorSpec = ((r.result as { priors: PriorInfo[] }).priors.find((p) => p.name === 'field-16') as PriorInfo).spec;
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('malformed WebSocket frames', () => {
  const bad: [string, () => Buffer, number[]][] = [
    ['invalid UTF-8 in a text frame', () => frame(1, Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d])), [1007]],
    ['an unmasked client frame', () => frame(2, Uint8Array.from([1, 2, 3, 4]), { mask: false }), [1002]],
    ['opcode 3 (reserved)', () => frame(3, Uint8Array.from([1, 2])), [1002]],
    ['the RSV1 bit without an extension', () => frame(2, Uint8Array.from([1, 2]), { rsv: 4 }), [1002]],
    ['close code 999', () => frame(8, Uint8Array.from([0x03, 0xe7])), [1002]],
    ['a 600 MB length header', () => frame(2, Uint8Array.from([1, 2, 3]), { length: 600_000_000 }), [1009]],
    ['a fragmented ping', () => frame(9, Uint8Array.from([1]), { fin: false }), [1002]],
  ];

  it('each closes its own connection (with the protocol close code); the server, other connections and a running job stay', async () => {
    const worker = await connect();
    const started = await worker.request('job.reconstruct', job(3000));
    expect(started.ok, JSON.stringify(started)).toBe(true);
    const jobId = (started.result as { jobId: string }).jobId;
    for (const [name, make, codes] of bad) {
      const raw = await rawUpgrade(server.port, { token: server.token });
      expect(raw.status, name).toBe(101);
      raw.write(make());
      expect(await raw.closed(5000), `${name}: the connection is closed`).toBe(true);
      expect(codes, `${name}: close code`).toContain(closeCode(raw.received()));
      expect(await alive(), `${name}: the server answers`).toBe(true);
    }
    // the client with the running job kept its connection and its job, which was still running
    expect(worker.events.some((e) => e.event === 'job.done' || e.event === 'job.error')).toBe(false);
    expect(worker.events.some((e) => e.event === 'job.progress')).toBe(true);
    expect(worker.ws.readyState).toBe(WebSocket.OPEN);
    const end = await waitEnd(worker, jobId);
    expect(end.event, JSON.stringify(end.data)).toBe('job.done');
    worker.close();
    expect(server.output()).not.toMatch(/Unhandled|WS_ERR_.*\n\s+at /);
  });
});

describe('malformed messages: bad-request, the connection kept', () => {
  it('invalid JSON text, deep nesting, prototype keys, unknown keys', async () => {
    const c = await connect();
    const bad: [unknown, boolean][] = [
      ['{"id": 1, "method": ', false],
      ['not json at all', false],
      ['[]', false],
      ['null', false],
      [{ id: 2, method: 'engine.ping', params: JSON.parse('{"__proto__": {"payload": "x"}}') }, false],
      ['{"id": 3, "method": "engine.ping", "params": {"constructor": 1}}', false],
      ['{"id": 4, "method": "engine.ping", "params": {"toString": "x"}}', false],
      ['{"id": 5, "method": "engine.info", "params": {"hasOwnProperty": 1}}', false],
      ['{"id": 6, "method": "engine.ping", "params": {}, "__proto__": 1}', false],
    ];
    for (const [msg, binary] of bad) {
      const r = await c.call(msg, binary);
      expect(r, JSON.stringify(msg).slice(0, 80)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    }
    // a binary frame whose header is nested 10⁴ deep, and one whose header carries prototype keys
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const header = new TextEncoder().encode(`{"id": 7, "method": "engine.ping", "params": {"payload": ${deep}}}`);
    const f = new Uint8Array(4 + header.length);
    new DataView(f.buffer).setUint32(0, header.length, true);
    f.set(header, 4);
    const r1 = await c.call(f);
    expect(r1).toMatchObject({ id: -1, ok: false, error: { code: 'bad-request', message: expect.stringMatching(/nested more than 64/) } });
    const proto = new TextEncoder().encode('{"id": 8, "method": "engine.ping", "params": {"__proto__": {"payload": "x"}}}');
    const g = new Uint8Array(4 + proto.length);
    new DataView(g.buffer).setUint32(0, proto.length, true);
    g.set(proto, 4);
    const r2 = await c.call(g);
    expect(r2).toMatchObject({ id: 8, ok: false, error: { code: 'bad-request', message: expect.stringMatching(/unexpected field '__proto__'/) } });
    // still the same connection, still answering
    expect(await c.request('engine.ping', { payload: 'ok' })).toMatchObject({ ok: true, result: { pong: 'ok' } });
    c.close();
  });
});

describe('requests in flight', () => {
  it(`at most ${LIMITS.inFlightPerConnection} per connection: the rest are answered bad-request at once, naming the limit; the connection stays`, async () => {
    const c = await connect();
    const answers: Record<string, unknown>[] = [];
    c.ws.on('message', (data: Buffer) => {
      const m = decodeFrame(new Uint8Array(data)) as Record<string, unknown>;
      if (!('event' in m)) answers.push(m);
    });
    // a request that keeps the engine busy about a second (a 205×205 PSF on 1024×1024), then pings behind it
    const first = nextId;
    c.ws.send(encodeFrame({ id: nextId++, method: 'model.validate', params: { model: { shape: [1024, 1024], operators: [{ type: 'psf', fwhmPx: 60 }] }, files: [] } }));
    const total = LIMITS.inFlightPerConnection + 8;
    for (let k = 1; k < total; k++) c.ws.send(encodeFrame({ id: nextId++, method: 'engine.ping', params: { payload: `p${k}` } }));
    await expect.poll(() => answers.length, { timeout: 30_000 }).toBe(total);
    const refused = answers.filter((a) => a.ok === false);
    expect(refused).toHaveLength(8);
    for (const r of refused) {
      expect(r).toMatchObject({ ok: false, error: { code: 'bad-request', message: `too many requests at once: at most ${LIMITS.inFlightPerConnection} per connection wait for their answer` } });
      // the refused ones are the last sent, answered before the first accepted one
      expect(r.id as number).toBeGreaterThanOrEqual(first + LIMITS.inFlightPerConnection);
      expect(answers.indexOf(r)).toBeLessThan(answers.findIndex((a) => a.id === first));
    }
    expect(answers.filter((a) => a.ok === true)).toHaveLength(LIMITS.inFlightPerConnection);
    // once answered, the connection takes requests again
    answers.length = 0;
    c.ws.send(encodeFrame({ id: nextId++, method: 'engine.ping', params: { payload: 'again' } }));
    await expect.poll(() => answers.length, { timeout: 10_000 }).toBe(1);
    expect(answers[0]).toMatchObject({ ok: true, result: { pong: 'again' } });
    c.close();
  }, 60_000);
});

describe('origin and host', () => {
  const status = async (headers: Record<string, string>, token = server.token) => {
    const raw = await rawUpgrade(server.port, { token, headers });
    raw.end();
    return raw.status;
  };

  it('refuses another origin, a null origin and another host even with the right token', async () => {
    expect(await status({ Origin: 'http://evil.example' })).toBe(403);
    expect(await status({ Origin: 'null' })).toBe(403);
    expect(await status({ Origin: `http://localhost:${server.port + 1}` })).toBe(403);
    expect(await status({ Host: 'evil.example' })).toBe(403);
    expect(await status({ Host: `evil.example:${server.port}`, Origin: `http://evil.example:${server.port}` })).toBe(403);
    expect(await status({ Host: '' })).toBe(403);
    // the page's own origin, and a client that is not a browser (no Origin): the token decides
    expect(await status({ Origin: `http://127.0.0.1:${server.port}` })).toBe(101);
    expect(await status({ Host: `localhost:${server.port}`, Origin: `http://localhost:${server.port}` })).toBe(101);
    expect(await status({})).toBe(101);
    expect(await status({}, 'wrong')).toBe(401);
    // the static shell: served without the token, to this server's names only
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(200);
    expect(await alive()).toBe(true);
  });
});

describe('priors named by a client', () => {
  it('only from the registry: a path is refused at once, with no file content, no path and no hint of existence', async () => {
    const c = await connect();
    const other = await connect();
    for (const prior of ['gaussian-field:/etc/passwd', 'gaussian-field:/dev/zero', '/etc', 'gaussian-field:/no/such/file.fits', `user/../../${path.basename(dir)}`]) {
      const t0 = Date.now();
      const r = await c.request('job.reconstruct', { ...job(10), prior });
      expect(Date.now() - t0, prior).toBeLessThan(5000);
      expect(r, prior).toMatchObject({ ok: false, error: { code: 'input' } });
      const message = (r.error as { message: string }).message;
      expect(message).not.toMatch(/root:|passwd|dev\/zero|no\/such|\/etc/);
      expect(message).toContain(priorSpec);
    }
    // nothing was broadcast to anyone
    expect([...c.events, ...other.events].filter((e) => e.event === 'job.error')).toEqual([]);
    c.close();
    other.close();
  });

  it('or a power spectrum the client sends with the request (read from memory; a name not sent is refused, never looked up on disk)', async () => {
    const c = await connect();
    const pk = powerSpectrumFits(N, 2, 2, 2);
    const r = await c.request('job.reconstruct', { ...job(10), prior: 'gaussian-field:pk.fits', files: [{ name: 'pk.fits', bytes: pk }] });
    expect(r, JSON.stringify(r).slice(0, 300)).toMatchObject({ ok: true });
    const jobId = (r.result as { jobId: string }).jobId;
    expect((await waitEnd(c, jobId)).event).toBe('job.done');
    const products = await c.request('job.products', { jobId });
    const report = JSON.parse(new TextDecoder().decode((products.result as { files: { name: string; bytes: Uint8Array }[] }).files.at(-1)!.bytes));
    expect(report.prior.spec).toBe('gaussian-field:pk.fits');
    // the server's working directory holds package.json; a name that was not sent is not looked for there
    for (const prior of ['gaussian-field:package.json', 'gaussian-field:pk.fits']) {
      const bad = await c.request('job.reconstruct', { ...job(10), prior });
      expect(bad, prior).toMatchObject({ ok: false, error: { code: 'input', message: expect.stringMatching(/nor gaussian-field:NAME of a power spectrum sent with the request/) } });
    }
    c.close();
  });
});

describe('many clients, and clients that go away', () => {
  it('ten clients starting jobs at once are all accepted, queued and served first come, first served; each hears only of its own job', async () => {
    // a long job runs first, so that all ten wait behind it (their places do not depend on how fast jobs end)
    const first = await connect();
    const long = await first.request('job.reconstruct', job(100_000));
    await expect.poll(() => first.events.some((e) => e.event === 'job.progress'), { timeout: 20_000 }).toBe(true);
    const clients = await Promise.all(Array.from({ length: 10 }, () => connect()));
    const started = await Promise.all(clients.map((c) => c.request('job.reconstruct', job(40))));
    for (const r of started) expect(r, JSON.stringify(r).slice(0, 200)).toMatchObject({ ok: true });
    const ids = started.map((r) => (r.result as { jobId: string }).jobId);
    const places = started.map((r) => (r.result as { queued: number }).queued);
    expect([...places].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await first.request('job.cancel', { jobId: (long.result as { jobId: string }).jobId })).toMatchObject({ ok: true, result: { cancelled: true } });
    const ends = await Promise.all(clients.map((c, i) => waitEnd(c, ids[i]!)));
    for (const e of ends) expect(e.event, JSON.stringify(e.data)).toBe('job.done');
    // they ended in the order of their places
    const seq = (e: EngineEvent) => (e as EngineEvent & { seq: number }).seq;
    const byPlace = ends.map((e, i) => ({ place: places[i]!, seq: seq(e) })).sort((a, b) => a.place - b.place);
    expect(byPlace.map((x) => x.seq)).toEqual([...byPlace.map((x) => x.seq)].sort((a, b) => a - b));
    clients.forEach((c, i) => {
      const jobEvents = c.events.filter((e) => e.event.startsWith('job.'));
      expect(jobEvents.every((e) => (e.data as { jobId: string }).jobId === ids[i])).toBe(true);
      // the places it was told go down to 0 (it starts)
      const told = jobEvents.filter((e) => e.event === 'job.queued').map((e) => (e.data as { position: number }).position);
      expect(told.at(-1)).toBe(0);
      expect(told).toEqual([...told].sort((a, b) => b - a));
      if (places[i]! > 1) expect(told.length).toBeGreaterThan(1);
    });
    for (const c of [first, ...clients]) c.close();
  });

  it('a client that goes away mid-run has its job cancelled, and the next job in the queue starts', async () => {
    const a = await connect();
    const b = await connect();
    const ra = await a.request('job.reconstruct', job(100_000));
    expect(ra.ok).toBe(true);
    await expect.poll(() => a.events.some((e) => e.event === 'job.progress'), { timeout: 20_000 }).toBe(true);
    const rb = await b.request('job.reconstruct', job(20));
    expect(rb).toMatchObject({ ok: true, result: { queued: 1 } });
    const t0 = Date.now();
    a.ws.terminate();
    const end = await waitEnd(b, (rb.result as { jobId: string }).jobId, 20_000);
    expect(end.event).toBe('job.done');
    // it started once the other job was stopped: far sooner than that job's 100 000 steps
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(b.events.some((e) => e.event === 'job.queued' && (e.data as { position: number }).position === 0)).toBe(true);
    b.close();
  });
});

describe('per-client limits', () => {
  it('a client may have 4 jobs queued or running; the fifth is refused, naming the limit', async () => {
    const c = await connect();
    const answers = await Promise.all(Array.from({ length: 6 }, () => c.request('job.reconstruct', job(100_000))));
    const ok = answers.filter((a) => a.ok);
    expect(ok).toHaveLength(4);
    for (const a of answers.filter((x) => !x.ok)) expect(a).toMatchObject({ error: { code: 'input', message: expect.stringMatching(/the most it may have at once/) } });
    for (const a of ok) expect(await c.request('job.cancel', { jobId: (a.result as { jobId: string }).jobId })).toMatchObject({ ok: true });
    c.close();
  });

  it('at most 32 connections at once: the next is refused with 503, and accepted once one closes', async () => {
    // (the connections of the tests before close asynchronously: try until 32 open together)
    let open: Client[] = [];
    await expect
      .poll(async () => {
        for (const c of open) c.ws.terminate();
        const tries = await Promise.allSettled(Array.from({ length: 32 }, () => connect()));
        open = tries.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
        return open.length;
      })
      .toBe(32);
    const raw = await rawUpgrade(server.port, { token: server.token });
    expect(raw.status).toBe(503);
    raw.end();
    open[0]!.close();
    await expect.poll(async () => {
      const r = await rawUpgrade(server.port, { token: server.token });
      r.end();
      return r.status;
    }).toBe(101);
    for (const c of open) c.close();
  });
});
