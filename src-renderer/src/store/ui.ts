import type { StateCreator } from 'zustand';
import type { AppState } from './index';
import { readFlag, writeFlag, WELCOME_DISMISSED } from './persisted';
import type { CutBox } from '../../../src-shared/image/cutout';

export type ThemeChoice = 'system' | 'light' | 'dark';
export type SideTab = 'model' | 'run' | 'prior';
export type DragTool = 'pan' | 'cutout' | 'box' | 'circle';

export interface Notice {
  id: number;
  level: 'info' | 'warn' | 'error';
  text: string;
}

export interface UiSlice {
  theme: ThemeChoice;
  sideTab: SideTab;
  sidePanelOpen: boolean;
  notices: Notice[];
  /** The first-start welcome card (the bundled example) was dismissed; persisted across starts. */
  welcomeDismissed: boolean;
  /** The bundled example is being fetched and loaded. */
  exampleLoading: boolean;
  /** The cutout dialog: open with a box (0-based pixels of the observation) or a binning of the whole image. */
  cutout: { box: CutBox | null; bin: number | null } | null;
  /** What a drag on a panel does: pan, draw a cutout box (on the observation), or a region for statistics. */
  dragTool: DragTool;
  setCutout(c: UiSlice['cutout']): void;
  setDragTool(t: DragTool): void;
  setTheme(t: ThemeChoice): void;
  setSideTab(t: SideTab): void;
  toggleSidePanel(): void;
  notify(level: Notice['level'], text: string): void;
  dismiss(id: number): void;
  dismissWelcome(): void;
  setExampleLoading(loading: boolean): void;
}

let noticeId = 1;

export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set) => ({
  theme: 'system',
  sideTab: 'model',
  sidePanelOpen: true,
  notices: [],
  welcomeDismissed: readFlag(WELCOME_DISMISSED),
  exampleLoading: false,
  cutout: null,
  dragTool: 'pan',
  setCutout: (cutout) => set({ cutout }),
  setDragTool: (dragTool) => set({ dragTool }),
  setTheme: (theme) => set({ theme }),
  setSideTab: (sideTab) => set({ sideTab }),
  toggleSidePanel: () => set((s) => ({ sidePanelOpen: !s.sidePanelOpen })),
  notify: (level, text) => set((s) => ({ notices: [...s.notices.slice(-4), { id: noticeId++, level, text }] })),
  dismiss: (id) => set((s) => ({ notices: s.notices.filter((n) => n.id !== id) })),
  dismissWelcome: () => {
    writeFlag(WELCOME_DISMISSED, true);
    set({ welcomeDismissed: true });
  },
  setExampleLoading: (exampleLoading) => set({ exampleLoading }),
});
