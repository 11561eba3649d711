/**
 * The viewer end to end in Chromium against `skyscore serve`: open real FITS files by the dialog (file input),
 * by drag-and-drop, a multi-extension file and a cube; change scale, limits and colour map; read pixel value and
 * RA/Dec at the cursor (compared with astropy); header search; panels locked together; the CPU fallback; bad
 * input. Screenshots go to test-results/.
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { ROOT, dataPath } from '../helpers/data.js';
import { traceUiTasks, expectResponsive } from './ui-tasks.js';

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });

/** Moves the pointer to the centre of image pixel (x, y) of a panel shown at 1:1 and centred by Fit first. */
async function pointAtPixel(p: Page, panel: string, x: number, y: number, w: number, h: number) {
  const view = p.getByTestId(`panel-${panel}`).locator('.panel-view');
  await view.focus();
  await view.press('1'); // 1:1 about the current centre
  const box = (await view.boundingBox())!;
  // after Fit the centre is ((w−1)/2, (h−1)/2); 1:1 keeps it
  const sx = box.x + box.width / 2 + (x - (w - 1) / 2);
  const sy = box.y + box.height / 2 - (y - (h - 1) / 2);
  await p.mouse.move(sx, sy);
}

/** RGBA of the panel canvas at its centre (the WebGL buffer is preserved, so it can be read back). */
async function centreColour(p: Page, panel: string): Promise<number[]> {
  return p.getByTestId(`panel-canvas-${panel}`).evaluate((c: HTMLCanvasElement) => {
    const t = document.createElement('canvas');
    t.width = c.width;
    t.height = c.height;
    const ctx = t.getContext('2d')!;
    ctx.drawImage(c, 0, 0);
    return Array.from(ctx.getImageData(Math.floor(c.width / 2), Math.floor(c.height / 2), 1, 1).data);
  });
}

async function openByDialog(p: Page, ...file: string[]) {
  await p.getByTestId('open-fits-input').first().setInputFiles(dataPath(...file));
}

