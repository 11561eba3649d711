/**
 * The cutout dialog: a box on the observation — its centre and size in pixels (1-based, as DS9 shows them) or
 * in sky coordinates where the observation has a WCS — and a binning factor; the result's size and grid are
 * shown before it becomes the observation (model/cutout.ts does the work).
 */
import { useMemo, useState } from 'react';
import { useStore } from '../store/index';
import { getPixels } from '../cache/pixels';
import { OBSERVATION_ID } from '../viewer/open';
import { parseAngle, sexagesimal } from '../viewer/wcs';
import { binnedShape, boxAround, clipBox, suggestBin, type CutBox } from '../../../src-shared/image/cutout';
import { applyCutout } from '../model/cutout';

type Units = 'pixels' | 'sky';

interface Fields {
  units: Units;
  cx: string;
  cy: string;
  w: string;
  h: string;
  bin: string;
}

const fmt = (v: number) => String(+v.toFixed(2));

function initialFields(box: CutBox | null, shape: [number, number], bin: number): Fields {
  const b = box ?? { x0: 0, y0: 0, nx: shape[1], ny: shape[0] };
  return { units: 'pixels', cx: fmt(b.x0 + (b.nx - 1) / 2 + 1), cy: fmt(b.y0 + (b.ny - 1) / 2 + 1), w: String(b.nx), h: String(b.ny), bin: String(bin) };
}

/** The box the fields describe (0-based pixels), or what is wrong with them. */
function boxOf(f: Fields, shape: [number, number]): { box: CutBox; k: number } | string {
  const k = Number(f.bin);
  if (!(Number.isInteger(k) && k >= 1)) return 'the binning factor must be a whole number ≥ 1';
  const wcs = getPixels(OBSERVATION_ID)?.wcs ?? null;
  let cx: number;
  let cy: number;
  let nx: number;
  let ny: number;
  if (f.units === 'sky') {
    if (!wcs) return 'the observation has no celestial WCS: give the box in pixels';
    const lon = parseAngle(f.cx, wcs.lonName === 'RA');
    const lat = parseAngle(f.cy, false);
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return `give the centre as ${wcs.lonName} and ${wcs.latName} (degrees, or sexagesimal)`;
    [cx, cy] = wcs.worldToPixel(lon, lat);
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) return 'that sky position is not on the image';
    const scale = wcs.pixelScaleDeg * 3600;
    nx = Math.round(Number(f.w) / scale);
    ny = Math.round(Number(f.h) / scale);
  } else {
    cx = Number(f.cx) - 1;
    cy = Number(f.cy) - 1;
    nx = Number(f.w);
    ny = Number(f.h);
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) return 'give the centre in pixels (1-based)';
  }
  if (!(Number.isInteger(nx) && Number.isInteger(ny) && nx >= 1 && ny >= 1)) return f.units === 'sky' ? 'give the size in arcseconds (at least one pixel)' : 'give the size in whole pixels ≥ 1';
  try {
    const box = clipBox(boxAround(cx, cy, nx, ny), shape);
    if (box.nx < k || box.ny < k) return `a ${box.nx}×${box.ny} box has no whole ${k}×${k} block`;
    return { box, k };
  } catch (e) {
    return (e as Error).message;
  }
}

export function CutoutDialog() {
  const c = useStore((s) => s.cutout);
  const obs = useStore((s) => s.obs);
  if (!c || !obs) return null;
  return <Dialog key={`${obs.sha256}:${JSON.stringify(c)}`} box={c.box} bin={c.bin} />;
}

