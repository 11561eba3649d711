/**
 * `skyscore serve`: the renderer over http and the typed API over WebSocket, bound to 127.0.0.1 unless told
 * otherwise, guarded by a random token that every WebSocket connection must present.
 */
import http from 'node:http';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeFrame, encodeFrame } from '../../src-shared/protocol/codec.js';
import { validateRequest, ProtocolError, type EngineEvent, type Response } from '../../src-shared/protocol/index.js';
import { EngineClient, workerThreadSpawner } from '../engine/client.js';
import { UserInputError } from '../../src-shared/errors.js';

export interface ServeOptions {
  host: string;
  port: number;
  rendererDir: string;
  backend?: string;
  token?: string;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  engine: EngineClient;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.fits': 'application/fits',
};

const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

function tokenMatches(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const root = path.resolve(opts.rendererDir);
  try {
    await fs.access(path.join(root, 'index.html'));
  } catch {
    throw new UserInputError(`serve: the renderer is not built (${path.join(root, 'index.html')} is missing); run npm run build`);
  }

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let rel = decodeURIComponent(url.pathname);
      if (rel === '/' || rel === '') rel = '/index.html';
      const file = path.resolve(root, '.' + rel);
      if (!file.startsWith(root + path.sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      const body = await fs.readFile(file).catch(() => null);
      if (!body) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      res.end(body);
    } catch {
      res.writeHead(500).end('error');
    }
  });

  const engine = new EngineClient(workerThreadSpawner({ backend: opts.backend }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const sockets = new Set<WebSocket>();

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api' || !tokenMatches(url.searchParams.get('token'), token)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });

  const send = (ws: WebSocket, msg: Response | EngineEvent) => {
    if (ws.readyState === ws.OPEN) ws.send(encodeFrame(msg));
  };

  wss.on('connection', (ws) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', async (data, isBinary) => {
      let id = -1;
      try {
        const raw = isBinary ? decodeFrame(new Uint8Array(data as Buffer)) : JSON.parse(String(data));
        if (raw && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'number') id = (raw as { id: number }).id;
        const req = validateRequest(raw);
        const result = await engine.forward(req.method, req.params);
        send(ws, { id: req.id, ok: true, result });
      } catch (e) {
        const err = e as Error & { code?: string };
        const code = e instanceof ProtocolError ? 'bad-request' : err.name === 'EngineDiedError' ? 'engine-died' : ((err.code as Response extends { error: { code: infer C } } ? C : never) ?? 'internal');
        send(ws, { id, ok: false, error: { code: code as 'internal', message: err.message } });
      }
    });
  });

  engine.on('event', (ev: EngineEvent) => {
    for (const ws of sockets) send(ws, ev);
  });
  engine.start();

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      void engine.stop();
      if (e.code === 'EADDRINUSE') reject(new UserInputError(`serve: port ${opts.port} on ${opts.host} is already in use (choose another with --port, or --port 0 for a free one)`));
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') reject(new UserInputError(`serve: cannot bind to host ${opts.host} (${e.code})`));
      else if (e.code === 'EACCES') reject(new UserInputError(`serve: not allowed to bind port ${opts.port} (${e.code})`));
      else reject(e);
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${hostForUrl}:${port}/?token=${token}`,
    token,
    port,
    engine,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      await engine.stop();
    },
  };
}
