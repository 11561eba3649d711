/**
 * The Visibilities view of an open UVFITS file: its summary (as `skyscore info` gives it), the uv coverage
 * ((u, v) and (−u, −v), square, zoomable, at full size on demand), the amplitude against uv distance (with the
 * CLEAN model's or the posterior mean's amplitudes over it once there is one), the imaging and CLEAN settings, the
 * CLEAN job's progress and Stop, the posterior from the visibilities (prior, the run panel's sampler settings, the
 * weights rescaled to the data's scatter; progress, Stop, Stop and keep, the report's warnings), and the products
 * to export (the files of `skyscore clean` or `skyscore reconstruct --vis`). Self-calibration (the command line's
 * --selfcal flags) applies to CLEAN and to the posterior; after a run its rounds' figures show under its progress.
 */
import { useEffect, useMemo } from 'react';
import { useRadio } from './state';
import { ScatterPlot } from './ScatterPlot';
import { uvUnit, type ScatterSeries } from './scatter';
import { installRadioEvents, makeDirtyImage, cancelDirtyImage, patchImaging, startClean, stopClean, exportProduct, closeUvfits, chooseProduct, chooseSource, posteriorPrior, startPosterior, stopPosterior } from './actions';
import { SamplerFields } from '../run/SamplerFields';
import { useStore } from '../store/index';
import { refreshPriors } from '../run/actions';
import { fmtJy } from './format';
import { NumberField } from '../model/fields';
import type { UvOpenResult, UvSelfcalReport, UvSourceChoice, UvSourceEntry } from '../../../src-shared/protocol/index';
import { hms, hz } from './format';
import './radio.css';

const UV_COLOR = '#3b8fd9';
const MODEL_COLOR = '#e8663d';

function uvText(x: number | null): string {
  if (x === null) return '—';
  const u = uvUnit(x);
  return `${+(x / u.scale).toPrecision(4)} ${u.label}`;
}