test('open a radio image, change scale and colours, read value and RA/Dec at the cursor', async ({ page: app, server, consoleErrors }) => {
  await app.goto(`${server.url}&renderer=webgl`);
  await openByDialog(app, 'radio', 'purify_M31.fits');
  const panel = app.getByTestId('panel-observation');
  await expect(panel).toBeVisible();
  await expect(panel.locator('.panel-view')).toHaveAttribute('data-renderer', 'webgl2');
  await expect(panel.locator('.panel-name')).toHaveText('purify_M31.fits');
  await expect(app.getByTestId('viewer-error')).toHaveCount(0);
  await shot(app, 'viewer-m31-grey.png');
  const grey = await centreColour(app, 'observation');
  expect(grey[0]).toBe(grey[1]);
  expect(grey[1]).toBe(grey[2]);

  // scale and colour map
  const obs = panel.locator('.panel-view');
  await obs.click();
  await app.getByLabel('Scale', { exact: true }).selectOption('asinh');
  await app.getByLabel('Limits', { exact: true }).selectOption('minmax');
  await app.getByLabel('Colour map', { exact: true }).selectOption('viridis');
  await expect.poll(async () => {
    const c = await centreColour(app, 'observation');
    return c[0] !== c[1] || c[1] !== c[2];
  }).toBe(true);
  // the colour bar follows: min/max limits of the data (astropy: min −2.2153e-09, max 1.00646)
  const ticks = app.getByTestId('colorbar-observation').locator('.ticks span');
  await expect(ticks.first()).toHaveText('-2.215e-9');
  await expect(ticks.last()).toHaveText('1.0065');
  await app.getByLabel('Invert colour map').check();
  await shot(app, 'viewer-m31-asinh-viridis.png');

  // cursor read-out: value and sky position of pixel (128, 128) (0-based) and of pixel (30, 220)
  await pointAtPixel(app, 'observation', 128, 128, 256, 256);
  await expect(app.getByTestId('readout-pixel')).toHaveText('129, 129');
  // astropy: data[0, 128, 128] = 0.113441601395607
  await expect(app.getByTestId('readout-value')).toHaveText('0.11344');
  // astropy 5.2.1 WCS(header).celestial.wcs_pix2world([[128, 128]], 0) = 359.9996608947882, 35.000277777313016
  const lon = Number(await app.getByTestId('readout-lon').textContent());
  const lat = Number(await app.getByTestId('readout-lat').textContent());
  expect(Math.abs(lon - 359.9996608947882)).toBeLessThan(1e-6);
  expect(Math.abs(lat - 35.000277777313016)).toBeLessThan(1e-6);
  await expect(app.getByTestId('readout-lon-sex')).toHaveText('23:59:59.919');
  await pointAtPixel(app, 'observation', 30, 220, 256, 256);
  await expect(app.getByTestId('readout-pixel')).toHaveText('31, 221');
  expect(Math.abs(Number(await app.getByTestId('readout-lon').textContent()) - 0.032903485119024245)).toBeLessThan(1e-6);
  expect(Math.abs(Number(await app.getByTestId('readout-lat').textContent()) - 35.02582889721619)).toBeLessThan(1e-6);
  await shot(app, 'viewer-m31-readout.png');

  // header viewer with search
  await panel.getByRole('button', { name: 'Header' }).click();
  const dialog = app.getByRole('dialog');
  await expect(dialog).toBeVisible();
  const total = Number((await app.getByTestId('header-count').textContent())!.split('/')[1].trim().split(' ')[0]);
  expect(total).toBeGreaterThan(100);
  await dialog.getByLabel('Search the header').fill('ctype');
  await expect(app.getByTestId('header-cards')).toContainText("CTYPE1  = 'RA---SIN'");
  // astropy: 578 cards, 6 of which contain 'ctype' (CTYPE1–3 and three HISTORY lines)
  expect(total).toBe(578);
  await expect(app.getByTestId('header-count')).toHaveText(`6 / ${total} cards`);
  await shot(app, 'viewer-m31-header.png');
  await dialog.getByRole('button', { name: 'Close header' }).click();
  await expect(dialog).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});

test('limits: zscale, percentiles, by hand and by dragging a histogram handle; pan and zoom with the keyboard', async ({ page: app, server, consoleErrors }) => {
  await app.goto(`${server.url}&renderer=webgl`);
  await openByDialog(app, 'fits', 'm13.fits');
  await expect(app.getByTestId('panel-observation')).toBeVisible();
  await app.getByLabel('Limits', { exact: true }).selectOption('zscale');
  // astropy ZScaleInterval on m13.fits: (109.0, 216.4366865602338)
  await expect(app.getByLabel('Lower limit')).toHaveValue('109');
  await expect(app.getByLabel('Upper limit')).toHaveValue('216.44');
  await app.getByLabel('Limits', { exact: true }).selectOption('percentile:90');
  await expect(app.getByLabel('Lower limit')).toHaveValue('113');
  await expect(app.getByLabel('Upper limit')).toHaveValue('241');
  await app.getByLabel('Upper limit').fill('500');
  await app.getByLabel('Upper limit').press('Enter');
  await expect(app.getByLabel('Limits', { exact: true })).toHaveValue('manual');
  await expect(app.getByLabel('Upper limit')).toHaveValue('500');
  // drag the upper handle to the left: the upper limit drops
  const handle = app.getByTestId('histogram-handle-hi');
  const hb = (await handle.boundingBox())!;
  await app.mouse.move(hb.x + hb.width / 2, hb.y + 20);
  await app.mouse.down();
  await app.mouse.move(hb.x + hb.width / 2 - 40, hb.y + 20, { steps: 5 });
  await app.mouse.up();
  const hi = Number(await app.getByLabel('Upper limit').inputValue());
  expect(hi).toBeLessThan(500);
  expect(hi).toBeGreaterThan(113);
  await app.getByLabel('Scale', { exact: true }).selectOption('histeq');
  await app.getByLabel('Colour map', { exact: true }).selectOption('inferno');
  // keyboard zoom and fit
  const view = app.getByTestId('panel-observation').locator('.panel-view');
  await view.focus();
  const zoom = app.getByTestId('zoom-observation');
  const z0 = await zoom.textContent();
  await view.press('+');
  await view.press('+');
  await expect(zoom).not.toHaveText(z0!);
  await view.press('1');
  await expect(zoom).toHaveText('1.0×');
  await view.press('ArrowLeft');
  await view.press('f');
  await expect(zoom).toHaveText(z0!);
  await shot(app, 'viewer-m13-histeq-inferno.png');
  expect(consoleErrors).toEqual([]);
});

