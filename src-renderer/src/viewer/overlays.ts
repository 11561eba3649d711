/**
 * Overlays drawn over a panel's image: the forward model's mask on the observation (masked pixels in translucent
 * red) and curves in the image's pixel coordinates (a lens's critical curves on the observation, its caustics on
 * the source plane of the posterior mean). Their data live here, outside reactive state; the store's
 * `maskOverlay` names the panel and bumps a version so that the panel redraws.
 */
import { useStore } from '../store/index';
import type { ViewState } from '../store/images';
import { context2d } from '../canvas2d';

interface MaskOverlay {
  width: number;
  height: number;
  /** The mask drawn once into a canvas, row 0 of the image at the bottom. */
  canvas: HTMLCanvasElement;
  masked: number;
}

/** Polylines in image pixel coordinates (x, y pairs; pixel centres at integers, row 0 at the bottom). */
export interface CurveLayer {
  lines: Float32Array[];
  color: string;
  /** What the lines are, for the overlays' switch (default: lens curves). */
  label?: string;
}

const overlays = new Map<string, MaskOverlay>();
const curveLayers = new Map<string, CurveLayer[]>();

/** Tells the panels that panel `id`'s overlays changed (the store's maskOverlay names it with a new version). */
function publish(id: string): void {
  const s = useStore.getState();
  const has = overlays.has(id) || curveLayers.has(id);
  const version = (s.maskOverlay?.version ?? 0) + 1;
  if (has) s.setMaskOverlay({ id, version, masked: overlays.get(id)?.masked ?? 0 });
  else if (overlays.size || curveLayers.size) s.setMaskOverlay({ id: [...overlays.keys(), ...curveLayers.keys()][0]!, version, masked: 0 });
  else s.setMaskOverlay(null);
}

/** Shows (or, with null or no lines, hides) curves over panel `id`. */
export function setCurveOverlay(id: string, layers: CurveLayer[] | null): void {
  const had = curveLayers.has(id);
  if (layers && layers.some((l) => l.lines.length)) curveLayers.set(id, layers);
  else curveLayers.delete(id);
  if (had || curveLayers.has(id)) publish(id);
}

/** Shows (or, with null, hides) a 0/1 mask of the image's size over panel `id`; 0 marks a masked pixel. */
export function setMaskOverlay(id: string, mask: ArrayLike<number> | null, width = 0, height = 0): void {
  if (!mask) {
    overlays.delete(id);
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = context2d(canvas)!;
    const img = ctx.createImageData(width, height);
    let masked = 0;
    for (let j = 0; j < height; j++) {
      const row = (height - 1 - j) * width;
      for (let i = 0; i < width; i++) {
        if (mask[j * width + i] !== 0) continue;
        masked++;
        const k = (row + i) * 4;
        img.data[k] = 255;
        img.data[k + 1] = 40;
        img.data[k + 2] = 40;
        img.data[k + 3] = 120;
      }
    }
    ctx.putImageData(img, 0, 0);
    overlays.set(id, { width, height, canvas, masked });
  }
  publish(id);
}

/** Draws the overlay of panel `id` (if any) into its overlay canvas (CSS size w × h, device pixel ratio dpr). */
export function drawOverlay(id: string, target: HTMLCanvasElement, v: ViewState, w: number, h: number, dpr: number): void {
  const o = overlays.get(id);
  const curves = curveLayers.get(id);
  if (!o && !curves) {
    // nothing to draw: a canvas never drawn costs nothing (no context, no pixels); one drawn before is cleared
    if (target.dataset.drawn) {
      context2d(target)?.clearRect(0, 0, target.width, target.height);
      delete target.dataset.drawn;
    }
    return;
  }
  target.dataset.drawn = '1';
  const W = Math.max(1, Math.round(w * dpr));
  const H = Math.max(1, Math.round(h * dpr));
  if (target.width !== W || target.height !== H) {
    target.width = W;
    target.height = H;
  }
  const ctx = context2d(target);
  if (!ctx) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.imageSmoothingEnabled = false;
  // pixel i spans i − ½ … i + ½; the top edge of the image is y = height − ½
  if (o) ctx.drawImage(o.canvas, w / 2 + (-0.5 - v.cx) * v.zoom, h / 2 - (o.height - 0.5 - v.cy) * v.zoom, o.width * v.zoom, o.height * v.zoom);
  for (const layer of curves ?? []) {
    ctx.strokeStyle = layer.color;
    ctx.lineWidth = 1.5;
    for (const line of layer.lines) {
      ctx.beginPath();
      for (let k = 0; k + 1 < line.length; k += 2) {
        const x = w / 2 + (line[k]! - v.cx) * v.zoom;
        const y = h / 2 - (line[k + 1]! - v.cy) * v.zoom;
        if (k === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
  }
}

/** What is drawn over all panels: masked pixels (the observation's mask), curve lines and what they are. */
export function overlaySummary(): { mask: boolean; masked: number; curves: number; labels: string[] } {
  let masked = 0;
  for (const o of overlays.values()) masked += o.masked;
  let curves = 0;
  const labels: string[] = [];
  for (const ls of curveLayers.values()) {
    for (const l of ls) {
      curves += l.lines.length;
      const label = l.label ?? 'lens curves';
      if (l.lines.length && !labels.includes(label)) labels.push(label);
    }
  }
  return { mask: overlays.size > 0, masked, curves, labels };
}

export function hasOverlay(id: string): boolean {
  return overlays.has(id) || curveLayers.has(id);
}
