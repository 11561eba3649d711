/**
 * The run: the prior list, Run and Stop, and the job events (progress, previews, χ², done, error, engine
 * restarts). Previews go to the plain cache (run/previews.ts) and to the viewer; the store gets counters.
 */
import { getClient } from '../api/client';
import { useStore } from '../store/index';
import type { EngineEvent, NoiseInput, ReconstructProgress, TrainProgress } from '../../../src-shared/protocol/index';
import { checkDoc } from '../model/editing';
import { requestFiles, validateNow } from '../model/actions';
import { noiseSpecOf } from '../model/noise';
import type { NoiseSettings } from '../store/model';
import { forgetUploads, withObs } from '../model/upload';
import { chi2Trace, lossTrace, valLossTrace, setPreview } from './previews';
import { showResult } from './viewer-bridge';
import { downloadAllProducts, fetchProducts } from '../export/actions';
import { readNoiseReport } from './noise-report';

const notify = (level: 'info' | 'warn' | 'error', text: string) => useStore.getState().notify(level, text);

export async function refreshPriors(): Promise<void> {
  const s = useStore.getState();
  s.setPriors('loading');
  try {
    s.setPriors(await getClient().request('priors.list', {}));
  } catch (e) {
    useStore.getState().setPriors({ error: (e as Error).message });
  }
}

/** The noise as the engine takes it, or a message saying what is missing. */
export function noiseInput(): NoiseInput | string {
  return noiseInputOf(useStore.getState().noise);
}

export function noiseInputOf(n: NoiseSettings): NoiseInput | string {
  const spec = noiseSpecOf(n);
  if (typeof spec === 'string') return spec;
  if (spec) return { kind: 'model', spec };
  if (n.mode === 'map') {
    if (!n.mapFile) return 'choose a σ map (FITS) or type σ';
    return { kind: 'map', file: n.mapFile, hdu: n.mapHdu };
  }
  if (n.sigma === null || !(n.sigma > 0)) return n.mode === 'mad' ? 'estimate σ from the data first (Noise › Estimate)' : 'type the noise σ (in data units, > 0)';
  return { kind: 'sigma', sigma: n.sigma };
}

/** Everything that stops a run from starting, in words (empty: ready). */
export function runBlockers(): string[] {
  const s = useStore.getState();
  const out: string[] = [];
  if (!s.obs) out.push('open the observation (Forward model › Data)');
  const issues = checkDoc(s.modelDoc, s.forwardModelFiles.map((f) => f.name), s.obs?.shape ?? null);
  if (issues.length) out.push(`forward model: ${issues[0]!.message}`);
  const noise = noiseInput();
  if (typeof noise === 'string') out.push(`noise: ${noise}`);
  if (!s.priorSpec) out.push('choose a prior (Prior tab)');
  const prior = s.priors.find((p) => p.spec === s.priorSpec);
  // the size policy of skyscore reconstruct: a U-Net (fully convolutional) runs on other sizes too, with a note the
  // engine sends when the run starts (and refuses one below its down-sampling factor); other priors describe theirs
  if (prior && prior.kind !== 'unet') {
    const [py, px] = prior.imageShape;
    const [my, mx] = s.modelDoc.shape;
    if (py !== my || px !== mx) out.push(`the prior "${prior.name}" describes ${py}×${px} images but the unknown is ${my}×${mx}: choose a prior of that size or change the model's shape`);
  }
  return out;
}

const running = (state: string) => state === 'starting' || state === 'queued' || state === 'running' || state === 'stopping';

