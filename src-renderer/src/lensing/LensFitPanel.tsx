import { useEffect } from 'react';
import { useStore } from '../store/index';
import type { LensStage } from '../../../src-shared/operators/forward-model-spec';
import { LENS_FIT_MASS_PROFILES, LENS_FIT_REGULARISATIONS } from '../../../src-shared/protocol/lensing';
import { NumberField } from '../model/fields';
import { useLensFit, type LensParameter } from './state';
import { applyFittedLens, exportLensFile, installLensFitEvents, startLensFit, stopLensFit } from './actions';
import './lensing.css';

/** The rows of the parameter table: the mass, then each light component's, with units. */
const MASS_ROWS: [string, string, string][] = [
  ['thetaE', 'θE', '″'],
  ['q', 'q', ''],
  ['phi', 'φ', 'rad'],
  ['x0', 'x0', '″'],
  ['y0', 'y0', '″'],
  ['gamma', 'γ (slope)', ''],
  ['gamma1', 'γ1', ''],
  ['gamma2', 'γ2', ''],
];
const LIGHT_ROWS: [string, string][] = [
  ['amplitude', 'data units'],
  ['rEff', '″'],
  ['n', ''],
  ['q', ''],
  ['phi', 'rad'],
  ['x0', '″'],
  ['y0', '″'],
];

function fmt(p: LensParameter | undefined): string {
  if (!p) return '—';
  if (p.error === null || !Number.isFinite(p.error)) return p.value.toPrecision(5);
  const digits = Math.max(0, Math.min(8, 1 - Math.floor(Math.log10(Math.abs(p.error) || 1e-12))));
  return `${p.value.toFixed(digits)} ± ${p.error.toFixed(digits)}`;
}

const busy = (s: string) => s === 'queued' || s === 'running' || s === 'stopping';

/**
 * "Fit lens": the lens fit of `skyscore lens-fit` on the observation, with the Noise step's σ, the model's PSF
 * and this lens stage's pixel scale; its settings, Fit / Stop, progress; the fitted parameters with their errors,
 * log Z and χ²/pixel; "Use the fitted lens" and the products' export.
 */
