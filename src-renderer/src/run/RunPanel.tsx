import { useMemo } from 'react';
import { useStore } from '../store/index';
import { Section, Help } from '../model/fields';
import { runBlockers, startRun, stopRun } from './actions';
import { DiagnosticsBlock, StepsNote, misfitOverlay, previewMisfit } from './Diagnostics';
import { NoiseDiagnosticsView } from './NoiseDiagnostics';
import { ImageCanvas } from './ImageCanvas';
import { ChartCanvas } from './ChartCanvas';
import { chi2Trace, getPreview, sampleAt } from './previews';
import { formatDuration, formatValue } from './format';
import { ExportPanel } from '../export/ExportPanel';
import { SamplerFields } from './SamplerFields';

const busy = (s: string) => s === 'starting' || s === 'queued' || s === 'running' || s === 'stopping';

function Settings() {
  const settings = useStore((s) => s.settings);
  const set = useStore((s) => s.setSettings);
  const state = useStore((s) => s.run.state);
  return (
    <Section title="Sampler" testId="sampler-section">
      <SamplerFields settings={settings} set={set} disabled={busy(state)} prefix="run" note={<StepsNote />} />
    </Section>
  );
}

function Progress() {
  const run = useStore((s) => s.run);
  const frac = run.steps > 0 ? Math.min(1, run.step / run.steps) : 0;
  const label =
    run.state === 'starting'
      ? 'starting (loading the prior and the operators)…'
      : run.state === 'queued'
        ? `queued, position ${run.queuePosition ?? '?'} (the engine runs one job at a time; this one starts when ${run.queuePosition === 1 ? 'the job before it ends' : `the ${run.queuePosition ?? ''} jobs before it end`})`
        : run.state === 'stopping'
        ? 'stopping…'
        : run.state === 'running'
          ? `step ${run.step} / ${run.steps} · σ ${formatValue(run.sigma)} · ETA ${formatDuration(run.etaS)}`
          : run.state === 'done'
            ? run.summary?.stopped
              ? `stopped at ${run.summary.stopped} and kept`
              : `done in ${formatDuration(run.elapsedS)}`
            : run.state === 'cancelled'
              ? `stopped at step ${run.step} (nothing kept)`
              : run.state === 'error'
                ? 'failed'
                : '';
  if (run.state === 'idle') return null;
  return (
    <div className="progress" data-testid="run-progress" data-state={run.state} data-step={run.step}>
      <progress max={1} value={frac} aria-label="Run progress" />
      <span>{label}</span>
      {run.state === 'error' && run.message && (
        <p className="err" role="alert" data-testid="run-error">
          {run.message}
        </p>
      )}
    </div>
  );
}

function Previews() {
  const version = useStore((s) => s.run.previewVersion);
  const previews = useStore((s) => s.run.previews);
  const chartVersion = useStore((s) => s.run.chartVersion);
  const steps = useStore((s) => s.run.steps);
  const state = useStore((s) => s.run.state);
  const p = getPreview();
  // the residual's significant regions, recomputed with each preview
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const misfit = useMemo(() => previewMisfit(p), [p, version]);
  const overlay = useMemo(() => misfitOverlay(misfit), [misfit]);
  const series = useMemo(() => [{ trace: chi2Trace, color: '#e0703a', label: 'χ² per pixel' }], []);
  const options = useMemo(() => ({ logY: true, refY: 1, xLabel: 'step', xMax: steps }), [steps]);
  if (state === 'idle' && !p) return null;
  return (
    <Section title="Live posterior" testId="previews">
      {p ? (
        <>
          <div className="triple">
            <ImageCanvas data={p.mean} shape={p.shape} version={version} title="Posterior mean" caption="mean" stretch="asinh" width={84} testId="preview-mean" pngName="posterior-mean.png" />
            <ImageCanvas data={p.std} shape={p.shape} version={version} title="Posterior std" caption="std" map="heat" width={84} testId="preview-std" pngName="posterior-std.png" />
            <ImageCanvas data={p.residual} shape={p.dataShape} version={version} title="Residual" caption="residual" map="diverging" limits="symmetric" width={84} testId="preview-residual" pngName="residual.png" overlay={overlay} />
          </div>
          <div className="thumbs" data-testid="sample-thumbs" data-version={version} data-previews={previews}>
            {Array.from({ length: p.nSamples }, (_, k) => (
              <ImageCanvas key={k} data={sampleAt(p, k)} shape={p.shape} version={version} title={`Sample ${k + 1}`} caption={`#${k + 1}`} stretch="asinh" width={60} />
            ))}
          </div>
        </>
      ) : (
        <p className="muted">previews appear after the first steps…</p>
      )}
      <DiagnosticsBlock preview={p} misfit={misfit} />
      <NoiseDiagnosticsView />
      <ChartCanvas series={series} options={options} version={chartVersion} height={130} title="χ² per pixel against step" testId="chi2-chart" pngName="chi2.png" />
      <small className="muted">χ² per observed pixel of the running mean; a good fit ends near 1 (dashed).</small>
    </Section>
  );
}

/** Sampler settings, Run/Stop, progress with ETA, live previews and the χ² chart, then export. */
export function RunPanel() {
  const state = useStore((s) => s.run.state);
  const obs = useStore((s) => s.obs);
  const doc = useStore((s) => s.modelDoc);
  const files = useStore((s) => s.forwardModelFiles);
  const noise = useStore((s) => s.noise);
  const spec = useStore((s) => s.priorSpec);
  const priors = useStore((s) => s.priors);
  // runBlockers reads the store; recomputed whenever one of these changes
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const blockers = useMemo(() => runBlockers(), [obs, doc, files, noise, spec, priors]);
  const isBusy = busy(state);
  return (
    <div className="runpanel">
      <Settings />
      <Section title="Run" testId="run-section">
        <Help>Draws posterior samples p(x | y) with the prior and the forward model. Previews refresh a few times a second.</Help>
        <div className="row">
          <button type="button" className="primary" disabled={isBusy || blockers.length > 0} title={blockers.length ? `First: ${blockers[0]}` : 'Start sampling'} onClick={() => void startRun()} data-testid="run-button">
            ▶ Run
          </button>
          <button type="button" disabled={!isBusy || state === 'stopping'} onClick={() => void stopRun()} title="Stop and discard the run" data-testid="stop-button">
            ■ Stop
          </button>
          <button
            type="button"
            disabled={state !== 'running'}
            onClick={() => void stopRun(true)}
            title="Stop and keep what the run has: its chains' current states become the products (marked as stopped)"
            data-testid="stop-keep-button"
          >
            ■ Stop and keep
          </button>
        </div>
        {!isBusy && blockers.length > 0 && (
          <ul className="blockers" data-testid="run-blockers">
            {blockers.map((b) => (
              <li key={b}>{b}</li>
            ))}
          </ul>
        )}
        <Progress />
      </Section>
      <Previews />
      <ExportPanel />
    </div>
  );
}
