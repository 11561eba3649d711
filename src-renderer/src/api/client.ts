/**
 * The renderer's one typed client. It talks to whichever host serves the app: the Electron preload
 * (window.skyscore) or `skyscore serve` over WebSocket (token from the page URL). The renderer never imports
 * Node or tfjs.
 */
import { encodeFrame, decodeFrame } from '../../../src-shared/protocol/codec';
import type { EngineEvent, MethodName, ParamsOf, ResultOf } from '../../../src-shared/protocol/index';
import { isEngineEvent, validateResponse } from '../../../src-shared/protocol/index';

export interface PreloadBridge {
  kind: 'electron';
  request(msg: { id: number; method: string; params: unknown }): Promise<unknown>;
  onEvent(cb: (payload: unknown) => void): () => void;
  onMenu(cb: (payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    skyscore?: PreloadBridge;
  }
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Client {
  readonly transport: 'electron' | 'websocket';
  request<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>>;
  onEvent(cb: (ev: EngineEvent) => void): () => void;
  onMenu(cb: (payload: unknown) => void): () => void;
  onConnection(cb: (connected: boolean) => void): () => void;
}

class Emitter<T> {
  private ls = new Set<(v: T) => void>();
  on(cb: (v: T) => void) {
    this.ls.add(cb);
    return () => void this.ls.delete(cb);
  }
  emit(v: T) {
    for (const l of this.ls) l(v);
  }
}

function electronClient(bridge: PreloadBridge): Client {
  let nextId = 1;
  const events = new Emitter<EngineEvent>();
  bridge.onEvent((p) => isEngineEvent(p) && events.emit(p));
  return {
    transport: 'electron',
    async request(method, params) {
      const res = validateResponse(await bridge.request({ id: nextId++, method, params }));
      if (!res.ok) throw new ApiError(res.error.message, res.error.code);
      return res.result as never;
    },
    onEvent: (cb) => events.on(cb),
    onMenu: (cb) => bridge.onMenu(cb),
    onConnection: (cb) => {
      cb(true);
      return () => {};
    },
  };
}

function websocketClient(token: string): Client {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const events = new Emitter<EngineEvent>();
  const conn = new Emitter<boolean>();
  let connected = false;
  let ws: WebSocket | null = null;
  let opening: Promise<WebSocket> | null = null;

  const open = (): Promise<WebSocket> => {
    if (ws && ws.readyState === WebSocket.OPEN) return Promise.resolve(ws);
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const sock = new WebSocket(`${proto}//${location.host}/api?token=${encodeURIComponent(token)}`);
      sock.binaryType = 'arraybuffer';
      sock.onopen = () => {
        ws = sock;
        opening = null;
        connected = true;
        conn.emit(true);
        resolve(sock);
      };
      sock.onerror = () => {
        opening = null;
        reject(new ApiError('cannot reach the SkyScore server (is `skyscore serve` running, and is the token right?)', 'engine-died'));
      };
      sock.onclose = () => {
        ws = null;
        if (connected) conn.emit(false);
        connected = false;
        for (const [, p] of pending) p.reject(new ApiError('connection to the server closed', 'engine-died'));
        pending.clear();
      };
      sock.onmessage = (m) => {
        const msg = decodeFrame(new Uint8Array(m.data as ArrayBuffer));
        if (isEngineEvent(msg)) return events.emit(msg);
        const res = validateResponse(msg);
        const p = pending.get(res.id);
        if (!p) return;
        pending.delete(res.id);
        if (res.ok) p.resolve(res.result);
        else p.reject(new ApiError(res.error.message, res.error.code));
      };
    });
    return opening;
  };

  return {
    transport: 'websocket',
    async request(method, params) {
      const sock = await open();
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        sock.send(encodeFrame({ id, method, params }));
      });
    },
    onEvent: (cb) => {
      void open().catch(() => {});
      return events.on(cb);
    },
    onMenu: () => () => {},
    onConnection: (cb) => {
      cb(connected);
      return conn.on(cb);
    },
  };
}

let client: Client | null = null;

export function getClient(): Client {
  if (client) return client;
  if (window.skyscore?.kind === 'electron') client = electronClient(window.skyscore);
  else {
    const token = new URLSearchParams(location.search).get('token') ?? '';
    client = websocketClient(token);
  }
  return client;
}
