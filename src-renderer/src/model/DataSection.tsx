import { useStore } from '../store/index';
import { FileButton, Section, Help } from './fields';
import { chooseObs, openObservation } from './actions';
import { readFileBytes } from '../export/download';
import { observationLocked } from './viewer-link';
import { adoptViewed, VIEWED_ID } from '../viewer/open';
import { binnedShape, sizeRatio, suggestBin } from '../../../src-shared/image/cutout';
import type { ObsMeta } from '../store/model';
import type { PriorInfo } from '../../../src-shared/protocol/index';

/** Far from the prior's training size: the scale of what the prior learnt is not the observation's. */
function ScaleNote({ obs, prior }: { obs: ObsMeta; prior: PriorInfo }) {
  const ratio = sizeRatio(obs.shape, prior.imageShape);
  if (ratio < 1.5) return null;
  const [ny, nx] = obs.shape;
  const [py, px] = prior.imageShape;
  const larger = Math.max(ny, nx) > Math.max(py, px);
  const k = suggestBin(obs.shape, prior.imageShape);
  const [by, bx] = binnedShape({ x0: 0, y0: 0, nx, ny }, k);
  return (
    <div className="note warn" data-testid="obs-scale-note">
      <p>
        {nx}×{ny} px is {ratio.toFixed(1)}× {larger ? 'larger' : 'smaller'} than the {px}×{py} images the prior {prior.name} was trained on: it runs{' '}
        {larger ? '(a U-Net is fully convolutional)' : 'where its down-sampling allows'}, but what it learnt is at that scale
        {larger ? ' — cut out the region of interest, or bin the pixels if they are much finer than the structures' : ''}.
      </p>
      {larger && (
        <p className="row">
          {k > 1 && (
            <button type="button" className="mini" onClick={() => useStore.getState().setCutout({ box: null, bin: k })} data-testid="obs-bin-suggest">
              Bin by {k} → {bx}×{by} px…
            </button>
          )}
          <button type="button" className="mini" onClick={() => useStore.getState().setDragTool('cutout')}>
            Drag a box…
          </button>
          <button type="button" className="mini" onClick={() => useStore.getState().setCutout({ box: null, bin: null })}>
            Cutout…
          </button>
        </p>
      )}
    </div>
  );
}

const FITS_ACCEPT = '.fits,.fit,.fts,.fz,.gz,application/fits';

/** The observation y: a FITS file, its HDU and plane. */
export function DataSection() {
  const obs = useStore((s) => s.obs);
  const viewed = useStore((s) => s.images[VIEWED_ID]);
  const prior = useStore((s) => s.priors.find((p) => p.spec === s.priorSpec) ?? null);
  // a run holds its observation: no other file, HDU or plane until it ends
  const locked = useStore((s) => ['starting', 'queued', 'running', 'stopping'].includes(s.run.state));
  return (
    <Section title="Data" testId="data-section">
      <Help>The observed image y (the first file opened in the viewer becomes the observation; later ones are only viewed until you choose). Its grid is the grid the forward model must end on.</Help>
      <div className="row">
        <FileButton
          label={obs ? 'Change…' : 'Open observation…'}
          accept={FITS_ACCEPT}
          ariaLabel="Observation FITS file"
          testId="obs-file"
          disabled={locked}
          onFiles={async (files) => {
            const f = files[0]!;
            const locked = observationLocked();
            if (locked) {
              useStore.getState().notify('error', `${f.name} was not made the observation: ${locked}`);
              return;
            }
            await openObservation(f.name, await readFileBytes(f));
          }}
        />
        {obs && (
          <span className="filename" data-testid="obs-name" title={obs.sha256}>
            {obs.name}
          </span>
        )}
      </div>
      {viewed && (
        <p className="row" data-testid="data-viewed">
          <span className="muted">The viewer also shows {viewed.source?.label ?? viewed.title} (viewed only, not used by the run).</span>
          <button type="button" className="mini" onClick={() => void adoptViewed()}>
            Use as observation
          </button>
        </p>
      )}
      {obs && (
        <div className="grid2">
          <label>
            HDU
            <select aria-label="Observation HDU" disabled={locked} value={obs.hdu} onChange={(e) => chooseObs(Number(e.target.value), 0)}>
              {obs.hdus.map((h) => (
                <option key={h.index} value={h.index}>
                  {h.label}
                </option>
              ))}
            </select>
          </label>
          {obs.planes > 1 ? (
            <label>
              Plane (1–{obs.planes})
              <input aria-label="Observation plane" disabled={locked} type="number" min={1} max={obs.planes} value={obs.plane + 1} onChange={(e) => chooseObs(obs.hdu, Number(e.target.value) - 1)} />
            </label>
          ) : (
            <span />
          )}
          <span className="muted" data-testid="obs-shape">
            {obs.shape[0]}×{obs.shape[1]} px (ny×nx){obs.bunit ? ` · ${obs.bunit}` : ''}
          </span>
        </div>
      )}
      {obs && prior && <ScaleNote obs={obs} prior={prior} />}
    </Section>
  );
}
