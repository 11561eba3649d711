/**
 * A large image in the browser host: a 4096 × 4096 float32 FITS file with a celestial WCS, opened by the
 * viewer's file input, is drawn within 2 s of the file being chosen, the cursor read-out gives the exact
 * pixel value and sky position, and the UI thread has no long task (≥ 100 ms) while it opens — both limits
 * scaled by the machine's load per core. The times are printed and written to test-results/large-image.json.
 * And the fallback: where the page cannot start its FITS worker, files open through the engine.
 */
import { test, expect } from './fixtures.js';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { writeFits } from '../../src-shared/fits/index.js';
import { FitsHeader } from '../../src-shared/fits/header.js';
import { ROOT, dataPath } from '../helpers/data.js';
import { traceUiTasks, expectResponsive } from './ui-tasks.js';

const N = 4096;

/** Sky background with noise (a fixed-seed hash), a gradient and a few Gaussian sources. */
function makeImage(): Float32Array {
  const data = new Float32Array(N * N);
  let s = 0x9e3779b9;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const sources = Array.from({ length: 40 }, () => ({ x: rnd() * N, y: rnd() * N, a: 50 + 5000 * rnd() ** 3, r: 2 + 20 * rnd() }));
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) data[y * N + x] = 100 + 0.002 * x + 5 * (rnd() + rnd() + rnd() - 1.5);
  }
  for (const g of sources) {
    const R = Math.ceil(4 * g.r);
    for (let y = Math.max(0, Math.floor(g.y - R)); y < Math.min(N, g.y + R); y++) {
      for (let x = Math.max(0, Math.floor(g.x - R)); x < Math.min(N, g.x + R); x++) data[y * N + x] += g.a * Math.exp(-((x - g.x) ** 2 + (y - g.y) ** 2) / (2 * g.r * g.r));
    }
  }
  return data;
}

function wcsHeader(): FitsHeader {
  const h = new FitsHeader();
  h.set('CTYPE1', 'RA---TAN');
  h.set('CTYPE2', 'DEC--TAN');
  h.set('CRPIX1', 2048.5);
  h.set('CRPIX2', 2048.5);
  h.set('CRVAL1', 150.0);
  h.set('CRVAL2', 2.2);
  h.set('CDELT1', -0.2 / 3600);
  h.set('CDELT2', 0.2 / 3600);
  h.set('CUNIT1', 'deg');
  h.set('CUNIT2', 'deg');
  h.set('RADESYS', 'ICRS');
  h.set('BUNIT', 'adu');
  return h;
}

