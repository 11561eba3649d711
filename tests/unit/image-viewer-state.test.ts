/** The viewer's view geometry and its store slice (locked views, live updates keep the display). */
import { describe, it, expect } from 'vitest';
import { create } from 'zustand';
import { fitView, zoomAbout, screenToImage, imageToScreen, pixelAt, MAX_ZOOM } from '../../src-renderer/src/viewer/view.js';
import { createImagesSlice, viewOf, type ImagesSlice } from '../../src-renderer/src/store/images.js';
import { defaultDisplay } from '../../src-renderer/src/viewer/images.js';

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
