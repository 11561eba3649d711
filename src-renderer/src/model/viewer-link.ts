/**
 * Files opened in the viewer (menu, dialog, drag-and-drop) and the observation of the forward model: the first
 * file opened becomes the observation; later ones are offered ("use as observation") so that looking at a PSF
 * in the viewer never silently replaces the data. Choosing another HDU or plane of the observation's file in
 * the viewer follows along.
 */
import { onFileOpened } from '../viewer/open';
import { useStore } from '../store/index';
import { chooseObs, openObservation } from './actions';
import { getObs, sha256Hex } from './files';

let candidate: { name: string; bytes: Uint8Array; hdu: number; plane: number } | null = null;
let installed = false;

export function installViewerLink(): void {
  if (installed) return;
  installed = true;
  onFileOpened((f) => void adopt(f));
}

async function adopt(f: { name: string; bytes: Uint8Array; hdu: number; plane: number }): Promise<void> {
  const st = useStore.getState();
  const cur = getObs();
  if (!cur || !st.obs) {
    await openObservation(f.name, f.bytes, { hdu: f.hdu, plane: f.plane }, { show: false });
    return;
  }
  if (cur.bytes === f.bytes || (cur.bytes.byteLength === f.bytes.byteLength && (await sha256Hex(f.bytes)) === cur.sha256)) {
    if (st.obs.hdu !== f.hdu || st.obs.plane !== f.plane) chooseObs(f.hdu, f.plane, { show: false });
    candidate = null;
    st.setObsCandidate(null);
    return;
  }
  candidate = f;
  st.setObsCandidate({ name: f.name, hdu: f.hdu, plane: f.plane });
}

/** Makes the file last opened in the viewer the observation. */
export async function adoptCandidate(): Promise<void> {
  const f = candidate;
  if (!f) return;
  candidate = null;
  useStore.getState().setObsCandidate(null);
  await openObservation(f.name, f.bytes, { hdu: f.hdu, plane: f.plane }, { show: false });
}
