/**
 * The noise models in the app, end to end (Chromium against `skyscore serve`), as a user goes: a real image (a
 * 64×64 SDSS galaxy of the Galaxy Zoo cube, whose JPEG-derived, box-averaged noise is correlated), correlated noise
 * measured from a box drawn over blank sky (a box too small is refused in pixels), the spectrum's radial profile
 * beside white noise, a short run with a small prior, the noise diagnostics after it (the residual's spectrum and
 * histogram against the model, the verdict), report.json naming the command line's flags, Poisson–Gaussian counts
 * (this image's header has no gain: the field asks for it; then the σ range), a σ map's range, and the project saved and reopened with the choice kept — the same run
 * again gives the same mean. Screenshots go to test-results/.
 */
import { test as base, expect, userDirServer, type Server } from './fixtures.js';
import { downloadTo, dragBox, runShort } from './page-actions.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import os from 'node:os';
import { readFileSync, mkdtempSync } from 'node:fs';
import { ROOT, dataPath } from '../helpers/data.js';
import { readFits, writeFits } from '../../src-shared/fits/index.js';
import { makeGaussianFieldPrior } from './small-prior.js';

const userDir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-noise-e2e-'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-noise-dl-'));

const test = base.extend<{ app: Page }, { noiseServer: Server }>({
  noiseServer: userDirServer(userDir, () => {
    makeGaussianFieldPrior(path.join(userDir, 'models'), 'galaxies-gf');
  }),
  app: async ({ page, noiseServer, consoleErrors }, use) => {
    void consoleErrors;
    await page.goto(noiseServer.url);
    await use(page);
  },
});
const CUBE = ['train', 'galaxyzoo_kaggle2000_gray64.fits'];
const PLANE = 1500;

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });

const download = (p: Page, click: () => Promise<void>): Promise<string> => downloadTo(tmp, p, click);


/**
 * Opens the step's drawing canvas and drags the box until the step reads it back: a drag the page's layout moved
 * under the pointer (an answer from the engine arriving mid-drag) is drawn again, and only the exact box passes.
 */
async function drawNoiseBox(page: Page, box: [number, number, number, number], want: string) {
  await expect(async () => {
    const button = page.getByTestId('noise-draw-box');
    if ((await button.getAttribute('aria-pressed')) !== 'true') await button.click();
    await dragBox(page.getByTestId('noise-draw').locator('canvas'), ...box, page);
    await expect(page.getByTestId('noise-box')).toHaveText(want, { timeout: 2000 });
  }).toPass({ timeout: 30_000 });
}

async function meanOf(p: Page): Promise<Float32Array> {
  const f = await download(p, () => p.getByTestId('export-posterior-mean.fits').click());
  return readFits(new Uint8Array(readFileSync(f))).hdus[0]!.readImage().data as Float32Array;
}