test('a 4096 × 4096 image is drawn within 2 s of being chosen, with no long task on the UI thread while it opens and is zoomed, panned and restyled', async ({ page, server, consoleErrors, browser }) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-large-'));
  try {
    const data = makeImage();
    const file = path.join(dir, 'large-4096.fits');
    writeFileSync(file, writeFits([{ data, shape: [N, N], header: wcsHeader() }]));

    // in the page: the time the file is chosen (the input's change event) and the first frame in which the panel
    // canvas shows the image (its centre pixel is opaque)
    await page.addInitScript(() => {
      const w = window as unknown as { __chosen: number; __drawn: number };
      w.__chosen = 0;
      w.__drawn = 0;
      document.addEventListener(
        'change',
        (e) => {
          if (!(e.target instanceof HTMLInputElement) || e.target.type !== 'file') return;
          w.__chosen = performance.now();
          const probe = document.createElement('canvas').getContext('2d', { willReadFrequently: true })!;
          const look = () => {
            const c = document.querySelector<HTMLCanvasElement>('[data-testid="panel-canvas-observation"]');
            if (c && c.width > 1) {
              probe.canvas.width = 1;
              probe.canvas.height = 1;
              probe.drawImage(c, Math.floor(c.width / 2), Math.floor(c.height / 2), 1, 1, 0, 0, 1, 1);
              if (probe.getImageData(0, 0, 1, 1).data[3] === 255) {
                w.__drawn = performance.now();
                return;
              }
            }
            requestAnimationFrame(look);
          };
          requestAnimationFrame(look);
        },
        true,
      );
    });
    await page.goto(server.url);
    await expect(page.getByTestId('open-fits-input').first()).toBeAttached();
    await page.waitForTimeout(1000);
    // the UI thread's tasks are traced from here: the app's start-up (bundle parse) is not part of opening the file
    let shownMs = NaN;
    let px = 0;
    let py = 0;
    const panel = page.getByTestId('panel-observation');
    const view = panel.locator('.panel-view');
    const tasks = await traceUiTasks(browser, page, async () => {
      await page.getByTestId('open-fits-input').first().setInputFiles(file);
      await expect.poll(() => page.evaluate(() => (window as unknown as { __drawn: number }).__drawn), { timeout: 60_000 }).toBeGreaterThan(0);
      await expect(panel.locator('.panel-name')).toHaveText('large-4096.fits');
      const t = await page.evaluate(() => {
        const w = window as unknown as { __chosen: number; __drawn: number };
        return { chosen: w.__chosen, drawn: w.__drawn };
    });
    shownMs = t.drawn - t.chosen;

    // the read-out at the cursor: the exact value of the pixel under it (not a block mean), and its sky position
    const box = (await view.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.37, box.y + box.height * 0.61);
    await expect(page.getByTestId('readout-pixel')).toHaveText(/^\d+, \d+$/);
    [px, py] = (await page.getByTestId('readout-pixel').textContent())!.split(',').map((v) => Number(v.trim()) - 1) as [number, number];
    expect(px).toBeGreaterThan(0);
    expect(py).toBeGreaterThan(0);
    const want = data[py * N + px];
    const shown = Number(await page.getByTestId('readout-value').textContent());
    // the read-out prints 5 significant digits
    expect(Math.abs(shown - want)).toBeLessThanOrEqual(Math.abs(want) * 5e-5);
    // the gnomonic (TAN) projection's inverse in closed form; the read-out prints 7 decimals of a degree
    const rad = Math.PI / 180;
    const xi = ((-0.2 / 3600) * (px + 1 - 2048.5)) * rad;
    const eta = ((0.2 / 3600) * (py + 1 - 2048.5)) * rad;
    const d0 = 2.2 * rad;
    const wantLat = Math.asin((Math.sin(d0) + eta * Math.cos(d0)) / Math.sqrt(1 + xi * xi + eta * eta)) / rad;
    const wantLon = 150 + Math.atan2(xi, Math.cos(d0) - eta * Math.sin(d0)) / rad;
    expect(Math.abs(Number(await page.getByTestId('readout-lat').textContent()) - wantLat)).toBeLessThan(1.5e-7);
    expect(Math.abs(Number(await page.getByTestId('readout-lon').textContent()) - wantLon)).toBeLessThan(1.5e-7);
    // and it stays responsive: zoom, pan and restyle the large image
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 6; i++) await page.mouse.wheel(0, -120);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 150, box.y + box.height / 2 + 60, { steps: 10 });
    await page.mouse.up();
    for (const sc of ['asinh', 'histeq', 'linear']) await page.getByLabel('Scale', { exact: true }).selectOption(sc);
    for (const l of ['zscale', 'percentile:99.9']) await page.getByLabel('Limits', { exact: true }).selectOption(l);
    await page.waitForTimeout(500);
    });

    // The time to the first frame is wall-clock time: on a machine busier than its cores (other jobs), the
    // scheduler stretches all work, so the 2 s is scaled by the load per core there (and said so), as the UI
    // tasks' wall-clock budget is (ui-tasks.ts).
    const perCore = os.loadavg()[0] / os.cpus().length;
    const shownBudget = 2000 * Math.max(1, perCore);
    const kind = await view.getAttribute('data-renderer');
    console.log(`4096 × 4096 float32 (${(N * N * 4) / 2 ** 20} MiB): drawn ${Math.round(shownMs)} ms after the file was chosen (budget ${shownBudget.toFixed(0)} ms, load per core ${perCore.toFixed(1)}); renderer ${kind}`);
    mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'test-results', 'large-image.json'), JSON.stringify({ shownMs, shownBudgetMs: shownBudget, renderer: kind, tasks, loadPerCore: perCore }, null, 1));
    expect(shownMs).toBeLessThan(shownBudget);
    expectResponsive(tasks, 'opening, zooming, panning and restyling a 4096² image');
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('where the page cannot start its FITS worker, files open through the engine', async ({ page, server, consoleErrors }) => {
  let refused = 0;
  await page.route('**/fits-worker*', (r) => {
    refused++;
    return r.abort();
  });
  await page.goto(server.url);
  await page.getByTestId('open-fits-input').first().setInputFiles(dataPath('fits', 'm13.fits'));
  const panel = page.getByTestId('panel-observation');
  await expect(panel.locator('.panel-name')).toHaveText('m13.fits');
  await page.getByLabel('Limits', { exact: true }).selectOption('zscale');
  // astropy ZScaleInterval on m13.fits: (109.0, 216.4366865602338), as the engine computes it too
  await expect(page.getByLabel('Lower limit')).toHaveValue('109');
  await expect(page.getByLabel('Upper limit')).toHaveValue('216.44');
  await expect(page.getByTestId('viewer-error')).toHaveCount(0);
  expect(refused).toBeGreaterThan(0);
  // the aborted worker script is the only error the page reports
  expect(consoleErrors.filter((e) => !/fits-worker|net::ERR_FAILED/.test(e))).toEqual([]);
});
