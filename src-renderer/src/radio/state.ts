/**
 * The Visibilities view's state: the open UVFITS file (its summary and plot points from the engine), the imaging
 * and CLEAN settings, the CLEAN job, the posterior's settings and job, and the products (FITS files as the engine made them). A store of its own:
 * nothing else in the app reads it.
 */
import { create } from 'zustand';
import type { CleanMethodName, NamedFile, SamplerSettings, UvOpenResult, UvSelfcalReport, UvSourceChoice, WeightingName } from '../../../src-shared/protocol/index';

export interface ImagingForm {
  /** null: the default of the file. */
  size: number | null;
  cellArcsec: number | null;
  weighting: WeightingName;
  robust: number;
  niter: number;
  gain: number;
  threshold: number;
  method: CleanMethodName;
  /** Self-calibration before CLEAN and the posterior: none, phase (--selfcal p) or amplitude and phase (ap). */
  selfcal: 'none' | 'p' | 'ap';
  /** --selfcal-rounds (1…50), --solint seconds (0: each time stamp), --selfcal-start. */
  selfcalRounds: number;
  solint: number;
  selfcalStart: 'auto' | 'point' | 'clean' | 'closure';
}

export type CleanState = 'idle' | 'queued' | 'running' | 'done' | 'cancelled' | 'error';

/**
 * The posterior's settings (`skyscore reconstruct --vis`): a prior of the engine's list, the sampler's settings
 * (those of the run panel; the flux scale is automatic, from the image plane), and whether to rescale the weights
 * to the data's scatter (--reweight), and whether to hold the total flux at zero spacing (the survey CLEAN's;
 * off: --total-flux none).
 */
export interface PosteriorForm extends SamplerSettings {
  /** A prior's id in priors.list; null: the first one that fits. */
  prior: string | null;
  reweight: boolean;
  zeroSpacing: boolean;
}

export interface PosteriorStatus {
  jobId: string | null;
  state: CleanState;
  step: number;
  steps: number;
  /** χ² per visibility degree of freedom of the running mean (then of the posterior mean). */
  chi2: number | null;
  /** The settings line, or the error. */
  message: string | null;
  /** The command line that gives the same products. */
  command: string | null;
  /** The warnings of report.json. */
  warnings: string[];
  /** A run stopped and kept: where, and the chains kept. */
  stopped: { step: number; steps: number; chains: number; of: number } | null;
  /** What the self-calibration before it did (report.json's selfcal); null without. */
  selfcal: UvSelfcalReport | null;
}

export interface RadioState {
  /** The open file: its bytes (to open it again after an engine restart) and what the engine said of it. */
  file: { name: string; bytes: Uint8Array; open: UvOpenResult } | null;
  /**
   * A file of several sources waiting for the user's choice (nothing is imaged until one is chosen, as the command
   * line refuses such a file without --source): its bytes and its sources.
   */
  choice: { name: string; bytes: Uint8Array; list: UvSourceChoice } | null;
  form: ImagingForm;
  busy: string | null;
  /** A dirty image is being made (a newer request, a change of size, cell or weighting, or closing stops it). */
  imaging: boolean;
  error: string | null;
  clean: {
    jobId: string | null;
    state: CleanState;
    iterations: number;
    niter: number;
    majorCycles: number;
    peak: number | null;
    message: string | null;
    /** The self-calibration loop is running (before the CLEAN of the corrected data). */
    selfcalRunning: boolean;
    /** What the self-calibration before the CLEAN did; null without. */
    selfcal: UvSelfcalReport | null;
  };
  posteriorForm: PosteriorForm;
  posterior: PosteriorStatus;
  /**
   * The latest products (dirty image and beam; with CLEAN the five; the posterior's four and report.json), and the
   * settings line they were made with.
   */
  products: { files: NamedFile[]; label: string; summary: string | null; kind: 'clean' | 'posterior' } | null;
  /** |A·model| at the plotted visibilities after a CLEAN or a posterior run (the CLEAN model or the posterior mean). */
  modelAmp: Float32Array | null;
  /** What modelAmp is of, for the plot's legend. */
  modelLabel: string;
  /**
   * |V| of the self-calibrated data at the plotted visibilities (NaN: left out) after a CLEAN with amplitude gains
   * (ap), drawn instead of the data as read; null otherwise (phase gains leave the amplitudes as they are).
   */
  dataAmp: Float32Array | null;
  /** The uv plot shown at full size. */
  fullSize: boolean;
  /** The view folded to its header line (the image panels below get the room). */
  folded: boolean;
  /** A forward model's uv-sampling operator's points shown at full size (they hold (u, v) and (−u, −v)). */
  operatorUv: { u: Float32Array; v: Float32Array; maxBaseline: number; title: string } | null;
  set(p: Partial<Omit<RadioState, 'set' | 'patchForm' | 'patchClean' | 'patchPosteriorForm' | 'patchPosterior'>>): void;
  patchForm(p: Partial<ImagingForm>): void;
  patchClean(p: Partial<RadioState['clean']>): void;
  patchPosteriorForm(p: Partial<PosteriorForm>): void;
  patchPosterior(p: Partial<PosteriorStatus>): void;
}

export const DEFAULT_FORM: ImagingForm = { size: null, cellArcsec: null, weighting: 'natural', robust: 0, niter: 1000, gain: 0.1, threshold: 0, method: 'cotton-schwab', selfcal: 'none', selfcalRounds: 3, solint: 0, selfcalStart: 'auto' };

export const DEFAULT_POSTERIOR_FORM: PosteriorForm = { prior: null, sampler: 'pc', n: 4, steps: 200, seed: 1, fluxScale: null, reweight: false, zeroSpacing: true };
export const IDLE_POSTERIOR: PosteriorStatus = { jobId: null, state: 'idle', step: 0, steps: 0, chi2: null, message: null, command: null, warnings: [], stopped: null, selfcal: null };

export const useRadio = create<RadioState>()((set) => ({
  file: null,
  choice: null,
  form: { ...DEFAULT_FORM },
  busy: null,
  imaging: false,
  error: null,
  clean: { jobId: null, state: 'idle', iterations: 0, niter: 0, majorCycles: 0, peak: null, message: null, selfcalRunning: false, selfcal: null },
  posteriorForm: { ...DEFAULT_POSTERIOR_FORM },
  posterior: { ...IDLE_POSTERIOR },
  products: null,
  modelAmp: null,
  modelLabel: 'CLEAN model |V|',
  dataAmp: null,
  fullSize: false,
  folded: false,
  operatorUv: null,
  set: (p) => set(p),
  patchForm: (p) => set((s) => ({ form: { ...s.form, ...p } })),
  patchClean: (p) => set((s) => ({ clean: { ...s.clean, ...p } })),
  patchPosteriorForm: (p) => set((s) => ({ posteriorForm: { ...s.posteriorForm, ...p } })),
  patchPosterior: (p) => set((s) => ({ posterior: { ...s.posterior, ...p } })),
}));