test('correlated noise from a drawn box: the spectrum, a short run, the noise diagnostics, the project keeps the choice', async ({ app: page, consoleErrors }) => {
  await page.getByTestId('open-fits-input').first().setInputFiles(dataPath(...CUBE));
  await expect(page.getByTestId('obs-name')).toHaveText(CUBE[1]!);
  await page.getByTestId('plane-input').fill(String(PLANE + 1));
  await page.getByTestId('plane-input').press('Enter');
  await expect(page.getByLabel('Observation plane')).toHaveValue(String(PLANE + 1));
  await page.getByTestId('psf-fwhm-0').fill('3');
  await expect(page.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');

  // correlated noise: a box too small first (refused in pixels), then the blank left strip of the image
  await page.getByLabel('Correlated: measured spectrum').check();
  await expect(page.getByLabel('a blank-sky box of the observation')).toBeChecked();
  await expect(page.getByTestId('noise-box')).toHaveText('no box yet');
  await drawNoiseBox(page, [2, 2, 5, 5], 'box x 2–5, y 2–5 (4×4 px)');
  await expect(page.getByTestId('noise-model-error')).toContainText('the box is 4×4 pixels; at least 8×8 are needed to measure a noise spectrum');
  await drawNoiseBox(page, [0, 0, 15, 63], 'box x 0–15, y 0–63 (16×64 px)');
  // the box is drawn over the observation in the viewer too
  await expect(page.getByTestId('show-mask').locator('..')).toContainText('noise box');
  const estimate = page.getByTestId('noise-model-estimate');
  await expect(estimate).toHaveAttribute('data-state', 'ok');
  await expect(estimate).toContainText(/σ = \d+(\.\d+)?; neighbour correlation 0\.\d\d \(x\) \/ 0\.\d\d \(y\)/);
  await expect(page.getByTestId('noise-correlation')).toContainText(/correlation length \d+(\.\d+)? px: a large aperture's mean has \d+(\.\d+)?× the variance/);
  const spectrum = page.getByTestId('noise-spectrum');
  await expect(spectrum).toBeVisible();
  // the radial profile beside the white level: rings of width 1/64 up to |k| = 0.5, the first (only k = 0) left out: 31 points each
  expect(Number(await spectrum.getAttribute('data-points'))).toBe(62);
  await expect(spectrum).toContainText('white, same σ');
  const sigmaText = (await estimate.locator('p').first().textContent())!;
  const sigma = Number(/σ = ([\d.]+)/.exec(sigmaText)![1]);
  // the measured σ of this strip (the engine's estimate, spectrum.ts: 3.67 for this plane's pixels)
  expect(sigma).toBeGreaterThan(2);
  expect(sigma).toBeLessThan(6);
  await spectrum.scrollIntoViewIfNeeded();
  await shot(page, 'noise-correlated.png');

  // a short run with a small prior
  await runShort(page, 'galaxies-gf', 150_000);

  // the noise diagnostics of report.json: spectrum and histogram against the model, the statistics, the verdict
  const diag = page.getByTestId('noise-diagnostics');
  await expect(diag).toBeVisible();
  await expect(diag).toContainText('Noise model correlated (region 0,0,16,64)');
  expect(Number(await page.getByTestId('noise-diag-spectrum').getAttribute('data-points'))).toBe(62);
  expect(Number(await page.getByTestId('noise-diag-histogram').getAttribute('data-points'))).toBe(40);
  await expect(page.getByTestId('noise-diag-ratio')).toHaveText(/^\d+(\.\d+)?$/);
  await expect(page.getByTestId('noise-diag-ks')).toHaveText(/^\d+(\.\d+)?$/);
  const verdict = await diag.getAttribute('data-verdict');
  await expect(page.getByTestId('noise-diag-verdict').first()).toHaveText(verdict === 'ok' ? 'The residuals agree with the noise model.' : /⚠ noise model 'correlated' looks wrong/);
  const reportFile = await download(page, () => page.getByTestId('export-report.json').click());
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  expect(report.noiseModel).toMatchObject({ model: 'correlated', source: 'region 0,0,16,64' });
  expect(report.noiseModel.measuredSigma).toBeCloseTo(sigma, 2);
  expect(report.command).toMatch(/--noise-model correlated --noise-region 0,0,16,64 .*\(from the app\)/);
  expect(report.likelihood.method).toBe('correlated-cg');
  // the panel shows the report's figures and verdict
  expect(Number(await page.getByTestId('noise-diag-ratio').textContent())).toBeCloseTo(report.noiseDiagnostics.spectralRatio, 2);
  expect(verdict).toBe(report.noiseDiagnostics.warnings.length ? 'warn' : 'ok');
  console.log(`noise diagnostics: spectral ratio ${report.noiseDiagnostics.spectralRatio.toFixed(3)}, KS ${report.noiseDiagnostics.ksDistance.toFixed(4)}, warnings ${report.noiseDiagnostics.warnings.length}`);
  await diag.scrollIntoViewIfNeeded();
  await shot(page, 'noise-diagnostics.png');
  const mean1 = await meanOf(page);

  // Poisson–Gaussian: this image has no gain in its header; the field says so, and a read noise alone is not enough
  await page.getByRole('tab', { name: 'Forward model' }).click();
  await page.getByLabel('Poisson–Gaussian (counts)').check();
  await expect(page.getByTestId('noise-section')).toContainText('the header has no GAIN, CCDGAIN or ATODGAIN: type the gain (> 0 e⁻/ADU)');
  await page.getByTestId('noise-read-noise').fill('5');
  await expect(page.getByTestId('noise-model-error')).toContainText('needs the gain in e⁻/ADU');
  await page.getByTestId('noise-gain').fill('2');
  await expect(page.getByTestId('noise-variance-range')).toContainText(/σ from [\d.]+ to [\d.]+ \(median [\d.]+\); variance [\d.]+ to [\d.]+/);
  await page.getByTestId('noise-variance-range').scrollIntoViewIfNeeded();
  await shot(page, 'noise-poisson-gaussian.png');
  // a σ map: its range as the run would use it (NaN: a pixel without information, left out)
  const map = new Float32Array(64 * 64).fill(3);
  map[5] = 5;
  map[6] = NaN;
  await page.getByLabel('σ map (FITS)').check();
  await page.getByLabel('Noise sigma map FITS file').setInputFiles({ name: 'sigma.fits', mimeType: 'application/fits', buffer: Buffer.from(writeFits([{ data: map, shape: [64, 64] }])) });
  await expect(page.getByTestId('noise-map-range')).toHaveText('σ from 3 to 5 (median 3)');
  // back to the correlated model: its box is still there
  await page.getByLabel('Correlated: measured spectrum').check();
  await expect(page.getByTestId('noise-box')).toHaveText('box x 0–15, y 0–63 (16×64 px)');
  await expect(page.getByTestId('noise-model-estimate')).toHaveAttribute('data-state', 'ok');

  // save the project, reopen it in a fresh page: the choice is kept, and Run reproduces the mean
  const project = await download(page, () => page.getByTestId('project-save').click());
  const saved = JSON.parse(readFileSync(project, 'utf8'));
  expect(saved.noise).toMatchObject({ mode: 'correlated', corrSource: 'region', corrRegion: { x0: 0, y0: 0, x1: 16, y1: 64 }, gain: 2, readNoise: 5 });
  await page.reload();
  await page.getByTestId('project-open').setInputFiles(project);
  await expect(page.getByTestId('obs-name')).toHaveText(CUBE[1]!);
  await page.getByRole('tab', { name: 'Forward model' }).click();
  await expect(page.getByLabel('Correlated: measured spectrum')).toBeChecked();
  await expect(page.getByTestId('noise-box')).toHaveText('box x 0–15, y 0–63 (16×64 px)');
  await expect(page.getByTestId('noise-model-estimate')).toContainText(sigmaText);
  await expect(page.getByTestId('noise-spectrum')).toBeVisible();
  // the Noise step is ticked: the run can take this noise
  await expect(page.getByRole('button', { name: 'Noise: done' })).toBeVisible();
  await page.getByTestId('noise-spectrum').scrollIntoViewIfNeeded();
  await shot(page, 'noise-reopened.png');
  await page.getByRole('tab', { name: 'Run' }).click();
  await expect(page.getByTestId('run-seed')).toHaveValue('7');
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(page.getByTestId('noise-diagnostics')).toContainText('Noise model correlated (region 0,0,16,64)');
  const mean2 = await meanOf(page);
  expect(Array.from(mean2)).toEqual(Array.from(mean1));

  // the viewer's box region on the observation becomes the noise box: the same pixels as its statistics count
  await page.getByTestId('drag-tool').selectOption('box');
  const view = page.getByTestId('panel-observation').locator('.panel-view');
  const vb = (await view.boundingBox())!;
  // from the image's lower right (the letterbox below it is clamped to row 0) up and left: a box of about 20×30 px
  await page.mouse.move(vb.x + vb.width * 0.98, vb.y + vb.height * 0.9);
  await page.mouse.down();
  await page.mouse.move(vb.x + vb.width * 0.9, vb.y + vb.height * 0.7, { steps: 4 });
  await page.mouse.move(vb.x + vb.width * 0.78, vb.y + vb.height * 0.45, { steps: 4 });
  await page.mouse.up();
  const count = Number(await page.getByTestId('region-count').textContent());
  expect(count).toBeGreaterThan(20);
  await page.getByRole('tab', { name: 'Forward model' }).click();
  await page.getByTestId('noise-viewer-box').click();
  const boxText = (await page.getByTestId('noise-box').textContent())!;
  const m = /^box x (\d+)–(\d+), y (\d+)–(\d+) \((\d+)×(\d+) px\)$/.exec(boxText)!;
  expect(Number(m[5]) * Number(m[6]), boxText).toBe(count);
  // the estimate shown is the new box's (never the previous box's figures)
  const region = [Number(m[1]), Number(m[3]), Number(m[2]) + 1, Number(m[4]) + 1];
  await expect(page.getByTestId('noise-model-estimate')).toHaveAttribute('data-state', 'ok');
  await expect(page.getByTestId('noise-model-estimate')).toHaveAttribute('data-key', new RegExp(`"region":\\[${region.join(',')}\\]`));
  await expect(page.getByTestId('noise-spectrum')).toBeVisible();
  await page.getByTestId('noise-box').scrollIntoViewIfNeeded();
  await shot(page, 'noise-viewer-box.png');
  expect(consoleErrors).toEqual([]);
});
