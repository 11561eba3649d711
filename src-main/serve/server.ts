/**
 * `skyscore serve`: the renderer over http and the typed API over WebSocket, bound to 127.0.0.1 unless told
 * otherwise. Every WebSocket connection presents the token of the printed URL, comes from this server's own
 * origin (or one allowed with --allow-origin: origin.ts) and stays within the limits of
 * src-shared/protocol/limits.ts. The static shell (index.html, scripts, styles: nothing about the user's data)
 * is served without the token, to the same Host check.
 *
 * What a client can do wrong ends at its own connection: a malformed frame closes that connection (the ws
 * library's close code: 1002 protocol error, 1007 invalid UTF-8, 1009 too big), a malformed message is answered
 * with 'bad-request', and the jobs a client started are cancelled when it goes away. docs/serve.md.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeFrame, encodeFrame } from '../../src-shared/protocol/codec.js';
import { validateRequest, ProtocolError, type EngineEvent, type ErrorCode, type Response } from '../../src-shared/protocol/index.js';
import { LIMITS } from '../../src-shared/protocol/limits.js';
import { EngineClient, childProcessSpawner } from '../engine/client.js';
import { UserInputError } from '../../src-shared/errors.js';
import { checkOrigin, type OriginPolicy } from './origin.js';

export interface ServeOptions {
  host: string;
  port: number;
  rendererDir: string;
  backend?: string;
  token?: string;
  /** Origins allowed besides the server's own (normalised: origin.ts normaliseOrigin). */
  allowOrigins?: string[];
  /** Where the server's one-line notes go (refused upgrades, closed connections); default stderr. */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  engine: EngineClient;
  /** WebSocket connections open now. */
  connections(): number;
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

