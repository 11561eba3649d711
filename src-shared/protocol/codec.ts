/**
 * Binary framing for transports without structured clone (WebSocket): a message may carry typed arrays
 * (pixel buffers), which travel as raw bytes after a JSON header instead of as JSON numbers.
 * Frame: [u32 LE header length][header JSON utf-8][padding to 8][buffer 0][padding]…
 * The header replaces each typed array by {"$buf": i, "$type": "Float32Array", "length": n}.
 */
import { ProtocolError } from './validate.js';
import { LIMITS } from './limits.js';

const TYPES = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
} as const;
type TypeName = keyof typeof TYPES;
type Typed = InstanceType<(typeof TYPES)[TypeName]>;

const align8 = (n: number) => (n + 7) & ~7;
const MAX_BUFFERS = 4096;

export function encodeFrame(message: unknown): Uint8Array<ArrayBuffer> {
  const buffers: Typed[] = [];
  const header = JSON.stringify(message, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const name = v.constructor.name as TypeName;
      if (!(name in TYPES)) throw new ProtocolError(`cannot encode ${name}`);
      buffers.push(v as Typed);
      return { $buf: buffers.length - 1, $type: name, length: (v as Typed).length };
    }
    return v;
  });
  const headerBytes = new TextEncoder().encode(header);
  let size = align8(4 + headerBytes.length);
  const offsets = buffers.map((b) => {
    const o = size;
    size = align8(size + b.byteLength);
    return o;
  });
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 4);
  buffers.forEach((b, i) => out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), offsets[i]));
  return out;
}

export function decodeFrame(frame: Uint8Array): unknown {
  if (frame.byteLength < 4) throw new ProtocolError('frame: too short');
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const hlen = dv.getUint32(0, true);
  if (4 + hlen > frame.byteLength) throw new ProtocolError('frame: header length beyond the frame');
  if (hlen > LIMITS.frameHeaderBytes) throw new ProtocolError(`frame: the JSON header is ${hlen} bytes; at most ${LIMITS.frameHeaderBytes}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(4, 4 + hlen)));
  } catch {
    throw new ProtocolError('frame: header is not valid JSON');
  }
  let pos = align8(4 + hlen);
  let count = 0;
  const expectIndex = { next: 0 };
  const revive = (v: unknown, depth: number): unknown => {
    if (depth > LIMITS.jsonDepth) throw new ProtocolError(`frame: the header is nested more than ${LIMITS.jsonDepth} deep`);
    if (Array.isArray(v)) return v.map((x) => revive(x, depth + 1));
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$buf === 'number' && typeof o.$type === 'string') {
        if (++count > MAX_BUFFERS) throw new ProtocolError('frame: too many buffers');
        if (o.$buf !== expectIndex.next++) throw new ProtocolError('frame: buffers out of order');
        const Ctor = TYPES[o.$type as TypeName];
        const length = o.length;
        if (!Ctor || typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw new ProtocolError('frame: bad buffer descriptor');
        const nbytes = length * Ctor.BYTES_PER_ELEMENT;
        if (pos + nbytes > frame.byteLength) throw new ProtocolError('frame: buffer beyond the frame');
        const copy = new Uint8Array(nbytes);
        copy.set(frame.subarray(pos, pos + nbytes));
        pos = align8(pos + nbytes);
        return new Ctor(copy.buffer);
      }
      // fromEntries defines own properties: a key "__proto__" stays a key (and the validators refuse it)
      return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, revive(val, depth + 1)]));
    }
    return v;
  };
  return revive(header, 0);
}
