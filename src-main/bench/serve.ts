/**
 * `skyscore serve` under load: a soak of 10 clients at once on 127.0.0.1, each sending 100 mixed requests — pings,
 * prior lists, forward models within and over the limits, malformed and hostile messages (bad JSON, prototype
 * keys, priors named by path), small reconstructions (queued, some cancelled, some abandoned by a client that
 * disconnects mid-run) and malformed WebSocket frames on connections of their own (a stop is two messages:
 * about 1,150 per round). Two rounds; figures: the answers by code and the jobs' ends (both rounds), and the
 * memory of this process (server and clients) and of the engine process after a warm-up and after each round
 * (RSS, MiB). Not pass/fail: the tests (tests/integration/serve-hostile.test.ts) check the behaviour.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { Bench } from './types.js';
import { startServer } from '../serve/server.js';
import { decodeFrame, encodeFrame } from '../../src-shared/protocol/codec.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import type { EngineEvent, EngineInfo } from '../../src-shared/protocol/index.js';

const CLIENTS = 10;
const PER_CLIENT = 100;
const N = 16;

const rssMiB = (pid: number): number => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return NaN;
  }
};

/** A seeded choice of request kinds (the same soak on every run). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Conn {
  ws: WebSocket;
  events: EngineEvent[];
  next(): Promise<Record<string, unknown>>;
}

function open(port: number, token: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api?token=${token}`);
    const events: EngineEvent[] = [];
    const waiting: ((m: Record<string, unknown>) => void)[] = [];
    ws.on('message', (d: Buffer) => {
      const m = decodeFrame(new Uint8Array(d)) as Record<string, unknown>;
      if ('event' in m) events.push(m as unknown as EngineEvent);
      else waiting.shift()?.(m);
    });
    ws.on('error', () => {});
    ws.once('open', () =>
      resolve({
        ws,
        events,
        next: () =>
          new Promise((res) => {
            const t = setTimeout(() => res({ ok: false, error: { code: 'timeout' } }), 150_000);
            waiting.push((m) => {
              clearTimeout(t);
              res(m);
            });
          }),
      }),
    );
    ws.once('error', reject);
  });
}

/** One malformed frame on a connection of its own (an unmasked frame, a reserved opcode, bad UTF-8 in turn). */
function badFrame(port: number, token: string, k: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = () => {
      s.destroy();
      resolve();
    };
    const t = setTimeout(done, 5000);
    s.on('error', done);
    s.on('close', () => {
      clearTimeout(t);
      resolve();
    });
    let upgraded = false;
    s.on('data', () => {
      if (upgraded) return;
      upgraded = true;
      const kind = k % 3;
      const mask = randomBytes(4);
      if (kind === 0) s.write(Buffer.from([0x82, 0x02, 1, 2]));
      else if (kind === 1) s.write(Buffer.concat([Buffer.from([0x83, 0x82]), mask, Buffer.from([1 ^ mask[0]!, 2 ^ mask[1]!])]));
      else s.write(Buffer.concat([Buffer.from([0x81, 0x82]), mask, Buffer.from([0xff ^ mask[0]!, 0xfe ^ mask[1]!])]));
    });
    s.write(
      `GET /api?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

async function soak(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-soak-'));
  mkdirSync(path.join(dir, 'renderer'));
  writeFileSync(path.join(dir, 'renderer', 'index.html'), '<!doctype html><div id="root"></div>');
  mkdirSync(path.join(dir, 'user', 'models', 'field-16'), { recursive: true });
  writeFileSync(path.join(dir, 'user', 'models', 'field-16', 'power-spectrum.fits'), writeFits([{ data: Float32Array.from(powerLawSpectrum(N, N, 1, 2, 2)), shape: [N, N] }]));
  const saved = { user: process.env.SKYSCORE_USER_DIR, models: process.env.SKYSCORE_MODELS_DIR };
  process.env.SKYSCORE_USER_DIR = path.join(dir, 'user');
  process.env.SKYSCORE_MODELS_DIR = path.join(dir, 'no-shipped-models');
  let logLines = 0;
  const server = await startServer({ host: '127.0.0.1', port: 0, rendererDir: path.join(dir, 'renderer'), backend: 'wasm', log: () => void logLines++ });
  const codes: Record<string, number> = {};
  const jobs = { done: 0, cancelled: 0, other: 0, abandoned: 0 };
  let frames = 0;
  try {
    const obs = writeFits([{ data: new Float32Array(N * N).map((_, i) => Math.sin(i / 7)), shape: [N, N] }]);
    const job = (steps: number, prior = 'user/field-16') => ({
      obs: { name: 'y.fits', bytes: obs, hdu: 0, plane: 0 },
      model: { shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }] },
      files: [],
      noise: { kind: 'sigma', sigma: 0.5 },
      prior,
      settings: { sampler: 'pc', n: 2, steps, seed: 1, fluxScale: null, workers: 1 },
      previewHz: 2,
    });
    // warm-up: the engine started, its backend up, one job run; then the memory before
    const warm = await open(server.port, server.token);
    warm.ws.send(encodeFrame({ id: 1, method: 'engine.info', params: {} }));
    const info = (await warm.next()).result as EngineInfo;
    for (let k = 0; k < 3; k++) {
      warm.ws.send(encodeFrame({ id: 2, method: 'job.reconstruct', params: job(10) }));
      const id = ((await warm.next()).result as { jobId: string }).jobId;
      while (!warm.events.some((e) => (e.event === 'job.done' || e.event === 'job.error') && e.data.jobId === id)) await new Promise((r) => setTimeout(r, 20));
    }
    warm.ws.close();
    const before = { host: rssMiB(process.pid), engine: rssMiB(info.pid) };

    let id = 10;
    const client = async (c: number) => {
      const rnd = lcg(c + 1);
      let conn = await open(server.port, server.token);
      for (let k = 0; k < PER_CLIENT; k++) {
        const r = rnd();
        let text: string | null = null;
        let msg: unknown = null;
        let waitJob = false;
        if (k === 50) {
          // leaves mid-run: its job is cancelled by the server
          conn.ws.send(encodeFrame({ id: id++, method: 'job.reconstruct', params: job(100_000) }));
          await conn.next();
          conn.ws.terminate();
          jobs.abandoned++;
          codes.ok = (codes.ok ?? 0) + 1;
          conn = await open(server.port, server.token);
          continue;
        }
        if (r < 0.2) msg = { id: id++, method: 'engine.ping', params: { payload: `c${c}k${k}` } };
        else if (r < 0.3) msg = { id: id++, method: 'priors.list', params: {} };
        else if (r < 0.4) msg = { id: id++, method: 'model.validate', params: { model: { shape: [64, 64], operators: [{ type: 'psf', fwhmPx: 3 }] }, files: [] } };
        else if (r < 0.45) msg = { id: id++, method: 'model.validate', params: { model: { shape: [1024, 1024], operators: [{ type: 'psf', fwhmPx: 1000 }] }, files: [] } };
        else if (r < 0.5) text = '{"id": 1, "method": ';
        else if (r < 0.55) text = `{"id": ${id++}, "method": "engine.ping", "params": {"__proto__": {"payload": "x"}}}`;
        else if (r < 0.6) msg = { id: id++, method: 'job.reconstruct', params: job(10, r < 0.575 ? 'gaussian-field:/etc/passwd' : '/dev/zero') };
        else if (r < 0.65) msg = { id: id++, method: 'nope.nope', params: {} };
        else if (r < 0.7) {
          await badFrame(server.port, server.token, k);
          frames++;
          continue;
        } else if (r < 0.85) {
          msg = { id: id++, method: 'job.reconstruct', params: job(10 + Math.floor(rnd() * 20)) };
          waitJob = true;
        } else {
          // started, then stopped (queued or running)
          conn.ws.send(encodeFrame({ id: id++, method: 'job.reconstruct', params: job(100_000) }));
          const a = await conn.next();
          const jobId = (a.result as { jobId?: string } | undefined)?.jobId;
          codes[a.ok ? 'ok' : String((a.error as { code: string }).code)] = (codes[a.ok ? 'ok' : String((a.error as { code: string }).code)] ?? 0) + 1;
          if (jobId) {
            msg = { id: id++, method: 'job.cancel', params: { jobId } };
            waitJob = true;
          } else continue;
        }
        conn.ws.send(text ?? encodeFrame(msg));
        const a = await conn.next();
        const code = a.ok ? 'ok' : String((a.error as { code: string }).code);
        codes[code] = (codes[code] ?? 0) + 1;
        const jobId = waitJob ? ((a.result as { jobId?: string } | undefined)?.jobId ?? (msg as { params: { jobId?: string } }).params.jobId) : undefined;
        if (jobId) {
          const t = Date.now();
          let end: EngineEvent | undefined;
          while (!(end = conn.events.find((e) => (e.event === 'job.done' || e.event === 'job.error') && e.data.jobId === jobId)) && Date.now() - t < 120_000) await new Promise((res) => setTimeout(res, 10));
          if (end?.event === 'job.done') jobs.done++;
          else if (end?.event === 'job.error' && end.data.code === 'cancelled') jobs.cancelled++;
          else jobs.other++;
        }
      }
      conn.ws.close();
    };
    // two rounds of the same soak: the memory after the second says whether it keeps growing
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const round1 = { host: rssMiB(process.pid), engine: rssMiB(info.pid) };
    const counted = { ...codes };
    const framesRound1 = frames;
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    await new Promise((r) => setTimeout(r, 1000));
    // still up: a fresh connection is answered
    const last = await open(server.port, server.token);
    last.ws.send(encodeFrame({ id: 1, method: 'engine.info', params: {} }));
    const after = (await last.next()).result as EngineInfo;
    last.ws.close();
    const requests = Object.values(counted).reduce((a, b) => a + b, 0) + framesRound1;
    return {
      requestsPerRound: requests,
      clients: CLIENTS,
      secondsPerRound: +seconds.toFixed(1),
      answeredOk: codes.ok ?? 0,
      badRequest: codes['bad-request'] ?? 0,
      input: codes.input ?? 0,
      otherCodes: Object.entries(codes)
        .filter(([k]) => !['ok', 'bad-request', 'input'].includes(k))
        .map(([k, v]) => `${k}:${v}`)
        .join(' ') || 'none',
      malformedFrames: frames,
      jobsDone: jobs.done,
      jobsCancelled: jobs.cancelled,
      jobsOther: jobs.other,
      jobsAbandoned: jobs.abandoned,
      engineRestarts: server.engine.restarts,
      enginePidSame: after.pid === info.pid ? 'yes' : 'no',
      hostRssBeforeMiB: +before.host.toFixed(0),
      hostRssRound1MiB: +round1.host.toFixed(0),
      hostRssRound2MiB: +rssMiB(process.pid).toFixed(0),
      engineRssBeforeMiB: +before.engine.toFixed(0),
      engineRssRound1MiB: +round1.engine.toFixed(0),
      engineRssRound2MiB: +rssMiB(after.pid).toFixed(0),
      serverLogLines: logLines,
    };
  } finally {
    await server.close();
    if (saved.user === undefined) delete process.env.SKYSCORE_USER_DIR;
    else process.env.SKYSCORE_USER_DIR = saved.user;
    if (saved.models === undefined) delete process.env.SKYSCORE_MODELS_DIR;
    else process.env.SKYSCORE_MODELS_DIR = saved.models;
    rmSync(dir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [{ name: 'serve: soak, 10 clients × 100 mixed requests, twice', run: soak }];
