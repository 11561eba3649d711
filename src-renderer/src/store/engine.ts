import type { StateCreator } from 'zustand';
import type { EngineInfo } from '../../../src-shared/protocol/index';
import type { AppState } from './index';

export type EngineState = 'connecting' | 'ready' | 'restarting' | 'error';

export interface EngineSlice {
  engineState: EngineState;
  engineInfo: EngineInfo | null;
  engineError: string | null;
  setEngineInfo(info: EngineInfo): void;
  setEngineState(state: EngineState, error?: string | null): void;
}

export const createEngineSlice: StateCreator<AppState, [], [], EngineSlice> = (set) => ({
  engineState: 'connecting',
  engineInfo: null,
  engineError: null,
  setEngineInfo: (info) => set({ engineInfo: info, engineState: 'ready', engineError: null }),
  setEngineState: (engineState, error = null) => set({ engineState, engineError: error }),
});
