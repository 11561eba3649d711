/**
 * Cutouts and binning of a real observation (Chromium against `skyscore serve`): the 251×251 Spitzer 8 µm image
 * of 30 Doradus (0.6″… 2.16″ pixels) is far from the 64×64 training images of the default prior — the editor
 * says so and offers binning; binned by 4 it becomes a 62×62 observation whose σ and Gaussian PSF follow and
 * whose sky coordinates at the cursor are astropy's for the centre of the original 4×4 block. A box dragged on
 * the image opens the cutout dialog; a box typed in sky coordinates (centre RA/Dec, size in arcseconds) cuts a
 * 28×28 observation with its σ map cut the same way. Screenshots go to test-results/ (and $SKYSCORE_SHOTS).
 */
import { test, expect } from './fixtures.js';
import { shot } from './shots.js';
import type { Page } from '@playwright/test';
import { dataPath } from '../helpers/data.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { readFileSync } from 'node:fs';

const DOR = 'purify_30dor_spitzer8um.fits';


/** Moves the pointer to the centre of image pixel (x, y) of a panel shown at 1:1 about the centre of a fitted view. */
async function pointAtPixel(p: Page, panel: string, x: number, y: number, w: number, h: number) {
  const view = p.getByTestId(`panel-${panel}`).locator('.panel-view');
  await view.focus();
  await view.press('f');
  await view.press('1');
  const box = (await view.boundingBox())!;
  await p.mouse.move(box.x + box.width / 2 + (x - (w - 1) / 2), box.y + box.height / 2 - (y - (h - 1) / 2));
}

async function expectReadout(p: Page, lon: number, lat: number, value: number) {
  await expect.poll(async () => Math.abs(Number(await p.getByTestId('readout-lon').textContent()) - lon)).toBeLessThan(1e-6);
  expect(Math.abs(Number(await p.getByTestId('readout-lat').textContent()) - lat)).toBeLessThan(1e-6);
  expect(Math.abs(Number(await p.getByTestId('readout-value').textContent()) / value - 1)).toBeLessThan(1e-4);
}

async function openDor(app: Page) {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('radio', DOR));
  await expect(app.getByTestId('obs-name')).toHaveText(DOR);
  // the prior list (the default prior is chosen when it arrives)
  await app.getByRole('tab', { name: 'Prior' }).click();
  await expect(app.getByRole('radio', { name: 'Prior galaxy-64' })).toBeVisible();
  await app.getByRole('radio', { name: 'Prior galaxy-64' }).check();
  await app.getByRole('tab', { name: 'Forward model' }).click();
}

