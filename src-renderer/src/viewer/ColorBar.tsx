/** The colour bar under a panel: the LUT as the scale shows it, with values at five positions. */
import { useEffect, useRef } from 'react';
import { useStore } from '../store/index';
import { getPixels } from '../cache/pixels';
import { colormapLut, invertLut } from '../../../src-shared/image/colormaps';
import { inverseStretch, DEFAULT_SCALE_PARAM } from '../../../src-shared/image/scales';
import { drawSettings } from './images';
import { context2d } from '../canvas2d';

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return Number(v.toPrecision(5)).toString();
}

export function ColorBar({ id }: { id: string }) {
  const display = useStore((s) => s.display[id]);
  const meta = useStore((s) => s.images[id]);
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c || !display) return;
    const base = colormapLut(display.colormap);
    const lut = display.invert ? invertLut(base) : base;
    const ctx = context2d(c)!;
    const img = ctx.createImageData(256, 1);
    img.data.set(lut);
    ctx.putImageData(img, 0, 0);
  }, [display]);
  if (!display || !meta) return null;
  const ds = drawSettings(id);
  const entry = getPixels(id);
  const ticks: string[] = [];
  if (ds && entry) {
    for (const y of [0, 0.25, 0.5, 0.75, 1]) {
      const t = inverseStretch(ds.scale, y, ds.scaleParam || DEFAULT_SCALE_PARAM[ds.scale], ds.histeq ?? undefined);
      ticks.push(formatValue(ds.lo + t * (ds.hi - ds.lo)));
    }
  }
  return (
    <div className="colorbar" data-testid={`colorbar-${id}`}>
      <canvas ref={ref} width={256} height={1} aria-label={`Colour bar: ${display.colormap}${display.invert ? ' (inverted)' : ''}, ${display.scale} scale`} />
      <div className="ticks">
        {ticks.map((t, i) => (
          <span key={i}>{t}</span>
        ))}
      </div>
      {meta.bunit && <span className="unit muted">{meta.bunit}</span>}
    </div>
  );
}
