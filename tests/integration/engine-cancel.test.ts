/**
 * The engine stays answerable whatever a request or a job does: a job that does not reach its next
 * cancellation point within the grace time is ended by restarting the engine (its client gets job.error
 * 'cancelled', everyone engine.status 'restarting'), a request not answered in time restarts it too, and a
 * client's jobs (queued or running) are cancelled together when it goes away (cancelOwner).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EngineClient, EngineDiedError, workerThreadSpawner } from '../../src-main/engine/client.js';
import { writeFits } from '../../src-shared/fits/index.js';
import type { EngineEvent, ReconstructParams } from '../../src-shared/protocol/index.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

let dir = '';
const env: Record<string, string | undefined> = {};

function params(n: number, steps: number): ReconstructParams {
  const y = new Float32Array(n * n).map((_, i) => Math.sin(i / 7));
  return {
    obs: { name: 'y.fits', bytes: writeFits([{ data: y, shape: [n, n] }]), hdu: 0, plane: 0 },
    model: { shape: [n, n], operators: [{ type: 'psf', fwhmPx: 3 }] },
    files: [],
    noise: { kind: 'sigma', sigma: 0.5 },
    prior: `user/field-${n}`,
    settings: { sampler: 'pc', n: 1, steps, seed: 1, fluxScale: null, workers: 1 },
    previewHz: 0,
  };
}

function client(opts: ConstructorParameters<typeof EngineClient>[1] = {}) {
  const c = new EngineClient(workerThreadSpawner({ backend: 'cpu' }), opts);
  const events: { ev: EngineEvent; owner: unknown; t: number }[] = [];
  c.on('event', (ev: EngineEvent, owner: unknown) => events.push({ ev, owner, t: Date.now() }));
  c.start();
  const end = (jobId: string, ms = 60_000) =>
    new Promise<EngineEvent>((resolve, reject) => {
      const t0 = Date.now();
      const t = setInterval(() => {
        const e = events.find((x) => (x.ev.event === 'job.done' || x.ev.event === 'job.error') && x.ev.data.jobId === jobId);
        if (e) {
          clearInterval(t);
          resolve(e.ev);
        } else if (Date.now() - t0 > ms) {
          clearInterval(t);
          reject(new Error(`${jobId} did not end`));
        }
      }, 20);
    });
  const progressed = (jobId: string) => events.some((x) => x.ev.event === 'job.progress' && x.ev.data.jobId === jobId);
  return { c, events, end, progressed };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-cancel-'));
  for (const n of [16]) {
    mkdirSync(path.join(dir, 'models', `field-${n}`), { recursive: true });
    writePowerSpectrumPrior(path.join(dir, 'models', `field-${n}`, 'power-spectrum.fits'), n, 1, 2, 2);
  }
  for (const k of ['SKYSCORE_USER_DIR', 'SKYSCORE_MODELS_DIR']) env[k] = process.env[k];
  process.env.SKYSCORE_USER_DIR = dir;
  process.env.SKYSCORE_MODELS_DIR = path.join(dir, 'none');
});

afterAll(() => {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('cancellation always ends a job', () => {
  it('a job that does not stop within the grace time is ended by restarting the engine; the engine then answers', async () => {
    // a grace of 1 ms: no job can stop in that time, so the restart ends it (as it ends one stuck in a long step)
    const { c, events, end, progressed } = client({ cancelGraceMs: 1 });
    try {
      const owner = {};
      const r = (await c.forward('job.reconstruct', params(16, 100_000), { owner })) as { jobId: string };
      await expect.poll(() => progressed(r.jobId), { timeout: 60_000 }).toBe(true);
      const t0 = Date.now();
      expect(await c.cancelJob(r.jobId)).toEqual({ cancelled: true });
      const ev = await end(r.jobId, 10_000);
      expect(ev).toMatchObject({ event: 'job.error', data: { code: 'cancelled', message: 'stopped' } });
      expect(Date.now() - t0).toBeLessThan(5000);
      // the job's end went to its owner; the restart to everyone
      expect(events.find((x) => x.ev === ev)!.owner).toBe(owner);
      expect(events.some((x) => x.ev.event === 'engine.status' && x.ev.data.state === 'restarting' && /did not stop within/.test(x.ev.data.message ?? ''))).toBe(true);
      expect(c.liveJobs()).toEqual([]);
      expect(await c.request('engine.ping', { payload: 'back' })).toEqual({ pong: 'back' });
    } finally {
      await c.stop();
    }
  });

  it('a job that stops at its next step ends without a restart', async () => {
    const { c, events, end, progressed } = client();
    try {
      const r = (await c.forward('job.reconstruct', params(16, 100_000))) as { jobId: string };
      await expect.poll(() => progressed(r.jobId), { timeout: 30_000 }).toBe(true);
      expect(await c.cancelJob(r.jobId)).toEqual({ cancelled: true });
      expect(await end(r.jobId, 5000)).toMatchObject({ event: 'job.error', data: { code: 'cancelled' } });
      expect(events.filter((x) => x.ev.event === 'engine.status' && x.ev.data.state === 'restarting')).toEqual([]);
    } finally {
      await c.stop();
    }
  });

  it('a request not answered in time restarts the engine; the next one is answered', async () => {
    const { c, events } = client();
    try {
      await c.request('engine.info', {});
      // a model within the limits whose set-up takes about a second (a 205×205 PSF on 1024×1024), given 0.3 s
      const slow = c.forward('model.validate', { model: { shape: [1024, 1024], operators: [{ type: 'psf', fwhmPx: 60 }] }, files: [] }, { timeoutMs: 300 });
      await expect(slow).rejects.toBeInstanceOf(EngineDiedError);
      await expect(slow).rejects.toThrow(/did not answer model\.validate within 0\.3 s; it was restarted/);
      expect(events.some((x) => x.ev.event === 'engine.status' && x.ev.data.state === 'restarting')).toBe(true);
      expect(await c.request('engine.ping', { payload: 'ok' })).toEqual({ pong: 'ok' });
    } finally {
      await c.stop();
    }
  });

  it("a client's jobs, running and queued, end together when it goes away; another client's stay", async () => {
    const { c, end, progressed } = client();
    try {
      const gone = {};
      const stays = {};
      const a = (await c.forward('job.reconstruct', params(16, 100_000), { owner: gone })) as { jobId: string; queued: number };
      const b = (await c.forward('job.reconstruct', params(16, 30), { owner: stays })) as { jobId: string; queued: number };
      const a2 = (await c.forward('job.reconstruct', params(16, 30), { owner: gone })) as { jobId: string; queued: number };
      expect([a.queued, b.queued, a2.queued]).toEqual([0, 1, 2]);
      await expect.poll(() => progressed(a.jobId), { timeout: 30_000 }).toBe(true);
      await c.cancelOwner(gone);
      expect(await end(a.jobId, 5000)).toMatchObject({ event: 'job.error', data: { code: 'cancelled' } });
      expect(await end(a2.jobId, 5000)).toMatchObject({ event: 'job.error', data: { code: 'cancelled' } });
      expect(await end(b.jobId, 30_000)).toMatchObject({ event: 'job.done' });
    } finally {
      await c.stop();
    }
  });
});
