/**
 * The observation goes to the engine once, in 1 MB chunks (each its own small task: the UI never stalls on a big
 * file), and requests then name it by SHA-256. An engine restart forgets it: the request fails with
 * "unknown blob", and it is uploaded again and the request retried.
 */
import { getClient } from '../api/client';
import { useStore } from '../store/index';
import { BLOB_CHUNK, type ObsInput } from '../../../src-shared/protocol/index';
import { getObs, type StoredFile } from './files';

const uploaded = new Set<string>();
const inFlight = new Map<string, Promise<void>>();

export function ensureUploaded(f: StoredFile): Promise<void> {
  if (uploaded.has(f.sha256)) return Promise.resolve();
  let p = inFlight.get(f.sha256);
  if (p) return p;
  p = (async () => {
    const total = f.bytes.byteLength;
    for (let offset = 0; offset < total; offset += BLOB_CHUNK) {
      const end = Math.min(total, offset + BLOB_CHUNK);
      await getClient().request('blob.put', { key: f.sha256, offset, total, bytes: f.bytes.slice(offset, end) });
    }
    uploaded.add(f.sha256);
  })().finally(() => inFlight.delete(f.sha256));
  inFlight.set(f.sha256, p);
  return p;
}

/** The engine restarted: it holds no blob any more. */
export function forgetUploads(): void {
  uploaded.clear();
}

/** Runs a request that needs the observation, uploading it first if needed (and again after an engine restart). */
export async function withObs<T>(fn: (obs: ObsInput) => Promise<T>): Promise<T> {
  const s = useStore.getState();
  const f = getObs();
  if (!s.obs || !f) throw new Error('open the observation first');
  if (f.sha256 !== s.obs.sha256) throw new Error(`the observation's bytes (${f.name}) are not the file the editor shows (${s.obs.name}): open the observation again`);
  // what the viewer shows as the observation must be what is sent: never a silent run on another image
  const panel = s.images['observation'];
  const key = `${s.obs.sha256}:${s.obs.hdu}:${s.obs.plane}`;
  if (panel?.source && panel.source.key !== key) {
    throw new Error(`the viewer's observation panel shows ${panel.title}, not the observation ${s.obs.name}${s.obs.planes > 1 ? ` plane ${s.obs.plane + 1}` : ''}: wait for it to be shown, or open the observation again`);
  }
  const obs: ObsInput = { name: f.name, blob: f.sha256, hdu: s.obs.hdu, plane: s.obs.plane };
  await ensureUploaded(f);
  try {
    return await fn(obs);
  } catch (e) {
    if (!/unknown blob/.test((e as Error).message)) throw e;
    uploaded.delete(f.sha256);
    await ensureUploaded(f);
    return fn(obs);
  }
}
