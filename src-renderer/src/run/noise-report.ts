/**
 * The noise diagnostics of a finished run, read from its report.json (`noiseDiagnostics`, `noiseModel`: computed
 * by the engine as for `skyscore reconstruct`, src-shared/noise/diagnostics.ts): the residual's radial power
 * spectrum against the model's, the whitened residual's histogram against N(0, 1), the spectral ratio and the
 * Kolmogorov–Smirnov distance with their thresholds, and the report's warnings. A report without them, or with
 * malformed ones, gives null: the panel then shows nothing rather than something wrong.
 */
import type { NoiseDiagnostics } from '../../../src-shared/noise/diagnostics';

export interface RunNoiseReport {
  /** The model's name (white, sigma-map, correlated, poisson-gaussian) and where it came from. */
  model: string;
  source: string | null;
  diagnostics: NoiseDiagnostics;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nums = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');
const num = (v: unknown): v is number => typeof v === 'number';

export function readNoiseReport(report: Record<string, unknown> | null | undefined): RunNoiseReport | null {
  if (!report) return null;
  const d = report.noiseDiagnostics;
  const m = isObj(report.noiseModel) ? report.noiseModel : {};
  if (!isObj(d)) return null;
  const sp = d.spectrum;
  const h = d.histogram;
  if (!isObj(sp) || !nums(sp.k) || !nums(sp.residual) || !nums(sp.expected) || sp.k.length !== sp.residual.length || sp.k.length !== sp.expected.length) return null;
  if (!isObj(h) || !nums(h.edges) || !nums(h.counts) || !nums(h.expected) || h.counts.length !== h.expected.length || h.edges.length !== h.counts.length + 1) return null;
  // NaN travels as null in JSON (too few pixels): those figures read as NaN
  const f = (v: unknown) => (num(v) ? v : NaN);
  if (!Array.isArray(d.warnings) || !d.warnings.every((w) => typeof w === 'string')) return null;
  return {
    model: typeof m.model === 'string' ? m.model : typeof d.model === 'string' ? d.model : 'white',
    source: typeof m.source === 'string' ? m.source : null,
    diagnostics: {
      model: typeof d.model === 'string' ? d.model : '',
      pixels: f(d.pixels),
      whitenedChi2PerPixel: f(d.whitenedChi2PerPixel),
      spectrum: { k: sp.k, residual: sp.residual, expected: sp.expected },
      spectralRatio: f(d.spectralRatio),
      spectralRatioLnSe: f(d.spectralRatioLnSe),
      histogram: { edges: h.edges, counts: h.counts, expected: h.expected },
      ksDistance: f(d.ksDistance),
      ksThreshold: f(d.ksThreshold),
      warnings: d.warnings as string[],
    },
  };
}
