import { useEffect, useRef } from 'react';
import { drawChart, type ChartSeries, type ChartOptions } from './chart';
import { downloadCanvasPng } from '../export/download';
import { context2d, sizeCanvas } from '../canvas2d';

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export interface ChartCanvasProps {
  series: ChartSeries[];
  options: Omit<ChartOptions, 'colors'>;
  version: number;
  height: number;
  title: string;
  testId?: string;
  pngName?: string;
}

/** A line chart that re-draws when `version` changes (the traces live outside reactive state). */
export function ChartCanvas(p: ChartCanvasProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { series, options, version, height } = p;
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const w = c.clientWidth || 260;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    sizeCanvas(c, Math.round(w * dpr), Math.round(height * dpr));
    const ctx = context2d(c);
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawChart(ctx, w, height, series, {
      ...options,
      colors: { axis: cssVar('--border', '#999'), text: cssVar('--muted', '#666'), grid: cssVar('--grid', 'rgba(128,128,128,0.18)'), ref: cssVar('--ok', '#2e9d57') },
    });
  }, [series, options, version, height]);
  return (
    <figure className="chart" data-testid={p.testId} data-points={series.reduce((a, s) => a + s.trace.length, 0)}>
      <canvas ref={ref} style={{ width: '100%', height }} role="img" aria-label={p.title} />
      <figcaption>
        <span>
          {series.map((s) => (
            <span key={s.label} className="legend">
              <i style={{ background: s.color }} /> {s.label}
            </span>
          ))}
        </span>
        {p.pngName && (
          <button type="button" className="mini" aria-label={`Save ${p.title} as PNG`} onClick={() => ref.current && void downloadCanvasPng(ref.current, p.pngName!)}>
            PNG
          </button>
        )}
      </figcaption>
    </figure>
  );
}
