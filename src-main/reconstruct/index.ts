/**
 * The reconstruction service: one pipeline for `skyscore reconstruct`, `skyscore demo`, `npm run eval`,
 * `npm run bench` and the app's job (`job.reconstruct`).
 *
 *   const prep = await prepareReconstruction(inputs);   // every input checked, the problem built
 *   try {
 *     const run = await runReconstruction(prep, { signal, onProgress, previewIntervalMs });
 *     const files = reconstructionFiles(run);           // four FITS products and report.json
 *   } finally {
 *     prep.dispose();
 *   }
 */
export {
  ReconstructInputError,
  checkSettings,
  defaultWorkers,
  inlineModel,
  prepareReconstruction,
  type ModelInput,
  type NoiseInput,
  type ObservationInput,
  type PreparedReconstruction,
  type ReconstructSettings,
  type ReconstructionInputs,
  type ResolvedSettings,
} from './prepare.js';
export { reconstructionFiles, runReconstruction, stoppedReconstruction, type ReconstructionProgress, type ReconstructionRun, type RunHooks, type StoppedAt } from './run.js';
export { PRODUCT_NAMES, commandLine, isPlaneOfCube, type HeaderContext } from './products.js';
export { WCS_HIGH_AXIS, WCS_KEY, asciiText, historyLines, resultFitsShape, resultGrid, resultHeader, shapeText, trimWcsToTwoAxes, type Provenance, type ResultGrid } from './headers.js';
