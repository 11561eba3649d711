/**
 * A cutout (and binning) of the observation becomes the new observation: the pixels of a box, optionally
 * averaged over k×k blocks, written as FITS with the WCS moved to the new grid (src-shared/image/cutout.ts);
 * what lives on the observation's grid follows — a σ map and mask files of the observation's size are cut the
 * same way (new files beside the old), and so is the model's additive image (refused with the fix named when it is
 * not on the observation's grid), a lens stage on the observation's grid moves to the cutout's grid
 * (cutLensStage), a typed σ becomes σ/k, a Gaussian PSF's FWHM becomes FWHM/k. A PSF
 * image cannot be resampled here: binning with one is done, with a warning that it needs a PSF on the new
 * pixels. The old observation's results stay in the viewer, marked as its.
 */
import { useStore } from '../store/index';
import { readFits, writeFits } from '../../../src-shared/fits/index';
import { binnedSigma, clipBox, cutAdditive, cutLensStage, cutMask, cutoutHeader, cutPixels, cutSigmaMap, type CutBox } from '../../../src-shared/image/cutout';
import type { ForwardModelSpec, StageSpec } from '../../../src-shared/operators/forward-model-spec';
import { getAux, getObs, obsFitsFile, obsPlanePixels } from './files';
import { addModelFile, openObservation } from './actions';
import { observationLocked, quietObservationChange } from './viewer-link';

export interface CutoutResult {
  name: string;
  shape: [number, number];
  notes: string[];
}

const base = (name: string) => name.replace(/\.(fits?|fts|fz)(\.gz)?$/i, '').replace(/\.gz$/i, '');

/** The file name of a cutout: where it was cut (1-based, inclusive) and the binning. */
export function cutoutName(name: string, box: CutBox, k: number): string {
  return `${base(name)}_x${box.x0 + 1}-${box.x0 + box.nx}_y${box.y0 + 1}-${box.y0 + box.ny}${k > 1 ? `_bin${k}` : ''}.fits`;
}

/** One image of an auxiliary file (first image HDU, or `hdu`) if it has the observation's shape. */
function auxOnGrid(name: string, hdu: number | undefined, shape: [number, number]): { data: Float32Array; header: ReturnType<typeof readFits>['hdus'][number]['header'] } | null {
  const f = getAux(name);
  if (!f) return null;
  const file = readFits(f.bytes, { name });
  const h = hdu !== undefined ? file.hdus[hdu] : file.hdus.find((x) => x.hasImage);
  if (!h || !h.hasImage || h.shape[0] !== shape[1] || h.shape[1] !== shape[0]) return null;
  const img = h.readImage();
  return { data: Float32Array.from(img.data.subarray(0, shape[0] * shape[1]) as ArrayLike<number>), header: h.header };
}

/**
 * Makes the cutout `box` (0-based pixels, clipped to the image) binned by `k` the observation. Throws (with the
 * reason in words) when it cannot; the current observation then stays.
 */
