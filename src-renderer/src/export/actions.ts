/**
 * Export: the posterior products as FITS (fetched from the engine, named as the CLI names them), PNG snapshots,
 * and the project file (save and open).
 */
import { zipSync } from 'fflate';
import { getClient } from '../api/client';
import { useStore } from '../store/index';
import type { Products } from '../../../src-shared/protocol/index';
import { downloadBytes, downloadText } from './download';
import { buildProject, fromBase64, parseProject, ProjectInputError, type ProjectDoc } from './project';
import { getAux, getObs, sha256Hex, storeAux, clearFiles } from '../model/files';
import { openObservation, scheduleValidate } from '../model/actions';
import { clearOverlays } from '../run/previews';
import { refreshPriors } from '../run/actions';
import { IDLE_RUN } from '../store/run';
import { DEFAULT_LENS_FIT_FORM, useLensFit } from '../lensing/state';

const notify = (level: 'info' | 'warn' | 'error', text: string) => useStore.getState().notify(level, text);

let cached: { jobId: string; products: Products } | null = null;
let fetching: { jobId: string; p: Promise<Products> } | null = null;

/** The products of the finished run (FITS files and report.json), fetched once. */
export async function fetchProducts(opts: { quiet?: boolean } = {}): Promise<Products | null> {
  const s = useStore.getState();
  const jobId = s.run.jobId;
  if (!jobId || s.run.state !== 'done') {
    if (!opts.quiet) notify('info', 'Nothing to export yet: run a reconstruction to the end first');
    return null;
  }
  if (cached?.jobId === jobId) return cached.products;
  let pending = fetching?.jobId === jobId ? fetching.p : null;
  try {
    if (!pending) {
      pending = getClient().request('job.products', { jobId });
      fetching = { jobId, p: pending };
    }
    const products = await pending;
    cached = { jobId, products };
    return products;
  } catch (e) {
    if (!opts.quiet) notify('error', `Export: ${(e as Error).message}`);
    return null;
  } finally {
    if (pending && fetching?.p === pending) fetching = null;
  }
}

export async function downloadProduct(name: string): Promise<void> {
  const p = await fetchProducts();
  const f = p?.files.find((x) => x.name === name);
  if (f) downloadBytes(f.name, f.bytes, name.endsWith('.json') ? 'application/json' : 'application/fits');
}

/** All products in one zip (posterior-mean.fits, posterior-std.fits, posterior-samples.fits, residual.fits, report.json). */
export async function downloadAllProducts(): Promise<void> {
  const p = await fetchProducts();
  if (!p) return;
  const entries: Record<string, Uint8Array> = {};
  for (const f of p.files) entries[f.name] = f.bytes;
  downloadBytes('skyscore-products.zip', zipSync(entries, { level: 1 }), 'application/zip');
}

export function saveProject(): void {
  const s = useStore.getState();
  const obs = getObs();
  const doc = buildProject({
    skyscore: s.engineInfo?.versions.skyscore ?? null,
    data: obs && s.obs ? { name: obs.name, sha256: obs.sha256, bytes: obs.bytes, hdu: s.obs.hdu, plane: s.obs.plane } : null,
    model: s.modelDoc,
    files: s.forwardModelFiles.flatMap((m) => {
      const f = getAux(m.name);
      return f ? [{ meta: m, bytes: f.bytes }] : [];
    }),
    noise: s.noise,
    prior: s.priorSpec ? { spec: s.priorSpec, name: s.priors.find((p) => p.spec === s.priorSpec)?.name ?? s.priorSpec } : null,
    settings: s.settings,
    lastRun: s.run.state === 'done' ? s.run.summary : null,
    lensFit: useLensFit.getState().form,
  });
  const missing = [doc.data, ...doc.files].filter((f) => f && f.embedded === null).map((f) => f!.name);
  if (missing.length) notify('warn', `Too large to embed, referenced by name and hash only: ${missing.join(', ')}`);
  const base = (obs?.name ?? 'skyscore').replace(/\.(fits?|fts|fz|gz)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_');
  downloadText(`${base}.skyscore.json`, JSON.stringify(doc, null, 1) + '\n');
}

async function checkedBytes(ref: { name: string; sha256: string; embedded: string | null }): Promise<Uint8Array | null> {
  if (ref.embedded === null) return null;
  const bytes = fromBase64(ref.embedded);
  if ((await sha256Hex(bytes)) !== ref.sha256) throw new ProjectInputError(`${ref.name}: the embedded bytes do not match their SHA-256 (the project file is damaged)`);
  return bytes;
}

/**
 * Opens a project: the observation, the auxiliary files, the model, the noise, the prior and the settings.
 * Nothing of the current session is replaced unless the whole project reads correctly.
 */
export async function openProject(name: string, text: string): Promise<boolean> {
  let doc: ProjectDoc;
  const restored: { name: string; bytes: Uint8Array; role: ProjectDoc['files'][number]['role'] }[] = [];
  let obsBytes: Uint8Array | null = null;
  const missing: string[] = [];
  try {
    if (text.startsWith('SIMPLE  =')) throw new ProjectInputError('this is a FITS file, not a SkyScore project: open FITS files in the viewer (Open FITS…) or as the observation (Forward model › Data)');
    doc = parseProject(text);
    if (doc.data) {
      obsBytes = await checkedBytes(doc.data);
      if (!obsBytes) missing.push(doc.data.name);
    }
    for (const f of doc.files) {
      const b = await checkedBytes(f);
      if (b) restored.push({ name: f.name, bytes: b, role: f.role });
      else missing.push(f.name);
    }
  } catch (e) {
    notify('error', `${name}: ${(e as Error).message}`);
    return false;
  }
  const st = useStore.getState();
  if (st.run.state === 'running' || st.run.state === 'starting') {
    notify('error', 'Stop the current run before opening a project');
    return false;
  }
  clearFiles();
  clearOverlays();
  for (const m of st.forwardModelFiles) st.removeModelFile(m.name);
  for (const f of restored) {
    const stored = await storeAux(f.name, f.bytes);
    st.upsertModelFile({ name: f.name, size: f.bytes.byteLength, sha256: stored.sha256, role: f.role });
  }
  st.setObs(null);
  st.setModelDoc(doc.model);
  if (doc.data && obsBytes) await openObservation(doc.data.name, obsBytes, { hdu: doc.data.hdu, plane: doc.data.plane });
  const s2 = useStore.getState();
  s2.setModelDoc(doc.model);
  s2.setNoise(doc.noise);
  s2.setSettings(doc.settings);
  useLensFit.setState({ form: { ...DEFAULT_LENS_FIT_FORM, ...doc.lensFit } });
  s2.resetRun({ ...IDLE_RUN });
  await refreshPriors();
  const s3 = useStore.getState();
  if (doc.prior) {
    // by its id; a project saved when priors were listed by their folder finds it by name
    const match = s3.priors.find((p) => p.spec === doc.prior!.spec) ?? s3.priors.find((p) => p.name === doc.prior!.name);
    if (match) s3.setPriorSpec(match.spec);
    else notify('warn', `The project's prior "${doc.prior.name}" is not available here: choose another in the Prior tab`);
  }
  if (missing.length) notify('warn', `Not embedded in the project, add again: ${missing.join(', ')}`);
  else notify('info', `Opened the project ${name}: press Run to reproduce the run (seed ${doc.settings.seed})`);
  scheduleValidate(0);
  return true;
}