export async function startRun(): Promise<void> {
  installJobEvents();
  const s = useStore.getState();
  if (running(s.run.state)) return;
  const blockers = runBlockers();
  if (blockers.length) {
    notify('error', `Cannot run yet: ${blockers[0]}`);
    return;
  }
  const noise = noiseInput() as NoiseInput;
  const settings = { ...s.settings };
  const prior = s.priorSpec!;
  chi2Trace.clear();
  setPreview(null);
  s.resetRun({ state: 'starting', steps: settings.steps, ran: { prior, settings } });
  try {
    const started = await withObs((obs) => getClient().request('job.reconstruct', { obs, model: s.modelDoc, files: requestFiles(), noise, prior, settings, previewHz: 4 }));
    const cur = useStore.getState().run;
    if (cur.state !== 'starting') return;
    const queued = started.queued > 0;
    useStore.getState().patchRun({ jobId: started.jobId, state: queued ? 'queued' : 'running', queuePosition: queued ? started.queued : null, inShape: started.inShape, outShape: started.outShape, warnings: started.warnings });
    for (const w of started.warnings) notify('warn', w);
  } catch (e) {
    const msg = (e as Error).message;
    useStore.getState().patchRun({ state: 'error', message: msg });
    notify('error', `The run did not start: ${msg}`);
    void validateNow();
  }
}

/** Stops the run; with `keep`, the engine ends it with the products of its chains' latest states. */
export async function stopRun(keep = false): Promise<void> {
  const s = useStore.getState();
  if (!s.run.jobId || !running(s.run.state)) return;
  s.patchRun({ state: 'stopping' });
  try {
    await getClient().request('job.cancel', keep ? { jobId: s.run.jobId, keep } : { jobId: s.run.jobId });
  } catch (e) {
    notify('error', `Stop: ${(e as Error).message}`);
  }
}

function onReconstructProgress(p: ReconstructProgress): void {
  const s = useStore.getState();
  if (p.jobId !== s.run.jobId) return;
  if (p.chi2 !== null) chi2Trace.push(p.step, p.chi2);
  const patch: Partial<typeof s.run> = {
    ...(s.run.state === 'queued' ? { state: 'running' as const, queuePosition: null } : {}),
    step: p.step,
    steps: p.steps,
    sigma: p.sigma,
    chi2: p.chi2 ?? s.run.chi2,
    elapsedS: p.elapsedS,
    etaS: p.etaS,
    chartVersion: s.run.chartVersion + (p.chi2 !== null ? 1 : 0),
  };
  if (p.preview) {
    setPreview(p.preview);
    patch.previewVersion = s.run.previewVersion + 1;
    patch.previews = s.run.previews + 1;
    const v = p.preview;
    // one viewer panel per task: a preview never makes one long task of three panel renders
    const show = [
      () => showResult({ id: 'mean', title: 'Posterior mean', role: 'mean', data: v.mean, shape: v.shape }),
      () => showResult({ id: 'std', title: 'Posterior std', role: 'std', data: v.std, shape: v.shape }),
      () => showResult({ id: 'residual', title: 'Residual (y − A·mean)/σ', role: 'residual', data: v.residual, shape: v.dataShape }),
    ];
    show.forEach((f, k) => setTimeout(f, 16 * (k + 1)));
  }
  s.patchRun(patch);
}

function onTrainProgress(p: TrainProgress): void {
  const s = useStore.getState();
  if (p.jobId !== s.train.jobId) return;
  lossTrace.push(p.step, p.loss);
  if (p.valLoss !== null) valLossTrace.push(p.step, p.valLoss);
  s.patchTrain({ step: p.step, steps: p.steps, loss: p.loss, valLoss: p.valLoss ?? s.train.valLoss, imagesPerS: p.imagesPerS, etaS: p.etaS, chartVersion: s.train.chartVersion + 1 });
}

/** The finished run's noise diagnostics, from its report.json (fetched with the products, which export then reuses). */
async function loadNoiseReport(jobId: string): Promise<void> {
  const products = await fetchProducts({ quiet: true });
  const s = useStore.getState();
  if (!products || s.run.jobId !== jobId) return;
  s.patchRun({ noise: readNoiseReport(products.report) });
}