function tokenMatches(given: string | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Ends an upgrade that is refused with a bare HTTP status (the socket never becomes a WebSocket). */
function refuse(socket: Duplex, status: number, text: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** The id of a request that failed validation, when it has a usable one (so that the client can match the error). */
function idOf(raw: unknown): number {
  const id = raw && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 2 ** 31 ? id : -1;
}

/** A message as the client sent it: a binary frame (codec.ts) or a JSON text frame; anything else is a ProtocolError. */
function parseMessage(data: Buffer, isBinary: boolean): unknown {
  if (isBinary) return decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (data.byteLength > LIMITS.frameHeaderBytes) throw new ProtocolError(`a text message is at most ${LIMITS.frameHeaderBytes} bytes (send large data in a binary frame)`);
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw new ProtocolError('a text message must be one JSON request');
  }
}

function codeOf(e: unknown): ErrorCode {
  if (e instanceof ProtocolError) return 'bad-request';
  if (e instanceof UserInputError) return 'input';
  const err = e as { name?: string; code?: unknown };
  if (err?.name === 'EngineDiedError') return 'engine-died';
  const c = err?.code;
  return c === 'bad-request' || c === 'input' || c === 'cancelled' || c === 'engine-died' ? c : 'internal';
}

interface Connection {
  ws: WebSocket;
  inFlight: number;
  /** Whether the last heartbeat ping was answered. */
  alive: boolean;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const root = path.resolve(opts.rendererDir);
  const log = opts.log ?? ((line: string) => void process.stderr.write(`serve: ${line}\n`));
  const policy: OriginPolicy = { bindHost: opts.host, allowOrigins: opts.allowOrigins ?? [] };
  try {
    await fs.access(path.join(root, 'index.html'));
  } catch {
    throw new UserInputError(`serve: the renderer is not built (${path.join(root, 'index.html')} is missing); run npm run build`);
  }

  const server = http.createServer(async (req, res) => {
    try {
      if (checkOrigin({ host: req.headers.host }, policy) !== null) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: this server is not reached by that name');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      let rel = decodeURIComponent(url.pathname);
      if (rel === '/' || rel === '') rel = '/index.html';
      const file = path.resolve(root, '.' + rel);
      if (!file.startsWith(root + path.sep) || rel.includes('\0')) {
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
        'x-frame-options': 'DENY',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      if (!res.headersSent) res.writeHead(400).end('bad request');
      else res.destroy();
    }
  });
  // a malformed http request (or a client that resets) is that client's problem
  server.on('clientError', (_e, socket) => refuse(socket, 400, 'Bad Request'));

  // the engine in its own process: a restart (a job that would not stop, a request that would not end) kills
  // whatever it was doing and frees its memory
  const engine = new EngineClient(childProcessSpawner({ backend: opts.backend }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.messageBytes, perMessageDeflate: false, clientTracking: false });
  const conns = new Set<Connection>();
  wss.on('error', (e) => log(`websocket server error: ${e.message}`));

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuse(socket, 400, 'Bad Request');
    }
    if (url.pathname !== '/api' || !tokenMatches(url.searchParams.get('token'), token)) return refuse(socket, 401, 'Unauthorized');
    const why = checkOrigin({ host: req.headers.host, origin: req.headers.origin }, policy);
    if (why) {
      log(`refused a connection: ${why}`);
      return refuse(socket, 403, 'Forbidden');
    }
    if (conns.size >= LIMITS.connections) {
      log(`refused a connection: ${LIMITS.connections} are open`);
      return refuse(socket, 503, 'Service Unavailable');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });

  const send = (ws: WebSocket, msg: Response | EngineEvent) => {
    if (ws.readyState !== ws.OPEN) return;
    try {
      ws.send(encodeFrame(msg));
    } catch (e) {
      log(`could not send a message: ${(e as Error).message}`);
    }
  };

  wss.on('connection', (ws: WebSocket) => {
    const c: Connection = { ws, inFlight: 0, alive: true };
    conns.add(c);
    // a malformed frame (bad UTF-8, an unmasked frame, a reserved opcode or bit, a bad close code, a message over
    // the limit): ws closes this connection with the matching code; the error ends here
    ws.on('error', (e: Error & { code?: string }) => {
      log(`closed a connection: ${e.code ?? 'error'} ${e.message}`);
      // ws has sent its close frame; a faulty client is not waited for (ws would give it 30 s)
      setTimeout(() => ws.terminate(), 100).unref();
    });
    ws.on('pong', () => (c.alive = true));
    ws.on('close', () => {
      conns.delete(c);
      // its jobs end with it (nobody is left to receive their results)
      void engine.cancelOwner(c).catch(() => {});
    });
    ws.on('message', async (data: Buffer, isBinary: boolean) => {
      let id = -1;
      try {
        const raw = parseMessage(data, isBinary);
        id = idOf(raw);
        const req = validateRequest(raw);
        if (c.inFlight >= LIMITS.inFlightPerConnection) {
          throw new ProtocolError(`too many requests at once: at most ${LIMITS.inFlightPerConnection} per connection wait for their answer`);
        }
        c.inFlight++;
        try {
          const result = await engine.forward(req.method, req.params, { owner: c });
          send(ws, { id: req.id, ok: true, result });
        } finally {
          c.inFlight--;
        }
      } catch (e) {
        const code = codeOf(e);
        const message = e instanceof Error ? e.message : String(e);
        send(ws, { id, ok: false, error: { code, message: code === 'internal' && !(e as { code?: unknown }).code ? 'internal error (see the server log)' : message } });
        if (code === 'internal' && !(e as { code?: unknown }).code) log(`internal error: ${(e as Error)?.stack ?? message}`);
      }
    });
  });

  const heartbeat = setInterval(() => {
    for (const c of conns) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }, LIMITS.heartbeatSeconds * 1000);
  heartbeat.unref();

  engine.on('event', (ev: EngineEvent, owner?: unknown) => {
    // a job's events go to the connection that started it; the engine's status to everyone
    for (const c of conns) if (owner === undefined || owner === c) send(c.ws, ev);
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
      server.on('error', (e) => log(`http server error: ${e.message}`));
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
    connections: () => conns.size,
    close: async () => {
      clearInterval(heartbeat);
      for (const c of conns) c.ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await engine.stop();
    },
  };
}
