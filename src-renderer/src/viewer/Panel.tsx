/**
 * One image panel: a canvas drawn by the WebGL2 (or CPU) renderer, pan and zoom by wheel, trackpad pinch,
 * drag and keys, a title bar with fit / 1:1 / header / PNG, and a colour bar. Drawing happens outside React:
 * the panel subscribes to the store and redraws in the next animation frame when its image, display or view
 * changes.
 */
import { useEffect, useRef, useCallback, useState } from 'react';
import { useStore } from '../store/index';
import { viewOf, type ViewState } from '../store/images';
import { getPixels } from '../cache/pixels';
import { createRenderer, rendererStatus, type ImageRenderer } from './renderer';
import { drawSettings } from './images';
import { fitView, pixelAt, screenToImage, imageToScreen, zoomAbout, clampZoom } from './view';
import { boxFromCorners, clipBox } from '../../../src-shared/image/cutout';
import type { Region } from '../../../src-shared/image/region';
import { publishCursor } from './cursor';
import { ColorBar } from './ColorBar';
import { registerPanelCanvas, snapshotPanel } from './snapshot';
import { adoptViewed } from './open';
import { drawOverlay } from './overlays';

const ROLE_LABEL: Record<string, string> = { observation: 'observation', viewed: 'viewed only', mean: 'posterior mean', std: 'posterior std', residual: 'residual', sample: 'sample', other: '' };

interface ShapeRect {
  left: number;
  top: number;
  width: number;
  height: number;
  borderRadius?: string;
}

/** Where a region (image pixels) lies on a panel of w × h CSS pixels showing view v. */
function shapeRect(v: ViewState, w: number, h: number, r: Region): ShapeRect {
  if (r.kind === 'circle') {
    const [sx, sy] = imageToScreen(v, r.cx, r.cy, w, h);
    const rr = r.r * v.zoom;
    return { left: sx - rr, top: sy - rr, width: 2 * rr, height: 2 * rr, borderRadius: '50%' };
  }
  const [x0, y0] = imageToScreen(v, Math.round(Math.min(r.x0, r.x1)) - 0.5, Math.round(Math.max(r.y0, r.y1)) + 0.5, w, h);
  const [x1, y1] = imageToScreen(v, Math.round(Math.max(r.x0, r.x1)) + 0.5, Math.round(Math.min(r.y0, r.y1)) - 0.5, w, h);
  return { left: x0, top: y0, width: x1 - x0, height: y1 - y0 };
}

