/**
 * The observation on a real image (Chromium against `skyscore serve`): after the bundled example, a 251×251
 * Spitzer image opened with "Open FITS…" is only viewed — the observation's panel keeps the example, the viewer
 * asks — so a run can never pass one image off as another. Made the observation, it replaces the example in
 * its panel and in the editor; the example's truth is marked as the old observation's; a short run on it
 * gives 251×251 products titled with its name, and the exported posterior mean is of that size. Screenshots
 * go to test-results/ (and to $SKYSCORE_SHOTS when set).
 */
import { test, expect } from './fixtures.js';
import { shot } from './shots.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { ROOT, dataPath } from '../helpers/data.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { cutoutHeader, cutPixels } from '../../src-shared/image/cutout.js';

const demo = JSON.parse(readFileSync(path.join(ROOT, 'assets', 'demo', 'demo.json'), 'utf8')) as { observation: string };
const DOR = 'purify_30dor_spitzer8um.fits';


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
  // σ was typed for the example (in its units): the user is told to check it
  await expect(app.getByTestId('notice-warn').filter({ hasText: `was set for ${demo.observation}: check it for ${DOR}` })).toBeVisible();
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

test('images of different sizes open fitted; locked views align them by sky coordinates', async ({ app, consoleErrors }) => {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('radio', DOR));
  await expect(pixels(app, 'observation')).toHaveAttribute('aria-label', /: 251 × 251 pixels\./);
  // a 2×2-binned cutout of x 41…140, y 61…140: 50 × 40 pixels of 4.32″, with its own WCS
  const h = readFits(new Uint8Array(readFileSync(dataPath('radio', DOR)))).hdus[0]!;
  const box = { x0: 40, y0: 60, nx: 100, ny: 80 };
  const cut = cutPixels(h.readImage().data, [251, 251], box, 2);
  const bytes = writeFits([{ data: cut.data, shape: [50, 40], header: cutoutHeader(h.header, box, 2) }]);
  await app.getByTestId('open-fits-input').first().setInputFiles({ name: 'dor-cut.fits', mimeType: 'application/fits', buffer: Buffer.from(bytes) });
  await expect(pixels(app, 'viewed')).toHaveAttribute('aria-label', /: 50 × 40 pixels\./);
  await app.getByTestId('ask-keep-viewing').click();
  await expect(app.getByTestId('viewer-ask')).toHaveCount(0);
  // the new image is fitted to its panel; the observation follows it on the sky: its pixels are half the angle, so
  // half the screen pixels each
  const vb = (await pixels(app, 'viewed').boundingBox())!;
  const zoom = async (id: string) => Number((await app.getByTestId(`zoom-${id}`).textContent())!.replace('×', ''));
  await expect.poll(async () => (await zoom('viewed')) * 50).toBeGreaterThan(0.9 * Math.min(vb.width, (vb.height * 50) / 40));
  expect((await zoom('observation')) / (await zoom('viewed'))).toBeCloseTo(0.5, 1);
  await shot(app, 'observation-wcs-lock.png');
  // the same sky position under the centre of both panels (within a binned pixel, 4.32″)
  const skyAtCentre = async (id: string) => {
    const b = (await pixels(app, id).boundingBox())!;
    await app.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await expect(app.getByTestId('readout')).toContainText(id === 'viewed' ? 'dor-cut.fits' : DOR);
    return [Number(await app.getByTestId('readout-lon').textContent()), Number(await app.getByTestId('readout-lat').textContent())];
  };
  const a = await skyAtCentre('observation');
  const c = await skyAtCentre('viewed');
  expect(Math.abs(a[0]! - c[0]!) * Math.cos((a[1]! * Math.PI) / 180) * 3600).toBeLessThan(4.4);
  expect(Math.abs(a[1]! - c[1]!) * 3600).toBeLessThan(4.4);
  // pan the observation: the viewed image follows on the sky
  const ob = (await pixels(app, 'observation').boundingBox())!;
  await app.mouse.move(ob.x + ob.width / 2, ob.y + ob.height / 2);
  await app.mouse.down();
  await app.mouse.move(ob.x + ob.width / 2 + 40, ob.y + ob.height / 2 - 30, { steps: 4 });
  await app.mouse.up();
  const a2 = await skyAtCentre('observation');
  const c2 = await skyAtCentre('viewed');
  expect(Math.abs(a2[1]! - a[1]!) * 3600).toBeGreaterThan(10);
  expect(Math.abs(a2[0]! - c2[0]!) * Math.cos((a2[1]! * Math.PI) / 180) * 3600).toBeLessThan(4.4);
  expect(Math.abs(a2[1]! - c2[1]!) * 3600).toBeLessThan(4.4);
  expect(consoleErrors).toEqual([]);
});
