/**
 * A lens in the forward model draws on the images themselves (Chromium against `skyscore serve`, a real 64×64 SDSS
 * galaxy): its critical curves over the observation where the lens's image plane is the observation's grid, in
 * red, under the viewer's overlay switch, and gone when the lens is removed.
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';

mkdirSync('/tmp/shots', { recursive: true });

/** Pixels of the observation's overlay canvas that are drawn red (the critical curves' colour). */
async function redPixels(p: Page): Promise<number> {
  return p.getByTestId('overlay-observation').evaluate((c: HTMLCanvasElement) => {
    if (!c.width || !c.height || !c.dataset.drawn) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 0; k < d.length; k += 4) if (d[k + 3]! > 100 && d[k]! > 200 && d[k + 1]! < 120 && d[k + 2]! < 120) n++;
    return n;
  });
}

test('a lens draws its critical curves over the observation, switched with the overlays', async ({ app, consoleErrors }) => {
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
  // the lens removed: no curves, no switch
  await app.getByTestId('operator-0').getByRole('button', { name: /remove|✕|×/i }).first().click();
  await expect(app.getByTestId('show-mask')).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});
