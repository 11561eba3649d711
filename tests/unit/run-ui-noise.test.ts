/**
 * The run panel's noise diagnostics read from report.json: what the engine computed comes through unchanged
 * (after JSON), NaN figures (written as null) read as NaN, and a malformed or missing block gives nothing.
 */
import { describe, expect, it } from 'vitest';
import { readNoiseReport } from '../../src-renderer/src/run/noise-report.js';
import { noiseDiagnostics } from '../../src-shared/noise/diagnostics.js';
import { SeededRandom } from '../../src-shared/operators/random.js';
import { noiseBlockOf, noiseSettingsOf } from '../../src-renderer/src/model/noise.js';
import { DEFAULT_NOISE, type NoiseSettings } from '../../src-renderer/src/store/model.js';
import { parseForwardModel, toModelJson } from '../../src-shared/operators/forward-model-spec.js';

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

describe("the Noise step's choice in M.json (Save M.json, Load M.json)", () => {
  const doc = { shape: [64, 64] as [number, number], operators: [{ type: 'psf' as const, fwhmPx: 2 }] };
  const cases: [Partial<NoiseSettings>, unknown][] = [
    [{ mode: 'sigma', sigma: 0.5 }, { model: 'white', sigma: 0.5 }],
    [{ mode: 'mad', sigma: 0.25, estimatedFrom: 4096 }, { model: 'white', sigma: 0.25 }],
    [{ mode: 'map', mapFile: 'sigma.fits' }, { model: 'sigma-map', sigmaFits: 'sigma.fits' }],
    [{ mode: 'correlated', corrSource: 'region', corrRegion: { x0: 0, y0: 0, x1: 16, y1: 64 } }, { model: 'correlated', region: [0, 0, 16, 64] }],
    [{ mode: 'correlated', corrSource: 'image', noiseImage: 'noise.fits' }, { model: 'correlated', image: 'noise.fits' }],
    [{ mode: 'poisson-gaussian', readNoise: 5, gain: 2.5, sky: 40 }, { model: 'poisson-gaussian', readNoise: 5, gain: 2.5, sky: 40 }],
    [{ mode: 'poisson-gaussian', readNoise: 5 }, { model: 'poisson-gaussian', readNoise: 5 }],
  ];
  it('writes a noise block the command line reads, and reads it back into the same choice', () => {
    for (const [settings, block] of cases) {
      const n = { ...DEFAULT_NOISE, ...settings };
      const b = noiseBlockOf(n);
      expect(b).toEqual(block);
      // the command line's reader takes the saved file with its block
      expect(parseForwardModel(toModelJson({ ...doc, noise: b! }), 'M.json').noise).toEqual(block);
      const back = { ...DEFAULT_NOISE, ...noiseSettingsOf(b!).patch };
      expect(noiseBlockOf(back)).toEqual(block);
    }
  });

  it('an incomplete choice writes no block; what the step does not offer is named', () => {
    expect(noiseBlockOf({ ...DEFAULT_NOISE, mode: 'sigma', sigma: null })).toBeNull();
    expect(noiseBlockOf({ ...DEFAULT_NOISE, mode: 'correlated', corrRegion: null })).toBeNull();
    expect(noiseBlockOf({ ...DEFAULT_NOISE, mode: 'poisson-gaussian', readNoise: null })).toBeNull();
    expect(noiseSettingsOf({ model: 'correlated', region: [0, 0, 8, 8], sigma: 0.1 }).dropped).toEqual(['sigma']);
  });
});

