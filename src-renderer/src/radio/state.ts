/**
 * The Visibilities view's state: the open UVFITS file (its summary and plot points from the engine), the imaging
 * and CLEAN settings, the CLEAN job, and the products (FITS files as the engine made them). A store of its own:
 * nothing else in the app reads it.
 */
import { create } from 'zustand';
import type { CleanMethodName, NamedFile, UvOpenResult, WeightingName } from '../../../src-shared/protocol/index';

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
}

export type CleanState = 'idle' | 'queued' | 'running' | 'done' | 'cancelled' | 'error';

export interface RadioState {
  /** The open file: its bytes (to open it again after an engine restart) and what the engine said of it. */
  file: { name: string; bytes: Uint8Array; open: UvOpenResult } | null;
  form: ImagingForm;
  busy: string | null;
  error: string | null;
  clean: { jobId: string | null; state: CleanState; iterations: number; niter: number; majorCycles: number; peak: number | null; message: string | null };
  /** The latest products (dirty image and beam; with CLEAN the five), and the settings line they were made with. */
  products: { files: NamedFile[]; label: string; summary: string | null } | null;
  /** |A·model| at the plotted visibilities after a CLEAN. */
  modelAmp: Float32Array | null;
  /** The uv plot shown at full size. */
  fullSize: boolean;
  /** The view folded to its header line (the image panels below get the room). */
  folded: boolean;
  /** A forward model's uv-sampling operator's points shown at full size (they hold (u, v) and (−u, −v)). */
  operatorUv: { u: Float32Array; v: Float32Array; maxBaseline: number; title: string } | null;
  set(p: Partial<Omit<RadioState, 'set' | 'patchForm' | 'patchClean'>>): void;
  patchForm(p: Partial<ImagingForm>): void;
  patchClean(p: Partial<RadioState['clean']>): void;
}

export const DEFAULT_FORM: ImagingForm = { size: null, cellArcsec: null, weighting: 'natural', robust: 0, niter: 1000, gain: 0.1, threshold: 0, method: 'cotton-schwab' };

export const useRadio = create<RadioState>()((set) => ({
  file: null,
  form: { ...DEFAULT_FORM },
  busy: null,
  error: null,
  clean: { jobId: null, state: 'idle', iterations: 0, niter: 0, majorCycles: 0, peak: null, message: null },
  products: null,
  modelAmp: null,
  fullSize: false,
  folded: false,
  operatorUv: null,
  set: (p) => set(p),
  patchForm: (p) => set((s) => ({ form: { ...s.form, ...p } })),
  patchClean: (p) => set((s) => ({ clean: { ...s.clean, ...p } })),
}));
