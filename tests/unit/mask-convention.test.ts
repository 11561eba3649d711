/**
 * The mask stage's convention (docs/forward-models.md, *mask*): `fit` (1 = observed, the default), `exclude`
 * (1 = missing: PyAutoLens's Mask2D) and `auto`, which decides by lens-fit's rule (detectExcludeMask) at the grid's
 * pixel scale; the default warns where that rule reads the mask as PyAutoLens's. Masks in PyAutoLens's layout: a
 * circular mask (1 outside 2″) and an annular one (1 outside 0.6–2.2″) on the 96² image plane of 0.05″ of the
 * documented lens → psf → mask model; SkyScore's: the deflector's core left out (0.4″), a companion left out off the
 * centre, scattered bad pixels.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FitsHeader } from '../../src-shared/fits/index.js';
import { buildForwardModel, prepareForwardModel, type ForwardModelFileLoader } from '../../src-shared/operators/forward-model.js';
import { checkForwardModel, toModelJson, validateForwardModel, type ForwardModelSpec, type MaskStageConvention } from '../../src-shared/operators/forward-model-spec.js';
import { readMaskConvention } from '../../src-shared/operators/mask-convention.js';
import { lensFitMask } from '../../src-main/reconstruct/lens-fit-run.js';
import { dotTest, randn, refConvolve, refGaussian, refLens, relErr, run } from './operators-ref.js';
import { FORWARD_MODEL_EXAMPLE } from '../helpers/forward-model-example.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const N = 96;
const SCALE = 0.05; // the example's imagePixelScale

/** A 0/1 mask on the 96² grid of 0.05″: f(r) at each pixel's distance r (arcsec) from the grid centre (or from (cx, cy)). */
function maskBy(f: (r: number) => boolean, cx = 0, cy = 0): Float32Array {
  const m = new Float32Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) m[i * N + j] = f(Math.hypot((j - (N - 1) / 2) * SCALE - cx, (i - (N - 1) / 2) * SCALE - cy)) ? 1 : 0;
  return m;
}
const pyautolensCircular = () => maskBy((r) => r > 2); // 1 = masked outside 2″
const pyautolensAnnular = () => maskBy((r) => r < 0.6 || r > 2.2); // 1 = masked outside 0.6–2.2″
const skyscoreCore = () => maskBy((r) => r > 0.4); // the deflector's core left out
const skyscoreCompanion = () => maskBy((r) => r > 0.5, 1.9, 1.9); // a companion 2.7″ off the centre left out
const skyscoreScattered = () => Float32Array.from(randn(N * N, 3), (v) => (v > -2.2 ? 1 : 0)); // bad pixels, the border's too

function memLoader(images: Record<string, { data: Float32Array; shape: number[]; header?: FitsHeader }>): ForwardModelFileLoader {
  return {
    async loadImage(rel) {
      const img = images[rel];
      if (!img) throw new Error('no such file');
      return img;
    },
    async loadText() {
      throw new Error('no text');
    },
  };
}

/** The documented lens → psf → mask model with the mask stage's convention set (or absent). */
function example(convention?: MaskStageConvention): ForwardModelSpec {
  const m = JSON.parse(JSON.stringify(FORWARD_MODEL_EXAMPLE)) as { operators: Array<Record<string, unknown>> };
  const stage = m.operators.find((o) => o.type === 'mask')!;
  if (convention) stage.convention = convention;
  return validateForwardModel(m);
}

async function maskRead(mask: Float32Array, convention?: MaskStageConvention) {
  const p = await prepareForwardModel(example(convention), memLoader({ 'mask.fits': { data: mask, shape: [N, N] } }), { source: 'M.json' });
  const r = p.resources[2]!;
  if (r.type !== 'mask') throw new Error('not a mask');
  return { mask: r.mask, convention: r.convention, notes: p.notes };
}

const inverted = (m: Float32Array) => Float32Array.from(m, (v) => 1 - v);

describe('the mask stage in M.json', () => {
  it('takes "convention" fit, exclude or auto, keeps it when written, and refuses anything else', () => {
    for (const c of ['fit', 'exclude', 'auto'] as const) {
      const spec = example(c);
      expect(spec.operators[2]).toEqual({ type: 'mask', fits: 'mask.fits', convention: c });
      expect(validateForwardModel(JSON.parse(toModelJson(spec))).operators[2]).toEqual(spec.operators[2]);
    }
    expect(example().operators[2]).toEqual({ type: 'mask', fits: 'mask.fits' });
    const bad = JSON.parse(JSON.stringify(FORWARD_MODEL_EXAMPLE));
    bad.operators[2].convention = 'pyautolens';
    const { issues } = checkForwardModel(bad);
    expect(issues.map((i) => i.message)).toEqual(["convention must be \"fit\", \"exclude\", \"auto\", got 'pyautolens'"]);
    expect(issues[0]!.path).toBe('operators[2].convention');
  });
});

