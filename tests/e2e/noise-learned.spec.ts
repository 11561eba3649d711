/**
 * The learned noise model's Gaussian part in the app, end to end (Chromium against `skyscore serve`): a 64×64
 * observation of a Gaussian blob under drizzle-like noise (white noise of the noise prior's σ averaged over 2×2
 * pixels: neighbour correlation ≈ 0.5), the learned model with the fixture noise prior (tests/fixtures/noise-mixture),
 * its Gaussian part measured from a blank-sky box drawn with the correlated model's picker — the step shows the box's
 * neighbour correlation and spectrum — a short run, and report.json naming the box as the Gaussian part's spectrum and
 * the command line's `--noise-region` beside `--noise-prior`. Unticked, the box stays in the step but the run's learned
 * block is white's. Screenshots go to test-results/noise-learned/ (and $SKYSCORE_SHOTS).
 */
import { test as base, expect, userDirServer, type Server } from './fixtures.js';
import { downloadTo, dragBox, runShort } from './page-actions.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import os from 'node:os';
import { cpSync, readFileSync, mkdtempSync } from 'node:fs';
import { ROOT } from '../helpers/data.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { makeGaussianFieldPrior } from './small-prior.js';
import { shot } from './shots.js';

const userDir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-noise-learned-e2e-'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-noise-learned-dl-'));

const test = base.extend<{ app: Page }, { noiseServer: Server }>({
  noiseServer: userDirServer(userDir, () => {
    makeGaussianFieldPrior(path.join(userDir, 'models'), 'galaxies-gf');
    cpSync(path.join(ROOT, 'tests', 'fixtures', 'noise-mixture'), path.join(userDir, 'models', 'noise-mixture'), { recursive: true });
  }),
  app: async ({ page, noiseServer, consoleErrors }, use) => {
    void consoleErrors;
    await page.goto(noiseServer.url);
    await use(page);
  },
});

/** A seeded standard normal stream (Box–Muller on a 32-bit LCG). */
function normals(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/** 64×64: a Gaussian blob (peak 1, σ 5 px) at (40, 32), and white noise of σ 0.0426 averaged over 2×2 pixels (×2: the same σ). */
function observation(): Uint8Array {
  const n = 64;
  const w = normals(n * n, 11);
  const y = new Float32Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const noise = (0.0426 / 2) * (w[i * n + j]! + w[i * n + ((j + 1) % n)]! + w[((i + 1) % n) * n + j]! + w[((i + 1) % n) * n + ((j + 1) % n)]!);
      y[i * n + j] = Math.exp(-((j - 40) ** 2 + (i - 32) ** 2) / 50) + noise;
    }
  return writeFits([{ data: y, shape: [n, n] }]);
}

const download = (p: Page, click: () => Promise<void>): Promise<string> => downloadTo(tmp, p, click);


test("the learned model's Gaussian part from a blank-sky box: the step shows what was measured, and the run uses it", async ({ app: page, consoleErrors }) => {
  await page.getByTestId('open-fits-input').first().setInputFiles({ name: 'drizzled.fits', mimeType: 'application/fits', buffer: Buffer.from(observation()) });
  await expect(page.getByTestId('obs-name')).toHaveText('drizzled.fits');
  await page.getByTestId('psf-fwhm-0').fill('2');
  await expect(page.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');

  // the learned model, white Gaussian part first: no spectrum, the prior's σ
  await page.getByLabel('Learned noise prior').check();
  await page.getByTestId('noise-prior').selectOption('user/noise-mixture');
  await expect(page.getByTestId('noise-prior-facts')).toContainText('trained on 4096 patches of 16×16');
  const spectrumBox = page.getByTestId('noise-learned-spectrum');
  await expect(spectrumBox).not.toBeChecked();
  await expect(page.getByTestId('noise-learned-sigma')).toBeVisible();
  await expect(page.getByTestId('noise-learned-gaussian')).toHaveCount(0);
  await expect(page.getByTestId('noise-draw-box')).toHaveCount(0);

  // ticked: the correlated model's picker, a box over the blank left strip (x 0–15)
  await spectrumBox.check();
  await expect(page.getByLabel('a blank-sky box of the observation')).toBeChecked();
  await expect(page.getByTestId('noise-box')).toHaveText('no box yet');
  await expect(async () => {
    const button = page.getByTestId('noise-draw-box');
    if ((await button.getAttribute('aria-pressed')) !== 'true') await button.click();
    await dragBox(page.getByTestId('noise-draw').locator('canvas'), 0, 0, 15, 63, page);
    await expect(page.getByTestId('noise-box')).toHaveText('box x 0–15, y 0–63 (16×64 px)', { timeout: 2000 });
  }).toPass({ timeout: 30_000 });
  // the box is drawn over the observation in the viewer, as the correlated model's
  await expect(page.getByTestId('show-mask').locator('..')).toContainText('noise box');
  const estimate = page.getByTestId('noise-model-estimate');
  await expect(estimate).toHaveAttribute('data-state', 'ok');
  // what was measured: the box's neighbour correlation (2×2 averaging: ≈ 0.5), not the prior's training noise's (≈ 0)
  const gaussian = page.getByTestId('noise-learned-gaussian');
  await expect(gaussian).toContainText(/Gaussian part measured: neighbour correlation 0\.\d\d \(x\) \/ 0\.\d\d \(y\); a large aperture's mean has [\d.]+× the variance/);
  const [cx, cy] = /correlation (0\.\d\d) \(x\) \/ (0\.\d\d)/.exec((await gaussian.textContent())!)!.slice(1).map(Number);
  expect(cx).toBeGreaterThan(0.35);
  expect(cy).toBeGreaterThan(0.35);
  await expect(estimate).toContainText("the learned noise's Gaussian part: correlated, its spectrum measured from the region 0,0,16,64");
  await expect(page.getByTestId('noise-spectrum')).toBeVisible();
  await page.getByTestId('noise-learned-spectrum').scrollIntoViewIfNeeded();
  await shot(page, 'noise-learned-spectrum.png', 'noise-learned');

  // a short run with a small prior
  await runShort(page, 'galaxies-gf', 170_000);
  const reportFile = await download(page, () => page.getByTestId('export-report.json').click());
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  expect(report.noiseModel).toMatchObject({ model: 'learned', prior: 'noise-mixture', gaussianPart: { spectrumFrom: 'region 0,0,16,64' } });
  expect(Number(report.noiseModel.gaussianPart.lag1.x)).toBeGreaterThan(0.35);
  expect(report.command).toMatch(/--noise-model learned --noise-region 0,0,16,64 --noise-prior user\/noise-mixture .*\(from the app\)/);
  expect(report.likelihood.method).toBe('learned-noise');

  // unticked: the box stays (the correlated model's), the learned block is white's again
  await page.getByRole('tab', { name: 'Forward model' }).click();
  await page.getByTestId('noise-learned-spectrum').uncheck();
  await expect(page.getByTestId('noise-box')).toHaveCount(0);
  await expect(page.getByTestId('noise-learned-sigma')).toBeVisible();
  await expect(page.getByTestId('noise-learned-gaussian')).toHaveCount(0);
  await page.getByLabel('Correlated: measured spectrum').check();
  await expect(page.getByTestId('noise-box')).toHaveText('box x 0–15, y 0–63 (16×64 px)');
  expect(consoleErrors).toEqual([]);
});
