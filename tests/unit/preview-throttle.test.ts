/**
 * The reconstruct job's preview pacing (src-main/engine/reconstruct-job.ts): progress goes out at most every
 * interval, always the latest, with a trailing send; a preview is never lost behind a newer progress event without
 * one. So previews follow the clock (the rate the app asks, 4 Hz) whatever the sampler's step rate, as long as the
 * sampler hands over states at least that often.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PreviewThrottle } from '../../src-main/engine/reconstruct-job.js';

type P = { step: number; preview?: { step: number } };

describe('PreviewThrottle', () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
  });
  afterEach(() => vi.useRealTimers());
  const advance = (ms: number) => {
    now += ms;
    vi.advanceTimersByTime(ms);
  };

  it('sends at most every interval, the latest state, with a trailing send', () => {
    const sent: P[] = [];
    const t = new PreviewThrottle<P>(250, (p) => sent.push(p), () => now);
    // a sampler stepping every 30 ms with a preview every 100 ms, for 2 s
    for (let ms = 0, step = 1; ms < 2000; ms += 30, step++) {
      t.push(ms % 100 < 30 ? { step, preview: { step } } : { step });
      advance(30);
    }
    advance(300);
    expect(sent.length).toBeGreaterThanOrEqual(8); // 4 Hz over 2 s
    expect(sent.length).toBeLessThanOrEqual(10);
    // every send carries the newest step pushed before it, and a preview (one arrives every 100 ms < 250 ms)
    for (const p of sent.slice(1)) expect(p.preview).toBeDefined();
    // the last state pushed goes out (trailing)
    expect(sent[sent.length - 1]!.step).toBe(67);
  });

  it('keeps a preview when a newer progress event without one follows it', () => {
    const sent: P[] = [];
    const t = new PreviewThrottle<P>(250, (p) => sent.push(p), () => now);
    t.push({ step: 1 }); // sent at once
    advance(50);
    t.push({ step: 2, preview: { step: 2 } });
    advance(50);
    t.push({ step: 3 });
    advance(200);
    expect(sent.map((p) => p.step)).toEqual([1, 3]);
    expect(sent[1]!.preview).toEqual({ step: 2 });
  });

  it('slow steps: each new state goes out as soon as the interval allows', () => {
    const sent: { at: number; p: P }[] = [];
    const t = new PreviewThrottle<P>(250, (p) => sent.push({ at: now, p }), () => now);
    for (let step = 1; step <= 5; step++) {
      t.push({ step, preview: { step } });
      advance(600);
    }
    expect(sent.map((s) => s.p.step)).toEqual([1, 2, 3, 4, 5]);
    // sent when pushed: no state waits for a tick
    expect(sent.map((s) => s.at)).toEqual([0, 600, 1200, 1800, 2400]);
  });

  it('stop drops what is pending', () => {
    const sent: P[] = [];
    const t = new PreviewThrottle<P>(250, (p) => sent.push(p), () => now);
    t.push({ step: 1 });
    t.push({ step: 2 });
    t.stop();
    advance(1000);
    expect(sent.map((p) => p.step)).toEqual([1]);
  });
});
