/**
 * The run panel's noise diagnostics read from report.json: what the engine computed comes through unchanged
 * (after JSON), NaN figures (written as null) read as NaN, and a malformed or missing block gives nothing.
 */
import { describe, expect, it } from 'vitest';
import { readNoiseReport } from '../../src-renderer/src/run/noise-report.js';
import { noiseDiagnostics } from '../../src-shared/noise/diagnostics.js';
import { SeededRandom } from '../../src-shared/operators/random.js';

function report(): Record<string, unknown> {
  const r = new SeededRandom(4);
  const u = Float32Array.from({ length: 32 * 32 }, () => r.normal());
  const d = noiseDiagnostics(u, [32, 32], null, 'white');
  return JSON.parse(JSON.stringify({ noiseModel: { model: 'correlated', source: 'region 0,0,32,10' }, noiseDiagnostics: d }));
}

describe("the run's noise diagnostics from report.json", () => {
  it('reads what the engine wrote', () => {
    const rep = report();
    const got = readNoiseReport(rep)!;
    expect(got.model).toBe('correlated');
    expect(got.source).toBe('region 0,0,32,10');
    expect(got.diagnostics).toEqual(rep.noiseDiagnostics);
    // independent N(0, 1) pixels against the white model: no warning, ratio near 1
    expect(got.diagnostics.warnings).toEqual([]);
    expect(Math.abs(Math.log(got.diagnostics.spectralRatio))).toBeLessThan(5 * got.diagnostics.spectralRatioLnSe);
  });

  it('NaN figures (null in JSON) read as NaN; malformed blocks give nothing', () => {
    const rep = report();
    (rep.noiseDiagnostics as Record<string, unknown>).spectralRatio = null;
    expect(readNoiseReport(rep)!.diagnostics.spectralRatio).toBeNaN();
    expect(readNoiseReport({})).toBeNull();
    expect(readNoiseReport(null)).toBeNull();
    const bad: ((d: Record<string, unknown>) => void)[] = [
      (d) => ((d.spectrum as Record<string, unknown>).k = 'k'),
      (d) => ((d.spectrum as { residual: number[] }).residual.pop()),
      (d) => ((d.histogram as { edges: number[] }).edges.pop()),
      (d) => (d.warnings = [3]),
      (d) => delete d.histogram,
    ];
    for (const mutate of bad) {
      const r = report();
      mutate(r.noiseDiagnostics as Record<string, unknown>);
      expect(readNoiseReport(r)).toBeNull();
    }
  });
});