export function handleJobEvent(ev: EngineEvent): void {
  const s = useStore.getState();
  switch (ev.event) {
    case 'job.progress':
      if (ev.data.kind === 'reconstruct') onReconstructProgress(ev.data);
      else if (ev.data.kind === 'train') onTrainProgress(ev.data);
      return;
    case 'job.queued': {
      const d = ev.data;
      if (d.kind !== 'reconstruct' || d.jobId !== s.run.jobId || (s.run.state !== 'queued' && s.run.state !== 'running')) return;
      s.patchRun(d.position > 0 ? { state: 'queued', queuePosition: d.position } : { state: 'running', queuePosition: null });
      return;
    }
    case 'job.done': {
      const d = ev.data;
      if (d.kind === 'reconstruct' && d.jobId === s.run.jobId) {
        const stopped = typeof d.summary.stopped === 'string' ? d.summary.stopped : null;
        const chi2 = d.summary.chi2PerPixel;
        s.patchRun({ state: 'done', summary: d.summary, etaS: 0, step: stopped ? s.run.step : s.run.steps, message: null, ...(typeof chi2 === 'number' ? { chi2 } : {}) });
        void loadNoiseReport(d.jobId);
        const verdict = d.summary.convergence === 'not converged' ? ' — not converged (see the run panel)' : '';
        notify(
          stopped || verdict ? 'warn' : 'info',
          stopped
            ? `Run stopped at ${stopped}; its ${d.summary.n ?? ''} chains' states are kept as products (not converged draws). Export them from the Run tab.`
            : `Run finished: ${d.summary.n ?? ''} samples${typeof chi2 === 'number' ? `, χ² per pixel ${chi2.toFixed(3)}` : ''}${verdict}. Export the products from the Run tab.`,
        );
      } else if (d.kind === 'train' && d.jobId === s.train.jobId) {
        s.patchTrain({ state: 'done', etaS: 0, message: null });
        notify('info', `Training finished: the prior "${s.trainSettings.name}" is in the picker`);
        void refreshPriors();
      }
      return;
    }
    case 'job.error': {
      const d = ev.data;
      const cancelled = d.code === 'cancelled';
      if (d.kind === 'reconstruct' && d.jobId === s.run.jobId) {
        s.patchRun({ state: cancelled ? 'cancelled' : 'error', message: cancelled ? 'stopped' : d.message, etaS: null });
        if (!cancelled) notify('error', `The run failed: ${d.message}`);
      } else if (d.kind === 'train' && d.jobId === s.train.jobId) {
        s.patchTrain({ state: cancelled ? 'cancelled' : 'error', message: cancelled ? 'stopped (checkpoint kept: Resume continues)' : d.message, etaS: null });
        if (!cancelled) notify('error', `Training failed: ${d.message}`);
        else void refreshPriors();
      }
      return;
    }
    case 'engine.status': {
      if (ev.data.state === 'starting' || ev.data.state === 'restarting' || ev.data.state === 'died') forgetUploads();
      if (ev.data.state !== 'restarting' && ev.data.state !== 'died') return;
      const lost = 'the engine stopped and is restarting; your data, forward model and settings are kept — start again when it is ready';
      if (running(s.run.state)) {
        s.patchRun({ state: 'error', message: lost, etaS: null });
        notify('error', `The run was interrupted: ${lost}`);
      }
      if (running(s.train.state)) {
        s.patchTrain({ state: 'error', message: `${lost} (Resume continues from the last checkpoint)`, etaS: null });
        notify('error', `Training was interrupted: ${lost}`);
      }
      return;
    }
    default:
      return;
  }
}

let installed = false;

/** Subscribes once, for the life of the page, to the engine's events. */
export function installJobEvents(): void {
  if (installed) return;
  installed = true;
  getClient().onEvent(handleJobEvent);
  getClient().onMenu((payload) => {
    if (payload && typeof payload === 'object' && (payload as { action?: unknown }).action === 'export') {
      const st = useStore.getState();
      st.setSideTab('run');
      if (st.run.state !== 'done') notify('info', 'Nothing to export yet: run a reconstruction first (Run tab)');
      else void downloadAllProducts();
    }
  });
}
