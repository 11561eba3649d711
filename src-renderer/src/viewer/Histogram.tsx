/**
 * The histogram of the active image around its display limits (log counts), with the two limits as handles:
 * drag a handle to set the limits by hand (the display follows while dragging).
 */
import { useEffect, useRef, useState } from 'react';
import { useStore } from '../store/index';
import { getPixels } from '../cache/pixels';
import { histogram } from '../../../src-shared/image/histogram';
import { drawSettings } from './images';
import { formatValue } from './ColorBar';
import { context2d } from '../canvas2d';

const W = 260;
const H = 64;
const BINS = 128;

export function HistogramEditor({ id }: { id: string }) {
  const display = useStore((s) => s.display[id]);
  const meta = useStore((s) => s.images[id]);
  const setDisplay = useStore((s) => s.setDisplay);
  const ref = useRef<HTMLCanvasElement>(null);
  const [dragging, setDragging] = useState<null | 'lo' | 'hi'>(null);
  const [frozen, setFrozen] = useState<[number, number] | null>(null);
  const ds = drawSettings(id);
  const entry = getPixels(id);

  // the histogram's x range: the limits widened by half their width each side, within the data's range;
  // frozen while a handle is dragged
  let live: [number, number] | null = null;
  if (ds && entry) {
    const w = ds.hi - ds.lo;
    const a = Math.max(entry.stats.min, ds.lo - 0.5 * w);
    const b = Math.min(entry.stats.max, ds.hi + 0.5 * w);
    live = b > a ? [a, b] : [ds.lo, ds.hi];
  }
  const range = dragging && frozen ? frozen : live;
  const r0 = range?.[0];
  const r1 = range?.[1];
  const version = meta?.version;

  useEffect(() => {
    const c = ref.current;
    const e = getPixels(id);
    if (!c || !e || r0 === undefined || r1 === undefined || !(r1 > r0)) return;
    // the display histogram of a very large image is taken on every k-th pixel (≥ 2^20 of them)
    const stride = Math.max(1, Math.floor(e.data.length / 2 ** 20));
    let sample: Float32Array = e.data;
    if (stride > 1) {
      sample = new Float32Array(Math.ceil(e.data.length / stride));
      for (let i = 0, k = 0; i < e.data.length; i += stride) sample[k++] = e.data[i];
    }
    const h = histogram(sample, r0, r1, BINS);
    const ctx = context2d(c)!;
    ctx.clearRect(0, 0, W, H);
    let max = 0;
    for (const n of h.counts) max = Math.max(max, n);
    const style = getComputedStyle(c);
    ctx.fillStyle = style.getPropertyValue('--muted') || '#888';
    const lmax = Math.log1p(max);
    for (let k = 0; k < BINS; k++) {
      const bh = lmax > 0 ? (Math.log1p(h.counts[k]) / lmax) * (H - 4) : 0;
      ctx.fillRect((k * W) / BINS, H - bh, W / BINS + 0.5, bh);
    }
  }, [id, r0, r1, version]);

  if (!display || !ds || !range) return null;
  const xOf = (v: number) => ((v - range[0]) / (range[1] - range[0])) * W;
  const valueAt = (clientX: number, el: HTMLElement) => {
    const r = el.getBoundingClientRect();
    return range[0] + ((clientX - r.left) / r.width) * (range[1] - range[0]);
  };
  const onDown = (which: 'lo' | 'hi') => (e: React.PointerEvent) => {
    e.preventDefault();
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    setFrozen(range);
    setDragging(which);
  };
  const onMove = (e: React.PointerEvent) => {
    if (!dragging) return;
    const host = (e.currentTarget as HTMLElement).closest('.histogram') as HTMLElement;
    const v = valueAt(e.clientX, host);
    const cur = drawSettings(id)!;
    const span = (range[1] - range[0]) * 1e-3;
    const lo = dragging === 'lo' ? Math.min(v, cur.hi - span) : cur.lo;
    const hi = dragging === 'hi' ? Math.max(v, cur.lo + span) : cur.hi;
    setDisplay(id, { limits: { mode: 'manual', lo, hi } });
  };
  const onUp = () => setDragging(null);
  return (
    <div className="histogram" style={{ width: W }} data-testid="histogram" onPointerMove={onMove} onPointerUp={onUp} onPointerCancel={onUp}>
      <canvas ref={ref} width={W} height={H} aria-label="Histogram of pixel values (log counts) with the display limits" />
      {(['lo', 'hi'] as const).map((k) => (
        <div
          key={k}
          className={`handle handle-${k}`}
          style={{ left: Math.max(0, Math.min(W, xOf(ds[k]))) }}
          onPointerDown={onDown(k)}
          role="slider"
          aria-label={k === 'lo' ? 'Lower display limit' : 'Upper display limit'}
          aria-valuenow={ds[k]}
          aria-valuemin={range[0]}
          aria-valuemax={range[1]}
          data-testid={`histogram-handle-${k}`}
          tabIndex={0}
          onKeyDown={(e) => {
            const step = (range[1] - range[0]) / 100;
            const d = e.key === 'ArrowRight' ? step : e.key === 'ArrowLeft' ? -step : 0;
            if (!d) return;
            e.preventDefault();
            const lo = k === 'lo' ? Math.min(ds.lo + d, ds.hi - step / 10) : ds.lo;
            const hi = k === 'hi' ? Math.max(ds.hi + d, ds.lo + step / 10) : ds.hi;
            setDisplay(id, { limits: { mode: 'manual', lo, hi } });
          }}
        />
      ))}
      <div className="histogram-range muted">
        <span>{formatValue(range[0])}</span>
        <span>{formatValue(range[1])}</span>
      </div>
    </div>
  );
}
