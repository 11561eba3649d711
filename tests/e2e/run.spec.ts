/**
 * Posterior sampling end to end (Chromium against `skyscore serve`): a real FITS image (a 64×64 SDSS galaxy from
 * the Galaxy Zoo cube, plane chosen in the viewer), a Gaussian PSF model, σ from the data, a small prior made for
 * the test, 2 samples × 20 steps: the progress bar, the sample thumbnails, mean/std/residual and the χ² chart
 * update while it runs, with no UI task over 100 ms (tests/e2e/ui-tasks.ts); the products export as FITS with the
 * observation's header and the provenance; the project saved, reopened and run again gives the same mean.
 * Also: a U-Net prior of another size (run with a note) and a stop in the middle. Screenshots go to test-results/.
 */
import { test as base, expect, userDirServer, type Server } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import os from 'node:os';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { ROOT, dataPath } from '../helpers/data.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { makeSmallPriors, makeGaussianFieldPrior } from './small-prior.js';
import { traceUiTasks, expectResponsive } from './ui-tasks.js';

// The engine lists priors from $SKYSCORE_USER_DIR/models: this file's own server gets a fresh user folder.
const userDir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-run-e2e-'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-run-dl-'));

const test = base.extend<{ app: Page }, { runServer: Server }>({
  runServer: userDirServer(userDir, async () => {
    await makeSmallPriors(path.join(userDir, 'models'));
    makeGaussianFieldPrior(path.join(userDir, 'models'), 'galaxies-gf');
  }),
  app: async ({ page, runServer, consoleErrors }, use) => {
    void consoleErrors;
    await page.goto(runServer.url);
    await use(page);
  },
});
const CUBE = ['train', 'galaxyzoo_kaggle2000_gray64.fits'];
const PLANE = 1500; // a validation-split galaxy (0-based; the choosers show 1-based plane numbers)

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });

async function download(p: Page, click: () => Promise<void>): Promise<{ name: string; file: string }> {
  const [dl] = await Promise.all([p.waitForEvent('download'), click()]);
  const file = path.join(tmp, `${Date.now()}-${dl.suggestedFilename()}`);
  await dl.saveAs(file);
  return { name: dl.suggestedFilename(), file };
}

