/**
 * The viewer's public API for the rest of the app (model editor, run panel, export):
 * - showImage({ id, title, data, shape: [ny, nx], role, header? }) puts an image in a panel (same id: updated
 *   in place — live previews); residuals default to the diverging map with limits symmetric about 0;
 * - removeImage(id); snapshotPanel(id) → PNG blob; openFitsBytes(name, bytes) opens a file as the observation;
 * - onFileOpened(cb) tells when the user opened a file (or chose another HDU / plane) in the viewer.
 */
export { showImage, removeImage, defaultDisplay, type ShowImageOptions } from './images';
export { snapshotPanel, panelIds } from './snapshot';
export { openFitsBytes, openFile, onFileOpened, OBSERVATION_ID } from './open';
export { getPixels } from '../cache/pixels';
