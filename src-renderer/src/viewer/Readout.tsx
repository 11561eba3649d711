/** The cursor read-out: pixel (FITS, 1-based), value, and sky coordinates from the WCS. */
import { useEffect, useState } from 'react';
import { onCursor, type CursorInfo } from './cursor';
import { sexagesimal } from './wcs';
import { formatValue } from './ColorBar';
import { useStore } from '../store/index';

export function Readout() {
  const [c, setC] = useState<CursorInfo | null>(null);
  const note = useStore((s) => (c ? s.images[c.imageId]?.wcsNote : null));
  useEffect(() => onCursor(setC), []);
  if (!c) return <div className="readout muted" data-testid="readout">Move the pointer over an image to read pixel values and sky coordinates.</div>;
  const ra = c.world && c.world.lonName === 'RA';
  return (
    <div className="readout" data-testid="readout">
      <span className="muted">{c.title}</span>
      <span>
        pixel{' '}
        <b data-testid="readout-pixel">
          {c.x + 1}, {c.y + 1}
        </b>
      </span>
      <span>
        value <b data-testid="readout-value">{Number.isNaN(c.value) ? 'NaN (blank)' : formatValue(c.value)}</b>
        {c.bunit ? ` ${c.bunit}` : ''}
      </span>
      {c.world ? (
        <>
          <span>
            {c.world.lonName} <b data-testid="readout-lon-sex">{sexagesimal(c.world.lon, !!ra)}</b> (<span data-testid="readout-lon">{c.world.lon.toFixed(7)}</span>°)
          </span>
          <span>
            {c.world.latName} <b data-testid="readout-lat-sex">{sexagesimal(c.world.lat, false)}</b> (<span data-testid="readout-lat">{c.world.lat.toFixed(7)}</span>°)
          </span>
          <span className="muted">{c.world.frame}</span>
        </>
      ) : (
        <span className="muted">{note ?? 'no WCS'}</span>
      )}
    </div>
  );
}
