/**
 * The app store: small zustand slices. It holds ids, versions and metadata only — pixel buffers live in a
 * plain cache outside reactive state.
 */
import { create } from 'zustand';
import { createEngineSlice, type EngineSlice } from './engine';
import { createUiSlice, type UiSlice } from './ui';
import { createImagesSlice, type ImagesSlice } from './images';
import { createModelSlice, type ModelSlice } from './model';
import { createRunSlice, type RunSlice } from './run';
import { createTrainSlice, type TrainSlice } from './train';

export type AppState = EngineSlice & UiSlice & ImagesSlice & ModelSlice & RunSlice & TrainSlice;

export const useStore = create<AppState>()((...a) => ({
  ...createEngineSlice(...a),
  ...createUiSlice(...a),
  ...createImagesSlice(...a),
  ...createModelSlice(...a),
  ...createRunSlice(...a),
  ...createTrainSlice(...a),
}));
