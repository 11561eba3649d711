/**
 * Prior training as an engine job: the user's cube or images, written as a model folder into the user's prior
 * folder, with checkpoints (Stop keeps the last one; Resume continues from it).
 */
import type { BackendInfo, TrainParams, TrainProgress } from '../../src-shared/protocol/index.js';
import type { JobReporter } from './jobs.js';
import { JobInputError } from './model-requests.js';

export interface PreparedTraining {
  out: string;
}

export const runTraining = {
  async prepare(_p: TrainParams, _out: string, _backend: BackendInfo): Promise<PreparedTraining> {
    throw new JobInputError('training is not available in this build yet');
  },
  async run(_prepared: PreparedTraining, _r: JobReporter<TrainProgress>): Promise<Record<string, number | string>> {
    throw new JobInputError('training is not available in this build yet');
  },
};
