/**
 * Fitting a lens in the app (Chromium against `skyscore serve`): a small simulated lens (image, σ map and PSF as
 * FITS files in a temporary folder) opened, the lens operator's "Fit lens" run with fast settings; the fitted
 * parameters' table (after a first fit stopped), log Z and χ²/pixel, the residual and the other products in viewer panels, the fitted critical
 * curves over the observation and the caustics over the source inversion; "Use the fitted lens" makes the fitted
 * model the editor's forward model (the lens light as its additive image).
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { simulateLens } from '../helpers/lens-sim.js';
import { writeFits } from '../../src-shared/fits/index.js';

const N = 40;
const SHOTS = 'test-results/lens-fit';
mkdirSync(SHOTS, { recursive: true });

/** Pixels of a panel's overlay canvas in a colour: the fitted critical curves' orange, the caustics' blue. */
async function colouredPixels(p: Page, panel: string, colour: 'orange' | 'blue'): Promise<number> {
  return p.getByTestId(`overlay-${panel}`).evaluate((c: HTMLCanvasElement, colour) => {
    if (!c.width || !c.height || !c.dataset.drawn) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 0; k < d.length; k += 4) {
      if (d[k + 3]! <= 100) continue;
      if (colour === 'orange' ? d[k]! > 200 && d[k + 1]! > 120 && d[k + 1]! < 190 && d[k + 2]! < 100 : d[k]! < 120 && d[k + 1]! > 120 && d[k + 2]! > 200) n++;
    }
    return n;
  }, colour);
}

test('fits a simulated lens: parameters, residual panel, curves, and the fitted lens as the forward model', async ({ app, consoleErrors }) => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-e2e-'));
  try {
    const sim = simulateLens({ size: N, psfSize: 5, seed: 4, galaxy: 9, lens: { thetaE: 0.7, q: 0.8, phi: -0.3, x0: -0.02, y0: 0.03, gamma1: 0.02, gamma2: 0.01 } });
    const f = (n: string) => path.join(dir, n);
    writeFileSync(f('lens.fits'), writeFits([{ data: Float32Array.from(sim.data), shape: [N, N] }]));
    writeFileSync(f('sigma.fits'), writeFits([{ data: Float32Array.from(sim.sigma), shape: [N, N] }]));
    writeFileSync(f('psf.fits'), writeFits([{ data: Float32Array.from(sim.psf.data), shape: [sim.psf.shape[1], sim.psf.shape[0]] }]));

    await app.getByTestId('open-fits-input').first().setInputFiles(f('lens.fits'));
    await expect(app.getByTestId('model-ok')).toContainText(`x [${N}×${N}] → y [${N}×${N}]`);
    await app.getByLabel('σ map (FITS)').check();
    await app.getByLabel('Noise sigma map FITS file').setInputFiles(f('sigma.fits'));
    await expect(app.getByTestId('noise-map-range')).toHaveText('σ from 0.02 to 0.02 (median 0.02)');
    await app.getByLabel('Add an operator').selectOption('lens');
    await app.getByLabel('Image pixel').fill('0.05');
    await app.getByLabel('Image pixel').press('Tab');
    await app.getByTestId('psf-kind-fits-1').check();
    await app.getByTestId('psf-file-1').setInputFiles(f('psf.fits'));
    await expect(app.getByTestId('psf-thumb-1')).toBeVisible();

    // Stop: a fit with the default settings (three starts, errors) ends when asked, with nothing kept
    const fit = app.getByTestId('lens-fit');
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-progress')).toContainText(/lens-fit: \d+s/);
    await fit.getByTestId('lens-fit-stop').click();
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('stopped', { timeout: 10_000 });
    await expect(fit.getByTestId('lens-fit-result')).toHaveCount(0);

    // fast settings: an annulus around the arcs, one start, small source grids, no errors
    await fit.getByTestId('lens-fit-mask').selectOption('annulus');
    for (const [id, v] of [['lens-fit-r2', '0.95'], ['lens-fit-starts', '1'], ['lens-fit-fit-source', '8'], ['lens-fit-source', '12']] as const) {
      await fit.getByTestId(id).fill(v);
      await fit.getByTestId(id).press('Tab');
    }
    await fit.getByTestId('lens-fit-errors').uncheck();
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-progress')).toBeVisible();
    await expect(fit.getByTestId('lens-fit-progress')).toContainText(/lens-fit: \d+s/);
    await fit.scrollIntoViewIfNeeded();
    await app.screenshot({ path: `${SHOTS}/lens-fit-progress.png` });

    await expect(fit.getByTestId('lens-fit-table')).toBeVisible({ timeout: 240_000 });
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('done');
    const thetaE = Number((await fit.getByTestId('lens-fit-row-thetaE').locator('td').nth(1).textContent())!.trim());
    expect(Math.abs(thetaE - 0.7) / 0.7).toBeLessThan(0.05);
    await expect(fit.getByTestId('lens-fit-row-light0.rEff')).toBeVisible();
    await expect(fit.getByTestId('lens-fit-evidence')).toContainText(/log Z = -?\d+\.\d\d · χ²\/pixel = \d\.\d{3} over \d+ pixels/);
    await expect(fit).toContainText('skyscore lens-fit --obs lens.fits --noise-map sigma.fits --psf psf.fits --pixel-scale 0.05 --annulus 0,0.95');
    for (const id of ['lens-light', 'lens-subtracted', 'lens-model', 'lens-residual', 'lens-source']) await expect(app.getByTestId(`panel-${id}`)).toBeVisible();
    // the fitted critical curves over the observation (orange) and the residual; the caustics over the source inversion (blue)
    await expect.poll(() => colouredPixels(app, 'observation', 'orange'), { timeout: 15_000 }).toBeGreaterThan(20);
    await expect.poll(() => colouredPixels(app, 'lens-residual', 'orange'), { timeout: 15_000 }).toBeGreaterThan(20);
    await expect.poll(() => colouredPixels(app, 'lens-source', 'blue'), { timeout: 15_000 }).toBeGreaterThan(10);
    await app.screenshot({ path: `${SHOTS}/lens-fit-result.png` });
    await fit.getByTestId('lens-fit-table').scrollIntoViewIfNeeded();
    await fit.screenshot({ path: `${SHOTS}/lens-fit-table.png` });

    // the products export as the engine made them
    const dl = app.waitForEvent('download');
    await fit.getByTestId('lens-fit-export-lens.json').click();
    const lensJson = JSON.parse(await (await (await dl).createReadStream()).toArray().then((b) => Buffer.concat(b).toString('utf8')));
    expect(lensJson.parameters.thetaE.value).toBeCloseTo(thetaE, 3);

    // the fitted lens as the forward model: lens on the 12×12 source grid → PSF → mask, the light as additive image
    await fit.getByTestId('lens-fit-use').click();
    await expect(app.getByTestId('model-ok')).toContainText(`x [12×12] → y [${N}×${N}]`);
    await expect(app.getByTestId('operator-0')).toContainText('Strong lens');
    await expect(app.getByTestId('operator-1')).toContainText('PSF');
    await expect(app.getByTestId('operator-2')).toContainText('Mask');
    await expect(app.getByLabel('θE')).toHaveValue(String(lensJson.parameters.thetaE.value));
    await app.screenshot({ path: `${SHOTS}/lens-fit-used.png` });
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
