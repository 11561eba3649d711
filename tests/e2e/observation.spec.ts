/**
 * The observation on a real image (Chromium against `skyscore serve`): after the bundled example, a 251×251
 * Spitzer image opened with "Open FITS…" is only viewed — the observation's panel keeps the example, the viewer
 * asks — so a run can never pass one image off as another. Made the observation, it replaces the example in
 * its panel and in the editor; the example's truth is marked as the old observation's; a short run on it
 * gives 251×251 products titled with its name, and the exported posterior mean is of that size. Screenshots
 * go to test-results/ (and to $SKYSCORE_SHOTS when set).
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { readFileSync, mkdirSync } from 'node:fs';
import { ROOT, dataPath } from '../helpers/data.js';
import { readFits } from '../../src-shared/fits/index.js';

const demo = JSON.parse(readFileSync(path.join(ROOT, 'assets', 'demo', 'demo.json'), 'utf8')) as { observation: string };
const DOR = 'purify_30dor_spitzer8um.fits';

async function shot(p: Page, name: string) {
  await p.screenshot({ path: path.join(ROOT, 'test-results', name) });
  const extra = process.env.SKYSCORE_SHOTS;
  if (extra) {
    mkdirSync(extra, { recursive: true });
    await p.screenshot({ path: path.join(extra, name) });
  }
}

const pixels = (p: Page, id: string) => p.getByTestId(`panel-${id}`).locator('.panel-view');

test('a file opened after the example is only viewed until the user makes it the observation; products say what they came from', async ({ app, consoleErrors }) => {
  test.setTimeout(300_000);
  await app.getByTestId('toolbar-open-example').click();
  await expect(app.getByTestId('panel-observation').locator('.panel-name')).toHaveText(demo.observation);
  await expect(app.getByTestId('run-button')).toBeEnabled();

  // Open FITS… while the example is the observation: shown apart, badged, and the viewer asks
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('radio', DOR));
  await expect(app.getByTestId('panel-viewed')).toBeVisible();
  await expect(app.getByTestId('badge-viewed')).toHaveText('viewed only');
  await expect(pixels(app, 'viewed')).toHaveAttribute('aria-label', /: 251 × 251 pixels\./);
  await expect(app.getByTestId('panel-observation').locator('.panel-name')).toHaveText(demo.observation);
  await expect(pixels(app, 'observation')).toHaveAttribute('aria-label', /: 64 × 64 pixels\./);
  await expect(app.getByTestId('viewer-ask')).toContainText(`${DOR} is open for viewing only: the run uses the observation ${demo.observation}`);
  // the newly opened image is fitted to its panel: the whole 251×251 image, centred
  const zoomViewed = Number((await app.getByTestId('zoom-viewed').textContent())!.replace('×', ''));
  const box = (await pixels(app, 'viewed').boundingBox())!;
  expect(zoomViewed * 251).toBeLessThanOrEqual(Math.min(box.width, box.height) + 1);
  expect(zoomViewed * 251).toBeGreaterThan(0.9 * Math.min(box.width, box.height));
  await shot(app, 'observation-viewed-only.png');

  // the run panel still names the example: the run would be the example's (what the observation panel shows)
  await app.getByRole('tab', { name: 'Forward model' }).click();
  await expect(app.getByTestId('obs-name')).toHaveText(demo.observation);
  await expect(app.getByTestId('data-viewed')).toContainText(DOR);

  // make it the observation
  await app.getByTestId('ask-use-observation').click();
  await expect(app.getByTestId('panel-observation').locator('.panel-name')).toHaveText(DOR);
  await expect(pixels(app, 'observation')).toHaveAttribute('aria-label', /: 251 × 251 pixels\./);
  await expect(app.getByTestId('panel-viewed')).toHaveCount(0);
  await expect(app.getByTestId('viewer-ask')).toHaveCount(0);
  await expect(app.getByTestId('obs-name')).toHaveText(DOR);
  await expect(app.getByTestId('obs-shape')).toContainText('251×251');
  await expect(app.getByTestId('model-ok')).toContainText('x [251×251] → y [251×251]');
  // the example's truth stays, marked as the old observation's
  await expect(app.getByTestId('stale-truth')).toHaveText(`old: ${demo.observation}`);
  await shot(app, 'observation-adopted.png');

  // a short run on it: the products are 251×251, titled with the file they came from
  await app.getByRole('tab', { name: 'Run' }).click();
  await app.getByTestId('run-n').fill('1');
  await app.getByTestId('run-steps').fill('3');
  await app.getByTestId('run-button').click();
  await expect(app.getByTestId('run-progress')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  await expect(app.getByTestId('panel-mean').locator('.panel-name')).toHaveText(`Posterior mean — ${DOR}`);
  await expect(pixels(app, 'mean')).toHaveAttribute('aria-label', /: 251 × 251 pixels\./);
  const [dl] = await Promise.all([app.waitForEvent('download'), app.getByTestId('export-posterior-mean.fits').click()]);
  const mean = readFits(new Uint8Array(readFileSync(await dl.path()))).hdus[0]!;
  expect(mean.shape).toEqual([251, 251]);
  await shot(app, 'observation-run-done.png');
  expect(consoleErrors).toEqual([]);
});
