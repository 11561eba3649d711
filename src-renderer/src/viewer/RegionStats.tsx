/**
 * Statistics of the region drawn on a panel (drag tool "box" or "circle"), as DS9 and CARTA give them: pixel
 * count, sum, mean, standard deviation, median, MAD and its σ, min and max, in the image's unit. They follow
 * the image (live previews update them).
 */
import { useMemo } from 'react';
import { useStore } from '../store/index';
import { getPixels } from '../cache/pixels';
import { regionStats } from '../../../src-shared/image/region';
import { formatValue } from './ColorBar';

export function RegionStats() {
  const region = useStore((s) => s.region);
  const meta = useStore((s) => (s.region ? s.images[s.region.id] : undefined));
  const setRegion = useStore((s) => s.setRegion);
  const version = meta?.version;
  const stats = useMemo(() => {
    const e = region ? getPixels(region.id) : undefined;
    return e && region ? regionStats(e.data, [e.height, e.width], region.region) : null;
    // the pixels change with the image's version
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [region, version]);
  if (!region || !meta || !stats) return null;
  const r = region.region;
  const where = r.kind === 'box' ? `box x ${r.x0 + 1}–${r.x1 + 1}, y ${r.y0 + 1}–${r.y1 + 1}` : `circle at (${(r.cx + 1).toFixed(1)}, ${(r.cy + 1).toFixed(1)}), r ${r.r.toFixed(1)} px`;
  const u = meta.bunit ? ` ${meta.bunit}` : '';
  const cells: [string, string, string][] = [
    ['pixels', `${stats.finite}${stats.finite < stats.pixels ? ` of ${stats.pixels} (${stats.pixels - stats.finite} blank)` : ''}`, 'count'],
    ['sum', formatValue(stats.sum) + u, 'sum'],
    ['mean', formatValue(stats.mean) + u, 'mean'],
    ['std', formatValue(stats.std) + u, 'std'],
    ['median', formatValue(stats.median) + u, 'median'],
    ['MAD', `${formatValue(stats.mad)} (σ ≈ ${formatValue(1.4826 * stats.mad)})`, 'mad'],
    ['min', formatValue(stats.min), 'min'],
    ['max', formatValue(stats.max), 'max'],
  ];
  return (
    <div className="region-stats" data-testid="region-stats" role="status" aria-label="Region statistics">
      <span className="muted">
        {meta.title}: {where}
      </span>
      {cells.map(([k, v, t]) => (
        <span key={k}>
          {k} <b data-testid={`region-${t}`}>{v}</b>
        </span>
      ))}
      <button type="button" className="mini" onClick={() => setRegion(null)} aria-label="Remove the region">
        ×
      </button>
    </div>
  );
}
