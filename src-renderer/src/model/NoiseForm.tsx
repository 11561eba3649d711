import { useCallback, useRef, useState } from 'react';
import { useStore } from '../store/index';
import type { Region } from '../store/model';
import { NumberField, FileButton, Section, Help } from './fields';
import { addModelFile, estimateNoise, scheduleValidate } from './actions';
import { readFileBytes } from '../export/download';
import { ImageCanvas } from '../run/ImageCanvas';
import { obsPlanePixels } from './files';

/** Gaussian noise σ: typed in, estimated from the data (MAD of a region), or a σ map. */
export function NoiseForm() {
  const noise = useStore((s) => s.noise);
  const obs = useStore((s) => s.obs);
  const setNoise = useStore((s) => s.setNoise);
  const [drawing, setDrawing] = useState(false);
  const [version, setVersion] = useState(0);
  const drag = useRef<{ x: number; y: number; cur: { x: number; y: number } } | null>(null);
  const px = obs ? obsPlanePixels(obs.hdu, obs.plane) : null;
  const region = noise.region;

  const overlay = useCallback(
    (ctx: CanvasRenderingContext2D, m: { sx: (x: number) => number; sy: (y: number) => number; scale: number }) => {
      const d = drag.current;
      const r: Region | null = d ? { x0: Math.min(d.x, d.cur.x), y0: Math.min(d.y, d.cur.y), x1: Math.max(d.x, d.cur.x) + 1, y1: Math.max(d.y, d.cur.y) + 1 } : region;
      if (!r) return;
      ctx.strokeStyle = '#ffcc00';
      ctx.lineWidth = 1.5;
      const s = m.scale;
      ctx.strokeRect(m.sx(r.x0) - s / 2, m.sy(r.y1 - 1) - s / 2, (r.x1 - r.x0) * s, (r.y1 - r.y0) * s);
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [region, version],
  );

  return (
    <Section title="Noise" testId="noise-section">
      <Help>Gaussian noise of the data, σ in data units{obs?.bunit ? ` (${obs.bunit})` : ''}. The likelihood is N(y; A x, σ²).</Help>
      <div className="radios" role="radiogroup" aria-label="Noise model">
        {(
          [
            ['sigma', 'Type σ'],
            ['mad', 'Estimate from the data'],
            ['map', 'σ map (FITS)'],
          ] as const
        ).map(([m, label]) => (
          <label key={m}>
            <input
              type="radio"
              name="noise-mode"
              checked={noise.mode === m}
              onChange={() => {
                setNoise({ mode: m, ...(m !== noise.mode && m === 'mad' ? { sigma: null, estimatedFrom: null } : {}) });
                scheduleValidate();
              }}
            />{' '}
            {label}
          </label>
        ))}
      </div>
      {noise.mode === 'sigma' && (
        <NumberField label="σ" value={noise.sigma} min={Number.MIN_VALUE} testId="noise-sigma" help="one σ for every pixel" issue={noise.sigma === null ? 'type σ (> 0)' : null} onChange={(v) => setNoise({ sigma: v })} />
      )}
      {noise.mode === 'mad' && (
        <>
          <div className="row">
            <button type="button" disabled={!obs} onClick={() => void estimateNoise(null)} data-testid="noise-estimate">
              Estimate (whole image)
            </button>
            <button type="button" disabled={!px} className={drawing ? 'on' : ''} aria-pressed={drawing} onClick={() => setDrawing((d) => !d)}>
              Draw a region…
            </button>
          </div>
          {drawing && px && (
            <ImageCanvas
              data={px.data}
              shape={px.shape}
              version={version}
              title="Noise region"
              caption="drag over a source-free area"
              stretch="asinh"
              width={268}
              overlay={overlay}
              onPointer={(kind, p) => {
                if (kind === 'down') drag.current = { x: p.x, y: p.y, cur: p };
                else if (kind === 'move' && drag.current) drag.current.cur = p;
                else if (kind === 'up' && drag.current) {
                  const d = drag.current;
                  drag.current = null;
                  const r = { x0: Math.min(d.x, p.x), y0: Math.min(d.y, p.y), x1: Math.max(d.x, p.x) + 1, y1: Math.max(d.y, p.y) + 1 };
                  setDrawing(false);
                  void estimateNoise(r);
                }
                setVersion((v) => v + 1);
              }}
            />
          )}
          <p className="value" data-testid="noise-estimated">
            {noise.sigma !== null
              ? `σ = ${noise.sigma.toPrecision(4)} (1.4826 × MAD of ${noise.estimatedFrom ?? '?'} pixels${region ? `, region x ${region.x0}–${region.x1 - 1}, y ${region.y0}–${region.y1 - 1}` : ''})`
              : 'not estimated yet'}
          </p>
        </>
      )}
      {noise.mode === 'map' && (
        <>
          <div className="row">
            <FileButton
              label="σ map FITS…"
              accept=".fits,.fit,.fts,.fz,.gz"
              ariaLabel="Noise sigma map FITS file"
              onFiles={async (fs) => {
                const f = fs[0]!;
                const name = await addModelFile(f.name, await readFileBytes(f), 'sigma');
                setNoise({ mapFile: name });
                scheduleValidate();
              }}
            />
            <span className="filename">{noise.mapFile ?? 'none chosen'}</span>
          </div>
          <small className="muted">σ per pixel, on the observation's grid; non-positive or NaN σ marks a pixel as missing.</small>
        </>
      )}
    </Section>
  );
}
