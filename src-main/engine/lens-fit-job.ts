/**
 * The lens fit as an engine job (`job.lensFit`): the request checked and read as `skyscore lens-fit` reads its
 * files (lens-fit/inputs.ts) before the job starts, the fit in a worker thread of its own (lens-fit/thread.ts:
 * Stop ends it), progress as the command line's lines, and the products (`lens.products`), the command line's.
 */
import type { EngineContext } from './handlers.js';
import type { LensFitJobProgress, LensFitProductsResult, LensingMethods } from '../../src-shared/protocol/index.js';
import { getBlob } from './blobs.js';
import { start, type JobReporter } from './jobs.js';
import { prepareLensFit, LensFitRequestError, type LensFitRequest } from '../lens-fit/inputs.js';
import { runLensFitThread } from '../lens-fit/thread.js';
import { lensFitSigmaFile } from '../reconstruct/lens-fit-run.js';

/** Finished fits whose products are kept, oldest dropped first. */
const KEEP_DONE = 3;
const done = new Map<string, LensFitProductsResult>();

type P<M extends keyof LensingMethods> = LensingMethods[M]['params'];
type R<M extends keyof LensingMethods> = LensingMethods[M]['result'];

export function startLensFit(p: P<'job.lensFit'>, ctx: EngineContext): R<'job.lensFit'> {
  const request: LensFitRequest = { ...p, obs: { name: p.obs.name, hdu: p.obs.hdu, plane: p.obs.plane, bytes: p.obs.bytes ?? getBlob(p.obs.blob!) } };
  // every input is read and checked here, so that bad input is the request's error
  const prep = prepareLensFit(request);
  const shape = prep.inputs.obs.shape;
  const { jobId, queued } = start('lensFit', ctx, async (r) => {
    const rep = r as unknown as JobReporter<LensFitJobProgress>;
    const result = await runLensFitThread(request, {
      signal: rep.signal,
      onLine: (l) =>
        rep.progress({
          // a note after the fit belongs to its last stage (the source)
          stage: l.progress?.stage ?? (l.done ? 'done' : 'source'),
          start: l.progress?.start ?? null,
          evaluations: l.progress?.evaluations ?? 0,
          logEvidence: l.progress?.logEvidence ?? null,
          line: l.line,
          elapsedS: l.elapsedS,
        }),
    });
    // sigma.fits as the command line writes it beside the fit's products: σ as the fit used it, the sources' Poisson term included where added (`reconstruct --noise DIR/sigma.fits`)
    const sigma = lensFitSigmaFile(prep.inputs.obs, prep.inputs.sigma, prep.command, prep.inputs.noiseText);
    done.set(jobId, { ...result, files: [...result.files, sigma] });
    while (done.size > KEEP_DONE) done.delete(done.keys().next().value as string);
    return { summary: { summary: result.summary } };
  });
  return { jobId, queued, shape, command: `skyscore ${prep.command}`, pixelScale: { value: prep.inputs.pixelScale, source: prep.pixelScaleSource }, notes: prep.notes };
}

export function lensFitProducts(jobId: string): LensFitProductsResult {
  const r = done.get(jobId);
  if (!r) throw new LensFitRequestError(`lens.products: no finished lens fit ${jobId} (the engine keeps the last ${KEEP_DONE}; after an engine restart, fit again)`);
  return r;
}

/** The handlers, spread into the engine's handler table. */
export const lensingHandlers: { [M in keyof LensingMethods]: (p: P<M>, ctx: EngineContext) => Promise<R<M>> } = {
  'job.lensFit': async (p, ctx) => startLensFit(p, ctx),
  'lens.products': async (p) => lensFitProducts(p.jobId),
};