test('a multi-extension file: choose the HDU; a cube: choose the plane', async ({ app, consoleErrors }) => {
  await openByDialog(app, 'fits', 'test_multiF.fits');
  const hdu = app.getByTestId('hdu-select');
  await expect(hdu).toBeVisible();
  await expect(hdu.locator('option')).toHaveCount(12);
  await hdu.selectOption('4');
  await expect(app.getByTestId('panel-observation').locator('.panel-name')).toHaveText('test_multiF.fits [4]');
  // pixel (0, 0) of HDU 4 is 15 (astropy); the image is 7 × 5
  await pointAtPixel(app, 'observation', 0, 0, 7, 5);
  await expect(app.getByTestId('readout-value')).toHaveText('15');
  await expect(app.getByTestId('readout')).toContainText('no WCS');

  // a second file is only viewed until the user makes it the observation
  await openByDialog(app, 'fits', 'test_cubeF.fits');
  await expect(app.getByTestId('badge-viewed')).toHaveText('viewed only');
  await app.getByTestId('ask-use-observation').click();
  await expect(app.getByTestId('panel-viewed')).toHaveCount(0);
  const plane = app.getByTestId('plane-input');
  await expect(plane).toHaveValue('1');
  await expect(app.getByTestId('hdu-select')).toHaveCount(0);
  await plane.fill('4');
  await expect(app.getByTestId('panel-observation').locator('.panel-name')).toHaveText('test_cubeF.fits plane 4/12');
  // value = 10 (x + 1) + (y + 1) + k: pixel (6, 4) of plane k = 3 is 78
  await pointAtPixel(app, 'observation', 6, 4, 7, 5);
  await expect(app.getByTestId('readout-pixel')).toHaveText('7, 5');
  await expect(app.getByTestId('readout-value')).toHaveText('78');
  await shot(app, 'viewer-cube-plane4.png');
  expect(consoleErrors).toEqual([]);
});

test('drag-and-drop opens a file; a file that is not FITS gets a clear message and the image stays', async ({ app, consoleErrors }) => {
  const bytes = readFileSync(dataPath('radio', 'purify_30dor_spitzer8um.fits')).toString('base64');
  const dt = await app.evaluateHandle((b64) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const d = new DataTransfer();
    d.items.add(new File([bin], '30dor.fits', { type: 'application/fits' }));
    return d;
  }, bytes);
  const area = app.getByRole('main', { name: 'Images' });
  await area.dispatchEvent('dragover', { dataTransfer: dt });
  await expect(app.locator('.drop-overlay')).toBeVisible();
  await area.dispatchEvent('drop', { dataTransfer: dt });
  await expect(app.getByTestId('panel-observation').locator('.panel-name')).toHaveText('30dor.fits');
  await expect(app.locator('.drop-overlay')).toHaveCount(0);

  await app.getByTestId('open-fits-input').first().setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('these are my observing notes, not a FITS file\n') });
  await expect(app.getByTestId('viewer-error')).toContainText('notes.txt:');
  await expect(app.getByTestId('viewer-error')).not.toContainText('notes.txt: notes.txt:');
  await expect(app.getByTestId('viewer-error')).toContainText(/not (a )?FITS/i);
  await expect(app.getByTestId('panel-observation').locator('.panel-name')).toHaveText('30dor.fits');
  await shot(app, 'viewer-not-fits.png');
  expect(consoleErrors).toEqual([]);
});