async function setUp(p: Page, prior = 'tiny-64') {
  await p.getByTestId('open-fits-input').first().setInputFiles(dataPath(...CUBE));
  await expect(p.getByTestId('obs-name')).toHaveText(CUBE[1]!);
  await p.getByTestId('plane-input').fill(String(PLANE + 1));
  await p.getByTestId('plane-input').press('Enter');
  await expect(p.getByLabel('Observation plane')).toHaveValue(String(PLANE + 1));
  await p.getByTestId('psf-fwhm-0').fill('3');
  await expect(p.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');
  await p.getByLabel('Estimate from the data').check();
  await p.getByTestId('noise-estimate').click();
  await expect(p.getByTestId('noise-estimated')).toContainText(/σ = \d/);
  await p.getByRole('tab', { name: 'Prior' }).click();
  await p.getByLabel(`Prior ${prior}`).check();
  await expect(p.getByTestId('prior-card')).toBeVisible();
  await p.getByRole('tab', { name: 'Run' }).click();
  await p.getByTestId('run-n').fill('2');
  await p.getByTestId('run-steps').fill('20');
  await p.getByTestId('run-seed').fill('7');
}

async function meanOf(p: Page): Promise<Float32Array> {
  const f = await download(p, () => p.getByTestId('export-posterior-mean.fits').click());
  return readFits(new Uint8Array(readFileSync(f.file))).hdus[0]!.readImage().data as Float32Array;
}

test('run 2 samples × 20 steps on a real galaxy: live previews, χ² chart, responsive UI, export, reproduce from the project', async ({ page, runServer, consoleErrors, browser }) => {
  await page.goto(runServer.url);
  await setUp(page, 'galaxies-gf');

  // run: the UI thread's tasks are traced from here
  const progress = page.getByTestId('run-progress');
  const seen = new Set<string>();
  const points = new Set<string>();
  const tasks = await traceUiTasks(browser, page, async () => {
    await page.getByTestId('run-button').click();
    await expect(progress).toHaveAttribute('data-state', 'running');
    // previews and the chart update while it runs (several distinct preview versions and growing χ² traces)
    await expect
      .poll(
        async () => {
          const state = await progress.getAttribute('data-state');
          if (state === 'running') {
            // only what the page showed while the run was going, and only real content: a preview version, a
            // non-empty χ² trace (the chart carries data-points="0" before the first point)
            const v = await page.getByTestId('sample-thumbs').getAttribute('data-version').catch(() => null);
            if (v) seen.add(v);
            const n = Number(await page.getByTestId('chi2-chart').getAttribute('data-points').catch(() => null));
            if (n > 0) points.add(String(n));
          }
          return state === 'done' ? 'done' : 'running';
        },
        { timeout: 150_000, intervals: [150] },
      )
      .toBe('done');
  });
  // seen while it ran (how many depends on the machine's speed), and counted at the end: the engine sends a
  // preview at the first step, then at most 4 a second, and always at the last step; progress (χ²) at most 10 a second
  expect(seen.size + points.size, 'previews or χ² points seen while running').toBeGreaterThanOrEqual(1);
  expect(Number(await page.getByTestId('sample-thumbs').getAttribute('data-previews'))).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('sample-thumbs').locator('canvas')).toHaveCount(2);
  const chartPoints = Number(await page.getByTestId('chi2-chart').getAttribute('data-points'));
  expect(chartPoints).toBeGreaterThanOrEqual(2);
  expectResponsive(tasks, 'the run');
  await expect(page.getByTestId('panel-mean')).toBeVisible();
  await expect(page.getByTestId('panel-residual')).toBeVisible();
  await shot(page, 'run-done.png');
  await page.getByLabel('Theme').selectOption('dark');
  await shot(page, 'run-done-dark.png');
  await page.getByLabel('Theme').selectOption('system');

  // export: each product and the zip; the FITS carry the observation's shape and the provenance
  const summary = await page.getByTestId('run-summary').textContent();
  expect(summary).toMatch(/n 2/);
  expect(summary).toMatch(/steps 20/);
  const mean1 = await meanOf(page);
  expect(mean1.length).toBe(64 * 64);
  expect(mean1.every(Number.isFinite)).toBe(true);
  const zip = await download(page, () => page.getByTestId('export-all').click());
  const files = unzipSync(new Uint8Array(readFileSync(zip.file)));
  expect(Object.keys(files).sort()).toEqual(['posterior-mean.fits', 'posterior-samples.fits', 'posterior-std.fits', 'report.json', 'residual.fits']);
  const samples = readFits(files['posterior-samples.fits']!).hdus[0]!;
  expect(samples.shape).toEqual([64, 64, 2]);
  const std = readFits(files['posterior-std.fits']!).hdus[0]!;
  expect(std.shape).toEqual([64, 64]);
  const history = std.header.getAll('HISTORY').join(' ');
  expect(history).toMatch(/seed/i);
  expect(history).toMatch(/--prior \S*galaxies-gf/);
  const report = JSON.parse(new TextDecoder().decode(files['report.json']!));
  expect(report).toMatchObject({ n: 2, steps: 20, seed: 7 });
  expect(report.chi2PerPixel).toBeGreaterThan(0);
  // the mean in the zip is the mean downloaded alone
  expect(Array.from(readFits(files['posterior-mean.fits']!).hdus[0]!.readImage().data as Float32Array)).toEqual(Array.from(mean1));
  // a PNG snapshot of a preview panel
  const png = await download(page, () => page.getByRole('button', { name: 'Save Posterior mean as PNG' }).click());
  expect(readFileSync(png.file).subarray(1, 4).toString()).toBe('PNG');

  // save the project, reopen it in a fresh page, run again: the same samples (same seed, same backend)
  const project = await download(page, () => page.getByTestId('project-save').click());
  await page.reload();
  await page.getByTestId('project-open').setInputFiles(project.file);
  await expect(page.getByTestId('obs-name')).toHaveText(CUBE[1]!);
  await page.getByRole('tab', { name: 'Run' }).click();
  await expect(page.getByTestId('run-seed')).toHaveValue('7');
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  const mean2 = await meanOf(page);
  expect(Array.from(mean2)).toEqual(Array.from(mean1));
  expect(consoleErrors).toEqual([]);
});

test("the shipped prior's model card shows its tables, code and figures as such, not as raw markdown", async ({ app }) => {
  await app.getByRole('tab', { name: 'Prior' }).click();
  await app.getByLabel('Prior galaxy-64').check();
  const card = app.getByTestId('prior-card');
  await expect(card.locator('table').first()).toBeVisible();
  // the evaluation's details are folded under their heading
  await card.locator('summary', { hasText: 'Evaluation details' }).click();
  await expect(card.locator('th', { hasText: 'credible level' })).toBeVisible();
  await expect(card.locator('td', { hasText: 'posterior mean' }).first()).toBeVisible();
  await expect(card.locator('code', { hasText: 'npm run eval' }).first()).toBeAttached();
  await expect(card).toContainText('Figure: training and validation loss');
  await expect(card).not.toContainText('|---');
  await expect(card).not.toContainText('**');
  await card.locator('table').first().scrollIntoViewIfNeeded();
  await shot(app, 'prior-card.png');
});