describe('reading the mask file in its convention', () => {
  it('exclude inverts the file: the chain applies 1 − file, and its adjoint passes the dot-product test', async () => {
    const file = skyscoreScattered();
    const built = await buildForwardModel(example('exclude'), memLoader({ 'mask.fits': { data: file, shape: [N, N] } }));
    const x = randn(64 * 64, 9);
    const L = { thetaE: 1.1, q: 0.75, phi: 0.4, x0: 0, y0: 0, gamma1: 0.02, gamma2: -0.01 };
    const g = refGaussian(2.5);
    const conv = refConvolve(refLens(L, x, 64, 64, 2, N, N, 0.05, 0.03), N, N, g.h, g.k, g.k);
    const want = conv.map((v, i) => v * (1 - file[i]!));
    expect(relErr(run(built.operator, x), want)).toBeLessThan(1e-5);
    // the same file read as fit gives the complement: the two outputs sum to the unmasked chain's
    const fit = await buildForwardModel(example('fit'), memLoader({ 'mask.fits': { data: file, shape: [N, N] } }));
    const ex = run(built.operator, x);
    const both = run(fit.operator, x).map((v, i) => v + ex[i]!);
    expect(relErr(both, conv)).toBeLessThan(1e-5);
    expect(dotTest(built.operator, 4, 2)).toBeLessThan(1e-5);
    expect(built.info[2]!.summary).toMatch(/^mask mask\.fits \(read as 1 = missing\): \d+ of 9216 pixels observed$/);
    built.operator.dispose();
    fit.operator.dispose();
  });

  it('auto reads PyAutoLens circular and annular masks inverted, at the lens stage\'s image pixel scale, and says so', async () => {
    for (const file of [pyautolensCircular(), pyautolensAnnular()]) {
      const r = await maskRead(file, 'auto');
      expect(r.convention).toBe('exclude');
      expect(Array.from(r.mask)).toEqual(Array.from(inverted(file)));
      expect(r.notes).toHaveLength(1);
      expect(r.notes[0]).toMatch(/^operators\[2\] \(mask\): 'mask\.fits' read as 1 = missing, 0 = observed, PyAutoLens's convention: its border is all 1 .* \(0\.05″ per pixel from operators\[0\] imagePixelScale\); "convention": "fit" reads 1 as observed$/);
    }
    // the annulus's 0-pixels: √(2.2² − 0.6²) ≈ 2.12″ of equivalent radius
    expect((await maskRead(pyautolensAnnular(), 'auto')).notes[0]).toMatch(/equivalent radius of 2\.1\d″/);
  });

  it('auto leaves SkyScore masks as they are (a small core hole said in a note; a companion or bad pixels silently)', async () => {
    const core = await maskRead(skyscoreCore(), 'auto');
    expect(core.convention).toBe('fit');
    expect(Array.from(core.mask)).toEqual(Array.from(skyscoreCore()));
    expect(core.notes).toHaveLength(1);
    expect(core.notes[0]).toMatch(/'mask\.fits' read as 1 = observed, 0 = missing \(.*under the 1″ a lens's arcs need .*\); "convention": "exclude" reads 1 as missing/);
    for (const file of [skyscoreCompanion(), skyscoreScattered(), new Float32Array(N * N).fill(1)]) {
      const r = await maskRead(file, 'auto');
      expect(r.convention).toBe('fit');
      expect(Array.from(r.mask)).toEqual(Array.from(file));
      expect(r.notes).toEqual([]);
    }
  });

  it("auto is lens-fit's rule: the same reading as lens-fit's --mask-convention auto on every mask", async () => {
    for (const file of [pyautolensCircular(), pyautolensAnnular(), skyscoreCore(), skyscoreCompanion(), skyscoreScattered(), maskBy((r) => r < 0.9 || r > 2)]) {
      const lf = lensFitMask({ data: file, shape: [N, N] }, [N, N], 'mask.fits', 'auto', SCALE);
      const r = await maskRead(file, 'auto');
      expect(r.convention).toBe(lf.convention);
      expect(Array.from(r.mask)).toEqual(Array.from(lf.mask));
    }
  });

  it('the default reads 1 as observed and warns where the mask looks like PyAutoLens\'s; fit given, or a SkyScore mask: no warning', async () => {
    for (const file of [pyautolensCircular(), pyautolensAnnular()]) {
      const r = await maskRead(file);
      expect(r.convention).toBe('fit');
      expect(Array.from(r.mask)).toEqual(Array.from(file));
      expect(r.notes).toHaveLength(1);
      expect(r.notes[0]).toMatch(/^operators\[2\] \(mask\): 'mask\.fits' looks like a PyAutoLens mask \(1 = missing\): .* it is read as 1 = observed \(the default\), .* give "convention": "exclude" \(or "auto"\)/);
      expect((await maskRead(file, 'fit')).notes).toEqual([]);
    }
    for (const file of [skyscoreCore(), skyscoreCompanion(), skyscoreScattered()]) expect((await maskRead(file)).notes).toEqual([]);
  });
});

describe('the pixel scale of a chain without a lens stage', () => {
  const wcs = (deg: number) => {
    const h = new FitsHeader();
    for (const [k, v] of [['CTYPE1', 'RA---TAN'], ['CTYPE2', 'DEC--TAN'], ['CRPIX1', 48], ['CRPIX2', 48], ['CRVAL1', 150], ['CRVAL2', 2], ['CDELT1', -deg], ['CDELT2', deg]] as const) h.set(k, v);
    return h;
  };
  const psfMask = (convention?: MaskStageConvention) => validateForwardModel({ shape: [N, N], operators: [{ type: 'psf', fwhmPx: 2 }, { type: 'mask', fits: 'm.fits', ...(convention && { convention }) }] });
  const prep = (convention: MaskStageConvention | undefined, file: Float32Array, maskHeader?: FitsHeader, observation?: { header: FitsHeader; name: string }) =>
    prepareForwardModel(psfMask(convention), memLoader({ 'm.fits': { data: file, shape: [N, N], ...(maskHeader && { header: maskHeader }) } }), { source: 'M.json', ...(observation && { observation }) });
  const obsAt = (deg: number | null) => ({ header: deg === null ? new FitsHeader() : wcs(deg), name: 'y.fits' });

  it("takes the observation's WCS: 0.05″ pixels make the 2″ circle PyAutoLens's; 0.01″ pixels make it a 0.4″ hole, read as 1 = observed", async () => {
    const p = await prep('auto', pyautolensCircular(), undefined, obsAt(0.05 / 3600));
    expect(p.resources[1]!.type === 'mask' && p.resources[1]!.convention).toBe('exclude');
    expect(p.notes[0]).toMatch(/0\.05″ per pixel from y\.fits's WCS: CDELTi/);
    const small = await prep('auto', pyautolensCircular(), undefined, obsAt(0.01 / 3600));
    expect(small.resources[1]!.type === 'mask' && small.resources[1]!.convention).toBe('fit');
    // the mask file's own WCS comes before the observation's
    const own = await prep('auto', pyautolensCircular(), wcs(0.05 / 3600), obsAt(0.01 / 3600));
    expect(own.resources[1]!.type === 'mask' && own.resources[1]!.convention).toBe('exclude');
    expect(own.notes[0]).toMatch(/from the mask's WCS: CDELTi/);
  });

  it('without any scale: auto refuses where the mask has the shape of an exclude mask, the editor\'s check notes it, and the default still warns', async () => {
    await expect(prep('auto', pyautolensCircular(), undefined, obsAt(null))).rejects.toThrow(
      /^M\.json: operators\[1\] \(mask\): convention "auto": its border is all 1 and the 0-pixels around the centre span an equivalent radius of 39\.\d+ pixels, but no pixel scale is known .*; give "convention": "fit" \(1 = observed\) or "exclude"/,
    );
    const editor = await prep('auto', pyautolensCircular());
    expect(editor.notes[0]).toMatch(/read as 1 = observed for now: .* the run decides with the observation's WCS/);
    const dflt = await prep(undefined, pyautolensCircular(), undefined, obsAt(null));
    expect(dflt.notes[0]).toMatch(/may be a PyAutoLens mask \(1 = missing\): .*no pixel scale is known/);
    // a mask whose border has 0s needs no scale: read as 1 = observed, silently
    const p = await prep('auto', skyscoreScattered(), undefined, obsAt(null));
    expect(p.notes).toEqual([]);
    expect((await prep(undefined, skyscoreScattered(), undefined, obsAt(null))).notes).toEqual([]);
  });

  it('readMaskConvention: fit and exclude never look at the mask', () => {
    const file = pyautolensAnnular();
    expect(readMaskConvention(file, [N, N], 'm.fits', 'fit', null)).toEqual({ invert: false, note: null, error: null });
    expect(readMaskConvention(file, [N, N], 'm.fits', 'exclude', null)).toEqual({ invert: true, note: null, error: null });
  });
});