test('result panels side by side: residuals get the diverging map and symmetric limits; pan/zoom are locked', async ({ page: app, server, consoleErrors }) => {
  await app.goto(`${server.url}&renderer=webgl`);
  await openByDialog(app, 'radio', 'purify_M31.fits');
  await expect(app.getByTestId('panel-observation')).toBeVisible();
  // what the run panel does: show a residual map (deterministic, asymmetric range −2 … 3)
  await app.evaluate(() => {
    const n = 256;
    const data = new Float32Array(n * n);
    for (let i = 0; i < n * n; i++) data[i] = Math.sin(i * 0.37) * 2 + (i % 1000 === 0 ? 3 : 0);
    (window as unknown as { skyscoreViewer: { showImage(o: unknown): void } }).skyscoreViewer.showImage({ id: 'residual', title: 'Residual', role: 'residual', data, shape: [n, n] });
  });
  const res = app.getByTestId('panel-residual');
  await expect(res).toBeVisible();
  await res.locator('.panel-view').click();
  await expect(app.getByLabel('Colour map', { exact: true })).toHaveValue('coolwarm');
  const lo = Number(await app.getByLabel('Lower limit').inputValue());
  const hi = Number(await app.getByLabel('Upper limit').inputValue());
  expect(lo).toBeCloseTo(-hi, 6);
  expect(hi).toBeGreaterThan(1.9);
  // zoom in the residual panel with the wheel: the observation panel follows (views locked)
  const zr = app.getByTestId('zoom-residual');
  const zo = app.getByTestId('zoom-observation');
  const before = await zo.textContent();
  const box = (await res.locator('.panel-view').boundingBox())!;
  await app.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await app.mouse.wheel(0, -400);
  await expect(zo).not.toHaveText(before!);
  await expect(zo).toHaveText((await zr.textContent())!);
  // drag to pan: both panels show the same pixel under the same screen offset → the read-out agrees
  await app.mouse.down();
  await app.mouse.move(box.x + box.width / 2 + 30, box.y + box.height / 2 + 10, { steps: 4 });
  await app.mouse.up();
  await app.mouse.move(box.x + box.width / 2 + 5, box.y + box.height / 2 + 5);
  const pixRes = await app.getByTestId('readout-pixel').textContent();
  const ob = (await app.getByTestId('panel-observation').locator('.panel-view').boundingBox())!;
  await app.mouse.move(ob.x + ob.width / 2 + 5, ob.y + ob.height / 2 + 5);
  await expect(app.getByTestId('readout-pixel')).toHaveText(pixRes!);
  // the PNG snapshot of a panel
  const download = app.waitForEvent('download');
  await res.getByRole('button', { name: 'Save PNG' }).click();
  const file = await (await download).path();
  expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
  await shot(app, 'viewer-panels-locked.png');
  expect(consoleErrors).toEqual([]);
});

