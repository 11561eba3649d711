/**
 * The sampler's settings as the command line's flags give them — sampler, samples, steps, seed, the flux scale,
 * and under "Advanced" the sampler's options and the worker threads — for any run that samples a posterior: the
 * run panel's (the store's settings) and the Visibilities view's posterior (its own). Controlled: the caller holds
 * the settings; `prefix` names the fields' test ids (`${prefix}-n`, `${prefix}-steps`, …).
 */
import type { ReactNode } from 'react';
import { NumberField } from '../model/fields';
import {
  DEFAULT_DENOISE,
  DEFAULT_SNR,
  DEFAULT_STEPS,
  DENOISE_MODES,
  MAX_STEPS,
  MAX_WORKERS,
  RUN_OPTION_RANGES,
  CORRECTOR_STEPS_HELP,
  MAX_CORRECTOR_STEPS,
  SAMPLERS,
  SAMPLER_INFO,
  samplerHelp,
  isDenoiseMode,
  isSamplerName,
  type DenoiseMode,
  type RunOptions,
} from '../../../src-shared/diffusion/samplers/spec';
import type { SamplerSettings } from '../../../src-shared/protocol/index';

const DENOISE_LABELS: Record<DenoiseMode, string> = {
  draw: 'second-order Tweedie draw (default)',
  mean: "Tweedie's mean",
  none: 'raw draws at σmin',
};

export interface SamplerFieldsProps {
  settings: SamplerSettings;
  set(patch: Partial<SamplerSettings>): void;
  disabled: boolean;
  /** Test ids: `${prefix}-n`, `${prefix}-steps`, `${prefix}-seed`, `${prefix}-sampler`, `${prefix}-advanced`, `${prefix}-snr`, `${prefix}-correctors`, `${prefix}-workers`. */
  prefix: string;
  /** Accessible names are "Sampler", "Ending", … followed by this (empty for the run panel). */
  labelSuffix?: string;
  /** Whether to offer the flux scale (automatic, or a value). */
  fluxScale?: boolean;
  /** Shown below the main fields (the run panel's note on too few steps). */
  note?: ReactNode;
}

export function SamplerFields({ settings, set, disabled, prefix, labelSuffix = '', fluxScale = true, note }: SamplerFieldsProps) {
  const help = samplerHelp(settings.sampler, settings.options ?? {});
  return (
    <>
      <label className="field">
        Sampler
        <select
          aria-label={`Sampler${labelSuffix}`}
          value={settings.sampler}
          disabled={disabled}
          data-testid={`${prefix}-sampler`}
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
        {help && <small className="muted" data-testid={`${prefix}-sampler-help`}>{help}</small>}
      </label>
      <div className="grid2">
        <NumberField label="Samples" integer min={1} max={1024} value={settings.n} disabled={disabled} testId={`${prefix}-n`} help="posterior samples (chains)" onChange={(v) => set({ n: v })} />
        <NumberField label="Steps" integer min={1} max={MAX_STEPS} value={settings.steps} disabled={disabled} testId={`${prefix}-steps`} help={`noise levels σmax → σmin (default ${DEFAULT_STEPS[settings.sampler]})`} onChange={(v) => set({ steps: v })} />
        <NumberField label="Seed" integer min={0} max={4294967295} value={settings.seed} disabled={disabled} testId={`${prefix}-seed`} help="same seed, same samples" onChange={(v) => set({ seed: v })} />
        {fluxScale && (
          <div className="field">
            <label className="check">
              <input type="checkbox" checked={settings.fluxScale === null} disabled={disabled} onChange={(e) => set({ fluxScale: e.target.checked ? null : 1 })} /> automatic flux scale
            </label>
            {settings.fluxScale !== null && <NumberField label="Flux scale" min={Number.MIN_VALUE} value={settings.fluxScale} disabled={disabled} help="data units per prior unit" onChange={(v) => set({ fluxScale: v })} />}
          </div>
        )}
      </div>
      {note}
      <Advanced settings={settings} set={set} disabled={disabled} prefix={prefix} labelSuffix={labelSuffix} />
    </>
  );
}

/** The sampler's options and the worker threads: the same settings as the CLI's flags, defaults when untouched. */
function Advanced({ settings, set, disabled, prefix, labelSuffix }: Pick<SamplerFieldsProps, 'settings' | 'set' | 'disabled' | 'prefix'> & { labelSuffix: string }) {
  const o: RunOptions = settings.options ?? {};
  const setOption = (patch: Partial<RunOptions>) => {
    const next: RunOptions = { ...o, ...patch };
    for (const k of Object.keys(next) as (keyof RunOptions)[]) if (next[k] === undefined) delete next[k];
    set({ options: next });
  };
  const annealed = settings.sampler === 'pc' || settings.sampler === 'em' || settings.sampler === 'ald';
  return (
    <details className="advanced" data-testid={`${prefix}-advanced`}>
      <summary>Advanced</summary>
      <div className="grid2">
        {annealed && (
          <label className="field">
            Ending
            <select aria-label={`Ending${labelSuffix}`} value={o.denoise ?? DEFAULT_DENOISE} disabled={disabled} onChange={(e) => isDenoiseMode(e.target.value) && setOption({ denoise: e.target.value })}>
              {DENOISE_MODES.map((m) => (
                <option key={m} value={m}>
                  {DENOISE_LABELS[m]}
                </option>
              ))}
            </select>
          </label>
        )}
        {(settings.sampler === 'pc' || settings.sampler === 'ald') && (
          <NumberField label="Langevin SNR" min={Number.MIN_VALUE} max={RUN_OPTION_RANGES.snr.max} value={o.snr ?? DEFAULT_SNR} disabled={disabled} help={RUN_OPTION_RANGES.snr.help} testId={`${prefix}-snr`} onChange={(v) => setOption({ snr: v })} />
        )}
        {settings.sampler === 'pc' && (
          <NumberField label="Corrector steps" integer min={0} max={MAX_CORRECTOR_STEPS} value={o.correctorSteps ?? 1} disabled={disabled} help={CORRECTOR_STEPS_HELP} testId={`${prefix}-correctors`} onChange={(v) => setOption({ correctorSteps: v })} />
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
          testId={`${prefix}-workers`}
          help="threads sharing the chains on the CPU backends (empty: one per core, at most 4); the samples do not depend on it"
          onChange={(v) => set({ workers: v })}
          onClear={() => set({ workers: null })}
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
