import { useMemo } from 'react';
import { useStore } from '../store/index';
import { NumberField, Section, Help } from '../model/fields';
import { runBlockers, startRun, stopRun } from './actions';
import { DiagnosticsBlock, StepsNote, misfitOverlay, previewMisfit } from './Diagnostics';
import { NoiseDiagnosticsView } from './NoiseDiagnostics';
import { ImageCanvas } from './ImageCanvas';
import { ChartCanvas } from './ChartCanvas';
import { chi2Trace, getPreview, sampleAt } from './previews';
import { formatDuration, formatValue } from './format';
import { ExportPanel } from '../export/ExportPanel';
import {
  DEFAULT_DENOISE,
  DEFAULT_SNR,
  DEFAULT_STEPS,
  DENOISE_MODES,
  MAX_STEPS,
  MAX_WORKERS,
  RUN_OPTION_RANGES,
  SAMPLERS,
  SAMPLER_INFO,
  isDenoiseMode,
  isSamplerName,
  type DenoiseMode,
  type RunOptions,
} from '../../../src-shared/diffusion/samplers/spec';

const DENOISE_LABELS: Record<DenoiseMode, string> = {
  draw: 'second-order Tweedie draw (default)',
  mean: "Tweedie's mean",
  none: 'raw draws at σmin',
};

const busy = (s: string) => s === 'starting' || s === 'queued' || s === 'running' || s === 'stopping';

function Settings() {
  const settings = useStore((s) => s.settings);
  const set = useStore((s) => s.setSettings);
  const state = useStore((s) => s.run.state);
  const disabled = busy(state);
  const help = SAMPLER_INFO[settings.sampler].help;
  return (
    <Section title="Sampler" testId="sampler-section">
      <label className="field">
        Sampler
        <select
          aria-label="Sampler"
          value={settings.sampler}
          disabled={disabled}
          onChange={(e) => {
            const sampler = e.target.value;
            if (isSamplerName(sampler)) set({ sampler, steps: DEFAULT_STEPS[sampler] });
          }}
        >
          {SAMPLERS.map((id) => (
            <option key={id} value={id}>
              {SAMPLER_INFO[id].label}
            </option>
          ))}
        </select>
        {help && <small className="muted">{help}</small>}
      </label>
      <div className="grid2">
        <NumberField label="Samples" integer min={1} max={1024} value={settings.n} disabled={disabled} testId="run-n" help="posterior samples (chains)" onChange={(v) => set({ n: v })} />
        <NumberField label="Steps" integer min={1} max={MAX_STEPS} value={settings.steps} disabled={disabled} testId="run-steps" help={`noise levels σmax → σmin (default ${DEFAULT_STEPS[settings.sampler]})`} onChange={(v) => set({ steps: v })} />
        <NumberField label="Seed" integer min={0} max={4294967295} value={settings.seed} disabled={disabled} testId="run-seed" help="same seed, same samples" onChange={(v) => set({ seed: v })} />
        <div className="field">
          <label className="check">
            <input type="checkbox" checked={settings.fluxScale === null} disabled={disabled} onChange={(e) => set({ fluxScale: e.target.checked ? null : 1 })} /> automatic flux scale
          </label>
          {settings.fluxScale !== null && <NumberField label="Flux scale" min={Number.MIN_VALUE} value={settings.fluxScale} disabled={disabled} help="data units per prior unit" onChange={(v) => set({ fluxScale: v })} />}
        </div>
      </div>
      <StepsNote />
      <Advanced disabled={disabled} />
    </Section>
  );
}

/** The sampler's options and the worker threads: the same settings as the CLI's flags, defaults when untouched. */
function Advanced({ disabled }: { disabled: boolean }) {
  const settings = useStore((s) => s.settings);
  const set = useStore((s) => s.setSettings);
  const o: RunOptions = settings.options ?? {};
  const setOption = (patch: Partial<RunOptions>) => {
    const next: RunOptions = { ...o, ...patch };
    for (const k of Object.keys(next) as (keyof RunOptions)[]) if (next[k] === undefined) delete next[k];
    set({ options: next });
  };
  const annealed = settings.sampler === 'pc' || settings.sampler === 'em' || settings.sampler === 'ald';
  return (
    <details className="advanced" data-testid="run-advanced">
      <summary>Advanced</summary>
      <div className="grid2">
        {annealed && (
          <label className="field">
            Ending
            <select aria-label="Ending" value={o.denoise ?? DEFAULT_DENOISE} disabled={disabled} onChange={(e) => isDenoiseMode(e.target.value) && setOption({ denoise: e.target.value })}>
              {DENOISE_MODES.map((m) => (
                <option key={m} value={m}>
                  {DENOISE_LABELS[m]}
                </option>
              ))}
            </select>
          </label>
        )}
        {(settings.sampler === 'pc' || settings.sampler === 'ald') && (
          <NumberField label="Langevin SNR" min={Number.MIN_VALUE} max={RUN_OPTION_RANGES.snr.max} value={o.snr ?? DEFAULT_SNR} disabled={disabled} help={RUN_OPTION_RANGES.snr.help} testId="run-snr" onChange={(v) => setOption({ snr: v })} />
        )}
        {settings.sampler === 'dps' && (
          <NumberField label="DPS ζ" min={Number.MIN_VALUE} max={RUN_OPTION_RANGES.zeta.max} value={o.zeta ?? 1} disabled={disabled} help={RUN_OPTION_RANGES.zeta.help} onChange={(v) => setOption({ zeta: v })} />
        )}
        <NumberField
          label="Worker threads"
          integer
          min={1}
          max={MAX_WORKERS}
          value={settings.workers ?? null}
          disabled={disabled}
          testId="run-workers"
          help="threads sharing the chains on the CPU backends (empty: one per core, at most 4); the samples do not depend on it"
          onChange={(v) => set({ workers: v })}
        />
        {annealed && (
          <label className="check">
            <input type="checkbox" checked={o.raoBlackwell !== false} disabled={disabled} onChange={(e) => setOption({ raoBlackwell: e.target.checked ? undefined : false })} /> Rao–Blackwellised mean
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={o.symmetrise === true} disabled={disabled} onChange={(e) => setOption({ symmetrise: e.target.checked ? true : undefined })} /> symmetrise the prior
        </label>
      </div>
    </details>
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
