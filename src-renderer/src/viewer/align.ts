/**
 * Locked views across images of different sizes: the shared view (in the pixels of the panel last moved) is
 * mapped to each other image — by sky coordinates where both images have a celestial WCS in the same frame
 * (the same sky position at the panel centre, the same angular scale on screen), else by relative position
 * (the same fraction of each image at the centre, each image the same size on screen).
 */
import type { ViewState } from '../store/images';
import type { CelestialWcs } from './wcs';

export interface AlignImage {
  width: number;
  height: number;
  wcs: CelestialWcs | null;
}

/** How `to` is aligned with `from`. */
export function alignMode(from: AlignImage, to: AlignImage): 'wcs' | 'relative' {
  return from.wcs && to.wcs && from.wcs.frame === to.wcs.frame && from.wcs.lonName === to.wcs.lonName ? 'wcs' : 'relative';
}

export function mapView(v: ViewState, from: AlignImage, to: AlignImage): ViewState {
  if (alignMode(from, to) === 'wcs') {
    const [lon, lat] = from.wcs!.pixToWorld(v.cx, v.cy);
    const [x, y] = to.wcs!.worldToPixel(lon, lat);
    const sf = from.wcs!.pixelScaleDeg;
    const st = to.wcs!.pixelScaleDeg;
    if (Number.isFinite(x) && Number.isFinite(y) && sf > 0 && st > 0) return { cx: x, cy: y, zoom: (v.zoom * st) / sf };
  }
  if (from.width === to.width && from.height === to.height) return { cx: v.cx, cy: v.cy, zoom: v.zoom };
  const fx = to.width / from.width;
  const fy = to.height / from.height;
  return { cx: (v.cx + 0.5) * fx - 0.5, cy: (v.cy + 0.5) * fy - 0.5, zoom: v.zoom / Math.min(fx, fy) };
}