function Summary({ open }: { open: UvOpenResult }) {
  const s = open.summary;
  const rows: [string, string, string][] = [
    ['object', 'Source', open.source ? `${open.source.name} (SOURCE ${open.source.id})` : s.object || '—'],
    ...(open.sources ? ([['sources', 'Sources', `${open.sources.length} in the file: ${open.sources.map((x) => `${x.id} ${x.name}`).join(', ')}`]] as [string, string, string][]) : []),
    ['centre', 'Phase centre', `${hms(s.ra, true)} ${hms(s.dec, false)}`],
    ['telescope', 'Telescope', s.telescope || '—'],
    ['date', 'Date', s.dateObs || '—'],
    ['antennas', 'Antennas', `${s.antennas.length}${s.antennas.length ? ` (${s.antennas.slice(0, 12).join(', ')}${s.antennas.length > 12 ? ', …' : ''})` : ''}`],
    ['baselines', 'Baselines', String(s.baselines)],
    ['ifs', 'IFs', String(s.nIf)],
    ['channels', 'Channels', `${s.nChan}${s.chanWidth ? ` × ${hz(Math.abs(s.chanWidth))}` : ''}`],
    ['frequencies', 'Frequencies', s.freqMin === s.freqMax ? hz(s.freqMin) : `${hz(s.freqMin)} – ${hz(s.freqMax)}`],
    ['stokes', 'Stokes', `${s.stokes.join(', ')}; imaging ${s.product} = ${s.formed}`],
    ['visibilities', 'Visibilities', `${s.visibilities} used, ${s.flagged} flagged${s.autocorrelations ? `, ${s.autocorrelations} autocorrelations left out` : ''}`],
    ['uvrange', 'uv range', s.uvMin === null ? 'no usable visibility' : `${uvText(s.uvMin)} – ${uvText(s.uvMax)} (${Math.round(s.uvMin)} – ${Math.round(s.uvMax!)} λ)`],
  ];
  if (open.thermal) rows.push(['thermal', 'Weights', `scatter / weights' σ = ${open.thermal.ratio.toFixed(3)} (rms; robust ${open.thermal.robustRatio.toFixed(3)}; ${open.thermal.pairs} pairs)`]);
  return (
    <div className="uv-summary" data-testid="uv-summary">
      <table>
        <tbody>
          {rows.map(([k, label, v]) => (
            <tr key={k} data-key={k}>
              <th>{label}</th>
              <td data-testid={`uv-${k}`}>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {s.notes.length > 0 && (
        <ul className="uv-notes">
          {s.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Controls({ open }: { open: UvOpenResult }) {
  const form = useRadio((s) => s.form);
  const patchForm = useRadio((s) => s.patchForm);
  const busy = useRadio((s) => s.busy);
  const imaging = useRadio((s) => s.imaging);
  const clean = useRadio((s) => s.clean);
  const d = open.defaults;
  const parallel = open.summary.stokes.some((p) => ['I', 'RR', 'LL', 'XX', 'YY'].includes(p));
  const products = [...(parallel ? ['I'] : []), ...open.summary.stokes.filter((p) => p !== 'I')];
  const posterior = useRadio((s) => s.posterior);
  const running = clean.state === 'running' || clean.state === 'queued' || posterior.state === 'running' || posterior.state === 'queued';
  const disabled = !d || !!busy || running;
  // size, cell and weighting stop a dirty image under way; CLEAN's settings do not
  const patch = patchImaging;
  return (
    <div className="uv-controls" data-testid="uv-controls">
      <h4>Imaging</h4>
      <div className="grid2">
        <label>
          Product
          <select value={open.summary.product} disabled={!!busy || running} onChange={(e) => void chooseProduct(e.target.value)} data-testid="uv-product">
            {products.map((p) => (
              <option key={p} value={p}>
                {p === 'I' ? 'Stokes I' : p}
              </option>
            ))}
          </select>
        </label>
        {open.sources ? (
          <label>
            Source
            <select value={open.source?.id ?? ''} disabled={!!busy || running} onChange={(e) => void chooseSource(Number(e.target.value))} data-testid="uv-source" title="--source: the source of this multi-source file that is imaged">
              {open.sources.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.id} {x.name}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <span />
        )}
        <NumberField label="Size" unit="px" integer min={8} max={4096} value={form.size ?? d?.size ?? null} onChange={(v) => patch({ size: v })} testId="uv-size" />
        <NumberField label="Cell" unit="″" min={Number.MIN_VALUE} value={form.cellArcsec ?? (d ? +d.cellArcsec.toPrecision(6) : null)} onChange={(v) => patch({ cellArcsec: v })} testId="uv-cell" />
        <label>
          Weighting
          <select value={form.weighting} onChange={(e) => patch({ weighting: e.target.value as typeof form.weighting })} data-testid="uv-weighting">
            <option value="natural">natural</option>
            <option value="uniform">uniform</option>
            <option value="briggs">Briggs</option>
          </select>
        </label>
        {form.weighting === 'briggs' && <NumberField label="Robust" min={-2} max={2} value={form.robust} onChange={(v) => patch({ robust: v })} testId="uv-robust" />}
      </div>
      {d && (form.size === null || form.cellArcsec === null) && <small className="muted">defaults: {d.notes.join('; ')}</small>}
      {!d && (
        <small className="err" data-testid="uv-nothing">
          Every {open.summary.product} visibility is flagged (weight ≤ 0) or an autocorrelation: nothing to image.
        </small>
      )}
      <div className="uv-buttons">
        <button
          type="button"
          disabled={!d || (!!busy && !imaging) || running}
          title={imaging ? 'Make it again with the settings now (the one under way is stopped)' : undefined}
          onClick={() => void makeDirtyImage()}
          data-testid="uv-dirty"
        >
          Dirty image
        </button>
        {imaging && (
          <button type="button" onClick={cancelDirtyImage} data-testid="uv-dirty-cancel">
            Cancel
          </button>
        )}
      </div>
      <SelfcalFields disabled={running} />
      <h4>CLEAN</h4>
      <div className="grid2">
        <NumberField label="Iterations" integer min={1} max={1_000_000} value={form.niter} onChange={(v) => patchForm({ niter: v })} testId="uv-niter" />
        <NumberField label="Gain" min={Number.MIN_VALUE} max={1} value={form.gain} onChange={(v) => patchForm({ gain: v })} testId="uv-gain" />
        <NumberField label="Threshold" unit="Jy/beam" min={0} value={form.threshold} onChange={(v) => patchForm({ threshold: v })} testId="uv-threshold" />
        <label>
          Method
          <select value={form.method} onChange={(e) => patchForm({ method: e.target.value as typeof form.method })} data-testid="uv-method">
            <option value="cotton-schwab">Cotton–Schwab</option>
            <option value="hogbom">Högbom</option>
          </select>
        </label>
      </div>
      <div className="uv-buttons">
        <button type="button" className="primary" disabled={disabled} onClick={() => void startClean()} data-testid="uv-clean">
          CLEAN
        </button>
        {(clean.state === 'running' || clean.state === 'queued') && (
          <button type="button" onClick={() => void stopClean()} data-testid="uv-stop">
            Stop
          </button>
        )}
      </div>
      {clean.state !== 'idle' && (
        <div className="progress" data-testid="uv-clean-progress" data-state={clean.state} data-iterations={clean.iterations}>
          <progress max={clean.niter || 1} value={clean.iterations} />
          <span>
            {clean.state === 'queued' && 'waiting for the engine…'}
            {clean.state === 'running' && clean.selfcalRunning && `self-calibrating (${form.selfcalRounds} rounds of CLEAN and gains)…`}
            {clean.state === 'running' && !clean.selfcalRunning && `${clean.iterations} / ${clean.niter} iterations${clean.majorCycles ? `, ${clean.majorCycles} major cycles` : ''}${clean.peak !== null ? `, residual peak ${fmtJy(clean.peak)}/beam` : ''}`}
            {clean.state === 'done' && `done: ${clean.iterations} iterations`}
            {clean.state === 'cancelled' && 'stopped'}
            {clean.state === 'error' && <span className="err">{clean.message}</span>}
          </span>
        </div>
      )}
      {clean.state === 'done' && clean.selfcal && <SelfcalResult report={clean.selfcal} of="clean" />}
      <Posterior disabled={disabled} />
      <Products />
    </div>
  );
}

/**
 * The self-calibration settings (the command line's --selfcal p|ap, --selfcal-rounds, --solint, --selfcal-start;
 * its defaults), used by CLEAN (its own settings make each round's model) and by the posterior (rounds of a
 * natural-weighted CLEAN to 3 × the noise on its grid, as `reconstruct --vis --selfcal`).
 */
function SelfcalFields({ disabled }: { disabled: boolean }) {
  const form = useRadio((s) => s.form);
  const patchForm = useRadio((s) => s.patchForm);
  const on = form.selfcal !== 'none';
  return (
    <>
      <h4>Self-calibration</h4>
      <div className="grid2">
        <label className="span2">
          Gains
          <select
            value={form.selfcal}
            disabled={disabled}
            onChange={(e) => patchForm({ selfcal: e.target.value as typeof form.selfcal })}
            data-testid="uv-selfcal"
            title="--selfcal: antenna gains solved against a CLEAN model and applied to the data before CLEAN and before the posterior (docs/radio.md, Self-calibration)"
          >
            <option value="none">none</option>
            <option value="p">phase (p)</option>
            <option value="ap">amplitude and phase (ap)</option>
          </select>
        </label>
        {on && (
          <>
            <NumberField label="Rounds" integer min={1} max={50} value={form.selfcalRounds} onChange={(v) => patchForm({ selfcalRounds: v })} disabled={disabled} testId="uv-selfcal-rounds" />
            <NumberField label="Interval" unit="s" min={0} value={form.solint} onChange={(v) => patchForm({ solint: v })} disabled={disabled} testId="uv-solint" />
            <label className="span2">
              First model
              <select
                value={form.selfcalStart}
                disabled={disabled}
                onChange={(e) => patchForm({ selfcalStart: e.target.value as typeof form.selfcalStart })}
                data-testid="uv-selfcal-start"
                title="--selfcal-start: auto takes the CLEAN of the data where its model fits them to χ²/dof ≤ 10, else a point source at the phase centre; closure: an image of the closure phases and log closure amplitudes, which station gains do not change"
              >
                <option value="auto">auto (CLEAN if it fits, else point)</option>
                <option value="point">point source</option>
                <option value="clean">CLEAN of the data</option>
                <option value="closure">closure image</option>
              </select>
            </label>
          </>
        )}
      </div>
      {on && <small className="muted">interval 0: each time stamp; for CLEAN and the posterior</small>}
    </>
  );
}

/** Figures for the rounds' table. */
const g4 = (x: number) => (Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toPrecision(4));

/**
 * What a run's self-calibration did: the first model, the CLEAN model's χ²/dof before, each round's mode, model,
 * model flux, χ²/dof before → after its gains, failed solutions and gain phase rms (describeRound's line as the
 * row's tooltip), and the last gains' phase rms, failed solutions and the visibilities kept.
 */
function SelfcalResult({ report, of }: { report: UvSelfcalReport; of: 'clean' | 'posterior' }) {
  return (
    <div className="uv-selfcal-result" data-testid={`uv-selfcal-result-${of}`}>
      <small className="muted">
        self-calibration <code>{report.flags}</code>: first model {report.start}; before, χ²/dof {g4(report.before.chi2)} (CLEAN model {fmtJy(report.before.modelFlux)})
        {report.closure && (
          <span data-testid="uv-selfcal-closure">
            ; closure image χ²/N: closure phases {g4(report.closure.chi2PhaseStart)} → {g4(report.closure.chi2Phase)}, log closure amplitudes {g4(report.closure.chi2LogAmpStart)} →{' '}
            {g4(report.closure.chi2LogAmp)}
          </span>
        )}
      </small>
      <ol className="uv-selfcal-rounds">
        {report.rounds.map((x) => (
          <li key={x.round} title={x.text} data-testid={`uv-selfcal-round-${x.round}`}>
            <strong>
              round {x.round} ({x.mode})
            </strong>{' '}
            {x.model} model {fmtJy(x.modelFlux)}; χ²/dof <span data-testid={`uv-selfcal-chi2-${x.round}`}>{`${g4(x.chi2Before)} → ${g4(x.chi2After)}`}</span>; {(100 * x.failedFraction).toFixed(1)} % failed; φ rms{' '}
            {x.phaseRmsDeg.toFixed(1)}°
          </li>
        ))}
      </ol>
      <small className="muted" data-testid={`uv-selfcal-gains-${of}`}>
        last gains: phase rms {report.phaseRmsDeg.toFixed(1)}°, {report.failed} of {report.solutions} solutions failed; {report.kept} of {report.of} visibilities kept
      </small>
    </div>
  );
}

/**
 * The posterior from the visibilities (`skyscore reconstruct --vis`): the view's product, size and cell, a prior
 * of the engine's list, samples, steps, seed; progress with the χ² per visibility, Stop, the report's warnings.
 */
function Posterior({ disabled }: { disabled: boolean }) {
  const form = useRadio((s) => s.posteriorForm);
  const patch = useRadio((s) => s.patchPosteriorForm);
  const st = useRadio((s) => s.posterior);
  const priors = useStore((s) => s.priors);
  const priorsState = useStore((s) => s.priorsState);
  useEffect(() => {
    if (priorsState === 'idle') void refreshPriors();
  }, [priorsState]);
  // the default prior follows the image size
  useRadio((s) => s.form.size);
  const images = priors.filter((p) => p.kind !== 'analytic');
  const chosen = posteriorPrior();
  const running = st.state === 'running' || st.state === 'queued';
  const thermal = useRadio((s) => s.file?.open.thermal ?? null);
  const factor = thermal ? 1 / (thermal.ratio * thermal.ratio) : null;
  return (
    <>
      <h4>Posterior</h4>
      <div className="grid2">
        <label className="span2">
          Prior
          <select value={chosen ?? ''} disabled={running || images.length === 0} onChange={(e) => patch({ prior: e.target.value })} data-testid="uv-posterior-prior">
            {images.length === 0 && <option value="">{priorsState === 'loading' ? 'loading…' : 'no prior installed'}</option>}
            {images.map((p) => (
              <option key={p.spec} value={p.spec}>
                {p.name} ({p.kind}, {p.imageShape[1]}×{p.imageShape[0]})
              </option>
            ))}
          </select>
        </label>
      </div>
      <SamplerFields settings={form} set={patch} disabled={running} prefix="uv-posterior" labelSuffix=" (visibilities)" fluxScale={false} />
      <label className="check" title="--reweight: the weights × 1/r², r the rms ratio of the data's scatter between successive visibilities to the σ the weights state">
        <input type="checkbox" checked={form.reweight} disabled={running || factor === null} onChange={(e) => patch({ reweight: e.target.checked })} data-testid="uv-posterior-reweight" />
        <span>
          rescale the weights to the data&apos;s scatter{' '}
          {factor !== null ? <span data-testid="uv-posterior-reweight-factor">(weights × {factor.toPrecision(3)})</span> : <span className="muted">(no successive visibilities to measure it)</span>}
        </span>
      </label>
      <label className="check" title="--total-flux: a pseudo-visibility at zero spacing, the survey CLEAN's flux ± the flux the shortest baselines miss; off: --total-flux none">
        <input type="checkbox" checked={form.zeroSpacing} disabled={running} onChange={(e) => patch({ zeroSpacing: e.target.checked })} data-testid="uv-posterior-zero-spacing" />
        <span>hold the total flux at zero spacing (the survey CLEAN&apos;s)</span>
      </label>
      <small className="muted">the visibilities weigh by their weights (natural): the weighting above is for imaging and CLEAN</small>
      <div className="uv-buttons">
        <button type="button" className="primary" disabled={disabled || !chosen} onClick={() => void startPosterior()} data-testid="uv-posterior">
          Posterior
        </button>
        {running && (
          <button type="button" onClick={() => void stopPosterior()} title="Stop and discard the run" data-testid="uv-posterior-stop">
            Stop
          </button>
        )}
        {running && (
          <button
            type="button"
            disabled={st.state !== 'running'}
            onClick={() => void stopPosterior(true)}
            title="Stop and keep what the run has: its chains' current states become the products (marked as stopped)"
            data-testid="uv-posterior-stop-keep"
          >
            Stop and keep
          </button>
        )}
      </div>
      {st.state !== 'idle' && (
        <div className="progress" data-testid="uv-posterior-progress" data-state={st.state} data-step={st.step}>
          <progress max={st.steps || 1} value={st.step} />
          <span>
            {st.state === 'queued' && 'waiting for the engine…'}
            {st.state === 'running' && `step ${st.step} / ${st.steps}${st.chi2 !== null ? `, χ²/visibility dof ${st.chi2.toFixed(3)}` : ''}`}
            {st.state === 'done' &&
              (st.stopped
                ? `stopped at step ${st.stopped.step} / ${st.stopped.steps} and kept (${st.stopped.chains} of ${st.stopped.of} chains)${st.chi2 !== null ? `, χ²/visibility dof of the mean ${st.chi2.toFixed(3)}` : ''}`
                : `done: ${st.steps} steps${st.chi2 !== null ? `, χ²/visibility dof of the mean ${st.chi2.toFixed(3)}` : ''}`)}
            {st.state === 'cancelled' && 'stopped'}
            {st.state === 'error' && <span className="err">{st.message}</span>}
          </span>
        </div>
      )}
      {st.state === 'done' && st.selfcal && <SelfcalResult report={st.selfcal} of="posterior" />}
      {st.state === 'done' && st.warnings.length > 0 && (
        <ul className="uv-warnings" data-testid="uv-posterior-warnings">
          {st.warnings.map((w) => (
            <li key={w}>⚠ {w}</li>
          ))}
        </ul>
      )}
      {st.state === 'done' && st.command && (
        <small className="muted" data-testid="uv-posterior-command">
          same products: <code>skyscore {st.command} --out DIR</code>
        </small>
      )}
    </>
  );
}

function Products() {
  const products = useRadio((s) => s.products);
  const busy = useRadio((s) => s.busy);
  const error = useRadio((s) => s.error);
  return (
    <div className="uv-products" data-testid="uv-products">
      {busy && <div className="muted">{busy}</div>}
      {error && (
        <div className="err" role="alert" data-testid="uv-error">
          {error}
        </div>
      )}
      {products && (
        <>
          <h4>Products</h4>
          <small className="muted">{products.label}</small>
          {products.summary && (
            <small className="muted" data-testid="uv-products-summary">
              {products.summary}
            </small>
          )}
          <ul>
            {products.files.map((f) => (
              <li key={f.name}>
                <button
                  type="button"
                  className="mini"
                  onClick={() => exportProduct(f)}
                  data-testid={`uv-export-${products.kind === 'posterior' ? f.name.replace(/\.(fits|json)$/, '') : f.name.replace(/^.*-(\w+)\.(fits|json)$/, '$1')}`}
                >
                  Export
                </button>{' '}
                <code>{f.name}</code>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** The uv coverage plot's series: the plotted points and their conjugates. */
function useUvSeries(open: UvOpenResult): ScatterSeries[] {
  return useMemo(() => [{ x: open.plot.u, y: open.plot.v, color: UV_COLOR, label: '(u, v) and (−u, −v)', mirror: true, size: 1.5 }], [open]);
}

export function UvCoveragePlot({ open, full, actions }: { open: UvOpenResult; full?: boolean; actions?: React.ReactNode }) {
  const series = useUvSeries(open);
  const unit = uvUnit(open.summary.uvMax ?? 1);
  return (
    <ScatterPlot
      series={series}
      title={`uv coverage (${open.plot.shown < open.plot.total ? `${open.plot.shown} of ${open.plot.total}` : open.plot.total} visibilities)`}
      xLabel={`u (${unit.label})`}
      yLabel={`v (${unit.label})`}
      xScale={unit.scale}
      yScale={unit.scale}
      equalAspect
      testId={full ? 'uv-coverage-full' : 'uv-coverage-plot'}
      pngName="uv-coverage.png"
      className={full ? 'full' : ''}
      actions={actions}
    />
  );
}

function AmplitudePlot({ open }: { open: UvOpenResult }) {
  const modelAmp = useRadio((s) => s.modelAmp);
  const modelLabel = useRadio((s) => s.modelLabel);
  const dataAmp = useRadio((s) => s.dataAmp);
  const corrected = dataAmp !== null && dataAmp.length === open.plot.uvdist.length;
  const series = useMemo(() => {
    const s: ScatterSeries[] = [
      corrected
        ? { x: open.plot.uvdist, y: dataAmp, color: UV_COLOR, label: 'self-calibrated data |V|', size: 1.5 }
        : { x: open.plot.uvdist, y: open.plot.amp, color: UV_COLOR, label: 'data |V|', size: 1.5 },
    ];
    if (modelAmp && modelAmp.length === open.plot.uvdist.length) s.push({ x: open.plot.uvdist, y: modelAmp, color: MODEL_COLOR, label: modelLabel, size: 1.5 });
    return s;
  }, [open, modelAmp, modelLabel, corrected, dataAmp]);
  const unit = uvUnit(open.summary.uvMax ?? 1);
  return (
    <div className="uv-amp" data-model-points={modelAmp ? modelAmp.length : 0} data-model={modelAmp ? modelLabel : ''} data-data={corrected ? 'self-calibrated' : 'as read'} data-testid="uv-amplitude">
      <ScatterPlot
        series={series}
        title={`amplitude against uv distance${open.plot.shown < open.plot.total ? ` (${open.plot.shown} of ${open.plot.total}, evenly spaced)` : ''}`}
        xLabel={`uv distance (${unit.label})`}
        yLabel={`|V| (${open.summary.product === 'I' ? 'Jy' : 'Jy, ' + open.summary.product})`}
        xScale={unit.scale}
        fromZero
        testId="uv-amplitude-plot"
        pngName="amplitude-uvdist.png"
      />
    </div>
  );
}

function visText(x: UvSourceEntry, product: string): string {
  return x.visibilities === null ? '—' : `${x.visibilities}${x.visibilities === 0 ? ` (no usable ${product})` : ''}`;
}

/**
 * A multi-source file's sources (the SOURCE parameter, named by the AIPS SU table) to choose one from: number,
 * name, position, groups and usable visibilities; nothing is imaged before the choice (`--source` of the command
 * line, which refuses such a file without it).
 */
function SourceChooser({ list }: { list: UvSourceChoice }) {
  const busy = useRadio((s) => s.busy);
  const error = useRadio((s) => s.error);
  const sources = list.sources ?? [];
  return (
    <div className="uv-choose" data-testid="uv-source-choice">
      <p>
        This file holds <strong>{sources.length} sources</strong> ({list.groups} groups{list.telescope ? `, ${list.telescope}` : ''}
        {list.dateObs ? `, ${list.dateObs}` : ''}). SkyScore images one source at a time: choose the one to summarise, image, CLEAN and sample (the command
        line&apos;s <code>--source</code>).
      </p>
      <table className="uv-source-table">
        <thead>
          <tr>
            <th>SOURCE</th>
            <th>Name</th>
            <th>Position (SU table)</th>
            <th>Groups</th>
            <th>Visibilities ({list.product === 'I' ? 'Stokes I' : list.product})</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sources.map((x) => (
            <tr key={x.id} data-testid={`uv-source-row-${x.id}`}>
              <td>{x.id}</td>
              <td>{x.name}</td>
              <td>{x.ra !== undefined && x.dec !== undefined ? `${hms(x.ra, true)} ${hms(x.dec, false)}` : '—'}</td>
              <td>{x.groups}</td>
              <td data-testid={`uv-source-vis-${x.id}`}>{visText(x, list.product)}</td>
              <td>
                <button type="button" className="mini" disabled={!!busy || x.visibilities === 0} onClick={() => void chooseSource(x.id)} data-testid={`uv-source-open-${x.id}`}>
                  Open
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {busy && <div className="muted">{busy}</div>}
      {error && (
        <div className="err" role="alert" data-testid="uv-error">
          {error}
        </div>
      )}
    </div>
  );
}

/** The view, shown in the image area while a visibility file is open (or its sources wait for a choice). */
export function VisibilitiesView({ alone }: { alone: boolean }) {
  const file = useRadio((s) => s.file);
  const choice = useRadio((s) => s.choice);
  const folded = useRadio((s) => s.folded);
  const set = useRadio((s) => s.set);
  useEffect(() => installRadioEvents(), []);
  if (!file && choice) {
    return (
      <section className={`uv-view ${alone ? 'alone' : ''}`} aria-label="Visibilities" data-testid="uv-view">
        <header className="uv-head">
          <strong>Visibilities</strong> <code>{choice.name}</code> <span className="muted">choose a source</span>
          <button type="button" className="mini uv-close" onClick={closeUvfits} aria-label="Close the visibility file" data-testid="uv-close">
            ×
          </button>
        </header>
        <SourceChooser list={choice.list} />
      </section>
    );
  }
  if (!file) return null;
  const open = file.open;
  return (
    <section className={`uv-view ${alone ? 'alone' : ''} ${folded && !alone ? 'folded' : ''}`} aria-label="Visibilities" data-testid="uv-view">
      <header className="uv-head">
        <strong>Visibilities</strong> <code>{file.name}</code>
        {!alone && (
          <button type="button" className="mini" onClick={() => set({ folded: !folded })} aria-expanded={!folded} data-testid="uv-fold">
            {folded ? 'Show' : 'Hide'}
          </button>
        )}
        <button type="button" className="mini uv-close" onClick={closeUvfits} aria-label="Close the visibility file" data-testid="uv-close">
          ×
        </button>
      </header>
      <div className="uv-body" hidden={folded && !alone}>
        <Summary open={open} />
        <div className="uv-plot-cell">
          <UvCoveragePlot
            open={open}
            actions={
              <button type="button" className="mini" onClick={() => set({ fullSize: true })} data-testid="uv-full-size">
                Full size
              </button>
            }
          />
        </div>
        <div className="uv-plot-cell wide">
          <AmplitudePlot open={open} />
        </div>
        <Controls open={open} />
      </div>
    </section>
  );
}

/** The uv plot at full size over the image area: the open file's, or a forward model's uv-sampling operator's. */
export function UvFullSize() {
  const file = useRadio((s) => s.file);
  const fullSize = useRadio((s) => s.fullSize);
  const op = useRadio((s) => s.operatorUv);
  const set = useRadio((s) => s.set);
  const opSeries = useMemo<ScatterSeries[]>(() => (op ? [{ x: op.u, y: op.v, color: UV_COLOR, label: '(u, v) and (−u, −v)', size: 1.5 }] : []), [op]);
  if (op) {
    const unit = uvUnit(op.maxBaseline || 1);
    return (
      <div className="uv-full-overlay" data-testid="uv-full-overlay">
        <ScatterPlot
          series={opSeries}
          title={`${op.title} (${op.u.length} points)`}
          xLabel={`u (${unit.label})`}
          yLabel={`v (${unit.label})`}
          xScale={unit.scale}
          yScale={unit.scale}
          equalAspect
          testId="operator-uv-full"
          pngName="uv-coverage.png"
          className="full"
          actions={
            <button type="button" className="mini" onClick={() => set({ operatorUv: null })} data-testid="uv-full-close">
              Close
            </button>
          }
        />
      </div>
    );
  }
  if (!file || !fullSize) return null;
  return (
    <div className="uv-full-overlay" data-testid="uv-full-overlay">
      <UvCoveragePlot
        open={file.open}
        full
        actions={
          <button type="button" className="mini" onClick={() => set({ fullSize: false })} data-testid="uv-full-close">
            Close
          </button>
        }
      />
    </div>
  );
}
