import type { StateCreator } from 'zustand';
import type { AppState } from './index';
import type { TrainParams } from '../../../src-shared/protocol/index';

/** The training panel's settings: a training job's parameters without its data and the resume flag. */
export type TrainSettings = Omit<TrainParams, 'data' | 'resume'>;

export interface TrainStatus {
  jobId: string | null;
  state: 'idle' | 'starting' | 'running' | 'stopping' | 'done' | 'error' | 'cancelled';
  step: number;
  steps: number;
  loss: number | null;
  valLoss: number | null;
  imagesPerS: number | null;
  etaS: number | null;
  message: string | null;
  out: string | null;
  chartVersion: number;
}

export interface TrainSlice {
  trainData: { names: string[]; size: number } | null;
  trainSettings: TrainSettings;
  train: TrainStatus;
  setTrainData(d: TrainSlice['trainData']): void;
  setTrainSettings(patch: Partial<TrainSettings>): void;
  patchTrain(patch: Partial<TrainStatus>): void;
}

export const DEFAULT_TRAIN: TrainSettings = { name: 'my-prior', size: 64, steps: 2000, batch: 16, scale: null, nf: 32 };

export const IDLE_TRAIN: TrainStatus = {
  jobId: null,
  state: 'idle',
  step: 0,
  steps: 0,
  loss: null,
  valLoss: null,
  imagesPerS: null,
  etaS: null,
  message: null,
  out: null,
  chartVersion: 0,
};

export const createTrainSlice: StateCreator<AppState, [], [], TrainSlice> = (set) => ({
  trainData: null,
  trainSettings: DEFAULT_TRAIN,
  train: IDLE_TRAIN,
  setTrainData: (trainData) => set({ trainData }),
  setTrainSettings: (patch) => set((s) => ({ trainSettings: { ...s.trainSettings, ...patch } })),
  patchTrain: (patch) => set((s) => ({ train: { ...s.train, ...patch } })),
});
