/** View geometry: screen (CSS pixels in a panel) ↔ image pixels (0-based centres, x right, y up). */
import type { ViewState } from '../store/images';

export const MIN_ZOOM = 1 / 64;
export const MAX_ZOOM = 256;

export const clampZoom = (z: number) => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));

/** Image pixel coordinates under a panel point (sx, sy from the panel's top-left, CSS px). */
export function screenToImage(v: ViewState, sx: number, sy: number, w: number, h: number): [number, number] {
  return [v.cx + (sx - w / 2) / v.zoom, v.cy - (sy - h / 2) / v.zoom];
}

export function imageToScreen(v: ViewState, x: number, y: number, w: number, h: number): [number, number] {
  return [w / 2 + (x - v.cx) * v.zoom, h / 2 - (y - v.cy) * v.zoom];
}

/** The whole image centred, as large as fits the panel (with a small margin). */
export function fitView(imgW: number, imgH: number, w: number, h: number): ViewState {
  const zoom = clampZoom(Math.min(w / imgW, h / imgH) * 0.98);
  return { cx: (imgW - 1) / 2, cy: (imgH - 1) / 2, zoom, fit: true };
}

/** Zoom by `factor` keeping the image point under (sx, sy) fixed. */
export function zoomAbout(v: ViewState, factor: number, sx: number, sy: number, w: number, h: number): ViewState {
  const zoom = clampZoom(v.zoom * factor);
  const [ix, iy] = screenToImage(v, sx, sy, w, h);
  return { zoom, cx: ix - (sx - w / 2) / zoom, cy: iy + (sy - h / 2) / zoom };
}

/** The pixel (integer indices) under an image coordinate, or null outside the image. */
export function pixelAt(x: number, y: number, imgW: number, imgH: number): [number, number] | null {
  const i = Math.round(x) || 0; // no −0
  const j = Math.round(y) || 0;
  return i >= 0 && j >= 0 && i < imgW && j < imgH ? [i, j] : null;
}
