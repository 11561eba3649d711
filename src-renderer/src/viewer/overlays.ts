/**
 * Pixel overlays drawn over a panel's image: the forward model's mask on the observation (masked pixels in
 * translucent red). The mask's pixels live here, outside reactive state; the store's `maskOverlay` names the
 * panel and bumps a version so that the panel redraws.
 */
import { useStore } from '../store/index';
import type { ViewState } from '../store/images';

interface MaskOverlay {
  width: number;
  height: number;
  /** The mask drawn once into a canvas, row 0 of the image at the bottom. */
  canvas: HTMLCanvasElement;
  masked: number;
}

const overlays = new Map<string, MaskOverlay>();

/** Shows (or, with null, hides) a 0/1 mask of the image's size over panel `id`; 0 marks a masked pixel. */
export function setMaskOverlay(id: string, mask: ArrayLike<number> | null, width = 0, height = 0): void {
  if (!mask) {
    overlays.delete(id);
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d')!;
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
  const s = useStore.getState();
  s.setMaskOverlay(overlays.has(id) ? { id, version: (s.maskOverlay?.version ?? 0) + 1, masked: overlays.get(id)!.masked } : s.maskOverlay?.id === id ? null : s.maskOverlay);
}

/** Draws the overlay of panel `id` (if any) into its overlay canvas (CSS size w × h, device pixel ratio dpr). */
export function drawOverlay(id: string, target: HTMLCanvasElement, v: ViewState, w: number, h: number, dpr: number): void {
  const o = overlays.get(id);
  if (!o) {
    // nothing to draw: a canvas never drawn costs nothing (no context, no pixels); one drawn before is cleared
    if (target.dataset.drawn) {
      target.getContext('2d')?.clearRect(0, 0, target.width, target.height);
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
  const ctx = target.getContext('2d');
  if (!ctx) return;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.imageSmoothingEnabled = false;
  // pixel i spans i − ½ … i + ½; the top edge of the image is y = height − ½
  ctx.drawImage(o.canvas, w / 2 + (-0.5 - v.cx) * v.zoom, h / 2 - (o.height - 0.5 - v.cy) * v.zoom, o.width * v.zoom, o.height * v.zoom);
}

export function hasOverlay(id: string): boolean {
  return overlays.has(id);
}
