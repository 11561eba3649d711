/**
 * The protocol's noise models: `job.reconstruct` with `noise.kind = 'model'` (the fields of M.json's noise block)
 * and `noise.describe`. Well-formed blocks pass unchanged; every bad value is refused with a message that names
 * the field and says what is expected, in the user's units.
 */
import { describe, expect, it } from 'vitest';
import { validateRequest, ProtocolError } from '../../src-shared/protocol/index.js';

const obs = { name: 'y.fits', bytes: new Uint8Array(8), hdu: 0, plane: 0 };
const settings = { sampler: 'pc', n: 2, steps: 20, seed: 1, fluxScale: null };
const reconstruct = (noise: unknown) => validateRequest({ id: 1, method: 'job.reconstruct', params: { obs, model: { shape: [32, 32], operators: [] }, files: [], noise, prior: 'shipped/galaxy-64', settings, previewHz: 4 } });
const describeReq = (spec?: unknown) => validateRequest({ id: 2, method: 'noise.describe', params: spec === undefined ? { obs, files: [] } : { obs, files: [], spec } });

describe('protocol: noise models', () => {
  it('carries each model of the noise block unchanged', () => {
    const good = [
      { model: 'correlated', region: [0, 0, 32, 10] },
      { model: 'correlated', image: 'noise.fits', sigma: 0.2 },
      { model: 'correlated', region: [4, 4, 20, 20], sigmaFits: 'sigma.fits' },
      { model: 'poisson-gaussian', readNoise: 5, gain: 2.5, sky: -3 },
      { model: 'poisson-gaussian', readNoise: 4 },
      { model: 'white', sigma: 0.1 },
      { model: 'sigma-map', sigmaFits: 'sigma map.fits' },
    ];
    for (const spec of good) {
      expect((reconstruct({ kind: 'model', spec }).params as { noise: unknown }).noise).toEqual({ kind: 'model', spec });
      expect((describeReq(spec).params as { spec: unknown }).spec).toEqual(spec);
    }
    // the older kinds stay as they were
    expect((reconstruct({ kind: 'sigma', sigma: 0.5 }).params as { noise: unknown }).noise).toEqual({ kind: 'sigma', sigma: 0.5 });
    expect((describeReq().params as { spec?: unknown }).spec).toBeUndefined();
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown kind', { kind: 'pink' }, /noise\.kind: expected 'sigma', 'map' or 'model'/],
    ['no spec', { kind: 'model' }, /noise\.spec: must be an object with a "model"/],
    ['unknown model', { kind: 'model', spec: { model: 'pink' } }, /spec: model must be one of white, sigma-map, correlated, poisson-gaussian, learned, got 'pink'/],
    ['correlated without a source', { kind: 'model', spec: { model: 'correlated' } }, /spec: the correlated noise model needs exactly one of region or image/],
    ['correlated with both sources', { kind: 'model', spec: { model: 'correlated', region: [0, 0, 16, 16], image: 'n.fits' } }, /exactly one of region or image/],
    ['region of three numbers', { kind: 'model', spec: { model: 'correlated', region: [0, 0, 16] } }, /region must be \[x0, y0, x1, y1\] \(0-based pixels, x1 and y1 exclusive\)/],
    ['region upside down', { kind: 'model', spec: { model: 'correlated', region: [10, 0, 4, 16] } }, /x1 > x0 and y1 > y0, got \[10,0,4,16\]/],
    ['fractional region', { kind: 'model', spec: { model: 'correlated', region: [0.5, 0, 16, 16] } }, /non-negative integers/],
    ['region beyond any image', { kind: 'model', spec: { model: 'correlated', region: [0, 0, 1e9, 16] } }, /region: x1 and y1 must be at most \d+ pixels/],
    ['noise image in a folder', { kind: 'model', spec: { model: 'correlated', image: '../etc/noise.fits' } }, /spec\.image: a file of the request by its name/],
    ['negative σ', { kind: 'model', spec: { model: 'correlated', region: [0, 0, 16, 16], sigma: -1 } }, /sigma must be positive, got -1/],
    ['σ and a σ map', { kind: 'model', spec: { model: 'correlated', region: [0, 0, 16, 16], sigma: 1, sigmaFits: 's.fits' } }, /give sigma or sigmaFits, not both/],
    ['gain of zero', { kind: 'model', spec: { model: 'poisson-gaussian', readNoise: 5, gain: 0 } }, /gain must be positive, got 0/],
    ['gain as text', { kind: 'model', spec: { model: 'poisson-gaussian', readNoise: 5, gain: '2.5' } }, /gain must be a number, got '2\.5'/],
    ['no read noise', { kind: 'model', spec: { model: 'poisson-gaussian', gain: 2 } }, /the poisson-gaussian noise model needs readNoise \(e⁻\)/],
    ['negative read noise', { kind: 'model', spec: { model: 'poisson-gaussian', readNoise: -5 } }, /readNoise must be positive, got -5/],
    ['infinite sky', { kind: 'model', spec: { model: 'poisson-gaussian', readNoise: 5, sky: Infinity } }, /sky must be a number, got Infinity/],
    ['a field of another model', { kind: 'model', spec: { model: 'poisson-gaussian', readNoise: 5, region: [0, 0, 16, 16] } }, /the poisson-gaussian noise model takes no region \(it takes gain, readNoise, sky\)/],
    ['an unknown field', { kind: 'model', spec: { model: 'white', sigma: 1, colour: 'pink' } }, /unknown field 'colour'/],
    ['white without σ', { kind: 'model', spec: { model: 'white' } }, /the white noise model needs sigma/],
  ];
  for (const [name, noise, re] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => reconstruct(noise)).toThrow(ProtocolError);
      expect(() => reconstruct(noise)).toThrow(re);
      const spec = (noise as { spec?: unknown }).spec;
      // noise.describe checks its block by the same rules
      if (spec !== undefined) expect(() => describeReq(spec)).toThrow(re);
    });
  }
});
