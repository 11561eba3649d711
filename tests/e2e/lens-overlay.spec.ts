/**
 * A lens in the forward model draws on the images themselves (Chromium against `skyscore serve`, a real 64×64 SDSS
 * galaxy): its critical curves over the observation where the lens's image plane is the observation's grid, in
 * red, and its caustics over the posterior mean (the source plane), in blue, under the viewer's overlay switch, and
 * gone when the lens is removed.
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';

mkdirSync('/tmp/shots', { recursive: true });

/** Pixels of a panel's overlay canvas drawn in the critical curves' red or the caustics' blue. */
async function colouredPixels(p: Page, panel: string, colour: 'red' | 'blue'): Promise<number> {
  return p.getByTestId(`overlay-${panel}`).evaluate((c: HTMLCanvasElement, colour) => {
    if (!c.width || !c.height || !c.dataset.drawn) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 0; k < d.length; k += 4) {
      if (d[k + 3]! <= 100) continue;
      if (colour === 'red' ? d[k]! > 200 && d[k + 1]! < 120 && d[k + 2]! < 120 : d[k]! < 120 && d[k + 1]! > 120 && d[k + 2]! > 200) n++;
    }
    return n;
  }, colour);
}
const redPixels = (p: Page) => colouredPixels(p, 'observation', 'red');

test('a lens draws its critical curves over the observation and its caustics over the posterior mean, switched with the overlays', async ({ app, consoleErrors }) => {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits'));
  await expect(app.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');
  await app.getByLabel('Add an operator').selectOption('lens');
  // the lens's image plane on the observation's 64×64 grid
  await app.getByLabel('Image ny').fill('64');
  await app.getByLabel('Image ny').press('Tab');
  await app.getByLabel('Image nx').fill('64');
  await app.getByLabel('Image nx').press('Tab');
  await expect(app.getByTestId('model-ok')).toContainText('→ y [64×64]');
  await expect(app.getByTestId('show-mask').locator('..')).toContainText('lens curves');
  await expect.poll(() => redPixels(app), { timeout: 15_000 }).toBeGreaterThan(50);
  await app.screenshot({ path: '/tmp/shots/lens-critical-curves.png' });
  await app.getByTestId('show-mask').uncheck();
  await expect.poll(() => redPixels(app)).toBe(0);
  await app.getByTestId('show-mask').check();
  await expect.poll(() => redPixels(app)).toBeGreaterThan(50);
  // the source plane: a posterior mean on the unknown's grid (as a run's previews show it) gets the caustics, in blue
  await app.evaluate(() => {
    const api = (window as unknown as { skyscoreViewer: { showImage(o: unknown): void } }).skyscoreViewer;
    const n = 64;
    const data = new Float32Array(n * n);
    for (let i = 0; i < n * n; i++) data[i] = Math.exp(-(((i % n) - 32) ** 2 + (Math.floor(i / n) - 32) ** 2) / 50);
    api.showImage({ id: 'mean', title: 'Posterior mean', role: 'mean', data, shape: [n, n] });
  });
  await expect(app.getByTestId('panel-mean')).toBeVisible();
  await expect.poll(() => colouredPixels(app, 'mean', 'blue'), { timeout: 15_000 }).toBeGreaterThan(20);
  expect(await colouredPixels(app, 'mean', 'red')).toBe(0);
  await app.screenshot({ path: '/tmp/shots/lens-caustics-mean.png' });
  await app.getByTestId('show-mask').uncheck();
  await expect.poll(() => colouredPixels(app, 'mean', 'blue')).toBe(0);
  await app.getByTestId('show-mask').check();
  // the lens removed: no curves, no switch
  await app.getByTestId('operator-0').getByRole('button', { name: /remove|✕|×/i }).first().click();
  await expect(app.getByTestId('show-mask')).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});