function Dialog({ box, bin }: { box: CutBox | null; bin: number | null }) {
  const obs = useStore((s) => s.obs)!;
  const prior = useStore((s) => s.priors.find((p) => p.spec === s.priorSpec) ?? null);
  const close = () => useStore.getState().setCutout(null);
  const suggested = prior ? suggestBin(box ? [box.ny, box.nx] : obs.shape, prior.imageShape) : 1;
  const [f, setF] = useState<Fields>(() => initialFields(box, obs.shape, bin ?? 1));
  const [busy, setBusy] = useState(false);
  const wcs = getPixels(OBSERVATION_ID)?.wcs ?? null;
  const parsed = useMemo(() => boxOf(f, obs.shape), [f, obs.shape]);
  const set = (patch: Partial<Fields>) => setF((x) => ({ ...x, ...patch }));

  const switchUnits = (units: Units) => {
    if (units === f.units) return;
    const p = boxOf(f, obs.shape);
    if (typeof p === 'string' || !wcs) return set({ units });
    const b = p.box;
    const cx = b.x0 + (b.nx - 1) / 2;
    const cy = b.y0 + (b.ny - 1) / 2;
    if (units === 'sky') {
      const [lon, lat] = wcs.pixToWorld(cx, cy);
      const s = wcs.pixelScaleDeg * 3600;
      set({ units, cx: wcs.lonName === 'RA' ? sexagesimal(lon, true) : lon.toFixed(6), cy: wcs.lonName === 'RA' ? sexagesimal(lat, false).replace('−', '-') : lat.toFixed(6), w: fmt(b.nx * s), h: fmt(b.ny * s) });
    } else set({ units, cx: fmt(cx + 1), cy: fmt(cy + 1), w: String(b.nx), h: String(b.ny) });
  };

  const apply = async () => {
    if (typeof parsed === 'string') return;
    setBusy(true);
    try {
      const r = await applyCutout(parsed.box, parsed.k);
      close();
      useStore.getState().notify('info', `${r.name} (${r.shape[1]}×${r.shape[0]} px) is the observation${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`);
    } catch (e) {
      useStore.getState().notify('error', `Cutout: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const out = typeof parsed === 'string' ? null : binnedShape(parsed.box, parsed.k);
  return (
    <div className="modal-backdrop" onClick={close}>
      <div className="modal cutout-dialog" role="dialog" aria-modal="true" aria-label="Cutout of the observation" data-testid="cutout-dialog" onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.key === 'Escape' && close()}>
        <header>
          <strong>Cutout of {obs.name}</strong>
          <span className="spacer" />
          <button type="button" onClick={close} aria-label="Close cutout">
            ×
          </button>
        </header>
        <p className="muted">
          A box of the observation ({obs.shape[1]}×{obs.shape[0]} px), binned by an integer factor if its pixels are finer than the prior&apos;s scale, becomes a new observation with its WCS moved to the new grid.
        </p>
        <div className="cutout-grid">
          <label>
            Units{' '}
            <select value={f.units} onChange={(e) => switchUnits(e.target.value as Units)} aria-label="Box units" data-testid="cutout-units">
              <option value="pixels">pixels (1-based)</option>
              <option value="sky" disabled={!wcs}>
                sky ({wcs ? `${wcs.lonName}/${wcs.latName}, arcsec` : 'no WCS'})
              </option>
            </select>
          </label>
          <span />
          <label>
            {f.units === 'sky' ? wcs?.lonName : 'centre x'}{' '}
            <input value={f.cx} onChange={(e) => set({ cx: e.target.value })} aria-label="Centre x" data-testid="cutout-cx" />
          </label>
          <label>
            {f.units === 'sky' ? wcs?.latName : 'centre y'}{' '}
            <input value={f.cy} onChange={(e) => set({ cy: e.target.value })} aria-label="Centre y" data-testid="cutout-cy" />
          </label>
          <label>
            width {f.units === 'sky' ? '(″)' : '(px)'}{' '}
            <input value={f.w} onChange={(e) => set({ w: e.target.value })} aria-label="Width" data-testid="cutout-w" />
          </label>
          <label>
            height {f.units === 'sky' ? '(″)' : '(px)'}{' '}
            <input value={f.h} onChange={(e) => set({ h: e.target.value })} aria-label="Height" data-testid="cutout-h" />
          </label>
          <label>
            bin by{' '}
            <input type="number" min={1} step={1} value={f.bin} onChange={(e) => set({ bin: e.target.value })} aria-label="Binning factor" data-testid="cutout-bin" />
          </label>
          <span className="muted">{prior && suggested > 1 ? `${suggested} brings it near the ${prior.imageShape[1]}×${prior.imageShape[0]} images of ${prior.name}` : ''}</span>
        </div>
        <p data-testid="cutout-result" className={typeof parsed === 'string' ? 'err' : ''}>
          {typeof parsed === 'string'
            ? parsed
            : `→ ${out![1]}×${out![0]} px: x ${parsed.box.x0 + 1}–${parsed.box.x0 + parsed.box.nx}, y ${parsed.box.y0 + 1}–${parsed.box.y0 + parsed.box.ny}${parsed.k > 1 ? `, ${parsed.k}×${parsed.k} pixels averaged` : ''}`}
        </p>
        <footer className="row">
          <span className="spacer" />
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={typeof parsed === 'string' || busy} onClick={() => void apply()} data-testid="cutout-apply">
            Make it the observation
          </button>
        </footer>
      </div>
    </div>
  );
}
