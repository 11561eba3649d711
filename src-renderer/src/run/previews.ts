/**
 * The plain cache of pixels and curves that arrive from the engine while a job runs: the latest preview of a
 * reconstruction (samples, running mean, std, residual), the χ² trace, the training loss traces, and the editor's
 * results (A x preview, overlays). Components read these when the store's version counters change.
 */
import type { OverlayResult, ReconstructPreview } from '../../../src-shared/protocol/index';
import { Trace } from './chart';

export const chi2Trace = new Trace();
export const lossTrace = new Trace();
export const valLossTrace = new Trace();

let preview: ReconstructPreview | null = null;
let previewAx: { data: Float32Array; shape: [number, number]; source: string } | null = null;
const overlays = new Map<number, OverlayResult>();

export function setPreview(p: ReconstructPreview | null): void {
  preview = p;
}
export function getPreview(): ReconstructPreview | null {
  return preview;
}

/** The last run's posterior mean, if any: the "current estimate" of the editor's A x preview. */
export function currentEstimate(): { data: Float32Array; shape: [number, number] } | null {
  return preview ? { data: preview.mean, shape: preview.shape } : null;
}

export function setPreviewAx(p: { data: Float32Array; shape: [number, number]; source: string } | null): void {
  previewAx = p;
}
export function getPreviewAx() {
  return previewAx;
}

export function setOverlay(i: number, o: OverlayResult | null): void {
  if (o) overlays.set(i, o);
  else overlays.delete(i);
}
export function getOverlay(i: number): OverlayResult | undefined {
  return overlays.get(i);
}
export function clearOverlays(): void {
  overlays.clear();
}

/** One image of `n` stacked in `samples`. */
export function sampleAt(p: ReconstructPreview, k: number): Float32Array {
  const n = p.shape[0] * p.shape[1];
  return p.samples.subarray(k * n, (k + 1) * n);
}