test('a U-Net prior of another size runs with a note (the command line\'s size policy); Stop ends a run and keeps the settings', async ({ app }) => {
  await setUp(app);
  await app.getByRole('tab', { name: 'Prior' }).click();
  await app.getByLabel('Prior tiny-32').check();
  await app.getByRole('tab', { name: 'Run' }).click();
  await expect(app.getByTestId('run-blockers')).toHaveCount(0);
  await app.getByTestId('run-steps').fill('400');
  await app.getByTestId('run-button').click();
  await expect(app.getByTestId('run-progress')).toHaveAttribute('data-state', 'running');
  await expect(app.getByTestId('notice-warn').filter({ hasText: 'the prior tiny-32 was trained on 32×32 images and is used on 64×64' })).toBeVisible();
  await shot(app, 'run-prior-size.png');
  await expect.poll(async () => Number(await app.getByTestId('run-progress').getAttribute('data-step')), { timeout: 60_000 }).toBeGreaterThan(0);
  await app.getByTestId('stop-button').click();
  await expect(app.getByTestId('run-progress')).toHaveAttribute('data-state', 'cancelled');
  await expect(app.getByTestId('run-steps')).toHaveValue('400');
  await expect(app.getByTestId('run-button')).toBeEnabled();
});

test('train a prior from a FITS cube: loss curve, Stop, Resume, and the new prior in the picker with its card', async ({ app }) => {
  await app.getByRole('tab', { name: 'Prior' }).click();
  await expect(app.getByLabel('Prior tiny-64')).toBeVisible();
  // 200 real galaxies of the Galaxy Zoo cube as a smaller cube (the whole cube works the same, only slower)
  const sub = path.join(tmp, 'galaxies-200.fits');
  const h = readFits(new Uint8Array(readFileSync(dataPath(...CUBE)))).hdus[0]!;
  writeFileSync(sub, writeFits([{ data: Uint8Array.from(h.readImage().data.subarray(0, 200 * 64 * 64)), shape: [64, 64, 200] }]));
  await app.getByTestId('train-cube').setInputFiles(sub);
  await expect(app.getByTestId('train-data')).toContainText('galaxies-200.fits');
  await app.getByLabel('New prior name').fill('my-galaxies');
  await app.getByLabel('Size').fill('32');
  await app.getByTestId('train-steps').fill('1000');
  await app.getByLabel('Batch').fill('4');
  await app.getByLabel('Network width').selectOption('8');
  await app.getByTestId('train-start').click();
  const progress = app.getByTestId('train-progress');
  await expect(progress).toHaveAttribute('data-state', 'running');
  await expect.poll(async () => Number(await app.getByTestId('loss-chart').getAttribute('data-points')), { timeout: 90_000 }).toBeGreaterThanOrEqual(3);
  await app.getByTestId('train-stop').click();
  await expect(progress).toHaveAttribute('data-state', 'cancelled');
  await expect(progress).toContainText('checkpoint kept');
  const stoppedAt = Number(await progress.getAttribute('data-step'));
  expect(stoppedAt).toBeGreaterThan(0);
  await shot(app, 'train-stopped.png');
  // the checkpoint's model is already a prior in the picker
  await expect(app.getByLabel('Prior my-galaxies')).toBeVisible();

  // resume to a few steps further: the step counter continues
  await app.getByTestId('train-steps').fill(String(stoppedAt + 3));
  await app.getByTestId('train-resume').click();
  await expect(progress).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
  expect(Number(await progress.getAttribute('data-step'))).toBe(stoppedAt + 3);
  await app.getByLabel('Prior my-galaxies').check();
  await expect(app.locator('.prior.chosen')).toContainText('32×32 px');
  const card = app.getByTestId('prior-card');
  await expect(card).toContainText(`training steps${stoppedAt + 3}`);
  await expect(card).toContainText('no model card');
  await shot(app, 'train-done.png');
  // a second training with the same name is refused with a message that says what to do
  await app.getByTestId('train-start').click();
  await expect(app.getByTestId('notice-error').last()).toContainText('a prior named "my-galaxies" already exists');
});