export function Panel({ id }: { id: string }) {
  const meta = useStore((s) => s.images[id]);
  const active = useStore((s) => s.activeImage === id);
  const zoom = useStore((s) => viewOf(s, id)?.zoom ?? null);
  const setActive = useStore((s) => s.setActiveImage);
  const removeImage = useStore((s) => s.removeImage);
  const setHeaderFor = useStore((s) => s.setHeaderFor);
  const hostRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const rendererRef = useRef<ImageRenderer | null>(null);
  const frame = useRef(0);
  const uploaded = useRef(-1);
  const regionRef = useRef<HTMLDivElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);

  const size = () => {
    const el = hostRef.current;
    return el ? [el.clientWidth, el.clientHeight] : [1, 1];
  };

  /** A pan or zoom: the view stops following the panel's size. */
  const setView = useCallback((v: ViewState) => useStore.getState().setView(id, { cx: v.cx, cy: v.cy, zoom: v.zoom, fit: false }), [id]);
  const setFitted = useCallback(() => {
    const m = useStore.getState().images[id];
    if (!m) return;
    const [w, h] = size();
    useStore.getState().setView(id, fitView(m.width, m.height, w, h));
  }, [id]);

  const ensureView = useCallback((): ViewState | null => {
    const s = useStore.getState();
    const m = s.images[id];
    if (!m) return null;
    let v = viewOf(s, id);
    if (!v) {
      // no view yet: fit the image — or, locked, the image just opened (the others follow it)
      const [w, h] = size();
      const target = s.lockViews && s.fitNext && s.images[s.fitNext] ? s.fitNext : id;
      const t = s.images[target]!;
      useStore.getState().setView(target, fitView(t.width, t.height, w, h));
      v = viewOf(useStore.getState(), id)!;
    }
    return v;
  }, [id]);

  const draw = useCallback(() => {
    frame.current = 0;
    const r = rendererRef.current;
    const c = canvasRef.current;
    const s = useStore.getState();
    const m = s.images[id];
    const entry = getPixels(id);
    if (!r || !c || !m || !entry) return;
    const [w, h] = size();
    const dpr = window.devicePixelRatio || 1;
    const W = Math.max(1, Math.round(w * dpr));
    const H = Math.max(1, Math.round(h * dpr));
    if (c.width !== W || c.height !== H) {
      c.width = W;
      c.height = H;
    }
    if (uploaded.current !== m.version) {
      r.setImage(entry.data, entry.width, entry.height, entry.levels);
      uploaded.current = m.version;
    }
    const v = ensureView();
    const ds = drawSettings(id);
    if (v && ds) r.draw(v, ds);
    // the mask over the image
    if (overlayRef.current && v) drawOverlay(s.showMask ? id : '', overlayRef.current, v, w, h, dpr);
    // the statistics region, if it is on this image
    const el = regionRef.current;
    const reg = s.region?.id === id ? s.region.region : null;
    if (el) {
      const rect = v && reg ? shapeRect(v, w, h, reg) : null;
      el.hidden = !rect;
      if (rect) Object.assign(el.style, { left: `${rect.left}px`, top: `${rect.top}px`, width: `${rect.width}px`, height: `${rect.height}px`, borderRadius: rect.borderRadius ?? '0' });
    }
  }, [id, ensureView]);

  const schedule = useCallback(() => {
    if (!frame.current) frame.current = requestAnimationFrame(draw);
  }, [draw]);

  // renderer life cycle
  useEffect(() => {
    const host = hostRef.current!;
    const canvas = document.createElement('canvas');
    canvas.className = 'panel-canvas';
    canvas.setAttribute('data-testid', `panel-canvas-${id}`);
    host.prepend(canvas);
    const made = createRenderer(canvas);
    canvasRef.current = made.canvas;
    rendererRef.current = made.renderer;
    registerPanelCanvas(id, made.canvas, () => {
      if (frame.current) cancelAnimationFrame(frame.current);
      draw();
    });
    host.dataset.renderer = made.renderer.kind;
    useStore.getState().setRendererNote(rendererStatus?.note ?? null);
    uploaded.current = -1;
    schedule();
    const ro = new ResizeObserver(() => {
      // a fitted view follows the panel's size (a panel added beside it, a resized window)
      const s = useStore.getState();
      const v = viewOf(s, id);
      const m = s.images[id];
      if (v?.fit && m && (!s.lockViews || s.sharedView?.ref === id || !s.sharedView)) {
        const [w, h] = size();
        const f = fitView(m.width, m.height, w, h);
        if (Math.abs(f.zoom - v.zoom) > 1e-9 * f.zoom || f.cx !== v.cx || f.cy !== v.cy) s.setView(id, f);
      }
      schedule();
    });
    ro.observe(host);
    const unsub = useStore.subscribe((s, p) => {
      if (s.images[id] !== p.images[id] || s.display[id] !== p.display[id] || viewOf(s, id) !== viewOf(p, id) || s.region !== p.region || s.maskOverlay !== p.maskOverlay || s.showMask !== p.showMask) schedule();
    });
    return () => {
      unsub();
      ro.disconnect();
      if (frame.current) cancelAnimationFrame(frame.current);
      frame.current = 0;
      registerPanelCanvas(id, null, null);
      rendererRef.current?.dispose();
      rendererRef.current = null;
      made.canvas.remove();
    };
  }, [id, draw, schedule]);

  // input: wheel (zoom about the cursor; pinch on trackpads arrives as ctrl+wheel; two-finger scroll pans)
  useEffect(() => {
    const el = hostRef.current!;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const v = ensureView();
      if (!v) return;
      const rect = el.getBoundingClientRect();
      const [w, h] = size();
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * h : e.deltaY;
      const dx = e.deltaMode === 1 ? e.deltaX * 16 : e.deltaX;
      const trackpadPan = !e.ctrlKey && e.deltaMode === 0 && Math.abs(dx) > 0 && Math.abs(dy) < 40;
      if (trackpadPan) {
        setView({ ...v, cx: v.cx + dx / v.zoom, cy: v.cy - dy / v.zoom });
        return;
      }
      const factor = Math.exp(-dy * (e.ctrlKey ? 0.01 : 0.002));
      setView(zoomAbout(v, factor, e.clientX - rect.left, e.clientY - rect.top, w, h));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [ensureView, setView]);

  const drag = useRef<{ x: number; y: number; v: ViewState; pid: number } | null>(null);
  // a box or circle being dragged (a cutout, or a statistics region): its corners / centre and edge in image pixels
  const tool = useStore((s) => (s.dragTool === 'cutout' && id !== 'observation' ? 'pan' : s.dragTool));
  const [box, setBox] = useState<{ mode: 'cutout' | 'box' | 'circle'; ax: number; ay: number; bx: number; by: number; pid: number; rect: ShapeRect | null } | null>(null);
  /** The outline on screen: a box along the edges of its whole pixels, a circle by its radius. */
  const outline = (mode: 'cutout' | 'box' | 'circle', ax: number, ay: number, bx: number, by: number) => {
    const v = viewOf(useStore.getState(), id);
    if (!v) return null;
    const [w, h] = size();
    return shapeRect(v, w, h, mode === 'circle' ? { kind: 'circle', cx: ax, cy: ay, r: Math.hypot(bx - ax, by - ay) } : { kind: 'box', x0: ax, y0: ay, x1: bx, y1: by });
  };
  const imagePoint = (e: React.PointerEvent): [number, number] | null => {
    const v = viewOf(useStore.getState(), id);
    if (!v) return null;
    const rect = hostRef.current!.getBoundingClientRect();
    const [w, h] = size();
    return screenToImage(v, e.clientX - rect.left, e.clientY - rect.top, w, h);
  };

  const onPointerDown = (e: React.PointerEvent) => {
    setActive(id);
    hostRef.current?.focus();
    const v = ensureView();
    if (!v || e.button !== 0) return;
    if (tool !== 'pan') {
      const p = imagePoint(e);
      if (p) setBox({ mode: tool, ax: p[0], ay: p[1], bx: p[0], by: p[1], pid: e.pointerId, rect: outline(tool, p[0], p[1], p[0], p[1]) });
    } else drag.current = { x: e.clientX, y: e.clientY, v, pid: e.pointerId };
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
  };

  const readout = (e: React.PointerEvent) => {
    const s = useStore.getState();
    const m = s.images[id];
    const v = viewOf(s, id);
    const entry = getPixels(id);
    if (!m || !v || !entry) return;
    const rect = hostRef.current!.getBoundingClientRect();
    const [w, h] = size();
    const [ix, iy] = screenToImage(v, e.clientX - rect.left, e.clientY - rect.top, w, h);
    const px = pixelAt(ix, iy, m.width, m.height);
    if (!px) return publishCursor(null);
    const [x, y] = px;
    const wcs = entry.wcs;
    let world = null;
    if (wcs) {
      const [lon, lat] = wcs.pixToWorld(x, y);
      if (Number.isFinite(lon) && Number.isFinite(lat)) world = { lon, lat, lonName: wcs.lonName, latName: wcs.latName, frame: wcs.frame };
    }
    publishCursor({ imageId: id, title: m.title, x, y, value: entry.data[y * m.width + x], bunit: m.bunit, world });
  };

  const onPointerMove = (e: React.PointerEvent) => {
    if (box && box.pid === e.pointerId) {
      const p = imagePoint(e);
      if (p) setBox({ ...box, bx: p[0], by: p[1], rect: outline(box.mode, box.ax, box.ay, p[0], p[1]) });
    }
    const d = drag.current;
    if (d && d.pid === e.pointerId) {
      setView({ ...d.v, cx: d.v.cx - (e.clientX - d.x) / d.v.zoom, cy: d.v.cy + (e.clientY - d.y) / d.v.zoom });
    }
    readout(e);
  };

  const onPointerUp = (e: React.PointerEvent) => {
    if (drag.current?.pid === e.pointerId) drag.current = null;
    if (box && box.pid === e.pointerId) {
      setBox(null);
      const st = useStore.getState();
      const m = st.images[id];
      if (!m) return;
      if (box.mode === 'circle') {
        const r = Math.hypot(box.bx - box.ax, box.by - box.ay);
        if (r >= 0.5) st.setRegion({ id, region: { kind: 'circle', cx: box.ax, cy: box.ay, r } });
        return;
      }
      try {
        const b = clipBox(boxFromCorners(box.ax, box.ay, box.bx, box.by), [m.height, m.width]);
        if (box.mode === 'box') st.setRegion({ id, region: { kind: 'box', x0: b.x0, y0: b.y0, x1: b.x0 + b.nx - 1, y1: b.y0 + b.ny - 1 } });
        else if (b.nx >= 2 && b.ny >= 2) {
          st.setDragTool('pan');
          st.setCutout({ box: b, bin: null });
        }
      } catch {
        /* a box outside the image: nothing to cut or measure */
      }
    }
  };


  const fit = setFitted;

  const oneToOne = useCallback(() => {
    const v = ensureView();
    if (v) setView({ ...v, zoom: 1 });
  }, [ensureView, setView]);

  const onKeyDown = (e: React.KeyboardEvent) => {
    const v = ensureView();
    if (!v) return;
    const [w, h] = size();
    const step = (e.shiftKey ? 0.5 : 0.1) * Math.min(w, h) / v.zoom;
    const keys: Record<string, () => void> = {
      ArrowLeft: () => setView({ ...v, cx: v.cx - step }),
      ArrowRight: () => setView({ ...v, cx: v.cx + step }),
      ArrowUp: () => setView({ ...v, cy: v.cy + step }),
      ArrowDown: () => setView({ ...v, cy: v.cy - step }),
      '+': () => setView({ ...v, zoom: clampZoom(v.zoom * 1.25) }),
      '=': () => setView({ ...v, zoom: clampZoom(v.zoom * 1.25) }),
      '-': () => setView({ ...v, zoom: clampZoom(v.zoom / 1.25) }),
      f: fit,
      '0': fit,
      '1': oneToOne,
      h: () => setHeaderFor(id),
    };
    const k = keys[e.key];
    if (k && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      k();
    }
  };

  if (!meta) return null;
  const roleLabel = ROLE_LABEL[meta.role] ?? '';
  return (
    <section className={`panel ${active ? 'active' : ''}`} aria-label={`Panel ${meta.title}`} data-testid={`panel-${id}`}>
      <header className="panel-title">
        <span className="panel-name" title={meta.title}>
          {meta.title}
        </span>
        {roleLabel && (
          <span className={`badge ${meta.role === 'viewed' ? 'viewed' : ''}`} data-testid={`badge-${id}`}>
            {roleLabel}
          </span>
        )}
        {meta.stale && (
          <span className="badge stale" data-testid={`stale-${id}`} title={meta.stale}>
            old: {meta.source?.label}
          </span>
        )}
        {meta.role === 'viewed' && (
          <button type="button" onClick={() => void adoptViewed()} data-testid="use-as-observation" title="Make this file the observation the run uses (the current one's results are kept, marked as its)">
            Use as observation
          </button>
        )}
        <span className="spacer" />
        <span className="muted" data-testid={`zoom-${id}`}>
          {zoom ? `${zoom >= 1 ? zoom.toFixed(zoom >= 10 ? 0 : 1) : zoom.toFixed(2)}×` : ''}
        </span>
        <button type="button" onClick={fit} title="Fit the image in the panel (F)" aria-label="Fit">
          Fit
        </button>
        <button type="button" onClick={oneToOne} title="One image pixel per screen pixel (1)" aria-label="1:1">
          1:1
        </button>
        <button type="button" onClick={() => setHeaderFor(id)} disabled={!meta.hasHeader} title="Show the FITS header (H)" aria-label="Header">
          Header
        </button>
        <button type="button" onClick={() => void savePanelPng(id, meta.title)} title="Save this panel as PNG" aria-label="Save PNG">
          PNG
        </button>
        {meta.role !== 'observation' && (
          <button type="button" onClick={() => removeImage(id)} title="Close this panel" aria-label="Close panel">
            ×
          </button>
        )}
      </header>
      <div
        ref={hostRef}
        className={`panel-view ${tool !== 'pan' ? 'box-tool' : ''}`}
        tabIndex={0}
        role="img"
        aria-label={`${meta.title}: ${meta.width} × ${meta.height} pixels. Drag to pan, wheel to zoom, F to fit, 1 for 1:1.`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onPointerLeave={() => publishCursor(null)}
        onKeyDown={onKeyDown}
        onDoubleClick={fit}
      >
        {box?.rect && <div className={`box-overlay ${box.mode}`} style={box.rect} data-testid="box-overlay" />}
        <canvas ref={overlayRef} className="pixel-overlay" data-testid={`overlay-${id}`} />
        <div ref={regionRef} className="region-overlay" data-testid={`region-${id}`} hidden />
      </div>
      <ColorBar id={id} />
    </section>
  );
}

async function savePanelPng(id: string, title: string) {
  const blob = await snapshotPanel(id);
  if (!blob) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${title.replace(/[^\w.-]+/g, '_').replace(/_+$/, '')}.png`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
