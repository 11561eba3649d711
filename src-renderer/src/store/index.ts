/**
 * The app store: small zustand slices. It holds ids, versions and metadata only — pixel buffers live in a
 * plain cache outside reactive state.
 */
import { create } from 'zustand';
import { createEngineSlice, type EngineSlice } from './engine';
import { createUiSlice, type UiSlice } from './ui';

export type AppState = EngineSlice & UiSlice;

export const useStore = create<AppState>()((...a) => ({
  ...createEngineSlice(...a),
  ...createUiSlice(...a),
}));
