/**
 * The UI thread's long tasks while an action runs, from a Chromium trace of the page: each task's wall-clock
 * duration and the CPU time the thread spent in it. The app's budget is 100 ms a task. Wall-clock time also
 * counts the time the thread waited for a core: on a machine busier than its cores (other jobs, the engine's own
 * run on every core) the scheduler stretches every task, so the wall-clock budget is scaled by the load per core
 * (and says so), while the CPU time, which no load inflates, is held to 100 ms as it is.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from '@playwright/test';
import { expect } from './fixtures.js';

export interface UiTask {
  /** ms from the trace's start */
  start: number;
  wall: number;
  cpu: number;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** Runs `action` under a trace and returns the page's main-thread tasks of at least `minMs` wall-clock. */
export async function traceUiTasks(browser: Browser, page: Page, action: () => Promise<void>, minMs = 40): Promise<UiTask[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-trace-'));
  const file = path.join(dir, 'trace.json');
  await browser.startTracing(page, { path: file, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  try {
    await action();
  } finally {
    await browser.stopTracing();
  }
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents?: TraceEvent[] } | TraceEvent[];
  rmSync(dir, { recursive: true, force: true });
  const events = Array.isArray(raw) ? raw : (raw.traceEvents ?? []);
  const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const runs = events.filter((e) => e.ph === 'X' && e.name === 'RunTask' && main.has(`${e.pid}:${e.tid}`));
  if (!runs.length) throw new Error('the trace holds no task of the page’s main thread');
  const t0 = Math.min(...runs.map((e) => e.ts));
  return runs
    .filter((e) => (e.dur ?? 0) / 1000 >= minMs)
    .map((e) => ({ start: (e.ts - t0) / 1000, wall: (e.dur ?? 0) / 1000, cpu: (e.tdur ?? e.dur ?? 0) / 1000 }));
}

/** The 100 ms budget: CPU time as it is; wall-clock time scaled by the machine's load per core. */
export function expectResponsive(tasks: UiTask[], what: string): void {
  const perCore = os.loadavg()[0] / os.cpus().length;
  const wallBudget = 100 * Math.max(1, perCore);
  const fmt = (t: UiTask) => `${Math.round(t.start)}: ${Math.round(t.wall)} (CPU ${Math.round(t.cpu)})`;
  console.log(`${what}: long tasks (ms from the start: wall (CPU)): ${tasks.map(fmt).join(', ') || 'none'}; load per core ${perCore.toFixed(1)} → wall budget ${wallBudget.toFixed(0)} ms`);
  expect(Math.max(0, ...tasks.map((t) => t.cpu)), `${what}: CPU time of the longest UI task`).toBeLessThan(100);
  expect(Math.max(0, ...tasks.map((t) => t.wall)), `${what}: wall-clock time of the longest UI task`).toBeLessThan(wallBudget);
}
