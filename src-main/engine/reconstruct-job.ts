/**
 * Posterior sampling as an engine job. prepare(): decode the observation plane, build the forward model from the
 * files sent, read the noise, resolve the prior — every input problem is reported before the job starts.
 * run(): the posterior driver with throttled progress and previews; the products for export.
 */
import type { BackendInfo, Products, ReconstructParams, ReconstructProgress, Shape2 } from '../../src-shared/protocol/index.js';
import type { JobReporter } from './jobs.js';
import { JobInputError } from './model-requests.js';

export interface PreparedReconstruction {
  inShape: Shape2;
  outShape: Shape2;
  warnings: string[];
  dispose(): void;
}

export interface ReconstructionResult {
  summary: Record<string, number | string>;
  products(): Products;
}

export const runReconstruction = {
  async prepare(_p: ReconstructParams, _backend: BackendInfo): Promise<PreparedReconstruction> {
    throw new JobInputError('posterior sampling is not available in this build yet');
  },
  async run(_prepared: PreparedReconstruction, _r: JobReporter<ReconstructProgress>): Promise<ReconstructionResult> {
    throw new JobInputError('posterior sampling is not available in this build yet');
  },
};
