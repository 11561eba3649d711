/**
 * The one place the run panel and the editor hand images to the Viewer's panels (observation, posterior mean,
 * std, residual, samples, A x). Pixels are passed by reference, never put into reactive state.
 */
import type { FitsHeader } from '../../../src-shared/fits/index';

export interface ResultImage {
  id: string;
  title: string;
  role: 'observation' | 'mean' | 'std' | 'residual' | 'sample';
  data: Float32Array;
  shape: [number, number];
  header?: FitsHeader;
}

type Show = (img: ResultImage) => void;
let show: Show | null = null;

/** The viewer registers its panel API here. */
export function connectViewer(fn: Show | null): void {
  show = fn;
}

export function showResult(img: ResultImage): void {
  show?.(img);
}
