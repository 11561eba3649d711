import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkForwardModel,
  defaultStage,
  issueMessage,
  lensParams,
  lensSupersample,
  outputShape,
  parseForwardModel,
  readForwardModel,
  readModelText,
  referencedFiles,
  stageShapes,
  toModelJson,
  validateForwardModel,
  OPERATOR_TYPES,
  type ForwardModelSpec,
  type UvStage,
} from '../../src-shared/operators/forward-model-spec.js';
import { ForwardModelInputError } from '../../src-shared/operators/errors.js';
import { FORWARD_MODEL_EXAMPLE } from '../helpers/forward-model-example.js';

const UV: UvStage = { type: 'uv-sampling', array: 'VLA_BNA.txt', declinationDeg: 34, hourAngleH: [-4, 4], stepMin: 5, wavelengthM: 0.06, pixelScaleArcsec: 0.5 };

/** Validation errors: [name, mutate, message pattern]. */
const BAD: [string, (m: Record<string, unknown>) => unknown, RegExp][] = [
  ['not JSON object', () => [1, 2], /M\.json: must be a JSON object/],
  ['missing shape', (m) => ({ operators: m.operators }), /M\.json: shape is required/],
  ['bad shape', (m) => ({ ...m, shape: [64, 0] }), /M\.json: shape must be \[ny, nx\] with positive integers/],
  ['unknown top-level field', (m) => ({ ...m, shapes: [1, 1] }), /M\.json: unknown field 'shapes'/],
  ['operators not a list', (m) => ({ ...m, operators: {} }), /M\.json: operators must be a list/],
  ['unknown operator', (m) => ({ ...m, operators: [{ type: 'blur', sigma: 2 }] }), /M\.json: operators\[0\]: unknown operator type 'blur' \(expected one of psf, mask, lens, uv-sampling\)/],
  ['missing type', (m) => ({ ...m, operators: [{ fwhmPx: 2 }] }), /M\.json: operators\[0\]: missing "type"/],
  ['non-positive FWHM', (m) => ({ ...m, operators: [{ type: 'psf', fwhmPx: -2 }] }), /M\.json: operators\[0\] \(psf\): fwhmPx must be positive, got -2/],
  ['zero FWHM', (m) => ({ ...m, operators: [{ type: 'psf', fwhmPx: 0 }] }), /operators\[0\] \(psf\): fwhmPx must be positive, got 0/],
  ['huge FWHM', (m) => ({ ...m, operators: [{ type: 'psf', fwhmPx: 1500 }] }), /operators\[0\] \(psf\): fwhmPx must be at most 1000 pixels, got 1500/],
  ['psf without kernel', (m) => ({ ...m, operators: [{ type: 'psf' }] }), /operators\[0\] \(psf\): needs fwhmPx \(a Gaussian\) or fits/],
  ['psf with both', (m) => ({ ...m, operators: [{ type: 'psf', fwhmPx: 2, fits: 'p.fits' }] }), /operators\[0\] \(psf\): give either fwhmPx or fits, not both/],
  ['psf typo', (m) => ({ ...m, operators: [{ type: 'psf', fwhm: 2 }] }), /operators\[0\] \(psf\): unknown field 'fwhm'/],
  ['psf normalize not boolean', (m) => ({ ...m, operators: [{ type: 'psf', fits: 'p.fits', normalize: 'no' }] }), /normalize must be true or false/],
  ['psf hdu with a Gaussian', (m) => ({ ...m, operators: [{ type: 'psf', fwhmPx: 2, hdu: 1 }] }), /operators\[0\] \(psf\): hdu only applies to a PSF from fits/],
  ['q = 0', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], lens: { model: 'SIE', thetaE: 1, q: 0 } }] }), /operators\[0\] \(lens\): lens\.q must be in \(0, 1\], got 0/],
  ['q > 1', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], lens: { model: 'SIE', thetaE: 1, q: 1.2 } }] }), /lens\.q must be in \(0, 1\], got 1\.2/],
  ['q missing for an SIE', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], lens: { thetaE: 1 } }] }), /operators\[0\] \(lens\): lens\.q is required/],
  ['SIS with q < 1', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], lens: { model: 'SIS', thetaE: 1, q: 0.5 } }] }), /lens\.q must be 1 for an SIS, got 0\.5/],
  ['negative thetaE', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], lens: { model: 'SIE', thetaE: -1, q: 0.5 } }] }), /lens\.thetaE must be positive, got -1/],
  ['unknown lens model', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], lens: { model: 'NFW', thetaE: 1, q: 0.5 } }] }), /lens\.model must be "SIE"/],
  ['fractional supersample', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], supersample: 1.5 }] }), /operators\[0\] \(lens\): supersample must be an integer, got 1\.5/],
  ['shear typo', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], shear: { g1: 0.1 } }] }), /operators\[0\] \(lens\): unknown field 'shear\.g1'/],
  ['missing imageShape', (m) => ({ ...m, operators: [{ type: 'lens', imagePixelScale: 0.05, sourcePixelScale: 0.03, lens: { thetaE: 1, q: 1 } }] }), /operators\[0\] \(lens\): imageShape is required/],
  ['non-positive pixel scale', (m) => ({ ...m, operators: [{ ...(m.operators as object[])[0], imagePixelScale: 0 }] }), /imagePixelScale must be positive, got 0/],
  ['mask without file', (m) => ({ ...m, operators: [{ type: 'mask' }] }), /operators\[0\] \(mask\): fits is required/],
  ['mask with a blank file name', (m) => ({ ...m, operators: [{ type: 'mask', fits: ' ' }] }), /operators\[0\] \(mask\): fits must be a file name, got ' '/],
  ['mask hdu', (m) => ({ ...m, operators: [{ type: 'mask', fits: 'm.fits', hdu: -1 }] }), /operators\[0\] \(mask\): hdu must be ≥ 0, got -1/],
  ['uv hour angles reversed', (m) => ({ ...m, operators: [{ ...UV, hourAngleH: [4, -4] }] }), /hourAngleH must have start ≤ end/],
  ['uv hour angles over a day', (m) => ({ ...m, operators: [{ ...UV, hourAngleH: [-13, 12] }] }), /hourAngleH spans more than 24 hours/],
  ['uv declination', (m) => ({ ...m, operators: [{ ...UV, declinationDeg: 100 }] }), /declinationDeg must be ≤ 90, got 100/],
  ['uv wavelength', (m) => ({ ...m, operators: [{ ...UV, wavelengthM: -1 }] }), /wavelengthM must be positive, got -1/],
  ['additive not an object', (m) => ({ ...m, additive: 'light.fits' }), /^M\.json: additive: must be an object \{"fits": "image\.fits"\}/],
  ['additive without file', (m) => ({ ...m, additive: {} }), /^M\.json: additive: fits is required/],
  ['additive typo', (m) => ({ ...m, additive: { file: 'light.fits' } }), /^M\.json: additive: unknown field 'file' \(expected fits, hdu\)/],
  ['additive hdu', (m) => ({ ...m, additive: { fits: 'light.fits', hdu: 0.5 } }), /^M\.json: additive: hdu must be an integer, got 0\.5/],
  ['fluxReference without flux', (m) => ({ ...m, fluxReference: { background: 0 } }), /^M\.json: fluxReference: flux is required/],
  ['fluxReference flux ≤ 0', (m) => ({ ...m, fluxReference: { flux: 0, background: 0 } }), /^M\.json: fluxReference: flux must be positive, got 0/],
  ['fluxReference below its sky', (m) => ({ ...m, fluxReference: { flux: 1, background: 2 } }), /^M\.json: fluxReference: flux must be above background, got 1 and 2/],
];

