/**
 * Saving files from the renderer: a Blob and an <a download> (the browser's download, or Electron's save
 * dialog). Nothing here touches the file system directly.
 */

export function downloadBlob(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadBytes(name: string, bytes: Uint8Array, type = 'application/octet-stream'): void {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  downloadBlob(name, new Blob([copy.buffer], { type }));
}

export function downloadText(name: string, text: string, type = 'application/json'): void {
  downloadBlob(name, new Blob([text], { type }));
}

/** A PNG of a canvas at its pixel size. */
export function downloadCanvasPng(canvas: HTMLCanvasElement, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((b) => {
      if (!b) return reject(new Error('the canvas could not be encoded as PNG'));
      downloadBlob(name.endsWith('.png') ? name : `${name}.png`, b);
      resolve();
    }, 'image/png');
  });
}

/** Reads a user-chosen file (input or drop). */
export async function readFileBytes(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/** A file name safe for the forward model (letters, digits, . _ - +), keeping the extension. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? 'file';
  const s = base.replace(/[^A-Za-z0-9._+-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return (s || 'file').slice(0, 180);
}
