import type { StateCreator } from 'zustand';
import type { AppState } from './index';
import type { PriorInfo, SamplerSettings } from '../../../src-shared/protocol/index';
import type { RunNoiseReport } from '../run/noise-report';

export type RunState = 'idle' | 'starting' | 'queued' | 'running' | 'stopping' | 'done' | 'error' | 'cancelled';

export interface RunStatus {
  jobId: string | null;
  state: RunState;
  step: number;
  steps: number;
  sigma: number | null;
  chi2: number | null;
  elapsedS: number;
  etaS: number | null;
  message: string | null;
  /** While queued: how many jobs run or wait before this one (the engine runs one at a time). */
  queuePosition: number | null;
  warnings: string[];
  /** Bumped when a new preview is in run/previews.ts. */
  previewVersion: number;
  /** Previews received in this run. */
  previews: number;
  /** Bumped when the χ² trace grew. */
  chartVersion: number;
  inShape: [number, number] | null;
  outShape: [number, number] | null;
  summary: Record<string, number | string> | null;
  /** The finished run's noise diagnostics (report.json's noiseDiagnostics), once fetched. */
  noise: RunNoiseReport | null;
  /** The settings the current/last run used (for export and the project file). */
  ran: { prior: string; settings: SamplerSettings } | null;
}

export interface RunSlice {
  priors: PriorInfo[];
  priorsState: 'idle' | 'loading' | 'ok' | 'error';
  priorsError: string | null;
  userDir: string | null;
  priorSpec: string | null;
  settings: SamplerSettings;
  run: RunStatus;
  setPriors(p: { priors: PriorInfo[]; userDir: string } | { error: string } | 'loading'): void;
  setPriorSpec(spec: string | null): void;
  setSettings(patch: Partial<SamplerSettings>): void;
  patchRun(patch: Partial<RunStatus>): void;
  resetRun(patch?: Partial<RunStatus>): void;
}

/** Defaults: predictor–corrector (the engine's default sampler) with its default 500 steps, 4 samples, seed 1. */
export const DEFAULT_SETTINGS: SamplerSettings = { sampler: 'pc', n: 4, steps: 500, seed: 1, fluxScale: null };

export const IDLE_RUN: RunStatus = {
  jobId: null,
  state: 'idle',
  step: 0,
  steps: 0,
  sigma: null,
  chi2: null,
  elapsedS: 0,
  etaS: null,
  message: null,
  queuePosition: null,
  warnings: [],
  previewVersion: 0,
  previews: 0,
  chartVersion: 0,
  inShape: null,
  outShape: null,
  summary: null,
  noise: null,
  ran: null,
};

export const createRunSlice: StateCreator<AppState, [], [], RunSlice> = (set) => ({
  priors: [],
  priorsState: 'idle',
  priorsError: null,
  userDir: null,
  priorSpec: null,
  settings: DEFAULT_SETTINGS,
  run: IDLE_RUN,
  setPriors: (p) =>
    set((s) => {
      if (p === 'loading') return { priorsState: 'loading' };
      if ('error' in p) return { priorsState: 'error', priorsError: p.error };
      const keep = s.priorSpec && p.priors.some((x) => x.spec === s.priorSpec) ? s.priorSpec : (p.priors[0]?.spec ?? s.priorSpec);
      return { priors: p.priors, userDir: p.userDir, priorsState: 'ok', priorsError: null, priorSpec: keep };
    }),
  setPriorSpec: (priorSpec) => set({ priorSpec }),
  setSettings: (patch) => set((s) => ({ settings: { ...s.settings, ...patch } })),
  patchRun: (patch) => set((s) => ({ run: { ...s.run, ...patch } })),
  resetRun: (patch = {}) => set((s) => ({ run: { ...IDLE_RUN, previewVersion: s.run.previewVersion + 1, chartVersion: s.run.chartVersion + 1, ...patch } })),
});