export async function applyCutout(box: CutBox, k: number): Promise<CutoutResult> {
  const locked = observationLocked();
  if (locked) throw new Error(locked);
  const st = useStore.getState();
  const obs = st.obs;
  const file = getObs();
  if (!obs || !file) throw new Error('open the observation first');
  const px = obsPlanePixels(obs.hdu, obs.plane);
  if (!px) throw new Error(`${obs.name} is too large to cut in the browser (${obs.shape[1]}×${obs.shape[0]} pixels)`);
  const header = obsFitsFile()!.hdus[obs.hdu]!.header;
  const b = clipBox(box, obs.shape);
  const cut = cutPixels(px.data, obs.shape, b, k);
  const hdr = cutoutHeader(header, b, k, { plane: obs.plane, from: obs.name });
  const name = cutoutName(obs.name, b, k);
  const bytes = writeFits([{ data: cut.data, shape: [cut.shape[1], cut.shape[0]], header: hdr }]);
  const notes: string[] = [];

  // what lives on the observation's grid follows it
  let doc: ForwardModelSpec = st.modelDoc;
  // the additive image (a lens's deflector light) is in data units on the observation's grid: cut (and block
  // averaged) as the data are, else the model no longer matches the new observation's shape
  const additive = doc.additive ? auxOnGrid(doc.additive.fits, doc.additive.hdu, obs.shape) : null;
  const additiveCut = doc.additive ? cutAdditive(additive?.data ?? null, additive ? obs.shape : null, obs.shape, b, k, doc.additive.fits) : null;
  const ops: StageSpec[] = [];
  for (const op of doc.operators) {
    if (op.type === 'mask' && op.fits) {
      const m = auxOnGrid(op.fits, op.hdu, obs.shape);
      if (m) {
        const c = cutMask(m.data, obs.shape, b, k);
        const n = await addModelFile(cutoutName(op.fits, b, k), writeFits([{ data: c.data, shape: [c.shape[1], c.shape[0]], header: cutoutHeader(m.header, b, k, { from: op.fits }) }]), 'mask');
        ops.push({ type: 'mask', fits: n });
        notes.push(`the mask ${op.fits} was cut the same way (${n})`);
        continue;
      }
    }
    if (op.type === 'lens' && op.imageShape[0] === obs.shape[0] && op.imageShape[1] === obs.shape[1]) {
      // the lens's image grid is the observation's: it follows the cutout (the source grid stays centred on the
      // image grid's centre, so it moves with it)
      const c = cutLensStage(op, b, k);
      ops.push(c.stage);
      const [sx, sy] = c.sourceShift;
      if (sx !== 0 || sy !== 0) notes.push(`the lens stage is on the cutout's grid; its source grid moved by (${+sx.toPrecision(3)}″, ${+sy.toPrecision(3)}″) with the grid's centre`);
      continue;
    }
    if (op.type === 'psf' && 'fwhmPx' in op && k > 1) {
      ops.push({ ...op, fwhmPx: op.fwhmPx / k });
      notes.push(`the Gaussian PSF's FWHM is now ${+(op.fwhmPx / k).toPrecision(4)} binned pixels (${op.fwhmPx} original pixels)`);
      continue;
    }
    if (op.type === 'psf' && 'fits' in op && k > 1) notes.push(`the PSF image ${op.fits} is sampled on the original pixels: give one sampled on the ${k}× larger binned pixels`);
    ops.push(op);
  }
  doc = { ...doc, operators: ops };
  if (doc.additive && additive && additiveCut) {
    const c = additiveCut;
    const n = await addModelFile(cutoutName(doc.additive.fits, b, k), writeFits([{ data: c.data, shape: [c.shape[1], c.shape[0]], header: cutoutHeader(additive.header, b, k, { from: doc.additive.fits }) }]), 'additive');
    doc = { ...doc, additive: { fits: n } };
    notes.push(`the additive image was cut${k > 1 ? ' and binned (block mean)' : ''} the same way (${n})`);
  }
  const noise = st.noise;
  let noisePatch: Partial<typeof noise> | null = null;
  if (noise.mode === 'map' && noise.mapFile) {
    const m = auxOnGrid(noise.mapFile, noise.mapHdu, obs.shape);
    if (m) {
      const c = cutSigmaMap(m.data, obs.shape, b, k);
      const n = await addModelFile(cutoutName(noise.mapFile, b, k), writeFits([{ data: c.data, shape: [c.shape[1], c.shape[0]], header: cutoutHeader(m.header, b, k, { from: noise.mapFile }) }]), 'sigma');
      noisePatch = { mapFile: n, mapHdu: 0 };
      notes.push(`the σ map was cut${k > 1 ? ' and binned (√Σσ²/k² per block)' : ''} the same way (${n})`);
    } else notes.push(`the σ map ${noise.mapFile} is not on the observation's grid: choose one for the cutout`);
  } else if (noise.mode === 'sigma' && noise.sigma !== null && k > 1) {
    noisePatch = { sigma: binnedSigma(noise.sigma, k) };
    notes.push(`σ is now ${+binnedSigma(noise.sigma, k).toPrecision(4)} (σ/${k}: the mean of ${k * k} independent pixels)`);
  } else if (noise.mode === 'mad') notes.push('estimate σ again on the cutout (Noise › Estimate)');

  quietObservationChange();
  useStore.getState().setModelDoc(doc);
  if (!(await openObservation(name, bytes, undefined, { show: false }))) throw new Error(`${name} could not be opened`);
  if (noisePatch) useStore.getState().setNoise(noisePatch);
  return { name, shape: cut.shape, notes };
}
