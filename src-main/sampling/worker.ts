/**
 * A sampling worker thread: its own tfjs backend, prior, forward model (or visibilities' normal equations) and
 * likelihood; runs the chains chainOffset … chainOffset + n − 1 of a job (their random streams depend only on the seed and the chain index,
 * so the split changes nothing but the wall time) and returns their final states. Where the job asks for
 * previews, it posts its chains' current states with its progress now and then (pool.ts merges them).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../engine/backend.js';
import { resolvePrior } from '../priors.js';
import { instantiateForwardModel } from '../../src-shared/operators/forward-model.js';
import { ConvolvedLikelihood } from '../../src-shared/diffusion/likelihood.js';
import { runSampling } from '../../src-shared/diffusion/posterior.js';
import { VisibilityLikelihood } from '../../src-shared/diffusion/visibility-likelihood.js';
import { chooseMeasurement } from '../../src-shared/radio/measurement.js';
import { exactEvaluations } from '../../src-shared/radio/normal-equations.js';
import type { WorkerJob, WorkerMessage } from './pool.js';
import { scoreEngineReport } from '../onnx/priors.js';
import { useOrtProducts } from '../onnx/products.js';

const port = parentPort;
if (!port) throw new Error('sampling worker started without a parent port');
const job = workerData as WorkerJob;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
// the pool asks a worker to stop (a cancelled or failed run): it ends at its next step, frees what it holds, exits
const stop = new AbortController();
const onMessage = (m: { type?: string }) => {
  if (m?.type === 'cancel') stop.abort();
};
port.on('message', onMessage);

(async () => {
  const info = await initBackend(job.backend);
  const prior = await resolvePrior(job.prior, job.cwd, job.scoreEngine);
  // the likelihood's dense products on ONNX Runtime's CPU kernels where this worker's score runs there
  useOrtProducts(scoreEngineReport(prior.model, info.backend));
  let lik: ConvolvedLikelihood | VisibilityLikelihood | null = null;
  let dispose = () => {};
  try {
    if (job.model) {
      const built = instantiateForwardModel(job.model);
      dispose = () => built.operator.dispose();
      lik = new ConvolvedLikelihood({
        operator: built.operator,
        data: job.data!,
        dataShape: job.dataShape!,
        additive: built.additive,
        noise: job.noise!,
        affine: job.affine,
        name: job.dataName,
        ...(job.normalMatrix ? { normalMatrix: { formed: job.normalMatrix } } : {}),
      });
    } else if (job.visibility) {
      // the normal equations as sent (shared, not remade); the measurement's plan for χ², residuals and noise draws
      const v = job.visibility;
      const A = chooseMeasurement(v.vis.u, v.vis.v, v.grid);
      lik = new VisibilityLikelihood({ equations: { ...v.equations, exact: exactEvaluations(v.vis, A) }, affine: job.affine, name: v.name });
    }
    const batchSize = Math.min(job.n, job.batchSize ?? 16);
    let last = 0;
    const res = await runSampling(
      { prior: prior.model, sde: prior.sde, shape: job.shape, likelihood: lik, affine: job.affine },
      {
        sampler: job.sampler,
        steps: job.steps,
        n: job.n,
        seed: job.seed,
        chainOffset: job.chainOffset,
        batchSize,
        samplerOptions: job.samplerOptions,
        signal: stop.signal,
        previewIntervalMs: job.previewIntervalMs ?? 0,
        previewSamples: job.previewSamples,
        progressIntervalMs: 250,
        onProgress: (p) => {
          const now = Date.now();
          if (!p.preview && now - last < 250 && p.step !== p.steps) return;
          last = now;
          const v = p.preview;
          const preview = v
            ? { count: Math.min(job.n, (p.batch + 1) * batchSize), mean: v.mean, std: v.std, samples: v.samples, nSamples: v.nSamples, last: p.step === p.steps }
            : undefined;
          post(
            { type: 'progress', step: p.step, steps: p.steps, sigma: p.sigma, chi2: p.chi2, evaluations: p.scoreEvaluations, preview },
            preview ? [preview.mean.buffer as ArrayBuffer, preview.std.buffer as ArrayBuffer, preview.samples.buffer as ArrayBuffer].filter((b, i, a) => a.indexOf(b) === i) : [],
          );
        },
      },
    );
    post(
      {
        type: 'done',
        backend: info.backend,
        samples: res.samples,
        conditionalMeans: res.conditionalMeans,
        seconds: res.seconds,
        scoreEvaluations: res.scoreEvaluations,
        samplerSettings: res.samplerSettings,
        cgStats: lik ? { ...lik.cgStats } : null,
      },
      [res.samples.buffer as ArrayBuffer, ...(res.conditionalMeans ? [res.conditionalMeans.buffer as ArrayBuffer] : [])],
    );
  } finally {
    lik?.dispose();
    dispose();
    prior.dispose();
  }
})()
  .catch((e: Error) => post({ type: 'error', name: e.name, message: e.message, stack: e.stack }))
  // nothing more to hear: with no listener left the thread ends once its last message is out
  .finally(() => port.off('message', onMessage));
