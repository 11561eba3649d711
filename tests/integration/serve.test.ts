import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { ROOT } from '../helpers/data.js';
import { runCliAsync, startServe } from '../helpers/cli.js';
import { encodeFrame, decodeFrame } from '../../src-shared/protocol/codec.js';
import type { EngineInfo } from '../../src-shared/protocol/index.js';

let server: Awaited<ReturnType<typeof startServe>>;

function connect(query: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function call(ws: WebSocket, msg: unknown, binary = true): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onMsg = (data: Buffer) => {
      const m = decodeFrame(new Uint8Array(data)) as Record<string, unknown>;
      if ('event' in m) return;
      ws.off('message', onMsg);
      resolve(m);
    };
    ws.on('message', onMsg);
    ws.send(binary ? encodeFrame(msg) : JSON.stringify(msg));
  });
}

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  }
  server = await startServe();
});
afterAll(async () => {
  await server?.stop();
});

describe('skyscore serve', () => {
  it('prints one line with the URL and token, bound to 127.0.0.1', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/);
    expect(server.output().split('\n').filter((l) => l.startsWith('SkyScore at '))).toHaveLength(1);
  });

  it('serves the renderer', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<div id="root">/);
    const traversal = await fetch(`http://127.0.0.1:${server.port}/..%2F..%2Fpackage.json`);
    expect([403, 404]).toContain(traversal.status);
  });

  it('refuses a missing or wrong token', async () => {
    await expect(connect('')).rejects.toThrow(/401/);
    await expect(connect('?token=wrong')).rejects.toThrow(/401/);
    await expect(connect(`?token=${server.token.slice(0, -1)}x`)).rejects.toThrow(/401/);
  });

  it('answers the backend query over WebSocket', async () => {
    const ws = await connect(`?token=${server.token}`);
    const res = await call(ws, { id: 1, method: 'engine.info', params: {} });
    ws.close();
    expect(res.ok).toBe(true);
    const info = res.result as EngineInfo;
    expect(['tensorflow', 'webgpu', 'wasm', 'cpu']).toContain(info.backend.backend);
    expect(info.backend.tfjsVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof info.backend.gpuAdapter.found).toBe('boolean');
    expect(info.backends.map((b) => b.name)).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    expect(info.process).toBe('child_process');
    // the score engine, probed without a prior: ONNX Runtime's provider, threads and device here
    expect(info.scoreEngine).toMatchObject({ engine: 'onnx', provider: 'cpu', onnxruntime: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(info.scoreEngine.threads).toBeGreaterThanOrEqual(1);
  });

  it('refuses malformed messages with bad-request and stays up', async () => {
    const ws = await connect(`?token=${server.token}`);
    const r1 = await call(ws, { id: 7, method: 'nope', params: {} });
    expect(r1).toMatchObject({ id: 7, ok: false, error: { code: 'bad-request' } });
    const r2 = await call(ws, { id: 8, method: 'engine.ping', params: { payload: 3 } });
    expect(r2).toMatchObject({ id: 8, ok: false, error: { code: 'bad-request' } });
    const r3 = await call(ws, { id: 9, method: 'engine.ping', params: { payload: 'hi' } }, false);
    expect(r3).toMatchObject({ id: 9, ok: true, result: { pong: 'hi' } });
    ws.close();
  });

  it('a port in use is a clear error, not a stack trace', async () => {
    const r = await runCliAsync(['serve', '--port', String(server.port)], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^skyscore: serve: port \d+ on 127\.0\.0\.1 is already in use/)]);
  });
});
