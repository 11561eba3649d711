/**
 * The viewer's controls: open a file, choose its HDU and plane, and the display of the active panel
 * (scale, limits, colour map, invert), the histogram with limit handles, and whether views are locked.
 */
import { useRef } from 'react';
import { useStore } from '../store/index';
import { SCALE_NAMES, SCALE_LABELS, DEFAULT_SCALE_PARAM, type ScaleName } from '../../../src-shared/image/scales';
import { COLORMAP_NAMES, type ColormapName } from '../../../src-shared/image/colormaps';
import { PERCENTILE_PRESETS } from '../../../src-shared/image/stats';
import type { LimitsSpec } from '../../../src-shared/image/limits';
import { drawSettings } from './images';
import { openFile, showPlane } from './open';
import { HistogramEditor } from './Histogram';
import { formatValue } from './ColorBar';
import type { DragTool } from '../store/ui';
import { getOverlay } from '../run/previews';
import { showImage } from './images';
import { overlaySummary } from './overlays';

/** The PSF of operator i (as the engine builds it: normalised, centred) in a panel, pixel for pixel. */
function showPsf(i: number): void {
  const o = getOverlay(i);
  if (o?.kind !== 'psf') return;
  const s = useStore.getState();
  const src = s.obs ? { key: `${s.obs.sha256}:${s.obs.hdu}:${s.obs.plane}`, label: s.obs.name } : null;
  showImage({ id: 'psf', title: `PSF — operator ${i + 1} (${o.shape[1]}×${o.shape[0]}, sum ${o.sum.toFixed(4)})`, role: 'other', data: Float32Array.from(o.kernel), shape: o.shape, source: src });
  s.setDisplay('psf', { scale: 'log' });
  s.setActiveImage('psf');
}

export const FITS_ACCEPT = '.fits,.fit,.fts,.fz,.gz,.FITS,.FIT,.FTS,.uvfits,.uvf,.UVFITS,application/fits,image/fits';

const limitKey = (l: LimitsSpec): string => (l.mode === 'percentile' || l.mode === 'symmetric' ? `${l.mode}:${l.percent}` : l.mode);

function parseLimitKey(k: string, current: [number, number]): LimitsSpec {
  const [mode, p] = k.split(':');
  if (mode === 'percentile' || mode === 'symmetric') return { mode, percent: Number(p) };
  if (mode === 'manual') return { mode, lo: current[0], hi: current[1] };
  return { mode: mode as 'minmax' | 'zscale' };
}

export function OpenButton({ label = 'Open FITS…' }: { label?: string }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" onClick={() => input.current?.click()} title="Open a FITS file (or drop it on the images)">
        {label}
      </button>
      <input
        ref={input}
        type="file"
        accept={FITS_ACCEPT}
        hidden
        data-testid="open-fits-input"
        aria-label="Open a FITS file"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = '';
          if (f) void openFile(f);
        }}
      />
    </>
  );
}

function FileChooser() {
  const b = useStore((s) => s.browsed);
  const busy = useStore((s) => s.viewerBusy);
  if (!b) return null;
  const images = b.hdus.filter((h) => h.hasImage);
  const h = b.hdus[b.hdu];
  const planes = h?.planes ?? 1;
  const axis = h?.planeAxis;
  return (
    <>
      {images.length > 1 && (
        <label>
          HDU{' '}
          <select value={b.hdu} onChange={(e) => void showPlane(Number(e.target.value), 0)} disabled={!!busy} aria-label="HDU" data-testid="hdu-select">
            {b.hdus.map((x) => (
              <option key={x.index} value={x.index} disabled={!x.hasImage}>
                {x.index}
                {x.name ? ` ${x.name}` : ''} — {x.summary}
              </option>
            ))}
          </select>
        </label>
      )}
      {planes > 1 && (
        <label className="plane">
          plane{' '}
          <input type="range" min={0} max={planes - 1} value={b.plane} onChange={(e) => void showPlane(b.hdu, Number(e.target.value))} disabled={!!busy} aria-label="Plane (slider)" />
          <input
            type="number"
            min={1}
            max={planes}
            value={b.plane + 1}
            onChange={(e) => {
              const k = Math.round(Number(e.target.value)) - 1;
              if (k >= 0 && k < planes) void showPlane(b.hdu, k);
            }}
            disabled={!!busy}
            aria-label="Plane"
            data-testid="plane-input"
            style={{ width: 64 }}
          />
          <span className="muted">
            / {planes}
            {axis && axis.values[b.plane] !== undefined ? ` · ${axis.ctype || 'axis 3'} = ${formatValue(axis.values[b.plane])}${axis.unit ? ` ${axis.unit}` : ''}` : ''}
          </span>
        </label>
      )}
    </>
  );
}

/** The overlays' checkbox label: the mask's masked pixels, the lens curves, the noise box. */
function overlayLabel(): string {
  const o = overlaySummary();
  return [o.mask ? `mask (${o.masked} px)` : '', ...o.labels].filter(Boolean).join(', ');
}

