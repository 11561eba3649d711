import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { dataRange, drawScatter, pixelToData, plotBox, zoomRange, type Range, type ScatterSeries } from './scatter';
import { downloadCanvasPng } from '../export/download';
import { context2d, sizeCanvas } from '../canvas2d';

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export interface ScatterPlotProps {
  series: ScatterSeries[];
  title: string;
  xLabel: string;
  yLabel: string;
  xScale?: number;
  yScale?: number;
  /** The uv plane: one unit as long on both axes, the range symmetric about 0. */
  equalAspect?: boolean;
  /** Start the y axis at 0 (amplitudes). */
  fromZero?: boolean;
  testId?: string;
  pngName?: string;
  /** Extra buttons in the caption (e.g. "Full size"). */
  actions?: ReactNode;
  className?: string;
}

/**
 * A scatter plot that fills its box (CSS size), re-drawn when its series or size change. The mouse wheel zooms
 * about the pointer, a drag pans, a double click (or Reset) shows everything again.
 */
export function ScatterPlot(p: ScatterPlotProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const full = useMemo(() => dataRange(p.series, p.equalAspect ? { symmetric: true } : { yFromZero: p.fromZero }), [p.series, p.equalAspect, p.fromZero]);
  const fullKey = `${full.x0},${full.x1},${full.y0},${full.y1}`;
  // a zoom holds for the data it was made on: new data show everything
  const [zoom, setZoom] = useState<{ key: string; range: Range } | null>(null);
  const range = zoom && zoom.key === fullKey ? zoom.range : null;
  const setRange = (r: Range | null) => setZoom(r ? { key: fullKey, range: r } : null);
  const [size, setSize] = useState<{ w: number; h: number }>({ w: 0, h: 0 });
  const [drawn, setDrawn] = useState(0);
  const shown = range ?? full;
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setSize({ w: el.clientWidth, h: el.clientHeight }));
    ro.observe(el);
    setSize({ w: el.clientWidth, h: el.clientHeight });
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    const c = ref.current;
    if (!c || size.w < 20 || size.h < 20) return;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    sizeCanvas(c, Math.round(size.w * dpr), Math.round(size.h * dpr));
    const ctx = context2d(c);
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const n = drawScatter(ctx, size.w, size.h, p.series, shown, {
      xLabel: p.xLabel,
      yLabel: p.yLabel,
      xScale: p.xScale,
      yScale: p.yScale,
      equalAspect: p.equalAspect,
      colors: { axis: cssVar('--border', '#999'), text: cssVar('--muted', '#666'), grid: cssVar('--grid', 'rgba(128,128,128,0.18)'), background: cssVar('--plot-bg', 'rgba(0,0,0,0.04)') },
    });
    setDrawn(n);
  }, [p.series, shown, size, p.xLabel, p.yLabel, p.xScale, p.yScale, p.equalAspect]);

  const at = (e: { clientX: number; clientY: number }) => {
    const c = ref.current!;
    const b = c.getBoundingClientRect();
    return pixelToData(e.clientX - b.left, e.clientY - b.top, size.w, size.h, shown, !!p.equalAspect);
  };
  const drag = useRef<{ x: number; y: number; r: Range } | null>(null);
  const total = p.series.reduce((a, s) => a + s.x.length * (s.mirror ? 2 : 1), 0);
  const box = plotBox(size.w, size.h, !!p.equalAspect);
  return (
    <figure className={`scatter ${p.className ?? ''}`} data-testid={p.testId} data-points={total} data-drawn={drawn} data-zoomed={range ? 'true' : 'false'} data-box={`${Math.round(box.pw)}x${Math.round(box.ph)}`}>
      <div className="scatter-box" ref={wrap}>
        <canvas
          ref={ref}
          role="img"
          aria-label={p.title}
          onWheel={(e) => {
            const d = at(e);
            setRange(zoomRange(shown, d.x, d.y, e.deltaY < 0 ? 0.8 : 1.25));
          }}
          onMouseDown={(e) => {
            drag.current = { ...at(e), r: shown };
          }}
          onMouseMove={(e) => {
            const g = drag.current;
            if (!g || !(e.buttons & 1)) return;
            const d = pixelToData(e.clientX - ref.current!.getBoundingClientRect().left, e.clientY - ref.current!.getBoundingClientRect().top, size.w, size.h, g.r, !!p.equalAspect);
            const dx = g.x - d.x;
            const dy = g.y - d.y;
            if (dx || dy) setRange({ x0: g.r.x0 + dx, x1: g.r.x1 + dx, y0: g.r.y0 + dy, y1: g.r.y1 + dy });
          }}
          onMouseUp={() => (drag.current = null)}
          onDoubleClick={() => setRange(null)}
        />
      </div>
      <figcaption>
        <span className="scatter-title">{p.title}</span>
        <span className="legend-list">
          {p.series.map((s) => (
            <span key={s.label} className="legend">
              <i style={{ background: s.color }} /> {s.label}
            </span>
          ))}
        </span>
        {range && (
          <button type="button" className="mini" onClick={() => setRange(null)} data-testid={p.testId ? `${p.testId}-reset` : undefined}>
            Reset
          </button>
        )}
        {p.actions}
        {p.pngName && (
          <button type="button" className="mini" aria-label={`Save ${p.title} as PNG`} onClick={() => ref.current && void downloadCanvasPng(ref.current, p.pngName!)}>
            PNG
          </button>
        )}
      </figcaption>
    </figure>
  );
}
