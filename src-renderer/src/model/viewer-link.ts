/**
 * Files opened in the viewer (menu, dialog, drag-and-drop) and the observation of the forward model. The first
 * file opened becomes the observation; a later, different file is shown for viewing only, and the viewer asks
 * whether it should become the observation — looking at a PSF never silently replaces the data, and the
 * observation's panel always shows exactly the observation a run uses. Choosing another HDU or plane of the
 * observation's file in the viewer follows along.
 *
 * When the observation changes, whatever belonged to the old one — the run's products, the example's truth,
 * the A x preview — is marked as the old observation's in its panel, and a finished run's state is cleared
 * (its products are the old observation's); a run going on holds the observation until it ends or stops.
 */
import { onFileOpened, setAdoptHandler, setTargetRule, planeKey, whenOpened, openFitsBytes, showPlane, OBSERVATION_ID } from '../viewer/open';
import { useStore, type AppState } from '../store/index';
import type { ImageMeta, ImageSource } from '../store/images';
import { chooseObs, openObservation } from './actions';
import { getObs } from './files';
import { setPreview, getOverlay } from '../run/previews';
import { setCurveOverlay, setMaskOverlay } from '../viewer/overlays';
import { fittedCriticalLines } from '../lensing/actions';

let installed = false;
/** The next change of observation carries its noise along (a cutout): no reminder to check σ. */
let quiet = false;
export function quietObservationChange(): void {
  quiet = true;
}

const busy = (state: string) => state === 'starting' || state === 'queued' || state === 'running' || state === 'stopping';

/** The observation as a viewer source (its key and name), or null. */
export function observationSource(s: Pick<AppState, 'obs'> = useStore.getState()): ImageSource | null {
  return s.obs ? { key: planeKey(s.obs.sha256, s.obs.hdu, s.obs.plane), label: s.obs.name } : null;
}

/** Why the observation cannot change now (a run is using it), or null. */
export function observationLocked(): string | null {
  const s = useStore.getState();
  return busy(s.run.state) ? 'a run is using the current observation: stop it (Run tab) before changing the observation' : null;
}

/** Images that belong to an observation: the run's products, the A x preview, the truth. */
const belongsToObservation = (m: ImageMeta) => m.role !== 'observation' && m.role !== 'viewed' && m.source !== null;

export function installViewerLink(): void {
  if (installed) return;
  installed = true;
  setTargetRule(({ sha256 }) => {
    const s = useStore.getState();
    // no observation yet, or the observation's own file: the observation's panel
    return !s.obs || s.obs.sha256 === sha256 ? 'observation' : 'viewed';
  });
  setAdoptHandler(async (f) => {
    const locked = observationLocked();
    if (locked) {
      useStore.getState().notify('error', `${f.name} was not made the observation: ${locked}`);
      return false;
    }
    return openObservation(f.name, f.bytes, { hdu: f.hdu, plane: f.plane }, { show: false });
  });
  onFileOpened((f) => void follow(f));
  useStore.subscribe((s, p) => {
    const a = observationSource(s);
    const b = observationSource(p);
    if (a?.key !== b?.key) onObservationChanged(a, b);
    if (s.overlayVersion !== p.overlayVersion || s.modelDoc !== p.modelDoc || s.obs !== p.obs) {
      updateMaskOverlay();
      updateLensCurves();
    } else if (s.noise !== p.noise) updateLensCurves();
  });
}

/** The model's masks on the observation's grid (their product), drawn over the observation's panel. */
function updateMaskOverlay(): void {
  const s = useStore.getState();
  const shape = s.obs?.shape;
  let mask: Float32Array | null = null;
  if (shape) {
    s.modelDoc.operators.forEach((op, i) => {
      const o = op.type === 'mask' ? getOverlay(i) : undefined;
      if (o?.kind !== 'mask' || o.shape[0] !== shape[0] || o.shape[1] !== shape[1]) return;
      if (!mask) mask = Float32Array.from(o.mask);
      else for (let k = 0; k < mask.length; k++) mask[k] = mask[k]! * o.mask[k]!;
    });
  }
  const m = mask as Float32Array | null;
  const cur = s.maskOverlay;
  if (!m && !cur) return;
  setMaskOverlay(OBSERVATION_ID, m, shape?.[1] ?? 0, shape?.[0] ?? 0);
}

/** Curves in arcsec on a grid of `shape` at scale `s` → image pixel coordinates (docs/forward-models.md's pixel centres). */
function toPixels(curves: Float32Array[], [ny, nx]: [number, number], scale: number): Float32Array[] {
  return curves.map((c) => Float32Array.from(c, (v, k) => v / scale + (k % 2 === 0 ? (nx - 1) / 2 : (ny - 1) / 2)));
}

