/** The viewer's view geometry and its store slice (locked views, live updates keep the display). */
import { describe, it, expect } from 'vitest';
import { create } from 'zustand';
import { fitView, zoomAbout, screenToImage, imageToScreen, pixelAt, MAX_ZOOM } from '../../src-renderer/src/viewer/view.js';
import { createImagesSlice, setViewMapper, viewOf, type ImagesSlice } from '../../src-renderer/src/store/images.js';
import { defaultDisplay } from '../../src-renderer/src/viewer/images.js';
import { alignMode, mapView } from '../../src-renderer/src/viewer/align.js';
import { celestialWcs as viewerWcs } from '../../src-renderer/src/viewer/wcs.js';
import { cutoutHeader } from '../../src-shared/image/cutout.js';
import { readFits } from '../../src-shared/fits/index.js';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';

describe('view geometry', () => {
  it('screen ↔ image are inverse, y up', () => {
    const v = { cx: 10.5, cy: -3, zoom: 2.5 };
    const [x, y] = screenToImage(v, 123, 45, 400, 300);
    const [sx, sy] = imageToScreen(v, x, y, 400, 300);
    expect(sx).toBeCloseTo(123, 12);
    expect(sy).toBeCloseTo(45, 12);
    // moving down the screen goes down the image (FITS row 1 at the bottom)
    expect(screenToImage(v, 200, 200, 400, 300)[1]).toBeLessThan(screenToImage(v, 200, 100, 400, 300)[1]);
    expect(screenToImage(v, 200, 150, 400, 300)).toEqual([10.5, -3]);
  });

  it('zooming about a point keeps the image point under it', () => {
    const v = { cx: 100, cy: 50, zoom: 1.3 };
    const before = screenToImage(v, 77, 222, 640, 480);
    const z = zoomAbout(v, 3.7, 77, 222, 640, 480);
    expect(z.zoom).toBeCloseTo(1.3 * 3.7, 12);
    const after = screenToImage(z, 77, 222, 640, 480);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
    expect(zoomAbout(v, 1e9, 0, 0, 10, 10).zoom).toBe(MAX_ZOOM);
  });

  it('fit centres the image and shows all of it', () => {
    const f = fitView(256, 128, 500, 400);
    expect([f.cx, f.cy]).toEqual([127.5, 63.5]);
    const [x0, y0] = imageToScreen(f, -0.5, -0.5, 500, 400);
    const [x1, y1] = imageToScreen(f, 255.5, 127.5, 500, 400);
    expect(x0).toBeGreaterThanOrEqual(0);
    expect(x1).toBeLessThanOrEqual(500);
    expect(y1).toBeGreaterThanOrEqual(0);
    expect(y0).toBeLessThanOrEqual(400);
    expect(pixelAt(-0.49, 0.2, 4, 4)).toEqual([0, 0]);
    expect(pixelAt(3.51, 0, 4, 4)).toBeNull();
  });
});

describe('images slice', () => {
  const make = () => create<ImagesSlice>()((...a) => createImagesSlice(...(a as unknown as Parameters<typeof createImagesSlice>)));
  const meta = (id: string, w = 8, h = 8) => ({ id, title: id, role: 'other' as const, width: w, height: h, bunit: null, hasHeader: false, wcsLabel: null, wcsNote: null, finite: w * h, count: w * h });

  it('residuals default to the diverging map with symmetric limits', () => {
    expect(defaultDisplay('residual')).toMatchObject({ colormap: 'coolwarm', limits: { mode: 'symmetric' } });
    expect(defaultDisplay('observation').colormap).toBe('grey');
  });

  it('updating an image of the same size keeps its display and bumps its version; a new size resets it', () => {
    const s = make();
    s.getState().upsertImage(meta('a'), defaultDisplay('mean'));
    s.getState().setDisplay('a', { colormap: 'magma' });
    s.getState().upsertImage(meta('a'), defaultDisplay('mean'));
    expect(s.getState().images.a.version).toBe(2);
    expect(s.getState().display.a.colormap).toBe('magma');
    s.getState().upsertImage(meta('a', 16, 16), defaultDisplay('mean'));
    expect(s.getState().display.a.colormap).toBe('grey');
    expect(s.getState().order).toEqual(['a']);
  });

  it('locked views move together; unlocking keeps what each showed', () => {
    const s = make();
    s.getState().upsertImage(meta('a'), defaultDisplay('observation'));
    s.getState().upsertImage(meta('b'), defaultDisplay('residual'));
    s.getState().setView('a', { cx: 1, cy: 2, zoom: 3 });
    expect(viewOf(s.getState(), 'b')).toEqual({ cx: 1, cy: 2, zoom: 3 });
    s.getState().setLockViews(false);
    s.getState().setView('b', { cx: 5, cy: 5, zoom: 1 });
    expect(viewOf(s.getState(), 'a')).toEqual({ cx: 1, cy: 2, zoom: 3 });
    expect(viewOf(s.getState(), 'b')).toEqual({ cx: 5, cy: 5, zoom: 1 });
    s.getState().setActiveImage('b');
    s.getState().setLockViews(true);
    expect(viewOf(s.getState(), 'a')).toEqual({ cx: 5, cy: 5, zoom: 1 });
    s.getState().removeImage('b');
    expect(s.getState().order).toEqual(['a']);
    expect(s.getState().activeImage).toBe('a');
  });
});