test('the CPU path draws what the WebGL2 shader draws, and says it is in use', async ({ page, server, consoleErrors }) => {
  const colours: Record<string, number[][]> = {};
  for (const r of ['webgl', 'cpu']) {
    await page.goto(`${server.url}&renderer=${r}`);
    await openByDialog(page, 'radio', 'purify_M31.fits');
    const panel = page.getByTestId('panel-observation');
    await expect(panel.locator('.panel-view')).toHaveAttribute('data-renderer', r === 'cpu' ? 'cpu' : 'webgl2');
    await page.getByLabel('Colour map', { exact: true }).selectOption('magma');
    await page.getByLabel('Scale', { exact: true }).selectOption('asinh');
    await page.getByLabel('Limits', { exact: true }).selectOption('percentile:99');
    await pointAtPixel(page, 'observation', 128, 128, 256, 256);
    await expect(page.getByTestId('readout-value')).toHaveText('0.11344');
    colours[r] = [];
    for (const [fx, fy] of [[0.5, 0.5], [0.45, 0.4], [0.55, 0.62], [0.4, 0.55]]) {
      colours[r].push(
        await page.getByTestId('panel-canvas-observation').evaluate((c: HTMLCanvasElement, f) => Array.from(c.getContext('2d')!.getImageData(Math.floor(c.width * f[0]), Math.floor(c.height * f[1]), 1, 1).data), [fx, fy]),
      );
    }
    if (r === 'cpu') await expect(page.getByTestId('renderer-note')).toContainText('Drawing on the CPU');
    await shot(page, `viewer-${r}-magma-asinh.png`);
  }
  // the same pixels, the same colours (float32 in the shader vs float64 here: at most one LUT step apart)
  colours.webgl.forEach((c, i) => c.forEach((v, k) => expect(Math.abs(v - colours.cpu[i][k])).toBeLessThanOrEqual(12)));
  expect(colours.webgl.some((c) => c[0] > 40)).toBe(true); // not all black: the points hit the galaxy
  expect(consoleErrors).toEqual([]);
});

test('the UI thread stays responsive: no long task ≥ 100 ms while panning, zooming, restyling and live updates', async ({ page, server, consoleErrors, browser }) => {
  // the renderer the app picks by itself (here: software GL → the CPU path; on a GPU: WebGL2)
  await page.goto(server.url);
  await openByDialog(page, 'radio', 'purify_30dor_spitzer8um.fits');
  await expect(page.getByTestId('panel-observation')).toBeVisible();
  await page.waitForTimeout(500);
  // traced from here: the app's start-up (bundle parse) is not an interaction
  const view = page.getByTestId('panel-observation').locator('.panel-view');
  const box = (await view.boundingBox())!;
  const tasks = await traceUiTasks(browser, page, async () => {
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -120);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 200, box.y + box.height / 2 + 80, { steps: 20 });
    await page.mouse.up();
    for (const s of ['log', 'sqrt', 'asinh', 'power', 'histeq', 'linear']) await page.getByLabel('Scale', { exact: true }).selectOption(s);
    for (const c of ['viridis', 'inferno', 'magma', 'cividis', 'coolwarm', 'grey']) await page.getByLabel('Colour map', { exact: true }).selectOption(c);
    for (const l of ['zscale', 'minmax', 'percentile:99.99', 'percentile:90']) await page.getByLabel('Limits', { exact: true }).selectOption(l);
    // live previews: a 256 × 256 "posterior mean" replaced ten times a second for two seconds
    await page.evaluate(async () => {
      const api = (window as unknown as { skyscoreViewer: { showImage(o: unknown): void } }).skyscoreViewer;
      const n = 256;
      for (let k = 0; k < 20; k++) {
        const data = new Float32Array(n * n);
        for (let i = 0; i < n * n; i++) data[i] = Math.sin((i % n) * 0.05 + k) * Math.cos(Math.floor(i / n) * 0.05);
        api.showImage({ id: 'mean', title: 'Posterior mean', role: 'mean', data, shape: [n, n] });
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  });
  await expect(page.getByTestId('panel-mean')).toBeVisible();
  const kind = await view.getAttribute('data-renderer');
  console.log(`renderer ${kind}`);
  mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'test-results', 'viewer-longtasks.json'), JSON.stringify({ renderer: kind, tasks }, null, 1));
  expectResponsive(tasks, 'panning, zooming, restyling and live updates');
  expect(consoleErrors).toEqual([]);
});