/** The box the correlated noise (or the learned model's Gaussian part) is measured from, as a closed line around its pixels (image pixel coordinates). */
function noiseBoxLines(s: AppState): Float32Array[] {
  const n = s.noise;
  const measured = n.mode === 'correlated' || (n.mode === 'learned' && n.learnedSpectrum);
  const r = measured && n.corrSource === 'region' ? n.corrRegion : null;
  if (!r) return [];
  const [x0, y0, x1, y1] = [r.x0 - 0.5, r.y0 - 0.5, r.x1 - 0.5, r.y1 - 0.5];
  return [Float32Array.of(x0, y0, x1, y0, x1, y1, x0, y1, x0, y0)];
}

/**
 * A lens stage's critical curves over the observation (where the lens's image plane is the observation's grid)
 * and its caustics over the posterior mean (the source plane, the unknown's grid); and over the observation the
 * blank-sky box the correlated noise is measured from.
 */
function updateLensCurves(): void {
  const s = useStore.getState();
  const shape = s.obs?.shape;
  const i = s.modelDoc.operators.findIndex((op) => op.type === 'lens');
  const o = i >= 0 ? getOverlay(i) : undefined;
  const lens = o?.kind === 'lens' ? o : null;
  const onObs = lens && shape && lens.imageShape[0] === shape[0] && lens.imageShape[1] === shape[1];
  const box = noiseBoxLines(s);
  // a lens fit's critical curves (orange, beside the lens stage's red ones)
  const fitted = fittedCriticalLines(s.obs);
  setCurveOverlay(OBSERVATION_ID, [
    ...(onObs ? [{ lines: toPixels(lens.critical, lens.imageShape, lens.imagePixelScale), color: '#ff5050' }] : []),
    ...(fitted.length ? [{ lines: fitted, color: '#ff9a30', label: 'critical curves (fitted lens)' }] : []),
    ...(box.length ? [{ lines: box, color: '#ffcc00', label: 'noise box' }] : []),
  ]);
  setCurveOverlay('mean', lens ? [{ lines: toPixels(lens.caustics, lens.sourceShape, lens.sourcePixelScale), color: '#3fb0ff' }] : null);
}

async function follow(f: { name: string; bytes: Uint8Array; sha256: string; hdu: number; plane: number; target: string }): Promise<void> {
  if (f.target !== 'observation') return;
  const st = useStore.getState();
  const cur = getObs();
  if (!cur || !st.obs) {
    await openObservation(f.name, f.bytes, { hdu: f.hdu, plane: f.plane }, { show: false, sha256: f.sha256 });
    return;
  }
  if (cur.sha256 === f.sha256 && (st.obs.hdu !== f.hdu || st.obs.plane !== f.plane)) {
    if (observationLocked()) {
      st.notify('warn', `The viewer shows another plane of ${f.name}; the run goes on with the plane it started with`);
      return;
    }
    chooseObs(f.hdu, f.plane, { show: false });
  }
}

function onObservationChanged(now: ImageSource | null, before: ImageSource | null): void {
  const s = useStore.getState();
  s.markStale(now, belongsToObservation);
  if (before && now && (s.run.state === 'done' || s.run.state === 'error' || s.run.state === 'cancelled')) {
    // the products of the last run are the old observation's: they stay in the viewer, marked, not for export
    setPreview(null);
    s.resetRun();
  }
  const wasQuiet = quiet;
  quiet = false;
  if (!wasQuiet && before && now && s.noise.mode === 'sigma' && s.noise.sigma !== null) {
    s.notify('warn', `The noise σ = ${s.noise.sigma} was set for ${before.label}: check it for ${now.label} (Forward model › Noise; it is in the data's units)`);
  }
  // the observation's panel shows the new observation (the viewer reads it when the editor could not)
  setTimeout(() => whenOpened(syncObservationPanel), 0);
}

/** Puts the observation in its panel when the panel shows something else. */
function syncObservationPanel(): void {
  const s = useStore.getState();
  const src = observationSource(s);
  const f = getObs();
  if (!src || !f || !s.obs) return;
  const panel = s.images[OBSERVATION_ID];
  if (panel?.source?.key === src.key) return;
  const b = s.browsed;
  if (b && b.sha256 === s.obs.sha256 && b.target === 'observation') {
    void showPlane(s.obs.hdu, s.obs.plane);
    return;
  }
  void openFitsBytes(f.name, f.bytes, { target: 'observation', hdu: s.obs.hdu, plane: s.obs.plane });
}
