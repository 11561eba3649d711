/**
 * M.json's optional noise block: older files without it read as before, every model's fields are checked with
 * one message naming the field, and the block survives a round trip through the editor's text.
 */
import { describe, expect, it } from 'vitest';
import { checkForwardModel, parseForwardModel, toModelJson } from '../../src-shared/operators/forward-model-spec.js';
import { ForwardModelInputError } from '../../src-shared/operators/errors.js';

const base = { shape: [32, 32], operators: [{ type: 'psf', fwhmPx: 2 }] };
const parse = (noise: unknown) => parseForwardModel(JSON.stringify({ ...base, noise }), 'M.json');

describe('M.json noise block', () => {
  it('is optional: a model without it has no noise field', () => {
    const spec = parseForwardModel(JSON.stringify(base), 'M.json');
    expect(spec.noise).toBeUndefined();
    expect(toModelJson(spec)).not.toMatch(/noise/);
  });

  it('reads every model and round-trips', () => {
    expect(parse({ model: 'white', sigma: 0.1 }).noise).toEqual({ model: 'white', sigma: 0.1 });
    expect(parse({ model: 'sigma-map', sigmaFits: 'sigma.fits' }).noise).toEqual({ model: 'sigma-map', sigmaFits: 'sigma.fits' });
    expect(parse({ model: 'correlated', region: [0, 0, 16, 16] }).noise).toEqual({ model: 'correlated', region: [0, 0, 16, 16] });
    expect(parse({ model: 'correlated', image: 'n.fits', sigma: 2 }).noise).toEqual({ model: 'correlated', image: 'n.fits', sigma: 2 });
    const pg = parse({ model: 'poisson-gaussian', gain: 2, readNoise: 4, sky: 10 });
    expect(pg.noise).toEqual({ model: 'poisson-gaussian', gain: 2, readNoise: 4, sky: 10 });
    expect(parseForwardModel(toModelJson(pg), 'M.json')).toEqual(pg);
    // the learned block with the spectrum of its Gaussian part (docs/forward-models.md: region or image, at most one)
    expect(parse({ model: 'learned', prior: 'noise-irac' }).noise).toEqual({ model: 'learned', prior: 'noise-irac' });
    expect(parse({ model: 'learned', prior: 'noise-irac', region: [0, 0, 32, 32] }).noise).toEqual({ model: 'learned', prior: 'noise-irac', region: [0, 0, 32, 32] });
    const li = parse({ model: 'learned', prior: 'noise-irac', image: 'n.fits' });
    expect(li.noise).toEqual({ model: 'learned', prior: 'noise-irac', image: 'n.fits' });
    expect(parseForwardModel(toModelJson(li), 'M.json')).toEqual(li);
  });

  it('names the problem', () => {
    const bad: [unknown, RegExp][] = [
      [3, /noise: must be an object with a "model"/],
      [{ model: 'pink' }, /model must be one of white, sigma-map, correlated, poisson-gaussian, learned, got .pink./],
      [{ model: 'white' }, /the white noise model needs sigma/],
      [{ model: 'white', sigma: -1 }, /sigma must be positive, got -1/],
      [{ model: 'white', sigma: 1, gain: 2 }, /the white noise model takes no gain \(it takes sigma\)/],
      [{ model: 'sigma-map' }, /needs sigmaFits/],
      [{ model: 'correlated' }, /needs exactly one of region or image/],
      [{ model: 'correlated', region: [0, 0, 8, 8], image: 'n.fits' }, /needs exactly one of region or image/],
      [{ model: 'correlated', region: [0, 0, 8] }, /region must be \[x0, y0, x1, y1\]/],
      [{ model: 'correlated', region: [8, 0, 4, 8] }, /x1 > x0 and y1 > y0/],
      [{ model: 'poisson-gaussian', gain: 2 }, /needs readNoise/],
      [{ model: 'poisson-gaussian', readNoise: 3, sigma: 1 }, /takes no sigma/],
      [{ model: 'white', sigma: 1, typo: 1 }, /unknown field 'typo'/],
      [{ model: 'learned', prior: 'p', region: [0, 0, 8, 8], image: 'n.fits' }, /the learned noise model takes at most one of region or image/],
      [{ model: 'learned', prior: 'p', sigma: 1 }, /the learned noise model takes no sigma \(it takes prior, region, image\)/],
    ];
    for (const [noise, re] of bad) {
      expect(() => parse(noise), JSON.stringify(noise)).toThrow(ForwardModelInputError);
      expect(() => parse(noise), JSON.stringify(noise)).toThrow(re);
    }
    // with the editor's list of loaded files
    const { issues } = checkForwardModel({ ...base, noise: { model: 'correlated', image: 'n.fits' } }, { files: [] });
    expect(issues.map((i) => i.message).join('\n')).toMatch(/the noise image n\.fits is not loaded/);
  });
});
