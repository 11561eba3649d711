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
import type { Region } from '../../../src-shared/image/region';

export type ImageRole = 'observation' | 'viewed' | 'mean' | 'std' | 'residual' | 'sample' | 'other';

/** What an image came from: a key (the observation's `sha256:hdu:plane`, or a file's) and its name for people. */
export interface ImageSource {
  key: string;
  label: string;
}

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
  /** The observation (or file) the image belongs to; null when unknown. */
  source: ImageSource | null;
  /** Why the image no longer belongs to the current observation (shown on its panel), or null. */
  stale: string | null;
}

export interface DisplayState {
  scale: ScaleName;
  scaleParam: number;
  limits: LimitsSpec;
  colormap: ColormapName;
  invert: boolean;
}

/**
 * Pan/zoom: the image pixel (0-based, x right, y up) at the panel centre and screen pixels per image pixel.
 * `fit`: the view is "the whole image fitted to the panel" and follows the panel's size (until a pan or zoom).
 */
export interface ViewState {
  cx: number;
  cy: number;
  zoom: number;
  fit?: boolean;
}

/** The view shared by locked panels, in the pixel coordinates of image `ref` (the panel last moved). */
export interface SharedView extends ViewState {
  ref: string;
}

/**
 * Maps the shared view (in `from`'s pixels) to the pixels of image `to`: by sky coordinates where both have
 * a WCS, else by relative position. The viewer registers it (it needs the WCS, which lives in the pixel cache).
 */
export type ViewMapper = (v: ViewState, from: string, to: string) => ViewState;
let mapper: ViewMapper | null = null;
export function setViewMapper(m: ViewMapper | null): void {
  mapper = m;
  mapped = new WeakMap();
}
// one mapped object per shared view and panel, so that subscribers comparing views by identity redraw only on change
let mapped = new WeakMap<SharedView, Map<string, ViewState>>();

export interface BrowsedFile {
  fileId: string;
  name: string;
  sha256: string;
  /** The panel it shows in: the observation's, or a panel for viewing only. */
  target: 'observation' | 'viewed';
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
  sharedView: SharedView | null;
  /** The image just opened (or resized): locked panels fit it, and the others follow it. */
  fitNext: string | null;
  lockViews: boolean;
  activeImage: string | null;
  browsed: BrowsedFile | null;
  viewerBusy: string | null;
  viewerError: string | null;
  viewerWarnings: string[];
  /** A file opened for viewing only while another is the observation: the question whether it should become it. */
  viewerAsk: { name: string; observation: string } | null;
  headerFor: string | null;
  rendererNote: string | null;
  /** The statistics region: on which image, and where (its pixels). */
  region: { id: string; region: Region } | null;
  /** The panel showing the forward model's mask over its image (pixels in viewer/overlays.ts). */
  maskOverlay: { id: string; version: number; masked: number } | null;
  /** Whether the mask is drawn over the observation. */
  showMask: boolean;

  upsertImage(meta: Omit<ImageMeta, 'version' | 'stale' | 'source'> & { stale?: string | null; source?: ImageSource | null }, display: DisplayState): void;
  /** Marks the images `which` selects (run products, the truth) as stale when their source is not `current`. */
  markStale(current: ImageSource | null, ids: (m: ImageMeta) => boolean): void;
  removeImage(id: string): void;
  setDisplay(id: string, patch: Partial<DisplayState>): void;
  setView(id: string, view: ViewState): void;
  setLockViews(lock: boolean): void;
  setActiveImage(id: string): void;
  setBrowsed(b: BrowsedFile | null): void;
  setViewerBusy(text: string | null): void;
  setViewerError(text: string | null): void;
  setViewerWarnings(w: string[]): void;
  setViewerAsk(a: ImagesSlice['viewerAsk']): void;
  setHeaderFor(id: string | null): void;
  setRendererNote(note: string | null): void;
  setRegion(r: ImagesSlice['region']): void;
  setMaskOverlay(m: ImagesSlice['maskOverlay']): void;
  setShowMask(on: boolean): void;
}

