import { describe, it, expect } from 'vitest';
import {
  checkDoc,
  defaultOperator,
  moveOperator,
  outputShape,
  parseModelDoc,
  parseModelJsonText,
  propagateShapes,
  referencedFiles,
  toModelJson,
  withOperator,
  ModelDocInputError,
  type ModelDoc,
} from '../../src-renderer/src/model/mjson.js';
import { validateModel } from '../../src-shared/operators/model.js';
import { FORWARD_MODEL_EXAMPLE } from '../helpers/forward-model-example.js';


describe('forward-model document (M.json editor)', () => {
  it('reads the example of docs/forward-models.md and writes it back unchanged', () => {
    const doc = parseModelDoc(FORWARD_MODEL_EXAMPLE);
    expect(JSON.parse(toModelJson(doc))).toEqual(FORWARD_MODEL_EXAMPLE);
    expect(parseModelJsonText(toModelJson(doc))).toEqual(doc);
  });

  it('propagates shapes through the chain: the lens maps the source grid onto its image grid', () => {
    const doc = parseModelDoc(FORWARD_MODEL_EXAMPLE);
    expect(propagateShapes(doc)).toEqual([
      { inShape: [64, 64], outShape: [96, 96] },
      { inShape: [96, 96], outShape: [96, 96] },
      { inShape: [96, 96], outShape: [96, 96] },
    ]);
    expect(outputShape(doc)).toEqual([96, 96]);
    expect(outputShape({ shape: [10, 12], operators: [] })).toEqual([10, 12]);
  });

  it('lists the files the model names, once each, in order', () => {
    const doc: ModelDoc = {
      shape: [32, 32],
      operators: [
        { type: 'psf', fits: 'psf.fits' },
        { type: 'uv-sampling', array: 'VLA_BNA.txt', declinationDeg: 34, hourAngleH: [-4, 4], stepMin: 5, wavelengthM: 0.06, pixelScaleArcsec: 0.5 },
        { type: 'mask', fits: 'mask.fits' },
        { type: 'psf', fits: 'psf.fits' },
      ],
    };
    expect(referencedFiles(doc)).toEqual(['psf.fits', 'VLA_BNA.txt', 'mask.fits']);
  });

  it('checks every field with a message naming it', () => {
    const bad: ModelDoc = {
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
    expect(issues[3]!.message).toMatch(/q must be in \(0, 1\], got 1.5/);
    expect(issues[4]!.message).toMatch(/nope.txt is not loaded/);
  });

  it("refuses a chain that does not end on the observation's grid", () => {
    const doc = parseModelDoc(FORWARD_MODEL_EXAMPLE);
    const issues = checkDoc(doc, ['mask.fits'], [64, 64]);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/output is \[96, 96\] but the observation is \[64, 64\]/);
    expect(checkDoc(doc, ['mask.fits'], [96, 96])).toEqual([]);
  });

  it('agrees with the engine validator: what it passes, validateModel passes; what it refuses, validateModel refuses', () => {
    const good = parseModelDoc(FORWARD_MODEL_EXAMPLE);
    expect(checkDoc(good, ['mask.fits'], null)).toEqual([]);
    expect(() => validateModel(JSON.parse(toModelJson(good)))).not.toThrow();
    for (const t of ['psf', 'mask', 'lens', 'uv-sampling'] as const) {
      const d: ModelDoc = { shape: [40, 40], operators: [defaultOperator(t, [40, 40])] };
      // defaults with the file fields filled are valid for both
      const op = d.operators[0]!;
      if (op.type === 'mask') op.fits = 'm.fits';
      if (op.type === 'uv-sampling') op.array = 'a.txt';
      expect(checkDoc(d, ['m.fits', 'a.txt'], null)).toEqual([]);
      expect(() => validateModel(JSON.parse(toModelJson(d)))).not.toThrow();
    }
    const refused: [string, ModelDoc][] = [
      ['fwhm', { shape: [8, 8], operators: [{ type: 'psf', fwhmPx: 0 }] }],
      ['q', { shape: [8, 8], operators: [{ ...(defaultOperator('lens', [8, 8]) as Extract<ModelDoc['operators'][number], { type: 'lens' }>), lens: { model: 'SIE', thetaE: 1, q: 0, phi: 0, x0: 0, y0: 0 } }] }],
      ['dec', { shape: [8, 8], operators: [{ ...(defaultOperator('uv-sampling', [8, 8]) as Extract<ModelDoc['operators'][number], { type: 'uv-sampling' }>), array: 'a.txt', declinationDeg: -91 }] }],
    ];
    for (const [what, d] of refused) {
      expect(checkDoc(d, ['a.txt'], null).length, what).toBeGreaterThan(0);
      expect(() => validateModel(JSON.parse(toModelJson(d))), what).toThrow();
    }
  });

  it('refuses malformed documents with the field in the message', () => {
    expect(() => parseModelJsonText('{')).toThrow(ModelDocInputError);
    expect(() => parseModelDoc({ shape: [8, 8], operators: [{ type: 'blur' }] })).toThrow(/operators\[0\]\.type: unknown operator "blur"/);
    expect(() => parseModelDoc({ shape: [8], operators: [] })).toThrow(/M.json.shape: expected \[ny, nx\]/);
    expect(() => parseModelDoc({ shape: [8, 8], operators: [{ type: 'psf', fwhmPx: 'wide' }] })).toThrow(/operators\[0\]\.fwhmPx: expected a number/);
    expect(() => parseModelDoc({ shape: [8, 8] })).toThrow(/"operators" must be an array/);
  });

  it('edits immutably: replace and move operators', () => {
    const doc = parseModelDoc(FORWARD_MODEL_EXAMPLE);
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
