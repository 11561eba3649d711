/**
 * SHA-256 of a file the user opened, read and hashed in a worker of its own: the FITS worker decodes the same
 * file at the same time, so the hash (which the observation and the viewer's keys need) does not wait for the
 * decoding nor the decoding for it.
 */
interface Scope {
  onmessage: ((e: MessageEvent<{ id: number; file: Blob }>) => void) | null;
  postMessage(m: { id: number; sha256?: string; error?: string }): void;
}
const scope = self as unknown as Scope;

scope.onmessage = (e) => {
  const { id, file } = e.data;
  file
    .arrayBuffer()
    .then((b) => crypto.subtle.digest('SHA-256', b))
    .then(
      (d) => scope.postMessage({ id, sha256: Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, '0')).join('') }),
      (err: unknown) => scope.postMessage({ id, error: (err as Error)?.message ?? String(err) }),
    );
};
