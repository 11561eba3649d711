import { useEffect, useRef } from 'react';
import { percentileLimits, symmetricLimits, toRgba, type SmallMap, type Stretch } from './render';
import { downloadCanvasPng } from '../export/download';
import { context2d, sizeCanvas } from '../canvas2d';

export interface ImageCanvasProps {
  /** Pixels [ny, nx] row-major (y up); null draws an empty frame. */
  data: Float32Array | null;
  shape: [number, number] | null;
  /** Re-draws when this changes (the pixels live outside reactive state). */
  version: number;
  title: string;
  map?: SmallMap;
  stretch?: Stretch;
  limits?: 'percentile' | 'symmetric' | 'minmax';
  /** CSS width; the height follows the aspect ratio. */
  width: number;
  testId?: string;
  /** Draws on top, in canvas pixels; `sx`, `sy` map image pixel (x, y) to canvas coordinates. */
  overlay?: (ctx: CanvasRenderingContext2D, map: { sx: (x: number) => number; sy: (y: number) => number; scale: number }) => void;
  onPointer?: (kind: 'down' | 'move' | 'up', px: { x: number; y: number }, e: React.PointerEvent) => void;
  /** File name of the PNG snapshot (a button appears when set). */
  pngName?: string;
  caption?: string;
}

/**
 * Draws wait in one queue and run one per task (a macrotask each, through a MessageChannel): a preview that
 * updates a dozen canvases never makes one long task of them all. A canvas queued twice draws once, its latest.
 */
const drawQueue = new Map<object, () => void>();
let channel: MessageChannel | null = null;
function scheduleDraw(key: object, draw: () => void): void {
  const pending = drawQueue.size > 0;
  drawQueue.delete(key);
  drawQueue.set(key, draw);
  if (pending) return;
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const first = drawQueue.entries().next();
      if (first.done) return;
      const [k, f] = first.value;
      drawQueue.delete(k);
      f();
      if (drawQueue.size) channel!.port2.postMessage(0);
    };
  }
  channel.port2.postMessage(0);
}
function cancelDraw(key: object): void {
  drawQueue.delete(key);
}

/** A small float-image canvas: percentile or symmetric limits, a colour map, an optional overlay and a PNG button. */
export function ImageCanvas(p: ImageCanvasProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  const offRef = useRef<HTMLCanvasElement | null>(null);
  const [ny, nx] = p.shape ?? [1, 1];
  const height = Math.max(1, Math.round((p.width * ny) / nx));
  const { data, shape, map, stretch, limits, overlay, version } = p;
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const draw = () => {
      const dpr = Math.min(2, window.devicePixelRatio || 1);
      sizeCanvas(c, Math.round(p.width * dpr), Math.round(height * dpr));
      const ctx = context2d(c);
      if (!ctx) return;
      ctx.clearRect(0, 0, c.width, c.height);
      if (!data || !shape || data.length < shape[0] * shape[1]) return;
      const lim = limits === 'symmetric' ? symmetricLimits(data) : limits === 'minmax' ? percentileLimits(data, 0, 1) : percentileLimits(data, 0.005, 0.995);
      const rgba = toRgba(data, shape, { lo: lim[0], hi: lim[1], map: map ?? 'grey', stretch: stretch ?? 'linear' });
      const off = (offRef.current ??= document.createElement('canvas'));
      sizeCanvas(off, shape[1], shape[0]);
      context2d(off)!.putImageData(new ImageData(rgba, shape[1], shape[0]), 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(off, 0, 0, c.width, c.height);
      if (overlay) {
        const scale = c.width / shape[1];
        // pixel centres: image x → canvas x; image row y (y up) → canvas y from the top
        overlay(ctx, { sx: (x) => (x + 0.5) * scale, sy: (y) => c.height - (y + 0.5) * scale, scale });
      }
    };
    scheduleDraw(c, draw);
    return () => cancelDraw(c);
  }, [data, shape, map, stretch, limits, overlay, version, p.width, height]);

  const toPixel = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) / r.width) * nx);
    const y = Math.floor(((r.bottom - e.clientY) / r.height) * ny);
    return { x: Math.min(nx - 1, Math.max(0, x)), y: Math.min(ny - 1, Math.max(0, y)) };
  };

  return (
    <figure className="imgcanvas" data-testid={p.testId}>
      <canvas
        ref={ref}
        style={{ width: p.width, height }}
        aria-label={p.title}
        role="img"
        onPointerDown={
          p.onPointer
            ? (e) => {
                e.currentTarget.setPointerCapture(e.pointerId);
                p.onPointer!('down', toPixel(e), e);
              }
            : undefined
        }
        onPointerMove={p.onPointer ? (e) => p.onPointer!('move', toPixel(e), e) : undefined}
        onPointerUp={p.onPointer ? (e) => p.onPointer!('up', toPixel(e), e) : undefined}
      />
      <figcaption>
        <span>{p.caption ?? p.title}</span>
        {p.pngName && data && (
          <button type="button" className="mini" title={`Save ${p.title} as PNG`} aria-label={`Save ${p.title} as PNG`} onClick={() => ref.current && void downloadCanvasPng(ref.current, p.pngName!)}>
            PNG
          </button>
        )}
      </figcaption>
    </figure>
  );
}
