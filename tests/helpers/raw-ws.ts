/**
 * A WebSocket client written by hand on node:net, for tests that send what no well-behaved library would: the
 * HTTP upgrade with chosen headers, and frames built byte by byte (RFC 6455 §5.2) — bad opcodes, reserved bits,
 * unmasked client frames, lying lengths, bad UTF-8. Everything goes to 127.0.0.1, with timeouts.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawSocket {
  socket: net.Socket;
  /** The upgrade's HTTP status line and headers (lower-case names). */
  status: number;
  headers: Record<string, string>;
  /** Bytes received after the upgrade response. */
  received(): Buffer;
  /** Resolves when the server has closed the connection (or after `ms`, with false). */
  closed(ms?: number): Promise<boolean>;
  write(b: Buffer | Uint8Array): void;
  end(): void;
}

/** Opens a TCP connection and sends an upgrade request to /api with `headers`; resolves after the response head. */
export function rawUpgrade(port: number, opts: { token?: string; path?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let head: { status: number; headers: Record<string, string> } | null = null;
    let closed = false;
    const closeWaiters: (() => void)[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('upgrade: no response in time'));
    }, opts.timeoutMs ?? 10_000);
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      for (const w of closeWaiters) w();
      if (!head) {
        clearTimeout(timer);
        reject(new Error('upgrade: connection closed before a response'));
      }
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (head) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      head = { status, headers };
      buf = buf.subarray(end + 4);
      clearTimeout(timer);
      resolve({
        socket,
        status,
        headers,
        received: () => buf,
        closed: (ms = 5000) =>
          new Promise((r) => {
            if (closed) return r(true);
            const t = setTimeout(() => r(false), ms);
            closeWaiters.push(() => {
              clearTimeout(t);
              r(true);
            });
          }),
        write: (b) => socket.write(b),
        end: () => socket.destroy(),
      });
    });
    const h: Record<string, string> = {
      Host: `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Version': '13',
      ...opts.headers,
    };
    const target = opts.path ?? `/api?token=${encodeURIComponent(opts.token ?? '')}`;
    const lines = [`GET ${target} HTTP/1.1`, ...Object.entries(h).filter(([, v]) => v !== '').map(([k, v]) => `${k}: ${v}`)];
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}

/**
 * One WebSocket frame, byte by byte: FIN, RSV bits, opcode, the mask (a client's frames are masked unless
 * `mask: false`) and the payload length as given (`length` may lie about the payload that follows).
 */
export function frame(opcode: number, payload: Uint8Array, opts: { fin?: boolean; rsv?: number; mask?: boolean; length?: number } = {}): Buffer {
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  const len = opts.length ?? payload.length;
  const parts: Buffer[] = [];
  const b0 = (fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | (opcode & 0x0f);
  if (len < 126) parts.push(Buffer.from([b0, (mask ? 0x80 : 0) | len]));
  else if (len < 65536) {
    const b = Buffer.alloc(4);
    b[0] = b0;
    b[1] = (mask ? 0x80 : 0) | 126;
    b.writeUInt16BE(len, 2);
    parts.push(b);
  } else {
    const b = Buffer.alloc(10);
    b[0] = b0;
    b[1] = (mask ? 0x80 : 0) | 127;
    b.writeBigUInt64BE(BigInt(len), 2);
    parts.push(b);
  }
  if (mask) {
    const key = randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
    parts.push(key, body);
  } else parts.push(Buffer.from(payload));
  return Buffer.concat(parts);
}

/** The close code in the first close frame the server sent (unmasked, opcode 8), or null. */
export function closeCode(received: Buffer): number | null {
  let i = 0;
  while (i + 2 <= received.length) {
    const op = received[i]! & 0x0f;
    let len = received[i + 1]! & 0x7f;
    let p = i + 2;
    if (len === 126) {
      len = received.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(received.readBigUInt64BE(p));
      p += 8;
    }
    if (op === 8) return len >= 2 ? received.readUInt16BE(p) : null;
    i = p + len;
  }
  return null;
}
