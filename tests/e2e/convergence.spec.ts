/**
 * What the run panel says about a run beyond χ² (Chromium against `skyscore serve`, a real 64×64 SDSS galaxy of
 * the Galaxy Zoo cube, a Gaussian-field prior made for the test, whose score is exact):
 *  - a 10-step run: the steps warning before it starts, and "not converged" once it has ended, with χ² and the
 *    range pure noise would give; a 300-step run: "converged";
 *  - a wrong PSF (wider than the data's own blur): the residual's significant regions are boxed on its preview;
 *  - "Stop and keep": the products of a stopped run, their headers saying where it stopped;
 *  - previews at least twice a second while a run goes, and no UI task of 100 ms or more once the viewer's result
 *    panels are open (their opening is logged).
 * Screenshots go to /tmp/shots-diag.
 */
import { test as base, expect, userDirServer, type Server } from './fixtures.js';
import { downloadTo } from './page-actions.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import os from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { dataPath } from '../helpers/data.js';
import { readFits } from '../../src-shared/fits/index.js';
import { makeGaussianFieldPrior, makeSmallPriors } from './small-prior.js';
import { traceUiTasks, expectResponsive } from './ui-tasks.js';

const userDir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-diag-e2e-'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-diag-dl-'));
const SHOTS = '/tmp/shots-diag';
mkdirSync(SHOTS, { recursive: true });

const test = base.extend<{ app: Page }, { diagServer: Server }>({
  diagServer: userDirServer(userDir, async () => {
    await makeSmallPriors(path.join(userDir, 'models'));
    makeGaussianFieldPrior(path.join(userDir, 'models'), 'galaxies-gf');
  }),
  app: async ({ page, diagServer, consoleErrors }, use) => {
    void consoleErrors;
    await page.addInitScript(() => {
      const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
      w.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(diagServer.url);
    await use(page);
  },
});

const CUBE = ['train', 'galaxyzoo_kaggle2000_gray64.fits'];
const PLANE = 1500;
const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, name) });