test('far from the prior\'s scale: the editor says so; binning by 4 gives a 62×62 observation with the WCS, σ and PSF that follow', async ({ app, consoleErrors }) => {
  await openDor(app);
  const note = app.getByTestId('obs-scale-note');
  await expect(note).toContainText('251×251 px is 3.9× larger than the 64×64 images the prior galaxy-64 was trained on');
  await app.getByTestId('noise-sigma').fill('2');
  await app.getByTestId('noise-sigma').press('Tab');
  await app.getByTestId('psf-fwhm-0').fill('4');
  await app.getByTestId('psf-fwhm-0').press('Tab');
  await shot(app, 'cutout-scale-note.png');

  await app.getByTestId('obs-bin-suggest').click();
  const dialog = app.getByTestId('cutout-dialog');
  await expect(dialog).toBeVisible();
  await expect(app.getByTestId('cutout-bin')).toHaveValue('4');
  await expect(app.getByTestId('cutout-result')).toHaveText('→ 62×62 px: x 1–251, y 1–251, 4×4 pixels averaged');
  await shot(app, 'cutout-bin-dialog.png');
  await app.getByTestId('cutout-apply').click();
  await expect(dialog).toHaveCount(0);

  const name = 'purify_30dor_spitzer8um_x1-251_y1-251_bin4.fits';
  await expect(app.getByTestId('obs-name')).toHaveText(name);
  await expect(app.getByTestId('obs-shape')).toContainText('62×62');
  await expect(app.getByTestId('noise-sigma')).toHaveValue('0.5');
  await expect(app.getByTestId('psf-fwhm-0')).toHaveValue('1');
  await expect(app.getByTestId('model-ok')).toContainText('x [62×62] → y [62×62]');
  await expect(app.getByTestId('obs-scale-note')).toHaveCount(0);
  const panel = app.getByTestId('panel-observation');
  await expect(panel.locator('.panel-name')).toHaveText(name);
  await expect(panel.locator('.panel-view')).toHaveAttribute('aria-label', /: 62 × 62 pixels\./);
  await expect(app.getByTestId('panel-viewed')).toHaveCount(0);
  // the new observation opens fitted to its panel (62 pixels fill the panel's smaller side)
  const vb = (await panel.locator('.panel-view').boundingBox())!;
  await expect.poll(async () => Number((await app.getByTestId('zoom-observation').textContent())!.replace('×', '')) * 62).toBeGreaterThan(0.9 * Math.min(vb.width, vb.height));
  await shot(app, 'cutout-binned-fitted.png');

  // binned pixel (10, 20) is the original 4×4 block x 40–43, y 80–83: astropy 5.2.1, WCS(header).celestial
  // .all_pix2world([[41.5, 81.5]], 0) = (84.8251045440098, -69.12930123519143); numpy block mean 24.35717582908056
  await pointAtPixel(app, 'observation', 10, 20, 62, 62);
  await expect(app.getByTestId('readout-pixel')).toHaveText('11, 21');
  await expectReadout(app, 84.8251045440098, -69.12930123519143, 24.35717582908056);
  await shot(app, 'cutout-binned.png');

  // a short run on the binned observation: its products carry the binned grid's WCS
  await app.getByRole('tab', { name: 'Run' }).click();
  await app.getByTestId('run-n').fill('1');
  await app.getByTestId('run-steps').fill('3');
  await app.getByTestId('run-button').click();
  await expect(app.getByTestId('run-progress')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await expect(app.getByTestId('panel-mean').locator('.panel-name')).toHaveText(`Posterior mean — ${name}`);
  const [dl] = await Promise.all([app.waitForEvent('download'), app.getByTestId('export-posterior-mean.fits').click()]);
  const mean = readFits(new Uint8Array(readFileSync(await dl.path()))).hdus[0]!;
  expect(mean.shape).toEqual([62, 62]);
  // CRPIX' = (125.5 − 0.5)/4 + 0.5, CDELT' = 4 × CDELT
  expect(mean.header.getNumber('CRPIX1')).toBeCloseTo(31.75, 12);
  expect(mean.header.getNumber('CDELT1')).toBeCloseTo(-0.0024, 12);
  // the mean is on the observation's grid: the same sky position under the same pixel
  await pointAtPixel(app, 'mean', 10, 20, 62, 62);
  await expect(app.getByTestId('readout')).toContainText('Posterior mean');
  await expect.poll(async () => Math.abs(Number(await app.getByTestId('readout-lon').textContent()) - 84.8251045440098)).toBeLessThan(1e-6);
  await panel.locator('.panel-view').press('f');
  // adding the result panels refitted the observation to its narrower panel
  const ob = (await panel.locator('.panel-view').boundingBox())!;
  const z = Number((await app.getByTestId('zoom-observation').textContent())!.replace('×', ''));
  expect(z * 62).toBeLessThanOrEqual(Math.min(ob.width, ob.height) + 1);
  expect(z * 62).toBeGreaterThan(0.85 * Math.min(ob.width, ob.height));
  await shot(app, 'cutout-binned-run.png');
  expect(consoleErrors).toEqual([]);
});

test('a box dragged on the image opens the cutout; typed in sky coordinates it cuts the data and the σ map alike', async ({ app, consoleErrors }) => {
  await openDor(app);
  // a σ map on the observation's grid: 2 everywhere, NaN (no information) at x 121, y 116 (1-based)
  const sigma = new Float32Array(251 * 251).fill(2);
  sigma[115 * 251 + 120] = NaN;
  await app.getByRole('radio', { name: 'σ map (FITS)' }).check();
  await app.getByLabel('Noise sigma map FITS file').setInputFiles({ name: 'sigma.fits', mimeType: 'application/fits', buffer: Buffer.from(writeFits([{ data: sigma, shape: [251, 251] }])) });
  await expect(app.getByTestId('model-ok')).toContainText('x [251×251] → y [251×251]');

  // drag a box with the box tool: the dialog opens with it
  await app.getByTestId('drag-tool').selectOption('cutout');
  const view = app.getByTestId('panel-observation').locator('.panel-view');
  const b = (await view.boundingBox())!;
  await app.mouse.move(b.x + b.width * 0.35, b.y + b.height * 0.35);
  await app.mouse.down();
  await app.mouse.move(b.x + b.width * 0.55, b.y + b.height * 0.6, { steps: 5 });
  await expect(app.getByTestId('box-overlay')).toBeVisible();
  await shot(app, 'cutout-drag.png');
  await app.mouse.up();
  await expect(app.getByTestId('cutout-dialog')).toBeVisible();
  const dragged = (await app.getByTestId('cutout-result').textContent())!;
  const m = /→ (\d+)×(\d+) px: x (\d+)–(\d+), y (\d+)–(\d+)$/.exec(dragged);
  expect(m).not.toBeNull();
  // the fitted view shows all 251 pixels across the panel: 20 % of its width is about 50 pixels, 25 % of its height 63
  expect(Math.abs(Number(m![1]) - 0.2 * 251 * (b.width / Math.min(b.width, b.height)))).toBeLessThan(8);
  expect(Number(m![2])).toBeGreaterThan(30);

  // the same box in sky coordinates, then a new centre (the reference point) and 60″ × 60″
  await app.getByTestId('cutout-units').selectOption('sky');
  await expect(app.getByTestId('cutout-cx')).toHaveValue(/^05:3\d:\d\d\.\d{3}$/);
  await app.getByTestId('cutout-cx').fill('84.685319');
  await app.getByTestId('cutout-cy').fill('-69:06:12.81');
  await app.getByTestId('cutout-w').fill('60');
  await app.getByTestId('cutout-h').fill('60');
  // 60″ / 2.16″ = 27.8 → 28 pixels about pixel (125.5, 125.5) 1-based
  await expect(app.getByTestId('cutout-result')).toHaveText('→ 28×28 px: x 112–139, y 112–139');
  await shot(app, 'cutout-sky-dialog.png');
  await app.getByTestId('cutout-apply').click();

  await expect(app.getByTestId('obs-name')).toHaveText('purify_30dor_spitzer8um_x112-139_y112-139.fits');
  await expect(app.getByTestId('obs-shape')).toContainText('28×28');
  await expect(app.getByTestId('noise-section')).toContainText('sigma_x112-139_y112-139.fits');
  await expect(app.getByTestId('model-ok')).toContainText('x [28×28] → y [28×28]');
  // new pixel (13, 13) is original (124, 124): astropy (84.6861601016216, -69.10385799794287), value 20.782913237883513
  await pointAtPixel(app, 'observation', 13, 13, 28, 28);
  await expect(app.getByTestId('readout-pixel')).toHaveText('14, 14');
  await expectReadout(app, 84.6861601016216, -69.10385799794287, 20.782913237883513);
  await shot(app, 'cutout-sky.png');
  expect(consoleErrors).toEqual([]);
});

test('a region drawn on the image gives its statistics (box and circle), as DS9 and CARTA users expect', async ({ app, consoleErrors }) => {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('radio', DOR));
  await expect(app.getByTestId('panel-observation')).toBeVisible();
  const data = readFits(new Uint8Array(readFileSync(dataPath('radio', DOR)))).hdus[0]!.readImage().data;
  const view = app.getByTestId('panel-observation').locator('.panel-view');
  const b = (await view.boundingBox())!;
  await app.getByTestId('drag-tool').selectOption('box');
  await app.mouse.move(b.x + b.width * 0.4, b.y + b.height * 0.4);
  await app.mouse.down();
  await app.mouse.move(b.x + b.width * 0.6, b.y + b.height * 0.55, { steps: 4 });
  await app.mouse.up();
  const stats = app.getByTestId('region-stats');
  await expect(stats).toBeVisible();
  await expect(app.getByTestId('region-observation')).toBeVisible();
  const where = /box x (\d+)–(\d+), y (\d+)–(\d+)/.exec((await stats.textContent())!)!;
  const [x0, x1, y0, y1] = where.slice(1).map((v) => Number(v) - 1);
  // the same pixels summed here (float64, the file's values)
  let sum = 0;
  let n = 0;
  for (let y = y0!; y <= y1!; y++) for (let x = x0!; x <= x1!; x++) {
    sum += data[y * 251 + x]!;
    n++;
  }
  expect(n).toBeGreaterThan(100);
  await expect(app.getByTestId('region-count')).toHaveText(String(n));
  expect(Math.abs(Number((await app.getByTestId('region-mean').textContent())!.split(' ')[0]) / (sum / n) - 1)).toBeLessThan(1e-4);
  expect(Math.abs(Number((await app.getByTestId('region-sum').textContent())!.split(' ')[0]) / sum - 1)).toBeLessThan(1e-4);
  await expect(app.getByTestId('region-mean')).toContainText('MJy/sr');
  await shot(app, 'region-box.png');

  // a circle: about π r² pixels
  await app.getByTestId('drag-tool').selectOption('circle');
  await app.mouse.move(b.x + b.width * 0.5, b.y + b.height * 0.5);
  await app.mouse.down();
  await app.mouse.move(b.x + b.width * 0.5 + 60, b.y + b.height * 0.5, { steps: 4 });
  await app.mouse.up();
  await expect(stats).toContainText('circle at');
  const r = Number(/r (\d+\.\d) px/.exec((await stats.textContent())!)![1]);
  const count = Number(await app.getByTestId('region-count').textContent());
  expect(Math.abs(count / (Math.PI * r * r) - 1)).toBeLessThan(0.1);
  await shot(app, 'region-circle.png');
  // panning keeps the region on the same pixels
  await app.getByTestId('drag-tool').selectOption('pan');
  const before = (await app.getByTestId('region-observation').boundingBox())!;
  await app.mouse.move(b.x + b.width * 0.3, b.y + b.height * 0.3);
  await app.mouse.down();
  await app.mouse.move(b.x + b.width * 0.3 + 50, b.y + b.height * 0.3 + 20, { steps: 3 });
  await app.mouse.up();
  const after = (await app.getByTestId('region-observation').boundingBox())!;
  expect(after.x - before.x).toBeCloseTo(50, 0);
  expect(after.y - before.y).toBeCloseTo(20, 0);
  expect(consoleErrors).toEqual([]);
});

