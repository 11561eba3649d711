/**
 * 2D contexts for the canvases the app draws on the CPU: charts, thumbnails, colour bars, histograms, overlays and
 * the viewer's CPU renderer. They are asked for as CPU-backed (`willReadFrequently`): Chromium otherwise puts a 2D
 * canvas on its GPU process, where — on a software GL above all — every redraw of a small canvas waits on a round
 * trip and a flush, tens of milliseconds on the UI thread for a few thousand pixels.
 */
export function context2d(c: HTMLCanvasElement): CanvasRenderingContext2D | null {
  return c.getContext('2d', { willReadFrequently: true });
}

/** Sets a canvas's backing size only when it changes (setting it, even to the same value, clears and reallocates it). */
export function sizeCanvas(c: HTMLCanvasElement, width: number, height: number): void {
  if (c.width !== width) c.width = width;
  if (c.height !== height) c.height = height;
}
