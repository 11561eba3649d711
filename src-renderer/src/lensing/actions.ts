/**
 * The lens fit in the app: the request from the editor's state (the observation, the Noise step's σ or σ map,
 * the model's PSF stage, the lens stage's pixel scale, the fitted pixels), `job.lensFit` with its progress
 * events and Stop, and the finished fit's products (`lens.products`, the command line's files) shown in viewer
 * panels with the fitted critical curves and caustics; "Use the fitted lens" puts model.json and its files into
 * the editor, and the fit's noise into the Noise step — a whitened fit's correlated noise (model.json's block, the
 * likelihood `skyscore reconstruct --model` builds), else the fit's σ (sigma.fits) where it took σ from the
 * observation's file; lens.json's command-line advice is said with the panel's fields; the products export as they are.
 */
import { getClient, ApiError } from '../api/client';
import { useStore } from '../store/index';
import { showImage, removeImage } from '../viewer/images';
import { setCurveOverlay } from '../viewer/overlays';
import { readFits } from '../../../src-shared/fits/index';
import { isFitsPsf, parseForwardModel, type ForwardModelSpec, type LensStage, type StageSpec } from '../../../src-shared/operators/forward-model-spec';
import type { EngineEvent, LensFitParams, NamedFile } from '../../../src-shared/protocol/index';
import type { LensFitCorrelation, LensFitPoisson, LensFitSkyLevel } from '../../../src-shared/protocol/lensing';
import { withObs } from '../model/upload';
import { auxFiles, getAux, obsFitsFile } from '../model/files';
import { defaultFitRadius, pixelScaleFromWcs } from '../../../src-shared/lensing/inputs';
import { POISSON_ADDED_NOTE, electronScale } from '../../../src-shared/lensing/noise-map';
import type { FitsHeader } from '../../../src-shared/fits/index';
import { addModelFile, scheduleValidate, setModelDoc } from '../model/actions';
import { lensFitNoiseInUse, lensFitNoisePatch, scheduleNoiseDescribe } from '../model/noise';
import type { LensFitNoise, NoiseSettings } from '../store/model';
import { downloadBytes } from '../export/download';
import { useLensFit, weightsSource, type LensFitDone, type LensFitForm, type LensFitNoiseCorrelation, type LensFitNoiseUsed } from './state';

/** The image products shown in panels, with their titles (the observation's grid; the source inversion on its own). */
export const LENS_PANELS = [
  { file: 'lens-light.fits', id: 'lens-light', title: 'Lens light model', role: 'other' },
  { file: 'light-subtracted.fits', id: 'lens-subtracted', title: 'Light-subtracted image', role: 'other' },
  { file: 'model-image.fits', id: 'lens-model', title: 'Model image', role: 'other' },
  { file: 'normalised-residual.fits', id: 'lens-residual', title: 'Normalised residual (y − model)/σ', role: 'residual' },
  { file: 'source-inversion.fits', id: 'lens-source', title: 'Source inversion (source plane)', role: 'other' },
] as const;

/** The fitted lens's critical curves (orange: the lens stage's own are red) and caustics. */
const CRITICAL = '#ff9a30';
const CAUSTIC = '#3fb0ff';
/** Panels on the observation's grid that show the fitted critical curves. */
const IMAGE_PANELS = ['lens-subtracted', 'lens-residual'];

function message(e: unknown): string {
  if (e instanceof ApiError && e.code === 'engine-died') return `the engine stopped (${e.message}); it restarts by itself — try again`;
  return (e as Error)?.message ?? String(e);
}

