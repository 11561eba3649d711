/**
 * What the editor adds to the forward-model format (src-shared/operators/forward-model-spec.ts): names of the operators
 * and fields as the forms show them, the shared validator's issues worded for the form, and immutable edits.
 */
import { checkForwardModel, type ForwardModelIssue, type ForwardModelSpec, type LensModel, type LensStage, type OperatorType, type Shape2, type StageSpec } from '../../../src-shared/operators/forward-model-spec';

export const OPERATOR_LABELS: Record<OperatorType, string> = {
  psf: 'PSF (convolution)',
  mask: 'Mask (missing pixels)',
  lens: 'Strong lens (SIE/EPL + shear)',
  'uv-sampling': 'Interferometer (uv sampling)',
};

/** Fields as the forms name them (issue messages start with the field's name as the file writes it). */
const FIELD_LABELS: Record<string, string> = {
  shape: "the unknown's shape",
  fwhmPx: 'FWHM',
  hdu: 'HDU',
  imageShape: 'the image shape',
  imagePixelScale: 'image pixel scale',
  sourcePixelScale: 'source pixel scale',
  supersample: 'supersampling',
  'lens.thetaE': 'θE',
  'lens.q': 'axis ratio q',
  'lens.phi': 'φ',
  'shear.gamma1': 'γ1',
  'shear.gamma2': 'γ2',
  declinationDeg: 'declination',
  hourAngleH: 'the hour angles',
  stepMin: 'the time step',
  wavelengthM: 'the wavelength',
  pixelScaleArcsec: 'the pixel scale',
};

/** What to ask for when a stage's file is still to be chosen. */
const CHOOSE_FILE: Partial<Record<OperatorType, string>> = {
  psf: 'choose a PSF FITS file',
  mask: 'choose or paint a mask',
  'uv-sampling': 'choose a station table (NAME X Y Z per line, ECEF metres)',
};

const STAGE_FILE = /^operators\[(\d+)\]\.(fits|array)$/;

/** The issue's message as the form shows it: the field under its label, a blank file name as a prompt. */
function formMessage(doc: ForwardModelSpec, issue: ForwardModelIssue): string {
  const m = STAGE_FILE.exec(issue.path);
  const op = m && issue.field ? doc.operators[Number(m[1])] : undefined;
  if (op) {
    const name = op.type === 'uv-sampling' ? op.array : 'fits' in op ? op.fits : undefined;
    const prompt = CHOOSE_FILE[op.type];
    if (name !== undefined && name.trim() === '' && prompt) return prompt;
  }
  const label = issue.field ? FIELD_LABELS[issue.field] : undefined;
  return label ? label + issue.message.slice(issue.field!.length) : issue.message;
}

/**
 * The editor's instant checks: the engine's validation of the document (src-shared/operators/forward-model-spec.ts),
 * the files the editor holds (`files`) and the observation's [ny, nx] (`dataShape`), worded for the form.
 */
export function checkDoc(doc: ForwardModelSpec, files: readonly string[], dataShape: Shape2 | null): ForwardModelIssue[] {
  return checkForwardModel(doc, { files, dataShape }).issues.map((i) => ({ ...i, message: formMessage(doc, i) }));
}

/** Replaces operator `i` (immutable update). */
export function withOperator(doc: ForwardModelSpec, i: number, op: StageSpec): ForwardModelSpec {
  return { ...doc, operators: doc.operators.map((o, k) => (k === i ? op : o)) };
}

export function moveOperator(doc: ForwardModelSpec, i: number, delta: -1 | 1): ForwardModelSpec {
  const j = i + delta;
  if (j < 0 || j >= doc.operators.length) return doc;
  const ops = doc.operators.slice();
  [ops[i], ops[j]] = [ops[j]!, ops[i]!];
  return { ...doc, operators: ops };
}

/**
 * Where each operator belongs in the chain, in the order light meets them: the lens maps the source plane to the
 * sky, the telescope's PSF blurs the sky image, the mask drops detector pixels; an interferometer samples the
 * sky's Fourier plane, last.
 */
export const PHYSICAL_RANK: Record<OperatorType, number> = { lens: 0, psf: 1, mask: 2, 'uv-sampling': 3 };

/** Adds a stage where it belongs: after every stage that comes before it physically, before the rest. */
export function insertOperator(doc: ForwardModelSpec, stage: StageSpec): { doc: ForwardModelSpec; index: number } {
  const r = PHYSICAL_RANK[stage.type];
  let at = doc.operators.length;
  for (let k = 0; k < doc.operators.length; k++) {
    if (PHYSICAL_RANK[doc.operators[k]!.type] > r) {
      at = k;
      break;
    }
  }
  const ops = doc.operators.slice();
  ops.splice(at, 0, stage);
  return { doc: { ...doc, operators: ops }, index: at };
}

/** The chain in physical order (stable: stages of one kind keep their order). */
export function physicalOrder(doc: ForwardModelSpec): ForwardModelSpec {
  const ops = doc.operators.map((o, k) => ({ o, k })).sort((a, b) => PHYSICAL_RANK[a.o.type] - PHYSICAL_RANK[b.o.type] || a.k - b.k);
  return { ...doc, operators: ops.map((x) => x.o) };
}

/** Why the chain's order departs from the physics, in words; null when it follows it. */
export function orderAdvice(doc: ForwardModelSpec): string | null {
  for (let k = 1; k < doc.operators.length; k++) {
    const a = doc.operators[k - 1]!;
    const b = doc.operators[k]!;
    if (PHYSICAL_RANK[a.type] <= PHYSICAL_RANK[b.type]) continue;
    const why: Partial<Record<string, string>> = {
      'psf>lens': 'a PSF before the lens blurs the source plane, not the sky image the telescope sees',
      'mask>lens': 'a mask before the lens removes source-plane pixels, not detector pixels',
      'mask>psf': 'a mask before the PSF removes pixels of the unblurred sky; the detector loses them after the blur',
      'uv-sampling>psf': 'the interferometer samples the sky last; a PSF after it blurs the dirty image again',
      'uv-sampling>lens': 'the interferometer samples the lensed sky: the lens comes first',
      'uv-sampling>mask': 'the interferometer samples the sky last',
    };
    const reason = why[`${a.type}>${b.type}`] ?? 'the operators are not in the order light meets them';
    return `${OPERATOR_LABELS[a.type]} (${k}) comes before ${OPERATOR_LABELS[b.type]} (${k + 1}): ${reason}. The usual order is lens → PSF → mask, uv sampling last.`;
  }
  return null;
}

/** The lens stage with another mass profile: an SIS is round (q = 1), an EPL gets a slope (2, the SIE's, to start). */
export function withMassModel(L: LensStage['lens'], model: LensModel): LensStage['lens'] {
  const { gamma, ...rest } = L;
  if (model === 'EPL') return { ...rest, model, gamma: gamma ?? 2, q: rest.q ?? 1 };
  if (model === 'SIS') return { ...rest, model, q: 1 };
  return { ...rest, model, q: rest.q ?? 1 };
}
