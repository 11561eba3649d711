/**
 * The engine's content-addressed store of large inputs (the observation file), uploaded once in chunks and then
 * referred to by SHA-256. Bounded: least recently used blobs are dropped past MAX_BYTES; an engine restart
 * forgets them all (requests then fail with "unknown blob" and the renderer uploads again).
 */
import { createHash } from 'node:crypto';
import { JobInputError } from './forward-model-requests.js';

const MAX_BYTES = 2 * 1024 ** 3;

interface Blob {
  key: string;
  bytes: Uint8Array;
  received: number;
  complete: boolean;
}

const blobs = new Map<string, Blob>();

function evict(keep: string): void {
  let total = 0;
  for (const b of blobs.values()) total += b.bytes.byteLength;
  for (const [k, b] of blobs) {
    if (total <= MAX_BYTES) break;
    if (k === keep) continue;
    blobs.delete(k);
    total -= b.bytes.byteLength;
  }
}

/** Stores one chunk; chunks arrive in order. Returns whether the blob is complete (its hash then verified). */
export function putChunk(key: string, offset: number, total: number, chunk: Uint8Array): { key: string; complete: boolean } {
  let b = blobs.get(key);
  if (b?.complete) return { key, complete: true };
  if (offset === 0 || !b || b.bytes.byteLength !== total) {
    if (offset !== 0) throw new JobInputError(`blob ${key.slice(0, 12)}…: upload restarted mid-way (chunk at ${offset} of a blob not begun); upload it again from the start`);
    b = { key, bytes: new Uint8Array(total), received: 0, complete: false };
    blobs.set(key, b);
    evict(key);
  }
  if (offset !== b.received) throw new JobInputError(`blob ${key.slice(0, 12)}…: chunk at ${offset}, expected ${b.received}`);
  b.bytes.set(chunk, offset);
  b.received += chunk.byteLength;
  if (b.received === total) {
    const h = createHash('sha256').update(b.bytes).digest('hex');
    if (h !== key) {
      blobs.delete(key);
      throw new JobInputError(`blob ${key.slice(0, 12)}…: the bytes received hash to ${h.slice(0, 12)}…; upload it again`);
    }
    b.complete = true;
  }
  // touch (most recently used last)
  blobs.delete(key);
  blobs.set(key, b);
  return { key, complete: b.complete };
}

export function getBlob(key: string): Uint8Array {
  const b = blobs.get(key);
  if (!b || !b.complete) throw new JobInputError(`unknown blob ${key} (the engine restarted or dropped it): upload it again`);
  blobs.delete(key);
  blobs.set(key, b);
  return b.bytes;
}