/** The observation's pixel scale from the chosen HDU's celestial WCS; null without one; `error` where it is unusable (pixels not square). */
export function obsWcsScale(): { scale: number; source: string } | { error: string } | null {
  const s = useStore.getState();
  if (!s.obs) return null;
  let header;
  try {
    header = obsFitsFile()?.hdus[s.obs.hdu]?.header;
  } catch {
    return null;
  }
  if (!header) return null;
  try {
    return pixelScaleFromWcs(header);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The image HDUs of the observation's file, besides the data's, of the data's shape: a σ map's or a weight map's. */
export function noiseHdus(): { index: number; label: string; name: string }[] {
  const o = useStore.getState().obs;
  if (!o) return [];
  let names: (string | null)[] = [];
  try {
    names = obsFitsFile()?.hdus.map((h) => h.name ?? null) ?? [];
  } catch {
    names = [];
  }
  return o.hdus
    .filter((h) => h.index !== o.hdu && h.shape[0] === o.shape[1] && h.shape[1] === o.shape[0] && h.shape.slice(2).every((n) => n === 1))
    .map((h) => ({ index: h.index, label: h.label, name: (names[h.index] ?? '').toUpperCase() }));
}

/** The HDU σ or the weights come from: the form's where it is one of noiseHdus, else the first named ERR (σ) or WHT/IVM (weights), else the first. */
export function chosenNoiseHdu(form: Pick<LensFitForm, 'noiseSource' | 'noiseHdu'>): number | null {
  const list = noiseHdus();
  if (form.noiseHdu !== null && list.some((h) => h.index === form.noiseHdu)) return form.noiseHdu;
  const want = form.noiseSource === 'obs-weights' ? ['WHT', 'IVM', 'WEIGHT'] : ['ERR', 'SIGMA', 'NOISE'];
  return (list.find((h) => want.includes(h.name)) ?? list[0])?.index ?? null;
}

/**
 * The pixel scale the fit uses: the form's; else the observation's WCS (the request then leaves it to the engine,
 * as the command line without --pixel-scale); else the lens stage's image pixel. `wcsError`: why the WCS gave none.
 */
export function fitPixelScale(lens: LensStage, form: Pick<LensFitForm, 'pixelScale'>): { value: number; source: string; request: number | null; wcsError: string | null } {
  const w = obsWcsScale();
  const wcsError = w && 'error' in w ? w.error : null;
  if (form.pixelScale !== null) return { value: form.pixelScale, source: 'given', request: form.pixelScale, wcsError };
  if (w && 'scale' in w) return { value: w.scale, source: `the WCS (${w.source})`, request: null, wcsError };
  return { value: lens.imagePixelScale, source: "the lens stage's image pixel", request: lens.imagePixelScale, wcsError };
}

/** The default fitted disc's radius (arcsec) at this scale: the command line's disc where the image reaches beyond it, else null (every valid pixel). */
export function defaultDisc(scale: number): number | null {
  const o = useStore.getState().obs;
  return o ? defaultFitRadius(o.shape, scale) : null;
}

/** The first HDU of a file that holds an image (a weight map written as an extension after an empty primary). */
function firstImageHdu(bytes: Uint8Array, name: string): number {
  const i = readFits(bytes, { name }).hdus.findIndex((h) => h.hasImage && h.shape.length >= 2);
  if (i < 0) throw new Error(`${name} holds no image`);
  return i;
}

/** The request's inputs from the editor's state; a missing input is an Error that says where to set it. */
export function lensFitInputs(lens: LensStage, form: LensFitForm): Omit<LensFitParams, 'obs'> {
  const s = useStore.getState();
  const names: string[] = [];
  let noise: LensFitParams['noise'];
  // the fit measures the correlation itself: with a whitened fit's correlated noise in the step, it takes that fit's white σ
  const step: NoiseSettings = s.noise.lensFit && lensFitNoiseInUse(s.noise) === 'correlated' ? { ...s.noise, ...lensFitNoisePatch(s.noise.lensFit, 'white') } : s.noise;
  if (form.noiseSource === 'estimate') noise = { kind: 'estimate' };
  else if (form.noiseSource === 'file-weights') {
    const f = form.noiseFile !== null ? getAux(form.noiseFile) : undefined;
    if (!f) throw new Error("choose the weight map's FITS file (Noise: weight map, a FITS file), or take σ or the weights from the observation");
    noise = { kind: 'weights', file: f.name, hdu: firstImageHdu(f.bytes, f.name) };
    names.push(f.name);
  } else if (form.noiseSource !== 'step') {
    const hdu = chosenNoiseHdu(form);
    if (hdu === null) throw new Error(`the observation's file has no other image HDU of the data's shape to read ${form.noiseSource === 'obs-weights' ? 'weights' : 'σ'} from: choose the Noise step's σ`);
    noise = { kind: form.noiseSource === 'obs-weights' ? 'weights' : 'map', hdu };
  } else if ((step.mode === 'sigma' || step.mode === 'mad') && step.sigma !== null) noise = { kind: 'sigma', sigma: step.sigma };
  else if (step.mode === 'map' && step.mapFile) {
    noise = { kind: 'map', file: step.mapFile, hdu: step.mapHdu };
    names.push(step.mapFile);
  } else if (step.mode === 'sigma' || step.mode === 'mad') throw new Error('set the noise σ first (Forward model › Noise: type σ or estimate it), or take σ or the weights from an HDU of the observation');
  else throw new Error('the lens fit takes σ per pixel: one σ or a σ map (Forward model › Noise), not a correlated or Poisson–Gaussian noise model');
  const psfOp = s.modelDoc.operators.find((o): o is Extract<StageSpec, { type: 'psf' }> => o.type === 'psf');
  if (!psfOp) throw new Error('the lens fit needs the PSF: add a PSF operator to the forward model (its FITS image or a Gaussian)');
  let psf: LensFitParams['psf'];
  if (isFitsPsf(psfOp)) {
    psf = { kind: 'fits', file: psfOp.fits, hdu: psfOp.hdu ?? 0, size: form.psfSize };
    names.push(psfOp.fits);
  } else psf = { kind: 'gaussian', fwhmPx: psfOp.fwhmPx, size: form.psfSize };
  let mask: LensFitParams['mask'] = { kind: 'all' };
  if (form.mask === 'default') mask = { kind: 'default' };
  else if (form.mask === 'annulus') mask = { kind: 'annulus', r1: form.r1, r2: form.r2 };
  else if (form.mask === 'model') {
    const m = s.modelDoc.operators.find((o): o is Extract<StageSpec, { type: 'mask' }> => o.type === 'mask');
    if (!m) throw new Error('the forward model has no mask operator: choose an annulus or every pixel');
    // read as the run reads the stage (its convention; absent: 1 = observed), not by lens-fit's own default (auto)
    mask = { kind: 'file', file: m.fits, hdu: m.hdu ?? 0, convention: m.convention ?? 'fit' };
    names.push(m.fits);
  }
  const { mask: _m, r1: _r1, r2: _r2, psfSize: _p, noiseSource: _n, noiseHdu: _h, noiseFile: _f, pixelScale: _s, keepSharp, weightType: _w, poisson: _po, exposureTime: _e, exposureEstimate: _ee, sky: _sk, skyLevel: _sl, noiseCorrelation: _c, noiseRegion: _r, ...settings } = form;
  return { files: auxFiles([...new Set(names)]), noise: { ...noise, ...lensFitNoiseOptions(form) }, psf, pixelScale: fitPixelScale(lens, form).request, mask, settings: { ...settings, ...(settings.light === 0 && { lightCore: 0 }), ...(keepSharp ? { keepSharp: true } : {}) } };
}

/**
 * The request's noise options from the form, as the command line's flags give them: each only where it is not the
 * default (--weight-type exp with weights; --poisson none; --exposure-time with the term on and IVM weights or a σ map;
 * --noise-correlation none; --noise-region with the correlation measured). A field the form hides keeps its value
 * for when it shows again, and is not sent.
 */
export function lensFitNoiseOptions(
  form: Pick<LensFitForm, 'noiseSource' | 'weightType' | 'poisson' | 'exposureTime' | 'noiseCorrelation' | 'noiseRegion'> & Partial<Pick<LensFitForm, 'exposureEstimate' | 'sky' | 'skyLevel'>>,
): LensFitPoisson & LensFitCorrelation & LensFitSkyLevel & { weightType?: 'exp' } {
  const exp = weightsSource(form) && form.weightType === 'exp';
  const r = form.noiseRegion;
  return {
    ...(exp && { weightType: 'exp' as const }),
    ...(form.poisson === 'none' && { poisson: 'none' as const }),
    ...(form.poisson === 'auto' && !exp && form.exposureEstimate === true && { exposureTime: 'estimate' as const }),
    ...(form.poisson === 'auto' && !exp && form.exposureEstimate !== true && form.exposureTime !== null && { exposureTime: form.exposureTime }),
    ...(form.sky === 'fit' && { sky: 'fit' as const }),
    ...(form.sky === 'level' && form.skyLevel !== null && { sky: form.skyLevel }),
    ...(form.noiseCorrelation === 'none' && { correlation: 'none' as const }),
    ...(form.noiseCorrelation === 'auto' && r !== null && { region: { x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 } }),
  };
}

/** The headers the fit reads the data's unit and exposure time from: the data's HDU, then the primary HDU (drizzle writes EXPTIME there). */
function obsHeaders(): FitsHeader[] {
  const o = useStore.getState().obs;
  if (!o) return [];
  try {
    const hdus = obsFitsFile()?.hdus ?? [];
    return [hdus[o.hdu]?.header, o.hdu !== 0 ? hdus[0]?.header : undefined].filter((h): h is FitsHeader => h !== undefined);
  } catch {
    return [];
  }
}

/** What the fit will do with the sources' Poisson noise, before it runs (the job's own reading, noise-map.ts electronScale). */
export interface PoissonPreview {
  /** whether the term will be added */
  added: boolean;
  /** the exposure time of the header (EXPTIME, else TEXPTIME; seconds) and its card; null: none there */
  header: { seconds: number; key: string } | null;
  /** one line: the unit read (BUNIT, the gain) and e, or why the term is not added */
  text: string;
}

/** The sources' Poisson term as the form and the observation's headers give it (e, the units read; or why not). */
export function poissonPreview(form: Pick<LensFitForm, 'noiseSource' | 'weightType' | 'poisson' | 'exposureTime'> & Partial<Pick<LensFitForm, 'exposureEstimate' | 'sky'>>): PoissonPreview {
  const headers = obsHeaders();
  // as electronScale reads it: EXPTIME in the data's HDU or the primary, else TEXPTIME
  let header: PoissonPreview['header'] = null;
  for (const key of ['EXPTIME', 'TEXPTIME']) {
    const v = headers.map((h) => Number(h.get(key))).find((x) => Number.isFinite(x) && x > 0);
    if (v !== undefined) {
      header = { seconds: v, key };
      break;
    }
  }
  const exp = weightsSource(form) && form.weightType === 'exp';
  if (form.poisson === 'none') return { added: false, header, text: 'not added (--poisson none): σ is the sky\'s alone' };
  if (!exp && form.exposureEstimate === true) {
    return {
      added: true,
      header,
      text: `e (electrons per data unit) estimated from the data when the fit starts, by photon transfer (the flux above ${form.sky === 'fit' || form.sky === 'level' ? 'the sky level subtracted' : "the blank sky's median"})`,
    };
  }
  if (!weightsSource(form) && form.exposureTime === null) {
    return { added: false, header, text: `not added: ${form.noiseSource === 'estimate' ? 'σ_sky estimated from the blank sky' : 'a σ map (or one σ)'} is taken as complete; give the exposure time, or estimate it, to add the term` };
  }
  const scale = electronScale(headers, exp ? { exposureMap: [] } : form.exposureTime !== null ? { exposureTime: form.exposureTime } : {});
  if (typeof scale === 'string') return { added: false, header, text: `cannot be added: ${scale}${/BUNIT '/.test(scale) ? '' : '; give the exposure time (seconds; data in e⁻/s)'}` };
  return { added: true, header, text: scale.text.replace('(--exposure-time)', '(given)') };
}

/** Starts the fit (a job: progress events, Stop). */
export async function startLensFit(lens: LensStage): Promise<void> {
  const st = useLensFit.getState();
  let inputs: Omit<LensFitParams, 'obs'>;
  try {
    inputs = lensFitInputs(lens, st.form);
  } catch (e) {
    st.patchJob({ state: 'error', message: message(e), jobId: null });
    return;
  }
  st.patchJob({ state: 'queued', jobId: null, line: null, stage: null, logEvidence: null, elapsedS: 0, message: null });
  try {
    const res = await withObs((obs) => getClient().request('job.lensFit', { obs, ...inputs }));
    const o = useStore.getState().obs;
    command = res.command;
    started = { scale: res.pixelScale, notes: res.notes, keepSharp: inputs.settings.keepSharp === true, noiseFrom: noiseFromText(inputs.noise, res.notes) };
    obsKey = o ? `${o.sha256}:${o.hdu}:${o.plane}` : '';
    useLensFit.getState().patchJob({ jobId: res.jobId, state: res.queued > 0 ? 'queued' : 'running' });
    const ended = pendingEnd.get(res.jobId);
    if (ended) void onJobEvent(ended);
  } catch (e) {
    useLensFit.getState().patchJob({ state: 'error', message: message(e) });
  }
}

let command = '';
let obsKey = '';
/** What the job said when it started: the pixel scale it uses, its notes, whether sharp pixels are kept, and σ's HDU (noiseFromText). */
let started: { scale: { value: number; source: string } | null; notes: string[]; keepSharp: boolean; noiseFrom: string | null } = { scale: null, notes: [], keepSharp: false, noiseFrom: null };

/**
 * Where the fit's σ comes from when it is not the Noise step's: "σ = 1/√w of the weight map mef.fits[WHT]" (or of a
 * weight map's own file, wht.fits; "σ = c/√t" for EXP weights) or "the σ map mef.fits[ERR]", with "and the sources' Poisson variance" where the job's notes say it added that term;
 * null for the Noise step's σ or σ map.
 */
export function noiseFromText(noise: LensFitParams['noise'], jobNotes: readonly string[] = []): string | null {
  if (noise.kind === 'sigma' || (noise.kind === 'map' && noise.file !== undefined)) return null;
  if (noise.kind === 'estimate') {
    const sky = "σ_sky estimated from the observation's blank sky";
    return jobNotes.some((n) => n.startsWith(POISSON_ADDED_NOTE)) ? `${sky} and the sources' Poisson variance` : sky;
  }
  const o = useStore.getState().obs;
  const h = noiseHdus().find((x) => x.index === noise.hdu);
  const where = noise.file !== undefined ? noise.file : `${o?.name ?? 'the observation'}[${h?.name || noise.hdu}]`;
  const sky = noise.kind === 'weights' ? (noise.weightType === 'exp' ? `σ = c/√t of the EXP weight map ${where}` : `σ = 1/√w of the weight map ${where}`) : `the σ map ${where}`;
  return jobNotes.some((n) => n.startsWith(POISSON_ADDED_NOTE)) ? `${sky} and the sources' Poisson variance` : sky;
}

export async function stopLensFit(): Promise<void> {
  const j = useLensFit.getState().job;
  if (!j.jobId) return;
  useLensFit.getState().patchJob({ state: 'stopping' });
  try {
    await getClient().request('job.cancel', { jobId: j.jobId });
  } catch (e) {
    useLensFit.getState().patchJob({ message: message(e) });
  }
}

/** Ends of lens fits seen before their id was known. */
const pendingEnd = new Map<string, EngineEvent>();

async function onJobEvent(ev: EngineEvent): Promise<void> {
  const st = useLensFit.getState();
  if (ev.event === 'job.progress' && ev.data.kind === 'lensFit') {
    if (ev.data.jobId !== st.job.jobId || st.job.state === 'stopping') return;
    st.patchJob({ state: 'running', line: ev.data.line, stage: ev.data.stage, logEvidence: ev.data.logEvidence ?? st.job.logEvidence, elapsedS: ev.data.elapsedS });
    return;
  }
  if ((ev.event === 'job.done' || ev.event === 'job.error') && ev.data.kind === 'lensFit') {
    if (ev.data.jobId !== st.job.jobId) {
      pendingEnd.set(ev.data.jobId, ev);
      return;
    }
    pendingEnd.delete(ev.data.jobId);
    if (ev.event === 'job.error') {
      st.patchJob({ state: ev.data.code === 'cancelled' ? 'cancelled' : 'error', message: ev.data.code === 'cancelled' ? 'stopped' : ev.data.message });
      return;
    }
    try {
      const p = await getClient().request('lens.products', { jobId: ev.data.jobId });
      const done = readDone(p.files, p.summary);
      useLensFit.getState().setDone(done);
      showFit(done);
      useLensFit.getState().patchJob({ state: 'done', message: p.summary });
    } catch (e) {
      useLensFit.getState().patchJob({ state: 'error', message: message(e) });
    }
  }
}

const text = (files: NamedFile[], name: string) => {
  const f = files.find((x) => x.name === name);
  if (!f) throw new Error(`the fit's products lack ${name}`);
  return new TextDecoder().decode(f.bytes);
};
const interleave = (l: { points: [number, number][] }) => Float32Array.from(l.points.flat());

function readDone(files: NamedFile[], summary: string): LensFitDone {
  const lens = JSON.parse(text(files, 'lens.json')) as {
    parameters: LensFitDone['parameters'];
    logEvidence: number;
    chi2PerPixel: number;
    nPixels: number;
    sourceGrid: { shape: [number, number]; pixelScale: number };
    outliers?: { count: number; pixels: [number, number][] };
    lensNote?: string | null;
    lightSelection?: LensFitDone['lightSelection'];
    lightCore?: LensFitDone['lightCore'];
    fitRadius?: number | null;
    noiseCorrelation?: LensFitNoiseCorrelation;
    noise?: LensFitNoiseUsed;
    onSky?: LensFitDone['onSky'];
    sky?: LensFitDone['sky'];
  };
  const model = JSON.parse(text(files, 'model.json')) as { operators: { type: string; imageShape?: [number, number]; imagePixelScale?: number }[] };
  const lensOp = model.operators.find((o) => o.type === 'lens')!;
  const curves = JSON.parse(text(files, 'critical-curves.json')) as { critical: { points: [number, number][] }[]; caustics: { points: [number, number][] }[] };
  return {
    files,
    summary,
    command,
    parameters: lens.parameters,
    logEvidence: lens.logEvidence,
    chi2PerPixel: lens.chi2PerPixel,
    nPixels: lens.nPixels,
    critical: curves.critical.map(interleave),
    caustics: curves.caustics.map(interleave),
    imageShape: lensOp.imageShape!,
    pixelScale: lensOp.imagePixelScale!,
    sourceShape: lens.sourceGrid.shape,
    sourcePixelScale: lens.sourceGrid.pixelScale,
    obsKey,
    scale: started.scale,
    notes: started.notes,
    outliers: started.keepSharp ? null : (lens.outliers ?? { count: 0, pixels: [] }),
    lensNote: lens.lensNote ?? null,
    lightSelection: lens.lightSelection ?? null,
    lightCore: lens.lightCore ?? null,
    fitRadius: lens.fitRadius ?? null,
    noiseFrom: started.noiseFrom,
    noiseCorrelation: lens.noiseCorrelation ?? null,
    noise: lens.noise ?? null,
    sky: lens.sky ?? null,
    onSky: lens.onSky ?? null,
  };
}

/** Curves in arcsec on a grid of `shape` at `scale` → image pixel coordinates (docs/forward-models.md's pixel centres). */
function toPixels(curves: Float32Array[], [ny, nx]: [number, number], scale: number): Float32Array[] {
  return curves.map((c) => Float32Array.from(c, (v, k) => v / scale + (k % 2 === 0 ? (nx - 1) / 2 : (ny - 1) / 2)));
}

/** The fitted critical curves in the observation's pixels (the viewer link draws them over the observation), or none. */
export function fittedCriticalLines(obs: { sha256: string; hdu: number; plane: number } | null): Float32Array[] {
  const d = useLensFit.getState().done;
  if (!d || !obs || d.obsKey !== `${obs.sha256}:${obs.hdu}:${obs.plane}`) return [];
  return toPixels(d.critical, d.imageShape, d.pixelScale);
}

function showFit(d: LensFitDone): void {
  const o = useStore.getState().obs;
  const source = o ? { key: d.obsKey, label: o.name } : null;
  for (const p of LENS_PANELS) {
    const f = d.files.find((x) => x.name === p.file);
    if (!f) {
      removeImage(p.id);
      continue;
    }
    const hdu = readFits(f.bytes).hdus[0]!;
    const img = hdu.readImage();
    const [nx, ny] = img.shape as [number, number];
    showImage({ id: p.id, title: p.title, role: p.role, data: Float32Array.from(img.data), shape: [ny, nx], header: hdu.header, source });
  }
  const critical = toPixels(d.critical, d.imageShape, d.pixelScale);
  for (const id of IMAGE_PANELS) setCurveOverlay(id, [{ lines: critical, color: CRITICAL, label: 'critical curves (fitted lens)' }]);
  setCurveOverlay('lens-source', [{ lines: toPixels(d.caustics, d.sourceShape, d.sourcePixelScale), color: CAUSTIC, label: 'caustics (fitted lens)' }]);
  // the observation's panel: the viewer link redraws its curves with the fitted ones
  useStore.getState().bumpOverlays(useStore.getState().overlayError);
}

/**
 * A whitened fit's noise for the Noise step: lens.json's measured correlation, the correlated block's files as the
 * step names them, and `white`, the choice the step switches back to. Throws where lens.json lacks the estimate.
 */
export function fittedLensNoise(nc: LensFitNoiseCorrelation | null, noiseImage: string, sigmaFile: string, white: LensFitNoise['white']): LensFitNoise {
  if (!nc || !nc.lag1 || !nc.lag1StandardError || nc.varianceRatio === undefined || nc.largeScaleRatio === undefined || nc.skyPixels === undefined) {
    throw new Error("lens.json lacks the noise's measured correlation (noiseCorrelation) that its model.json's correlated noise block comes from");
  }
  const src = nc.source;
  const source = Array.isArray(src) ? `the box x ${src[0]}–${src[2] - 1}, y ${src[1]}–${src[3] - 1}` : `the ${src ?? 'blank sky'}`;
  return { noiseImage, sigmaFile, lag1: nc.lag1, lag1Error: nc.lag1StandardError, varianceRatio: nc.varianceRatio, largeScaleRatio: nc.largeScaleRatio, skyPixels: nc.skyPixels, source, white };
}

/** The Noise step's white choice as it stands (a σ or σ map; a whitened fit's correlated noise: that fit's white σ). */
function currentWhite(n: NoiseSettings): LensFitNoise['white'] {
  if (n.lensFit && lensFitNoiseInUse(n) !== null) return n.lensFit.white;
  return { mode: n.mode === 'map' ? 'map' : n.mode === 'mad' ? 'mad' : 'sigma', sigma: n.sigma, mapFile: n.mapFile, mapHdu: n.mapHdu };
}

/**
 * Puts the fitted model into the editor — the lens stage with the fitted parameters on the fit's source grid, the
 * PSF and mask images the fit used, the lens light as the model's additive image, the source's flux reference —
 * so that Run reconstructs the source with the learned prior from the observation itself, with the noise the fit
 * used. A whitened fit (correlated noise measured on the sky): the Noise step becomes model.json's correlated block —
 * the noise-only draw of the measured spectrum and the per-pixel σ map, the likelihood `skyscore reconstruct --model
 * DIR/model.json` builds — and keeps white noise of the fit's σ as the choice to switch back to. Where the fit took σ
 * from the observation's file (an ERR or WHT HDU), that white σ is the fit's σ map (sigma.fits, σ as the fit read
 * it, NaN where a weight was 0), else the Noise step's own σ; a white fit makes it the Noise step's noise. The
 * Noise step can change it.
 */
export async function applyFittedLens(): Promise<void> {
  const d = useLensFit.getState().done;
  if (!d) return;
  // the noise block travels apart from the model (the Noise step), as an M.json's does when it is loaded
  const { noise: block, ...spec } = parseForwardModel(text(d.files, 'model.json'), 'model.json');
  const rename = new Map<string, string>();
  const bytesOf = (name: string) => {
    const f = d.files.find((x) => x.name === name);
    if (!f) throw new Error(`the fit's products lack ${name}`);
    return f.bytes;
  };
  const add = async (name: string, role: 'psf' | 'mask' | 'additive') => {
    rename.set(name, await addModelFile(`lens-fit-${name}`, bytesOf(name), role));
  };
  try {
    for (const op of spec.operators) {
      if (op.type === 'psf' && isFitsPsf(op)) await add(op.fits, 'psf');
      if (op.type === 'mask') await add(op.fits, 'mask');
    }
    if (spec.additive) await add(spec.additive.fits, 'additive');
    let sigmaFile: string | null = null;
    if (d.noiseFrom !== null) {
      if (!d.files.some((x) => x.name === 'sigma.fits')) throw new Error("the fit's products lack sigma.fits (the σ it used)");
      sigmaFile = await addModelFile('lens-fit-sigma.fits', bytesOf('sigma.fits'), 'sigma');
    }
    let fitNoise: LensFitNoise | null = null;
    if (block) {
      if (block.model !== 'correlated' || block.image === undefined || block.sigmaFits === undefined) throw new Error(`model.json's noise block is not the correlated one a whitened fit writes (${JSON.stringify(block)})`);
      const white = sigmaFile !== null ? { mode: 'map' as const, sigma: null, mapFile: sigmaFile, mapHdu: 0 } : currentWhite(useStore.getState().noise);
      // lens.json's estimate checked before the files are added
      const est = fittedLensNoise(d.noiseCorrelation, block.image, block.sigmaFits, white);
      const image = await addModelFile(`lens-fit-${block.image}`, bytesOf(block.image), 'noise');
      const sigmaMap = await addModelFile(`lens-fit-${block.sigmaFits}`, bytesOf(block.sigmaFits), 'sigma');
      fitNoise = { ...est, noiseImage: image, sigmaFile: sigmaMap };
    }
    const doc: ForwardModelSpec = {
      ...spec,
      operators: spec.operators.map((op) => (op.type === 'psf' && isFitsPsf(op) ? { ...op, fits: rename.get(op.fits)! } : op.type === 'mask' ? { ...op, fits: rename.get(op.fits)! } : op)),
      ...(spec.additive ? { additive: { ...spec.additive, fits: rename.get(spec.additive.fits)! } } : {}),
    };
    setModelDoc(doc);
    if (fitNoise) useStore.getState().setNoise(lensFitNoisePatch(fitNoise, 'correlated'));
    else if (sigmaFile !== null) useStore.getState().setNoise({ mode: 'map', mapFile: sigmaFile, mapHdu: 0, lensFit: null });
    else useStore.getState().setNoise({ lensFit: null });
    if (fitNoise || sigmaFile !== null) {
      scheduleNoiseDescribe();
      scheduleValidate();
    }
    const noiseText = fitNoise
      ? `; the Noise step is the fit's correlated noise (neighbour correlation ${fitNoise.lag1.x.toFixed(3)} (x) / ${fitNoise.lag1.y.toFixed(3)} (y), per-pixel variance ${+fitNoise.varianceRatio.toPrecision(3)} σ²), as reconstruct --model reads its model.json; white noise of the fit's σ is one click away there`
      : sigmaFile !== null
        ? `; the Noise step is the fit's σ map ${sigmaFile}: ${d.noiseFrom}`
        : '';
    useStore.getState().notify('info', `The fitted lens is the forward model: lens, PSF, mask${spec.additive ? ' and the lens light as its additive image' : ''}${noiseText}. Run reconstructs the source.`);
  } catch (e) {
    useStore.getState().notify('error', `The fitted lens was not used: ${message(e)}`);
  }
}

export function exportLensFile(f: NamedFile): void {
  downloadBytes(f.name, f.bytes, f.name.endsWith('.json') ? 'application/json' : 'application/fits');
}

let installed = false;
/** Listens to the lens fits' events (once). */
export function installLensFitEvents(): void {
  if (installed) return;
  installed = true;
  getClient().onEvent((ev) => void onJobEvent(ev));
}

/** The command line's flags in lens.json's advice, as the panel's fields. */
const FLAG_FIELDS: [RegExp, string | ((...m: string[]) => string)][] = [
  [/--light (\d+)/g, (_m, n) => `Light components = ${n}`],
  [/--annulus R1,R2 with R1 > 0/g, 'Fitted pixels: an annulus with r1 > 0'],
  [/--annulus [\w.]+,[\w.]+/g, 'Fitted pixels: an annulus'],
  [/--annulus/g, 'Fitted pixels: an annulus'],
  [/--mask\b/g, "Fitted pixels: the model's mask"],
  [/--starts (\d+)/g, (_m, n) => `Starts ${n}`],
  [/--starts/g, 'Starts'],
  [/--fit-source-size(?: (\d+))?/g, (_m, n) => `Fit source grid${n ? ` ${n}` : ''}`],
  [/--mass epl/g, 'Mass profile EPL'],
  [/--keep-sharp/g, 'keep pixels sharper than the PSF'],
  [/\bnormalised-residual\.fits/g, 'the normalised residual panel'],
];

/**
 * lens.json's note as the panel says it: the command line's flags (`--light 2`, `--annulus R1,R2 with R1 > 0`) named
 * as the panel's fields; `light`: the light components it advises, where it names a number (null: none).
 */
export function appLensNote(note: string): { text: string; light: number | null } {
  const m = /--light (\d+)/.exec(note);
  let text = note;
  for (const [re, to] of FLAG_FIELDS) text = typeof to === 'string' ? text.replace(re, to) : text.replace(re, to);
  return { text, light: m ? Number(m[1]) : null };
}