describe('M.json validation', () => {
  it('accepts the example of docs/forward-models.md and keeps it as written', () => {
    const spec = validateForwardModel(FORWARD_MODEL_EXAMPLE, 'M.json');
    expect(spec).toEqual(FORWARD_MODEL_EXAMPLE);
    expect(referencedFiles(spec)).toEqual(['mask.fits']);
    const lens = spec.operators[0]!;
    expect(lens.type === 'lens' && lensParams(lens)).toEqual({ model: 'SIE', thetaE: 1.1, q: 0.75, phi: 0.4, x0: 0, y0: 0, gamma1: 0.02, gamma2: -0.01 });
  });

  for (const [name, mutate, msg] of BAD) {
    it(`refuses: ${name}`, () => {
      const bad = mutate(structuredClone(FORWARD_MODEL_EXAMPLE) as unknown as Record<string, unknown>);
      expect(() => validateForwardModel(bad, 'M.json')).toThrow(ForwardModelInputError);
      expect(() => validateForwardModel(bad, 'M.json')).toThrow(msg);
    });
  }

  it('each bad model fails with its own message', () => {
    const msgs = BAD.map(([, mutate]) => {
      try {
        validateForwardModel(mutate(structuredClone(FORWARD_MODEL_EXAMPLE) as unknown as Record<string, unknown>), 'M.json');
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(new Set(msgs).size).toBe(msgs.length);
  });

  it('invalid JSON is a ForwardModelInputError naming the file', () => {
    expect(() => parseForwardModel('{"shape": [1, 2],', 'M.json')).toThrow(/M\.json: not valid JSON/);
    expect(() => readModelText('{"shape": [1, 2],', 'M.json')).toThrow(ForwardModelInputError);
    expect(() => parseForwardModel('{"shape": [4, 4], "operators": []}')).not.toThrow();
  });

  it('defaults: lens parameters, supersampling, an SIS without q', () => {
    const spec = validateForwardModel({ shape: [8, 8], operators: [{ type: 'lens', imageShape: [8, 8], imagePixelScale: 0.1, sourcePixelScale: 0.1, lens: { model: 'SIS', thetaE: 0.5 } }] });
    const lens = spec.operators[0]!;
    if (lens.type !== 'lens') throw new Error('not a lens');
    expect(lens.lens).toEqual({ model: 'SIS', thetaE: 0.5 });
    expect(lensParams(lens)).toEqual({ model: 'SIS', thetaE: 0.5, q: 1, phi: 0, x0: 0, y0: 0, gamma1: 0, gamma2: 0 });
    expect(lensSupersample(lens)).toBe(1);
    expect(lensParams({ ...lens, lens: { thetaE: 1, q: 0.5 }, shear: { gamma2: 0.1 } })).toMatchObject({ model: 'SIE', q: 0.5, gamma1: 0, gamma2: 0.1 });
  });
});

describe('issues with JSON paths', () => {
  it('collects every problem, in field order, each at its path and naming the field', () => {
    const doc = {
      shape: [64, 64],
      operators: [
        { type: 'psf', fwhmPx: -2 },
        { type: 'mask', fits: '' },
        { ...FORWARD_MODEL_EXAMPLE.operators[0], imagePixelScale: 0, lens: { model: 'SIE', thetaE: 1, q: 1.5 } },
        { ...UV, declinationDeg: 95, hourAngleH: [4, -4], stepMin: 0, wavelengthM: -1 },
      ],
    };
    const { spec, issues } = checkForwardModel(doc);
    expect(issues.map((i) => [i.path, i.field])).toEqual([
      ['operators[0].fwhmPx', 'fwhmPx'],
      ['operators[1].fits', 'fits'],
      ['operators[2].imagePixelScale', 'imagePixelScale'],
      ['operators[2].lens.q', 'lens.q'],
      ['operators[3].declinationDeg', 'declinationDeg'],
      ['operators[3].hourAngleH', 'hourAngleH'],
      ['operators[3].stepMin', 'stepMin'],
      ['operators[3].wavelengthM', 'wavelengthM'],
    ]);
    for (const i of issues) expect(i.message.startsWith(i.field!), i.message).toBe(true);
    expect(issues.every((i) => !i.structural)).toBe(true);
    // values out of range: still a spec (the editor shows it), as written
    expect(spec).toEqual(doc);
    expect(issueMessage(issues[0]!, 'M.json')).toBe('M.json: operators[0] (psf): fwhmPx must be positive, got -2');
    expect(issueMessage(issues[3]!)).toBe('operators[2] (lens): lens.q must be in (0, 1], got 1.5');
  });

  it('structural problems: no spec; readForwardModel refuses them, keeps values out of range; validateForwardModel refuses both', () => {
    const broken = { shape: [8], comment: 'ok', operators: [{ type: 'psf', fwhmPx: 'wide' }, { type: 'blur' }, 3, { type: 'mask', fits: 'm.fits', hdu: 1.5, extra: 1 }] };
    const { spec, issues } = checkForwardModel(broken);
    expect(spec).toBeNull();
    expect(issues.map((i) => [i.path, i.stage, i.structural])).toEqual([
      ['shape', '', true],
      ['operators[0].fwhmPx', 'operators[0] (psf)', true],
      ['operators[1].type', 'operators[1]', true],
      ['operators[2]', 'operators[2]', true],
      ['operators[3].extra', 'operators[3] (mask)', true],
      ['operators[3].hdu', 'operators[3] (mask)', false],
    ]);
    expect(() => readForwardModel(broken, 'M.json')).toThrow(/^M\.json: shape must be \[ny, nx\]/);
    expect(() => readForwardModel({ shape: [8, 8], operators: 'psf' }, 'M.json')).toThrow("M.json: operators must be a list, got 'psf'");
    expect(() => readForwardModel({ shape: [8, 8], operators: [{ type: 'psf', fwhmPx: 'wide' }] })).toThrow("operators[0] (psf): fwhmPx must be a number, got 'wide'");

    const outOfRange = { shape: [8, 8], operators: [{ type: 'psf', fwhmPx: -1 }, { type: 'mask', fits: '' }] };
    expect(readForwardModel(outOfRange)).toEqual(outOfRange);
    expect(() => validateForwardModel(outOfRange)).toThrow('operators[0] (psf): fwhmPx must be positive, got -1');
  });

  it('files at hand and the data shape, when given', () => {
    const doc: ForwardModelSpec = { shape: [64, 64], operators: [{ type: 'psf', fits: 'psf.fits' }, { ...UV, array: 'VLA_BNA.txt' }, { type: 'mask', fits: 'm.fits' }] };
    expect(checkForwardModel(doc).issues).toEqual([]);
    const { issues } = checkForwardModel(doc, { files: ['m.fits'], dataShape: [64, 64] });
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      ['operators[0].fits', 'the PSF file psf.fits is not loaded'],
      ['operators[1].array', 'the station table VLA_BNA.txt is not loaded'],
    ]);
    const files = ['psf.fits', 'VLA_BNA.txt', 'm.fits'];
    expect(checkForwardModel(doc, { files, dataShape: [64, 64] }).issues).toEqual([]);
    const off = checkForwardModel(doc, { files, dataShape: [32, 64] }).issues;
    expect(off).toHaveLength(1);
    expect(issueMessage(off[0]!, 'model')).toBe("model: the forward model's output is [64, 64] but the observation is [32, 64] ([ny, nx])");
    expect(off[0]!.path).toBe('shape');
    // another problem first: no shape comparison
    expect(checkForwardModel({ ...doc, operators: [{ type: 'psf', fwhmPx: 0 }] }, { dataShape: [32, 64] }).issues.map((i) => i.path)).toEqual(['operators[0].fwhmPx']);
  });

  it('a new stage of each type is valid once its file is chosen', () => {
    for (const t of OPERATOR_TYPES) {
      const op = defaultStage(t, [40, 40]);
      const blank = checkForwardModel({ shape: [40, 40], operators: [op] }).issues;
      if (t === 'mask' || t === 'uv-sampling') {
        expect(blank.map((i) => i.path)).toEqual([`operators[0].${t === 'mask' ? 'fits' : 'array'}`]);
        if (op.type === 'mask') op.fits = 'm.fits';
        if (op.type === 'uv-sampling') op.array = 'a.txt';
      } else expect(blank).toEqual([]);
      expect(() => validateForwardModel({ shape: [40, 40], operators: [op] })).not.toThrow();
    }
    const lens = defaultStage('lens', [40, 40]);
    expect(lens.type === 'lens' && lens.imageShape).toEqual([60, 60]);
  });
});

describe('shapes through the chain', () => {
  it('a lens maps its input (the source grid) onto its image grid; psf, mask and uv sampling keep the shape', () => {
    const spec = validateForwardModel(FORWARD_MODEL_EXAMPLE);
    expect(stageShapes(spec)).toEqual([
      { inShape: [64, 64], outShape: [96, 96] },
      { inShape: [96, 96], outShape: [96, 96] },
      { inShape: [96, 96], outShape: [96, 96] },
    ]);
    expect(outputShape(spec)).toEqual([96, 96]);

    const lens = (imageShape: [number, number]) => ({ ...FORWARD_MODEL_EXAMPLE.operators[0], imageShape });
    const chain = validateForwardModel({ shape: [32, 40], operators: [UV, lens([48, 60]), { type: 'mask', fits: 'm.fits' }, lens([20, 24]), { type: 'psf', fwhmPx: 2 }, UV] });
    expect(stageShapes(chain).map((s) => [s.inShape, s.outShape])).toEqual([
      [[32, 40], [32, 40]],
      [[32, 40], [48, 60]],
      [[48, 60], [48, 60]],
      [[48, 60], [20, 24]],
      [[20, 24], [20, 24]],
      [[20, 24], [20, 24]],
    ]);
    expect(outputShape(chain)).toEqual([20, 24]);
    expect(outputShape({ shape: [10, 12], operators: [] })).toEqual([10, 12]);
  });

  it('the files a model names: in stage order, once each, blank names left out', () => {
    const spec: ForwardModelSpec = {
      shape: [32, 32],
      operators: [{ type: 'psf', fits: 'psf.fits' }, UV, { type: 'mask', fits: 'mask.fits' }, { type: 'psf', fits: 'psf.fits' }, { type: 'mask', fits: '' }],
    };
    expect(referencedFiles(spec)).toEqual(['psf.fits', 'VLA_BNA.txt', 'mask.fits']);
    expect(referencedFiles({ ...spec, additive: { fits: 'light.fits' } })).toEqual(['psf.fits', 'VLA_BNA.txt', 'mask.fits', 'light.fits']);
  });

  it('the additive image and the flux reference are kept as written and checked against the files at hand', () => {
    const doc = { ...FORWARD_MODEL_EXAMPLE, additive: { fits: 'light.fits', hdu: 1 }, fluxReference: { flux: 0.8, background: -0.01 } };
    expect(validateForwardModel(doc, 'M.json')).toEqual(doc);
    const { issues } = checkForwardModel(doc, { files: ['mask.fits'] });
    expect(issues.map((i) => issueMessage(i, 'M.json'))).toEqual(['M.json: additive: the additive image light.fits is not loaded']);
  });
});

describe('text round trip', () => {
  it('text → spec → text is the identity for a document written in field order', () => {
    const text = JSON.stringify(FORWARD_MODEL_EXAMPLE, null, 2) + '\n';
    expect(toModelJson(parseForwardModel(text))).toBe(text);
    const sparse = {
      shape: [16, 20],
      operators: [
        { type: 'psf', fits: 'psf.fits' },
        { type: 'mask', fits: 'm.fits', hdu: 2 },
        { type: 'lens', imageShape: [24, 24], imagePixelScale: 0.1, sourcePixelScale: 0.1, lens: { thetaE: 1, q: 0.8 } },
        { type: 'psf', fits: 'beam.fits', hdu: 1, normalize: false },
        UV,
      ],
    };
    const sparseText = JSON.stringify(sparse, null, 2) + '\n';
    // nothing is added: no defaults written out
    expect(toModelJson(parseForwardModel(sparseText))).toBe(sparseText);
    expect(toModelJson(readModelText(sparseText))).toBe(sparseText);
  });

  it('spec → text → spec is the identity; annotations are read and not kept', () => {
    const spec = validateForwardModel(FORWARD_MODEL_EXAMPLE);
    expect(parseForwardModel(toModelJson(spec))).toEqual(spec);
    const annotated = { $schema: 'x', comment: 'HST', shape: [8, 8], operators: [{ _note: 'wide', type: 'psf', fwhmPx: 3, description: 'seeing' }] };
    expect(JSON.parse(toModelJson(parseForwardModel(JSON.stringify(annotated))))).toEqual({ shape: [8, 8], operators: [{ type: 'psf', fwhmPx: 3 }] });
  });
});

describe('no tfjs', () => {
  it('forward-model-spec.ts and everything it imports import nothing from @tensorflow', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src-shared/operators');
    const seen = new Set<string>();
    const specifiers: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?(?:[\w*\s{},$]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        specifiers.push(spec);
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(path.join(root, 'forward-model-spec.ts'));
    expect([...seen].map((f) => path.basename(f))).toContain('errors.ts');
    expect(specifiers.filter((s) => !s.startsWith('.'))).toEqual([]);
  });
});