describe('locked views across images of different sizes', () => {
  const dor = readFits(new Uint8Array(readFileSync(dataPath('radio', 'purify_30dor_spitzer8um.fits')))).hdus[0]!.header;
  const big = { width: 251, height: 251, wcs: viewerWcs(dor).wcs };
  // a cutout binned by 2 of x 41…140, y 61…140 (1-based): 50 × 40 pixels of 4.32″
  const small = { width: 50, height: 40, wcs: viewerWcs(cutoutHeader(dor, { x0: 40, y0: 60, nx: 100, ny: 80 }, 2)).wcs };

  it('by WCS: the same sky position at the centre, the same angular scale on screen', () => {
    expect(alignMode(big, small)).toBe('wcs');
    const v = { cx: 90.5, cy: 100.5, zoom: 3 };
    const m = mapView(v, big, small);
    // original pixel 90.5 is binned pixel (90.5 − 40 − 0.5)/2 = 25, y (100.5 − 60 − 0.5)/2 = 20
    expect(m.cx).toBeCloseTo(25, 6);
    expect(m.cy).toBeCloseTo(20, 6);
    expect(m.zoom).toBeCloseTo(6, 9);
    const back = mapView(m, small, big);
    expect(back.cx).toBeCloseTo(v.cx, 6);
    expect(back.cy).toBeCloseTo(v.cy, 6);
  });

  it('without WCS on one side: by relative position (the same fraction of each image, each the same size on screen)', () => {
    const plain = { width: 64, height: 64, wcs: null };
    expect(alignMode(big, plain)).toBe('relative');
    const fit = fitView(251, 251, 500, 500);
    const m = mapView(fit, big, plain);
    expect(m.cx).toBeCloseTo(31.5, 9);
    expect(m.cy).toBeCloseTo(31.5, 9);
    expect(m.zoom * 64).toBeCloseTo(fit.zoom * 251, 9);
    // the same size: unchanged
    expect(mapView({ cx: 3, cy: 4, zoom: 2 }, { width: 8, height: 8, wcs: null }, { width: 8, height: 8, wcs: null })).toEqual({ cx: 3, cy: 4, zoom: 2 });
  });

  it('viewOf maps the shared view to each panel; a new image or size refits; the fit flag follows', () => {
    const make = () => create<ImagesSlice>()((...a) => createImagesSlice(...(a as unknown as Parameters<typeof createImagesSlice>)));
    const s = make();
    const meta = (id: string, w: number, h: number) => ({ id, title: id, role: 'other' as const, width: w, height: h, bunit: null, hasHeader: false, wcsLabel: null, wcsNote: null, finite: w * h, count: w * h });
    setViewMapper((v, from, to) => mapView(v, { width: s.getState().images[from]!.width, height: s.getState().images[from]!.height, wcs: null }, { width: s.getState().images[to]!.width, height: s.getState().images[to]!.height, wcs: null }));
    try {
      s.getState().upsertImage(meta('a', 100, 100), defaultDisplay('observation'));
      s.getState().upsertImage(meta('b', 50, 50), defaultDisplay('mean'));
      s.getState().setView('a', fitView(100, 100, 400, 400));
      const vb = viewOf(s.getState(), 'b')!;
      expect(vb.cx).toBeCloseTo(24.5, 9);
      expect(vb.zoom).toBeCloseTo(2 * viewOf(s.getState(), 'a')!.zoom, 9);
      expect(vb.fit).toBe(true);
      // the same object while nothing changes (panels redraw on a change of identity only)
      expect(viewOf(s.getState(), 'b')).toBe(vb);
      // an update of the same size keeps the view; a new size drops it (the panel fits it again)
      s.getState().upsertImage(meta('b', 50, 50), defaultDisplay('mean'));
      expect(s.getState().sharedView).not.toBeNull();
      s.getState().upsertImage(meta('b', 60, 50), defaultDisplay('mean'));
      expect(s.getState().sharedView).toBeNull();
    } finally {
      setViewMapper(null);
    }
  });
});

describe('what images belong to', () => {
  it('products of another observation are marked stale; the current one\'s are not', () => {
    const s = create<ImagesSlice>()((...a) => createImagesSlice(...(a as unknown as Parameters<typeof createImagesSlice>)));
    const meta = (id: string, key: string | null) => ({ id, title: id, role: 'mean' as const, width: 4, height: 4, bunit: null, hasHeader: false, wcsLabel: null, wcsNote: null, finite: 16, count: 16, source: key ? { key, label: `${key}.fits` } : null });
    s.getState().upsertImage(meta('mean', 'old'), defaultDisplay('mean'));
    s.getState().upsertImage(meta('other', null), defaultDisplay('mean'));
    s.getState().markStale({ key: 'new', label: 'new.fits' }, (m) => m.role === 'mean');
    expect(s.getState().images.mean!.stale).toBe('from old.fits, not the current observation (new.fits)');
    expect(s.getState().images.other!.stale).toBeNull();
    s.getState().markStale({ key: 'old', label: 'old.fits' }, (m) => m.role === 'mean');
    expect(s.getState().images.mean!.stale).toBeNull();
  });
});
