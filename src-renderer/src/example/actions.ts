/**
 * The bundled example (the galaxy `skyscore demo` reconstructs), asked of the host (`example.get`) and loaded
 * like a project: the observation into the viewer and the editor, the forward model (PSF) into the editor, the
 * noise σ, the default prior selected in the picker, the demo's sampler settings, and the truth beside the
 * observation for comparison. The run is not started: the Run tab is shown with its Run button ready, so that
 * the user sees the settings (a learned prior takes minutes on a CPU) and starts it with one click.
 */
import { getClient } from '../api/client';
import { useStore } from '../store/index';
import { exampleResult, type ExampleInfo } from '../../../src-shared/protocol/example';
import { readFitsImage } from '../../../src-shared/fits/index';
import { readModelText, referencedFiles, type ForwardModelSpec } from '../../../src-shared/operators/forward-model-spec';
import { clearFiles } from '../model/files';
import { openObservation, scheduleValidate } from '../model/actions';
import { clearOverlays } from '../run/previews';
import { refreshPriors } from '../run/actions';
import { openFitsBytes } from '../viewer/open';
import { showImage, removeImage } from '../viewer/images';
import { DEFAULT_NOISE } from '../store/model';
import { IDLE_RUN } from '../store/run';
import { observationSource } from '../model/viewer-link';

const notify = (level: 'info' | 'warn' | 'error', text: string) => useStore.getState().notify(level, text);

/** The viewer panel of the example's truth. */
export const TRUTH_ID = 'truth';
/** Panels of an earlier session that would be stale next to the example. */
const STALE_PANELS = ['mean', 'std', 'residual', 'preview-ax', TRUTH_ID];

const busy = (state: string) => state === 'starting' || state === 'running' || state === 'stopping';

/** Asks the host for the example and checks the answer. */
export async function fetchExample(): Promise<ExampleInfo> {
  return exampleResult(await getClient().request('example.get', {}), 'example');
}

function showTruth(file: { name: string; bytes: Uint8Array }): void {
  try {
    const img = readFitsImage(file.bytes, undefined, { name: file.name });
    const [nx, ny] = img.shape;
    // the truth belongs to the example's observation: marked as the old one's when another becomes the observation
    showImage({ id: TRUTH_ID, title: `Truth — not used by the run (${file.name})`, role: 'other', data: Float32Array.from(img.data), shape: [ny!, nx!], header: img.header, source: observationSource() });
  } catch (e) {
    notify('warn', `The example's truth could not be shown: ${(e as Error).message}`);
  }
}

/**
 * Loads the example, replacing the current observation, model, noise, prior choice and settings (as opening a
 * project does). Refused while a run is going; nothing is replaced when the host's answer is unusable.
 */
export async function openExample(): Promise<boolean> {
  const st = useStore.getState();
  if (st.exampleLoading) return false;
  if (busy(st.run.state)) {
    notify('error', 'Stop the current run before opening the example');
    return false;
  }
  st.setExampleLoading(true);
  try {
    let ex: ExampleInfo;
    let doc: ForwardModelSpec;
    try {
      ex = await fetchExample();
      doc = readModelText(ex.model.text, ex.model.name);
      const missing = referencedFiles(doc);
      if (missing.length) throw new Error(`its forward model names files the example does not carry (${missing.join(', ')})`);
    } catch (e) {
      notify('error', `The example could not be loaded: ${(e as Error).message}`);
      return false;
    }
    // the session's files and results go: the example stands alone
    clearFiles();
    clearOverlays();
    const s0 = useStore.getState();
    for (const m of s0.forwardModelFiles) s0.removeModelFile(m.name);
    for (const id of STALE_PANELS) if (s0.images[id]) removeImage(id);
    s0.setObs(null);
    s0.setModelDoc(doc);
    s0.resetRun({ ...IDLE_RUN });
    if (!(await openObservation(ex.observation.name, ex.observation.bytes, undefined, { show: false }))) return false;
    // the viewer's own path (the engine reads the file: header, WCS, statistics, HDU chooser)
    await openFitsBytes(ex.observation.name, ex.observation.bytes);
    if (ex.truth) showTruth(ex.truth);
    const s1 = useStore.getState();
    s1.setModelDoc(doc);
    s1.setNoise({ ...DEFAULT_NOISE, mode: 'sigma', sigma: ex.noise });
    s1.setSettings(ex.settings);
    await refreshPriors();
    const s2 = useStore.getState();
    let priorText: string;
    if (!ex.prior) {
      priorText = 'no prior for it is installed: train or install one (Prior tab)';
      notify('warn', `The example is loaded, but ${priorText}`);
    } else if (s2.priors.some((p) => p.spec === ex.prior!.spec)) {
      s2.setPriorSpec(ex.prior.spec);
      priorText = `prior ${ex.prior.name}${ex.prior.fallback ? ' (the learned galaxy-64 is not installed: its Gaussian-field stand-in)' : ''}`;
    } else {
      priorText = `its prior ${ex.prior.name} is not in the list: choose one in the Prior tab`;
      notify('warn', `The example is loaded, but ${priorText}`);
    }
    s2.setSideTab('run');
    if (!s2.sidePanelOpen) s2.toggleSidePanel();
    // opening the example counts as having seen the welcome card
    if (!s2.welcomeDismissed) s2.dismissWelcome();
    scheduleValidate(0);
    if (ex.prior) notify('info', `Example loaded with the ${priorText}: press Run to sample the posterior (${ex.settings.n} samples, ${ex.settings.steps} steps).`);
    return true;
  } finally {
    useStore.getState().setExampleLoading(false);
  }
}

let menuInstalled = false;

/** The Electron menu's File › Open example. */
export function installExampleMenu(): void {
  if (menuInstalled) return;
  menuInstalled = true;
  getClient().onMenu((payload) => {
    if (payload && typeof payload === 'object' && (payload as { action?: unknown }).action === 'open-example') void openExample();
  });
}