async function setUp(p: Page, opts: { fwhm: number; prior?: string; n?: number; steps: number }) {
  await p.getByTestId('open-fits-input').first().setInputFiles(dataPath(...CUBE));
  await expect(p.getByTestId('obs-name')).toHaveText(CUBE[1]!);
  await p.getByTestId('plane-input').fill(String(PLANE + 1));
  await p.getByTestId('plane-input').press('Enter');
  await expect(p.getByLabel('Observation plane')).toHaveValue(String(PLANE + 1));
  await p.getByTestId('psf-fwhm-0').fill(String(opts.fwhm));
  await expect(p.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');
  await p.getByLabel('Estimate from the data').check();
  await p.getByTestId('noise-estimate').click();
  await expect(p.getByTestId('noise-estimated')).toContainText(/σ = \d/);
  await p.getByRole('tab', { name: 'Prior' }).click();
  await p.getByLabel(`Prior ${opts.prior ?? 'galaxies-gf'}`).check();
  await p.getByRole('tab', { name: 'Run' }).click();
  await p.getByTestId('run-n').fill(String(opts.n ?? 4));
  await p.getByTestId('run-steps').fill(String(opts.steps));
  await p.getByTestId('run-seed').fill('3');
}

async function runToEnd(p: Page) {
  await p.getByTestId('run-button').click();
  await expect(p.getByTestId('run-progress')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(p.getByTestId('convergence')).toBeVisible();
}

const download = (p: Page, click: () => Promise<void>): Promise<string> => downloadTo(tmp, p, click);

test('a 10-step run is called not converged, with a steps warning; 300 steps converged; χ² beside its expected range', async ({ app, consoleErrors }) => {
  await setUp(app, { fwhm: 1.2, steps: 10 });
  await expect(app.getByTestId('steps-warning')).toContainText('10 steps is few for the pc sampler');
  await runToEnd(app);
  const diag = app.getByTestId('diagnostics');
  await expect(diag).toHaveAttribute('data-convergence', 'not converged');
  await expect(app.getByTestId('convergence')).toContainText('Stein ratio');
  await expect(app.getByTestId('chi2-figure')).toContainText(/χ²\/px of the draws \d+\.\d{3} · expected 0\.9\d\d–1\.0\d\d for noise/);
  await expect(app.getByTestId('run-steps-warning')).toBeVisible();
  await app.getByTestId('diagnostics').scrollIntoViewIfNeeded();
  await shot(app, 'convergence-10-steps.png');

  await app.getByTestId('run-steps').fill('300');
  await expect(app.getByTestId('steps-warning')).toHaveCount(0);
  await runToEnd(app);
  await expect(diag).toHaveAttribute('data-convergence', 'converged');
  await expect(app.getByTestId('run-steps-warning')).toHaveCount(0);
  await app.getByTestId('diagnostics').scrollIntoViewIfNeeded();
  await shot(app, 'convergence-300-steps.png');
  // report.json carries the same diagnostics and their warnings
  const zip = await download(app, () => app.getByTestId('export-all').click());
  const report = JSON.parse(new TextDecoder().decode(unzipSync(new Uint8Array(readFileSync(zip)))['report.json']!));
  expect(report.diagnostics.convergence.verdict).toBe('converged');
  expect(report.diagnostics.chi2.expected.sd).toBeCloseTo(Math.sqrt(2 / 4096), 6);
  expect(report.diagnostics.localMisfit.falseAlarmRate).toBe(0.01);
  expect(consoleErrors).toEqual([]);
});

test('a PSF wider than the data allow leaves a local misfit, boxed on the residual preview', async ({ app }) => {
  await setUp(app, { fwhm: 5, steps: 200 });
  await runToEnd(app);
  const diag = app.getByTestId('diagnostics');
  await expect.poll(async () => Number(await diag.getAttribute('data-regions'))).toBeGreaterThan(0);
  await expect(app.getByTestId('misfit')).toContainText(/Local misfit: \d+ regions? \(boxed on the residual\), worst χ²\/px \d/);
  await app.getByTestId('preview-residual').scrollIntoViewIfNeeded();
  await shot(app, 'local-misfit.png');
  await app.getByTestId('preview-residual').screenshot({ path: path.join(SHOTS, 'local-misfit-residual.png') });
  const zip = await download(app, () => app.getByTestId('export-all').click());
  const files = unzipSync(new Uint8Array(readFileSync(zip)));
  const report = JSON.parse(new TextDecoder().decode(files['report.json']!));
  expect(report.diagnostics.localMisfit.regions.length).toBeGreaterThan(0);
  expect(report.warnings.some((w: string) => w.startsWith('local misfit:'))).toBe(true);
  // residual.fits names the regions in its HISTORY
  const history = readFits(files['residual.fits']!).hdus[0]!.header.getAll('HISTORY').join(' ');
  expect(history).toMatch(/misfit region x \d+-\d+, y \d+-\d+ \(0-based\): chi2\/px [\d.]+/);
  expect(history).toMatch(/diagnostics: (converged|not converged)/);
});

test('Stop and keep: the stopped run exports its chains with a header saying where it stopped', async ({ app }) => {
  await setUp(app, { fwhm: 1.2, n: 2, steps: 20000 });
  await app.getByTestId('run-button').click();
  const progress = app.getByTestId('run-progress');
  await expect(progress).toHaveAttribute('data-state', 'running');
  await expect.poll(async () => Number(await progress.getAttribute('data-step')), { timeout: 60_000 }).toBeGreaterThan(20);
  await app.getByTestId('stop-keep-button').click();
  await expect(progress).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
  await expect(progress).toContainText(/stopped at step \d+\/20000, σ [\d.e+-]+ and kept/);
  await expect(app.getByTestId('stopped-note')).toBeVisible();
  await expect(app.getByTestId('diagnostics')).toHaveAttribute('data-convergence', 'not converged');
  await shot(app, 'stop-and-keep.png');
  const zip = await download(app, () => app.getByTestId('export-all').click());
  const files = unzipSync(new Uint8Array(readFileSync(zip)));
  expect(Object.keys(files).sort()).toEqual(['posterior-mean.fits', 'posterior-samples.fits', 'posterior-std.fits', 'report.json', 'residual.fits']);
  const mean = readFits(files['posterior-mean.fits']!).hdus[0]!;
  const stop = String(mean.header.get('SKYSTOP'));
  expect(stop).toMatch(/^step \d+\/20000, sigma [\d.e+-]+$/);
  expect(mean.header.getAll('HISTORY').join(' ')).toMatch(/stopped by the user at step \d+\/20000/);
  expect(Array.from(mean.readImage().data as Float32Array).every(Number.isFinite)).toBe(true);
  const samples = readFits(files['posterior-samples.fits']!).hdus[0]!;
  expect(samples.shape).toEqual([64, 64, 2]);
  expect(String(samples.header.get('SKYSTOP'))).toBe(stop);
  const report = JSON.parse(new TextDecoder().decode(files['report.json']!));
  expect(report.stopped.steps).toBe(20000);
  expect(report.stopped.step).toBeGreaterThan(20);
  expect(report.stopped.step).toBeLessThan(20000);
  expect(report.warnings[0]).toMatch(/^stopped at step/);
});

test('previews arrive at least twice a second while a run goes, and no UI task takes 100 ms', async ({ app, browser }) => {
  await setUp(app, { fwhm: 1.2, prior: 'tiny-64', n: 4, steps: 5000 });
  const t0 = await app.evaluate(() => {
    (window as unknown as { __longTasks: unknown[] }).__longTasks.length = 0;
    return performance.now();
  });
  await app.getByTestId('run-button').click();
  const thumbs = app.getByTestId('sample-thumbs');
  await expect.poll(async () => Number(await thumbs.getAttribute('data-previews').catch(() => '0')), { timeout: 90_000 }).toBeGreaterThan(2);
  // the viewer's result panels are made at the first previews (a one-off, logged; tests/e2e/run.spec.ts holds a
  // whole run, panels included, to the budget): from here on, a running run
  const opening = await app.evaluate(() => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.splice(0));
  console.log('long tasks while the first previews open the viewer panels:', opening.map((t) => `${Math.round(t.start - t0)}: ${Math.round(t.duration)}`).join(', '));
  // count previews over 4 s of running
  const count = async () => ({ t: Date.now(), n: Number(await thumbs.getAttribute('data-previews')) });
  let a = { t: 0, n: 0 };
  let b = { t: 0, n: 0 };
  const tasks = await traceUiTasks(browser, app, async () => {
    a = await count();
    await app.waitForTimeout(4000);
    b = await count();
  });
  await expect(app.getByTestId('run-progress')).toHaveAttribute('data-state', 'running');
  const hz = (b.n - a.n) / ((b.t - a.t) / 1000);
  console.log(`previews: ${hz.toFixed(2)} Hz`);
  expect(hz).toBeGreaterThanOrEqual(2);
  expectResponsive(tasks, 'a running run');
  await shot(app, 'previews-running.png');
  await app.getByTestId('stop-button').click();
  await expect(app.getByTestId('run-progress')).toHaveAttribute('data-state', 'cancelled');
});
