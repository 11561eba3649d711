/** The cursor read-out feed: panels publish what is under the pointer; the read-out bar listens (no store). */

export interface CursorInfo {
  imageId: string;
  title: string;
  /** 0-based pixel indices (x along NAXIS1, y along NAXIS2). */
  x: number;
  y: number;
  value: number;
  bunit: string | null;
  world: { lon: number; lat: number; lonName: string; latName: string; frame: string } | null;
}

type Listener = (c: CursorInfo | null) => void;
const listeners = new Set<Listener>();
let last: CursorInfo | null = null;

export function publishCursor(c: CursorInfo | null): void {
  last = c;
  for (const l of listeners) l(c);
}

export function onCursor(l: Listener): () => void {
  listeners.add(l);
  l(last);
  return () => void listeners.delete(l);
}
