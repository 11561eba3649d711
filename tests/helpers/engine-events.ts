/**
 * Engine jobs driven in-process by the integration tests: the end of a job (its `job.done` or `job.error` event)
 * among the events the test's EngineContext collects.
 */
import type { EngineEvent, JobEvent } from '../../src-shared/protocol/index.js';

export function jobEnd(events: readonly EngineEvent[], jobId: string): Promise<JobEvent> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      const ev = events.find((e) => (e.event === 'job.done' || e.event === 'job.error') && e.data.jobId === jobId);
      if (ev) {
        clearInterval(t);
        resolve(ev as JobEvent);
      }
    }, 20);
  });
}
