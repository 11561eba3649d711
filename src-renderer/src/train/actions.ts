/**
 * Training a prior from the user's images: a FITS cube (one image per plane) or a folder of FITS images.
 * The engine writes the model folder into the user's prior folder; when it is done the prior is in the picker.
 * Stop keeps the last checkpoint; Resume continues from it (same step counter).
 */
import { getClient } from '../api/client';
import { useStore } from '../store/index';
import { lossTrace, valLossTrace } from '../run/previews';
import { installJobEvents } from '../run/actions';

const notify = (level: 'info' | 'warn' | 'error', text: string) => useStore.getState().notify(level, text);

let data: { name: string; bytes: Uint8Array }[] = [];

export function setTrainingFiles(files: { name: string; bytes: Uint8Array }[]): void {
  data = files.filter((f) => /\.(fits?|fts|fz)(\.gz)?$/i.test(f.name));
  const skipped = files.length - data.length;
  if (skipped > 0) notify('warn', `${skipped} file${skipped > 1 ? 's' : ''} without a FITS extension skipped`);
  useStore.getState().setTrainData(data.length ? { names: data.map((f) => f.name), size: data.reduce((a, f) => a + f.bytes.byteLength, 0) } : null);
}

const busy = (s: string) => s === 'starting' || s === 'running' || s === 'stopping';

export async function startTraining(resume: boolean): Promise<void> {
  installJobEvents();
  const s = useStore.getState();
  if (busy(s.train.state)) return;
  if (!data.length) {
    notify('error', 'Choose the training images first: a FITS cube or a folder of FITS images');
    return;
  }
  const t = s.trainSettings;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(t.name)) {
    notify('error', `Prior name "${t.name}": use letters, digits, - and _ only`);
    return;
  }
  if (!resume) {
    lossTrace.clear();
    valLossTrace.clear();
  }
  s.patchTrain({ state: 'starting', message: null, steps: t.steps, chartVersion: s.train.chartVersion + 1 });
  try {
    const r = await getClient().request('job.train', { data, name: t.name, size: t.size, steps: t.steps, batch: t.batch, scale: t.scale, nf: t.nf, resume });
    useStore.getState().patchTrain({ jobId: r.jobId, state: 'running', out: r.out });
    if (r.queued > 0) useStore.getState().notify('info', `Training queued, position ${r.queued}: the engine runs one job at a time; it starts when the ${r.queued > 1 ? `${r.queued} jobs` : 'job'} before it end${r.queued > 1 ? '' : 's'}`);
  } catch (e) {
    const msg = (e as Error).message;
    useStore.getState().patchTrain({ state: 'error', message: msg });
    notify('error', `Training did not start: ${msg}`);
  }
}

export async function stopTraining(): Promise<void> {
  const s = useStore.getState();
  if (!s.train.jobId || !busy(s.train.state)) return;
  s.patchTrain({ state: 'stopping' });
  try {
    await getClient().request('job.cancel', { jobId: s.train.jobId });
  } catch (e) {
    notify('error', `Stop: ${(e as Error).message}`);
  }
}