export function ViewerToolbar() {
  const id = useStore((s) => s.activeImage);
  const display = useStore((s) => (id ? s.display[id] : undefined));
  const meta = useStore((s) => (id ? s.images[id] : undefined));
  const setDisplay = useStore((s) => s.setDisplay);
  const lock = useStore((s) => s.lockViews);
  const setLock = useStore((s) => s.setLockViews);
  const nPanels = useStore((s) => s.order.length);
  const hasObs = useStore((s) => !!s.obs && !!s.images.observation);
  const tool = useStore((s) => s.dragTool);
  const maskOverlay = useStore((s) => s.maskOverlay);
  const showMask = useStore((s) => s.showMask);
  const psfIndex = useStore((s) => (s.overlayVersion >= 0 ? s.modelDoc.operators.findIndex((o, i) => o.type === 'psf' && getOverlay(i)?.kind === 'psf') : -1));
  const setTool = useStore((s) => s.setDragTool);
  const ds = id ? drawSettings(id) : null;
  void meta;
  return (
    <div className="viewer-toolbar" role="toolbar" aria-label="Viewer">
      <div className="row">
        <OpenButton />
        <FileChooser />
        <span className="spacer" />
        {nPanels > 0 && (
          <label title="What dragging on an image does">
            drag{' '}
            <select value={tool} onChange={(e) => setTool(e.target.value as DragTool)} aria-label="Drag tool" data-testid="drag-tool">
              <option value="pan">pans</option>
              {hasObs && <option value="cutout">cuts out a box of the observation</option>}
              <option value="box">draws a box region (statistics)</option>
              <option value="circle">draws a circle region (statistics)</option>
            </select>
          </label>
        )}
        {maskOverlay && (
          <label title="Draw the forward model's mask (masked pixels in red), a lens's critical curves and the correlated noise's blank-sky box over the observation, the lens's caustics over the posterior mean">
            <input type="checkbox" checked={showMask} onChange={(e) => useStore.getState().setShowMask(e.target.checked)} aria-label="Show the overlays" data-testid="show-mask" />{' '}
            {overlayLabel()}
          </label>
        )}
        {psfIndex >= 0 && (
          <button type="button" onClick={() => showPsf(psfIndex)} data-testid="show-psf" title="Show the forward model's PSF at full size in a panel of its own">
            PSF
          </button>
        )}
        {hasObs && (
          <>
            <button type="button" onClick={() => useStore.getState().setCutout({ box: null, bin: null })} data-testid="cutout-open" title="Cut out (and bin) a part of the observation by its centre and size, in pixels or sky coordinates">
              Cutout…
            </button>
          </>
        )}
        {nPanels > 1 && (
          <label title="Pan and zoom all panels together">
            <input type="checkbox" checked={lock} onChange={(e) => setLock(e.target.checked)} aria-label="Lock views" /> lock views
          </label>
        )}
      </div>
      {id && display && ds && (
        <div className="row display-controls">
          <label>
            Scale{' '}
            <select value={display.scale} onChange={(e) => setDisplay(id, { scale: e.target.value as ScaleName, scaleParam: DEFAULT_SCALE_PARAM[e.target.value as ScaleName] })} aria-label="Scale">
              {SCALE_NAMES.map((s) => (
                <option key={s} value={s}>
                  {SCALE_LABELS[s]}
                </option>
              ))}
            </select>
          </label>
          {(display.scale === 'log' || display.scale === 'power' || display.scale === 'asinh') && (
            <label title={display.scale === 'asinh' ? 'β: larger β compresses bright values more' : 'a: larger a stretches more'}>
              {display.scale === 'asinh' ? 'β' : 'a'}{' '}
              <input
                type="number"
                min={display.scale === 'asinh' ? 0.01 : 1.01}
                step="any"
                value={display.scaleParam || DEFAULT_SCALE_PARAM[display.scale]}
                onChange={(e) => {
                  const v = Number(e.target.value);
                  if (v > (display.scale === 'asinh' ? 0 : 1)) setDisplay(id, { scaleParam: v });
                }}
                aria-label="Scale parameter"
                style={{ width: 72 }}
              />
            </label>
          )}
          <label>
            Limits{' '}
            <select value={limitKey(display.limits)} onChange={(e) => setDisplay(id, { limits: parseLimitKey(e.target.value, [ds.lo, ds.hi]) })} aria-label="Limits">
              <option value="minmax">min / max</option>
              <option value="zscale">zscale</option>
              {PERCENTILE_PRESETS.map((p) => (
                <option key={p} value={`percentile:${p}`}>
                  {p} %
                </option>
              ))}
              <option value="symmetric:99.5">± 99.5 % (symmetric)</option>
              <option value="manual">by hand</option>
            </select>
          </label>
          <LimitInput label="low" value={ds.lo} onSet={(v) => v < ds.hi && setDisplay(id, { limits: { mode: 'manual', lo: v, hi: ds.hi } })} />
          <LimitInput label="high" value={ds.hi} onSet={(v) => v > ds.lo && setDisplay(id, { limits: { mode: 'manual', lo: ds.lo, hi: v } })} />
          <label>
            Colours{' '}
            <select value={display.colormap} onChange={(e) => setDisplay(id, { colormap: e.target.value as ColormapName })} aria-label="Colour map">
              {COLORMAP_NAMES.map((c) => (
                <option key={c} value={c}>
                  {c}
                  {c === 'coolwarm' ? ' (diverging)' : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            <input type="checkbox" checked={display.invert} onChange={(e) => setDisplay(id, { invert: e.target.checked })} aria-label="Invert colour map" /> invert
          </label>
          <HistogramEditor id={id} />
        </div>
      )}
    </div>
  );
}

function LimitInput({ label, value, onSet }: { label: string; value: number; onSet: (v: number) => void }) {
  // uncontrolled while typing: commit on Enter or blur
  return (
    <label>
      {label}{' '}
      <input
        key={value}
        type="text"
        inputMode="decimal"
        defaultValue={formatValue(value)}
        aria-label={`${label === 'low' ? 'Lower' : 'Upper'} limit`}
        style={{ width: 86 }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
        }}
        onBlur={(e) => {
          const v = Number(e.target.value);
          if (e.target.value.trim() !== '' && Number.isFinite(v) && formatValue(v) !== formatValue(value)) onSet(v);
          else e.target.value = formatValue(value);
        }}
      />
    </label>
  );
}
