/** PNG snapshots of panels: the panel's own 2-D canvas (which keeps its picture), redrawn and encoded. */

const panels = new Map<string, { canvas: HTMLCanvasElement; redraw: () => void }>();

export function registerPanelCanvas(id: string, canvas: HTMLCanvasElement | null, redraw: (() => void) | null): void {
  if (canvas && redraw) panels.set(id, { canvas, redraw });
  else panels.delete(id);
}

/** The panel's current picture as a PNG blob (null when the panel is not shown). */
export function snapshotPanel(id: string): Promise<Blob | null> {
  const p = panels.get(id);
  if (!p) return Promise.resolve(null);
  p.redraw();
  return new Promise((resolve) => p.canvas.toBlob((b) => resolve(b), 'image/png'));
}

/** Ids of the panels on screen. */
export function panelIds(): string[] {
  return [...panels.keys()];
}