export function LensFitPanel({ op }: { op: LensStage }) {
  useEffect(() => installLensFitEvents(), []);
  const form = useLensFit((s) => s.form);
  const job = useLensFit((s) => s.job);
  const done = useLensFit((s) => s.done);
  const patch = useLensFit((s) => s.patchForm);
  const obs = useStore((s) => s.obs);
  const hasMask = useStore((s) => s.modelDoc.operators.some((o) => o.type === 'mask'));
  const running = busy(job.state);
  const lightKeys = done ? [...new Set(Object.keys(done.parameters).filter((k) => /^light\d+\./.test(k)).map((k) => k.split('.')[0]!))] : [];
  const fresh = done && obs && done.obsKey === `${obs.sha256}:${obs.hdu}:${obs.plane}`;
  return (
    <div className="lensfit" data-testid="lens-fit">
      <h4>Fit lens</h4>
      <p className="help">
        Fits the mass (an SIE, or an elliptical power law with its slope) + shear, the deflector&apos;s light (Sérsic) and a pixelated source to the observation by the Bayesian evidence, as <code>skyscore lens-fit</code> does: σ from the Noise step, the
        model&apos;s PSF, the image pixel scale above ({op.imagePixelScale}″).
      </p>
      <div className="grid2">
        <label>
          Fitted pixels
          <select value={form.mask} onChange={(e) => patch({ mask: e.target.value as typeof form.mask })} aria-label="Fitted pixels" data-testid="lens-fit-mask">
            <option value="all">every valid pixel</option>
            <option value="annulus">an annulus</option>
            <option value="model" disabled={!hasMask}>
              the model&apos;s mask
            </option>
          </select>
        </label>
        <label>
          Mass profile
          <select value={form.mass ?? 'sie'} onChange={(e) => patch({ mass: e.target.value as typeof form.mass })} aria-label="Mass profile to fit" data-testid="lens-fit-mass">
            {LENS_FIT_MASS_PROFILES.map((m) => (
              <option key={m} value={m}>
                {m === 'sie' ? 'SIE' : 'EPL (slope fitted)'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Regularisation
          <select value={form.regularisation} onChange={(e) => patch({ regularisation: e.target.value as typeof form.regularisation })} aria-label="Regularisation">
            {LENS_FIT_REGULARISATIONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        {form.mask === 'annulus' && (
          <>
            <NumberField label="Annulus r1" unit="″" min={0} value={form.r1} onChange={(v) => patch({ r1: v })} testId="lens-fit-r1" help="from the image centre" />
            <NumberField label="Annulus r2" unit="″" min={1e-6} value={form.r2} onChange={(v) => patch({ r2: v })} testId="lens-fit-r2" issue={form.r2 > form.r1 ? null : 'r2 must be larger than r1'} />
          </>
        )}
        <NumberField label="Starts" integer min={1} max={10} value={form.starts} onChange={(v) => patch({ starts: v })} testId="lens-fit-starts" help="of the mass search" />
        <NumberField label="Light components" integer min={0} max={2} value={form.light} onChange={(v) => patch({ light: v })} testId="lens-fit-light" help="Sérsic profiles" />
        <NumberField label="Fit source grid" integer min={4} max={40} value={form.fitSourceSize} onChange={(v) => patch({ fitSourceSize: v })} testId="lens-fit-fit-source" help="pixels a side while fitting" />
        <NumberField label="Source grid" integer min={4} max={64} value={form.sourceSize} onChange={(v) => patch({ sourceSize: v })} testId="lens-fit-source" help="pixels a side, final" />
        <NumberField
          label="Source pixel"
          unit="″"
          min={1e-6}
          value={form.sourceScale}
          onChange={(v) => patch({ sourceScale: v })}
          onClear={() => patch({ sourceScale: null })}
          placeholder="automatic"
          help="empty: the arcs' rays"
        />
        <NumberField label="Supersampling" integer min={1} max={8} value={form.supersample} onChange={(v) => patch({ supersample: v })} help="sub-pixels per side" />
        <NumberField label="PSF crop" unit="px" integer min={1} max={255} value={form.psfSize} onChange={(v) => patch({ psfSize: v })} issue={form.psfSize % 2 === 1 ? null : 'an odd number of pixels'} />
        <label className="row">
          <input type="checkbox" checked={form.errors} onChange={(e) => patch({ errors: e.target.checked })} data-testid="lens-fit-errors" />
          errors (slower)
        </label>
      </div>
      <div className="row">
        <button type="button" onClick={() => void startLensFit(op)} disabled={running || !obs} data-testid="lens-fit-start">
          Fit lens
        </button>
        <button type="button" onClick={() => void stopLensFit()} disabled={!running || job.state === 'stopping'} data-testid="lens-fit-stop">
          Stop
        </button>
        <span className={job.state === 'error' ? 'err' : 'muted'} data-testid="lens-fit-state" role={job.state === 'error' ? 'alert' : undefined}>
          {job.state === 'idle' ? (obs ? '' : 'open the observation first') : job.state === 'error' ? job.message : job.state === 'cancelled' ? 'stopped' : job.state === 'done' ? 'done' : job.state}
        </span>
      </div>
      {running && (
        <p className="lensfit-progress" data-testid="lens-fit-progress">
          {job.stage ? <strong>{job.stage}</strong> : null} {job.logEvidence !== null ? `log Z ${job.logEvidence.toFixed(2)} · ` : ''}
          {job.elapsedS.toFixed(0)} s<br />
          <small className="muted">{job.line ?? 'starting…'}</small>
        </p>
      )}
      {done && (
        <div className="lensfit-result" data-testid="lens-fit-result">
          {!fresh && <p className="warn">⚠ fitted to another observation</p>}
          <table className="lensfit-table" data-testid="lens-fit-table">
            <thead>
              <tr>
                <th>parameter</th>
                <th>value ± error</th>
                <th>unit</th>
              </tr>
            </thead>
            <tbody>
              {MASS_ROWS.filter(([k]) => k !== 'gamma' || done.parameters.gamma).map(([k, label, unit]) => (
                <tr key={k} data-testid={`lens-fit-row-${k}`}>
                  <td>{label}</td>
                  <td>{fmt(done.parameters[k])}</td>
                  <td>{k === 'phi' && done.parameters.phi ? `rad (${((done.parameters.phi.value * 180) / Math.PI).toFixed(1)}°)` : unit}</td>
                </tr>
              ))}
              {lightKeys.map((c) =>
                LIGHT_ROWS.map(([k, unit]) => (
                  <tr key={`${c}.${k}`} data-testid={`lens-fit-row-${c}.${k}`}>
                    <td>
                      light {Number(c.slice(5)) + 1} {k}
                    </td>
                    <td>{fmt(done.parameters[`${c}.${k}`])}</td>
                    <td>{unit}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
          <p data-testid="lens-fit-evidence">
            log Z = {done.logEvidence.toFixed(2)} · χ²/pixel = {done.chi2PerPixel.toFixed(3)} over {done.nPixels} pixels
          </p>
          <small className="muted">{done.command}</small>
          <div className="row">
            <button type="button" onClick={() => void applyFittedLens()} data-testid="lens-fit-use">
              Use the fitted lens
            </button>
          </div>
          <div className="row wrap">
            <span className="muted">Export:</span>
            {done.files.map((f) => (
              <button type="button" className="mini" key={f.name} onClick={() => exportLensFile(f)} data-testid={`lens-fit-export-${f.name}`}>
                {f.name}
              </button>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
