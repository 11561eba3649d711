/**
 * Engine jobs driven in-process by the integration tests: the end of a job (its `job.done` or `job.error` event)
 * among the events the test's EngineContext collects; with `ms`, a job that has not ended by then fails the wait.
 */
import type { EngineEvent, JobEvent } from '../../src-shared/protocol/index.js';

export function jobEnd(events: readonly EngineEvent[], jobId: string, ms = Infinity): Promise<JobEvent> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const t = setInterval(() => {
      const ev = events.find((e) => (e.event === 'job.done' || e.event === 'job.error') && e.data.jobId === jobId);
      if (ev) {
        clearInterval(t);
        resolve(ev as JobEvent);
      } else if (Date.now() - t0 > ms) {
        clearInterval(t);
        reject(new Error(`job ${jobId} did not end within ${ms} ms`));
      }
    }, 20);
  });
}