test('the mask is drawn on the observation and cut with it; the PSF shows at full size', async ({ app, consoleErrors }) => {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('radio', DOR));
  await expect(app.getByTestId('obs-name')).toHaveText(DOR);
  // a mask of the observation's size: x 101–140, y 51–80 (1-based) missing, 1200 pixels
  const mask = new Uint8Array(251 * 251).fill(1);
  for (let y = 50; y < 80; y++) for (let x = 100; x < 140; x++) mask[y * 251 + x] = 0;
  await app.getByLabel('Add an operator').selectOption('mask');
  await app.getByLabel('Mask 2 FITS file').setInputFiles({ name: 'mask.fits', mimeType: 'application/fits', buffer: Buffer.from(writeFits([{ data: mask, shape: [251, 251] }])) });
  await expect(app.getByTestId('show-mask')).toBeVisible();
  await expect(app.getByText('mask (1200 px)')).toBeVisible();
  const redPixels = () =>
    app.getByTestId('overlay-observation').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      let sx = 0;
      let sy = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3]! > 0 && d[i]! > 200) {
          n++;
          sx += (i / 4) % c.width;
          sy += Math.floor(i / 4 / c.width);
        }
      }
      return { n, x: sx / n / (c.width / c.clientWidth), y: sy / n / (c.height / c.clientHeight) };
    });
  const red = await redPixels();
  expect(red.n).toBeGreaterThan(1000);
  // the red block's centre is the mask's: x 100–139, y 50–79 (0-based) → (120.5, 65.5) 1-based
  const vb = (await app.getByTestId('panel-observation').locator('.panel-view').boundingBox())!;
  await app.mouse.move(vb.x + red.x, vb.y + red.y);
  const px = (await app.getByTestId('readout-pixel').textContent())!.split(',').map(Number);
  expect(Math.abs(px[0]! - 120.5)).toBeLessThanOrEqual(1);
  expect(Math.abs(px[1]! - 65.5)).toBeLessThanOrEqual(1);
  await shot(app, 'mask-on-observation.png');
  await app.getByTestId('show-mask').uncheck();
  await expect.poll(async () => (await redPixels()).n).toBe(0);
  await app.getByTestId('show-mask').check();

  // a 30×30 cutout about (121, 66) 1-based: x 107–136, y 52–81; the mask is cut alike (30 × 29 = 870 missing)
  await app.getByTestId('cutout-open').click();
  await app.getByTestId('cutout-cx').fill('121');
  await app.getByTestId('cutout-cy').fill('66');
  await app.getByTestId('cutout-w').fill('30');
  await app.getByTestId('cutout-h').fill('30');
  await expect(app.getByTestId('cutout-result')).toHaveText('→ 30×30 px: x 107–136, y 52–81');
  await app.getByTestId('cutout-apply').click();
  await expect(app.getByTestId('obs-shape')).toContainText('30×30');
  await expect(app.getByTestId('model-ok')).toContainText('x [30×30] → y [30×30]');
  await expect(app.getByText('mask (870 px)')).toBeVisible();
  await shot(app, 'mask-cutout.png');

  // the PSF at full size: the Gaussian of FWHM 2.5 px is 11×11
  await app.getByTestId('show-psf').click();
  await expect(app.getByTestId('panel-psf').locator('.panel-view')).toHaveAttribute('aria-label', /: 11 × 11 pixels\./);
  await shot(app, 'psf-panel.png');
  expect(consoleErrors).toEqual([]);
});
