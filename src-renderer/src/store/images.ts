/**
 * The viewer's slice: which images exist (ids, titles, roles, sizes, versions), how each is displayed
 * (scale, limits, colour map), the views (pan/zoom, locked together or not), the file being browsed (HDUs,
 * plane) and the viewer's messages. Never pixels: those live in cache/pixels.ts.
 */
import type { StateCreator } from 'zustand';
import type { AppState } from './index';
import type { LimitsSpec } from '../../../src-shared/image/limits';
import type { ScaleName } from '../../../src-shared/image/scales';
import type { ColormapName } from '../../../src-shared/image/colormaps';
import type { HduSummary } from '../../../src-shared/protocol/fits';

export type ImageRole = 'observation' | 'mean' | 'std' | 'residual' | 'sample' | 'other';

export interface ImageMeta {
  id: string;
  title: string;
  role: ImageRole;
  width: number;
  height: number;
  /** Bumped whenever the pixels change (panels re-upload on a new version). */
  version: number;
  bunit: string | null;
  hasHeader: boolean;
  /** Celestial frame shown by the read-out, or why there is none. */
  wcsLabel: string | null;
  wcsNote: string | null;
  finite: number;
  count: number;
}

export interface DisplayState {
  scale: ScaleName;
  scaleParam: number;
  limits: LimitsSpec;
  colormap: ColormapName;
  invert: boolean;
}

/** Pan/zoom: the image pixel (0-based, x right, y up) at the panel centre and screen pixels per image pixel. */
export interface ViewState {
  cx: number;
  cy: number;
  zoom: number;
}

export interface BrowsedFile {
  fileId: string;
  name: string;
  hdus: HduSummary[];
  hdu: number;
  plane: number;
}

export interface ImagesSlice {
  images: Record<string, ImageMeta>;
  /** Panel order, left to right. */
  order: string[];
  display: Record<string, DisplayState>;
  views: Record<string, ViewState>;
  sharedView: ViewState | null;
  lockViews: boolean;
  activeImage: string | null;
  browsed: BrowsedFile | null;
  viewerBusy: string | null;
  viewerError: string | null;
  viewerWarnings: string[];
  headerFor: string | null;
  rendererNote: string | null;

  upsertImage(meta: Omit<ImageMeta, 'version'>, display: DisplayState): void;
  removeImage(id: string): void;
  setDisplay(id: string, patch: Partial<DisplayState>): void;
  setView(id: string, view: ViewState): void;
  setLockViews(lock: boolean): void;
  setActiveImage(id: string): void;
  setBrowsed(b: BrowsedFile | null): void;
  setViewerBusy(text: string | null): void;
  setViewerError(text: string | null): void;
  setViewerWarnings(w: string[]): void;
  setHeaderFor(id: string | null): void;
  setRendererNote(note: string | null): void;
}

export const createImagesSlice: StateCreator<AppState, [], [], ImagesSlice> = (set) => ({
  images: {},
  order: [],
  display: {},
  views: {},
  sharedView: null,
  lockViews: true,
  activeImage: null,
  browsed: null,
  viewerBusy: null,
  viewerError: null,
  viewerWarnings: [],
  headerFor: null,
  rendererNote: null,

  upsertImage: (meta, display) =>
    set((s) => {
      const old = s.images[meta.id];
      const images = { ...s.images, [meta.id]: { ...meta, version: (old?.version ?? 0) + 1 } };
      const order = old ? s.order : [...s.order, meta.id];
      // keep the user's display settings of an image that is updated (live previews), unless its size changed
      const keep = old && old.width === meta.width && old.height === meta.height && s.display[meta.id];
      const disp = keep ? s.display : { ...s.display, [meta.id]: display };
      return { images, order, display: disp, activeImage: s.activeImage && images[s.activeImage] ? s.activeImage : meta.id };
    }),
  removeImage: (id) =>
    set((s) => {
      if (!s.images[id]) return {};
      const images = { ...s.images };
      delete images[id];
      const display = { ...s.display };
      delete display[id];
      const views = { ...s.views };
      delete views[id];
      const order = s.order.filter((x) => x !== id);
      return { images, display, views, order, activeImage: s.activeImage === id ? (order[0] ?? null) : s.activeImage, headerFor: s.headerFor === id ? null : s.headerFor };
    }),
  setDisplay: (id, patch) => set((s) => (s.display[id] ? { display: { ...s.display, [id]: { ...s.display[id], ...patch } } } : {})),
  setView: (id, view) => set((s) => (s.lockViews ? { sharedView: view, views: { ...s.views, [id]: view } } : { views: { ...s.views, [id]: view } })),
  setLockViews: (lockViews) =>
    set((s) => {
      const active = s.activeImage ? (s.views[s.activeImage] ?? s.sharedView) : s.sharedView;
      if (!lockViews) {
        // unlocking: every panel keeps what it showed
        const views = { ...s.views };
        if (s.sharedView) for (const id of s.order) views[id] = s.sharedView;
        return { lockViews, views };
      }
      return { lockViews, sharedView: active ?? null };
    }),
  setActiveImage: (activeImage) => set({ activeImage }),
  setBrowsed: (browsed) => set({ browsed }),
  setViewerBusy: (viewerBusy) => set({ viewerBusy }),
  setViewerError: (viewerError) => set({ viewerError }),
  setViewerWarnings: (viewerWarnings) => set({ viewerWarnings }),
  setHeaderFor: (headerFor) => set({ headerFor }),
  setRendererNote: (rendererNote) => set({ rendererNote }),
});

/** The view a panel shows: the shared one when views are locked. */
export function viewOf(s: Pick<ImagesSlice, 'lockViews' | 'sharedView' | 'views'>, id: string): ViewState | null {
  return s.lockViews ? (s.sharedView ?? s.views[id] ?? null) : (s.views[id] ?? null);
}
