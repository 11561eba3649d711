import { describe, it, expect } from 'vitest';
import { checkDoc, moveOperator, withOperator } from '../../src-renderer/src/model/editing.js';
import { checkForwardModel, defaultStage, readForwardModel, validateForwardModel, type LensStage, type ForwardModelSpec, type UvStage } from '../../src-shared/operators/forward-model-spec.js';
import { FORWARD_MODEL_EXAMPLE } from '../helpers/forward-model-example.js';

const FILES = ['mask.fits', 'psf.fits', 'a.txt'];

/** The engine's verdict on a document, its files at hand: the first problem's message, or null. */
function engine(doc: ForwardModelSpec): string | null {
  try {
    validateForwardModel(JSON.parse(JSON.stringify(doc)));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('forward-model editor: checks on the shared M.json validator', () => {
  it('checks every field with a message naming it as the form does', () => {
    const bad: ForwardModelSpec = {
      shape: [64, 64],
      operators: [
        { type: 'psf', fwhmPx: -2 },
        { type: 'mask', fits: '' },
        { type: 'lens', imageShape: [96, 96], imagePixelScale: 0, sourcePixelScale: 0.03, supersample: 2, lens: { model: 'SIE', thetaE: 1, q: 1.5, phi: 0, x0: 0, y0: 0 } },
        { type: 'uv-sampling', array: 'nope.txt', declinationDeg: 95, hourAngleH: [4, -4], stepMin: 0, wavelengthM: -1, pixelScaleArcsec: 0.5 },
      ],
    };
    const issues = checkDoc(bad, [], null);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual([
      'operators[0].fwhmPx',
      'operators[1].fits',
      'operators[2].imagePixelScale',
      'operators[2].lens.q',
      'operators[3].array',
      'operators[3].declinationDeg',
      'operators[3].hourAngleH',
      'operators[3].stepMin',
      'operators[3].wavelengthM',
    ]);
    expect(issues[0]!.message).toMatch(/FWHM must be positive, got -2/);
    expect(issues[1]!.message).toBe('choose or paint a mask');
    expect(issues[2]!.message).toBe('image pixel scale must be positive, got 0');
    expect(issues[3]!.message).toMatch(/q must be in \(0, 1\], got 1.5/);
    expect(issues[4]!.message).toMatch(/nope.txt is not loaded/);
    expect(issues[6]!.message).toBe('the hour angles must have start ≤ end, got [4, -4]');
    // the same issues, at the same paths, as the shared validator gives the engine
    expect(paths).toEqual(checkForwardModel(bad, { files: [] }).issues.map((i) => i.path));
  });

  it('asks for the file a new PSF, mask or station table still needs', () => {
    const doc: ForwardModelSpec = { shape: [8, 8], operators: [{ type: 'psf', fits: '' }, defaultStage('mask', [8, 8]), defaultStage('uv-sampling', [8, 8])] };
    expect(checkDoc(doc, [], null).map((i) => [i.path, i.message])).toEqual([
      ['operators[0].fits', 'choose a PSF FITS file'],
      ['operators[1].fits', 'choose or paint a mask'],
      ['operators[2].array', 'choose a station table (NAME X Y Z per line, ECEF metres)'],
    ]);
  });

  it("refuses a chain that does not end on the observation's grid", () => {
    const doc = readForwardModel(FORWARD_MODEL_EXAMPLE);
    const issues = checkDoc(doc, ['mask.fits'], [64, 64]);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('shape');
    expect(issues[0]!.message).toMatch(/output is \[96, 96\] but the observation is \[64, 64\]/);
    expect(checkDoc(doc, ['mask.fits'], [96, 96])).toEqual([]);
  });

  it('agrees with the engine validator: what it passes, validateForwardModel passes; what it refuses, validateForwardModel refuses', () => {
    const lens = defaultStage('lens', [8, 8]) as LensStage;
    const uv = { ...(defaultStage('uv-sampling', [8, 8]) as UvStage), array: 'a.txt' };
    const docs: [string, ForwardModelSpec][] = [
      ['example', readForwardModel(FORWARD_MODEL_EXAMPLE)],
      ['identity', { shape: [8, 8], operators: [] }],
      ...(['psf', 'lens'] as const).map((t): [string, ForwardModelSpec] => [`new ${t}`, { shape: [40, 40], operators: [defaultStage(t, [40, 40])] }]),
      ['new mask, file chosen', { shape: [40, 40], operators: [{ type: 'mask', fits: 'mask.fits' }] }],
      ['new uv, file chosen', { shape: [8, 8], operators: [uv] }],
      ['fwhm 0', { shape: [8, 8], operators: [{ type: 'psf', fwhmPx: 0 }] }],
      // where the editor's old checks and the engine differed, the engine's rule
      ['fwhm over 1000 px', { shape: [8, 8], operators: [{ type: 'psf', fwhmPx: 1500 }] }],
      ['hour angles beyond ±12 h, under 24 h apart', { shape: [8, 8], operators: [{ ...uv, hourAngleH: [-14, 2] }] }],
      ['hour angles more than 24 h apart', { shape: [8, 8], operators: [{ ...uv, hourAngleH: [-13, 12] }] }],
      ['an SIS', { shape: [8, 8], operators: [{ ...lens, lens: { model: 'SIS', thetaE: 1 } }] }],
      ['an SIS with q < 1', { shape: [8, 8], operators: [{ ...lens, lens: { model: 'SIS', thetaE: 1, q: 0.5 } }] }],
      ['q 0', { shape: [8, 8], operators: [{ ...lens, lens: { model: 'SIE', thetaE: 1, q: 0, phi: 0, x0: 0, y0: 0 } }] }],
      ['supersample 17', { shape: [8, 8], operators: [{ ...lens, supersample: 17 }] }],
      ['declination -91', { shape: [8, 8], operators: [{ ...uv, declinationDeg: -91 }] }],
      ['PSF hdu -1', { shape: [8, 8], operators: [{ type: 'psf', fits: 'psf.fits', hdu: -1 }] }],
      ['mask hdu 1.5', { shape: [8, 8], operators: [{ type: 'mask', fits: 'mask.fits', hdu: 1.5 }] }],
      ['shape too large', { shape: [20000, 8], operators: [] }],
    ];
    const verdicts = docs.map(([what, d]) => [what, checkDoc(d, FILES, null).length === 0, engine(d) === null]);
    expect(verdicts.filter(([, editor, eng]) => editor !== eng)).toEqual([]);
    // and the set covers both verdicts
    expect(verdicts.filter(([, ok]) => ok).map(([w]) => w)).toEqual([
      'example',
      'identity',
      'new psf',
      'new lens',
      'new mask, file chosen',
      'new uv, file chosen',
      'hour angles beyond ±12 h, under 24 h apart',
      'an SIS',
    ]);
    // the editor's first issue is the engine's first problem, at its field
    const [, refused] = docs.find(([w]) => w === 'fwhm over 1000 px')!;
    expect(checkDoc(refused, FILES, null)[0]).toMatchObject({ path: 'operators[0].fwhmPx', message: 'FWHM must be at most 1000 pixels, got 1500' });
    expect(engine(refused)).toBe('operators[0] (psf): fwhmPx must be at most 1000 pixels, got 1500');
  });

  it('edits immutably: replace and move operators', () => {
    const doc = readForwardModel(FORWARD_MODEL_EXAMPLE);
    const moved = moveOperator(doc, 1, 1);
    expect(moved.operators.map((o) => o.type)).toEqual(['lens', 'mask', 'psf']);
    expect(doc.operators.map((o) => o.type)).toEqual(['lens', 'psf', 'mask']);
    expect(moveOperator(doc, 0, -1)).toBe(doc);
    const w = withOperator(doc, 1, { type: 'psf', fwhmPx: 4 });
    expect(w.operators[1]).toEqual({ type: 'psf', fwhmPx: 4 });
    expect(doc.operators[1]).toEqual({ type: 'psf', fwhmPx: 2.5 });
  });
});

describe('observation planes in the renderer', () => {
  it('decodes one plane of a cube from its bytes exactly as the full decode does', async () => {
    const { readFileSync } = await import('node:fs');
    const { dataPath } = await import('../helpers/data.js');
    const { readFits } = await import('../../src-shared/fits/index.js');
    const { decodePlane } = await import('../../src-renderer/src/model/files.js');
    for (const [file, plane] of [
      [['train', 'galaxyzoo_kaggle2000_gray64.fits'], 1500],
      [['fits', 'test_cubeF.fits'], 1],
      [['fits', 'scale.fits'], 0],
      [['fits', 'm13_rice.fits'], 0],
    ] as const) {
      const f = readFits(new Uint8Array(readFileSync(dataPath(...file))));
      const h = f.hdus.find((x) => x.hasImage)!;
      const n = h.shape[0]! * h.shape[1]!;
      const full = h.readImage().data;
      const p = decodePlane(f, h, plane, n);
      expect(p.length).toBe(n);
      expect(Array.from(p)).toEqual(Array.from(Float32Array.from(full.subarray(plane * n, (plane + 1) * n))));
    }
  });
});