export const createImagesSlice: StateCreator<AppState, [], [], ImagesSlice> = (set) => ({
  images: {},
  order: [],
  display: {},
  views: {},
  sharedView: null,
  fitNext: null,
  lockViews: true,
  activeImage: null,
  browsed: null,
  viewerBusy: null,
  viewerError: null,
  viewerWarnings: [],
  viewerAsk: null,
  headerFor: null,
  rendererNote: null,
  region: null,
  maskOverlay: null,
  showMask: true,

  upsertImage: (meta, display) =>
    set((s) => {
      const old = s.images[meta.id];
      const images = { ...s.images, [meta.id]: { ...meta, source: meta.source ?? null, stale: meta.stale ?? null, version: (old?.version ?? 0) + 1 } };
      const order = old ? s.order : [...s.order, meta.id];
      // keep the user's display settings of an image that is updated (live previews), unless its size changed
      const sameSize = !!old && old.width === meta.width && old.height === meta.height;
      const keep = sameSize && s.display[meta.id];
      const disp = keep ? s.display : { ...s.display, [meta.id]: display };
      // a new image, a new size or another file: it opens fitted to its panel (and locked panels follow it)
      const refit = !sameSize || (old.source?.key ?? null) !== (meta.source?.key ?? null);
      const out: Partial<ImagesSlice> = { images, order, display: disp, activeImage: s.activeImage && images[s.activeImage] ? s.activeImage : meta.id };
      if (refit) {
        const views = { ...s.views };
        delete views[meta.id];
        out.views = views;
        out.sharedView = null;
        out.fitNext = meta.id;
      }
      return out;
    }),
  markStale: (current, which) =>
    set((s) => {
      let images: Record<string, ImageMeta> | null = null;
      for (const id of s.order) {
        const m = s.images[id]!;
        if (!which(m)) continue;
        const stale = m.source && m.source.key !== current?.key ? `from ${m.source.label}, not the current observation${current ? ` (${current.label})` : ''}` : null;
        if (stale === m.stale) continue;
        images ??= { ...s.images };
        images[id] = { ...m, stale };
      }
      return images ? { images } : {};
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
      const sharedView = s.sharedView?.ref === id ? null : s.sharedView;
      return { images, display, views, order, sharedView, fitNext: s.fitNext === id ? null : s.fitNext, region: s.region?.id === id ? null : s.region, activeImage: s.activeImage === id ? (order[0] ?? null) : s.activeImage, headerFor: s.headerFor === id ? null : s.headerFor };
    }),
  setDisplay: (id, patch) => set((s) => (s.display[id] ? { display: { ...s.display, [id]: { ...s.display[id], ...patch } } } : {})),
  setView: (id, view) => set((s) => (s.lockViews ? { sharedView: { ...view, ref: id }, views: { ...s.views, [id]: view } } : { views: { ...s.views, [id]: view } })),
  setLockViews: (lockViews) =>
    set((s) => {
      if (!lockViews) {
        // unlocking: every panel keeps what it showed
        const views = { ...s.views };
        for (const id of s.order) {
          const v = viewOf(s, id);
          if (v) views[id] = v;
        }
        return { lockViews, views };
      }
      // locking: the active panel's view leads
      const id = s.activeImage && s.views[s.activeImage] ? s.activeImage : s.order.find((x) => s.views[x]);
      return { lockViews, sharedView: id ? { ...s.views[id]!, ref: id } : null };
    }),
  setActiveImage: (activeImage) => set({ activeImage }),
  setBrowsed: (browsed) => set({ browsed }),
  setViewerBusy: (viewerBusy) => set({ viewerBusy }),
  setViewerError: (viewerError) => set({ viewerError }),
  setViewerWarnings: (viewerWarnings) => set({ viewerWarnings }),
  setViewerAsk: (viewerAsk) => set({ viewerAsk }),
  setHeaderFor: (headerFor) => set({ headerFor }),
  setRendererNote: (rendererNote) => set({ rendererNote }),
  setRegion: (region) => set({ region }),
  setMaskOverlay: (maskOverlay) => set({ maskOverlay }),
  setShowMask: (showMask) => set({ showMask }),
});

/** The view a panel shows: when views are locked, the shared one mapped to this image's pixels. */
export function viewOf(s: Pick<ImagesSlice, 'lockViews' | 'sharedView' | 'views'>, id: string): ViewState | null {
  if (!s.lockViews) return s.views[id] ?? null;
  const sv = s.sharedView;
  if (!sv) return s.views[id] ?? null;
  let m = mapped.get(sv);
  if (!m) mapped.set(sv, (m = new Map()));
  let v = m.get(id);
  if (!v) {
    const base = sv.ref === id || !mapper ? sv : mapper(sv, sv.ref, id);
    v = { cx: base.cx, cy: base.cy, zoom: base.zoom };
    if (sv.fit) v.fit = true;
    m.set(id, v);
  }
  return v;
}
