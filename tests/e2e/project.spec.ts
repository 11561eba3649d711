/**
 * The forward-model editor and the project file end to end (Chromium against `skyscore serve`): open a real FITS,
 * build a PSF + painted-mask model that the engine validates, preview A x, estimate σ, save the project, reload the
 * page, open the project and find everything again; bad input (a file that is not FITS, a damaged project, a PSF
 * with NaN) gives a clear message and keeps the user's work. Screenshots go to test-results/.
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import { ROOT, dataPath } from '../helpers/data.js';
import { writeFits } from '../../src-shared/fits/index.js';

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-project-e2e-'));

async function openObservation(p: Page, ...file: string[]) {
  await p.getByTestId('open-fits-input').first().setInputFiles(dataPath(...file));
  await expect(p.getByTestId('obs-name')).toHaveText(file[file.length - 1]!);
}

async function download(p: Page, click: () => Promise<void>): Promise<{ name: string; file: string }> {
  const [dl] = await Promise.all([p.waitForEvent('download'), click()]);
  const file = path.join(tmp, dl.suggestedFilename());
  await dl.saveAs(file);
  return { name: dl.suggestedFilename(), file };
}

test('build a forward model on a real image, save the project, reload and reopen it', async ({ app, consoleErrors }) => {
  await openObservation(app, 'radio', 'purify_cluster.fits');
  await expect(app.getByTestId('obs-shape')).toContainText('128×128');
  // the unknown takes the observation's shape; the default Gaussian PSF validates in the engine
  await expect(app.getByTestId('model-ny')).toHaveValue('128');
  await expect(app.getByTestId('model-ok')).toContainText('x [128×128] → y [128×128]');
  await expect(app.getByTestId('model-ok')).toContainText('Gaussian PSF, FWHM 2.5 px');

  // change the FWHM: the PSF thumbnail and the validation follow
  await app.getByTestId('psf-fwhm-0').fill('3.5');
  await expect(app.getByTestId('model-ok')).toContainText('FWHM 3.5 px');
  // kernel (2⌈4σ⌉+1)² with σ = 3.5/2.3548 = 1.486 px: 13×13
  await expect(app.getByTestId('psf-thumb-0')).toContainText('PSF 13×13');
  // a typo is refused next to the field, and the model keeps its last valid value
  await app.getByTestId('psf-fwhm-0').fill('-1');
  await expect(app.getByText('FWHM must be > 0 px')).toBeVisible();
  await app.getByTestId('psf-fwhm-0').fill('3.5');

  // a mask painted on the observation: drag a box
  await app.getByLabel('Add an operator').selectOption('mask');
  const painter = app.getByTestId('mask-painter-1').locator('canvas');
  await painter.scrollIntoViewIfNeeded();
  const box = (await painter.boundingBox())!;
  await app.mouse.move(box.x + box.width * 0.1, box.y + box.height * 0.1);
  await app.mouse.down();
  await app.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.25, { steps: 4 });
  await app.mouse.up();
  await expect(app.getByTestId('mask-painter-1')).toContainText(/[1-9]\d* of 16384 pixels masked/);
  await expect(app.getByTestId('model-ok')).toContainText(/mask mask-painted\.fits: \d+ of 16384 pixels observed/);
  const maskedText = await app.getByTestId('mask-painter-1').locator('figcaption').textContent();

  // preview A x: the observation (on the unknown's grid) through PSF and mask
  await app.getByTestId('preview-ax').click();
  await expect(app.getByTestId('preview-ax-image')).toContainText('A x, x = the observation');
  await expect(app.getByTestId('panel-preview-ax')).toBeVisible();

  // noise: typed σ
  await app.getByTestId('noise-sigma').fill('0.002');
  await shot(app, 'project-model-editor.png');

  // sampler settings
  await app.getByRole('tab', { name: 'Run' }).click();
  await app.getByTestId('run-seed').fill('1234');
  await app.getByTestId('run-steps').fill('20');

  const saved = await download(app, () => app.getByTestId('project-save').click());
  expect(saved.name).toBe('purify_cluster.skyscore.json');
  const doc = JSON.parse(readFileSync(saved.file, 'utf8'));
  expect(doc.format).toBe('skyscore-project');
  expect(doc.data.sha256).toBe(createHash('sha256').update(readFileSync(dataPath('radio', 'purify_cluster.fits'))).digest('hex'));
  expect(doc.model).toEqual({ shape: [128, 128], operators: [{ type: 'psf', fwhmPx: 3.5 }, { type: 'mask', fits: 'mask-painted.fits' }] });
  expect(doc.noise).toMatchObject({ mode: 'sigma', sigma: 0.002 });
  expect(doc.settings).toMatchObject({ sampler: 'pc', steps: 20, seed: 1234 });
  expect(doc.files.map((f: { name: string; role: string }) => [f.name, f.role])).toEqual([['mask-painted.fits', 'mask']]);

  // a fresh page: nothing loaded; open the project
  await app.reload();
  await expect(app.getByTestId('obs-name')).toHaveCount(0);
  await app.getByTestId('project-open').setInputFiles(saved.file);
  await expect(app.getByTestId('obs-name')).toHaveText('purify_cluster.fits');
  await expect(app.getByTestId('psf-fwhm-0')).toHaveValue('3.5');
  await expect(app.getByTestId('mask-painter-1').locator('figcaption')).toHaveText(maskedText!);
  await expect(app.getByTestId('noise-sigma')).toHaveValue('0.002');
  await expect(app.getByTestId('model-ok')).toContainText('mask mask-painted.fits');
  await app.getByRole('tab', { name: 'Run' }).click();
  await expect(app.getByTestId('run-seed')).toHaveValue('1234');
  await expect(app.getByTestId('run-steps')).toHaveValue('20');
  await shot(app, 'project-reopened.png');
  expect(consoleErrors).toEqual([]);
});

test('bad input: not a FITS file, a damaged project, a PSF with NaN — a clear message, the work kept', async ({ app }) => {
  await openObservation(app, 'fits', 'm13.fits');
  await expect(app.getByTestId('model-ok')).toBeVisible();

  // a text file as the observation: refused, the observation stays
  const notFits = path.join(tmp, 'notes.fits');
  writeFileSync(notFits, 'these are my observing notes, not a FITS file\n'.repeat(100));
  await app.getByTestId('obs-file').setInputFiles(notFits);
  await expect(app.getByTestId('notice-error').last()).toContainText('notes.fits is not a FITS file SkyScore can read');
  await expect(app.getByTestId('obs-name')).toHaveText('m13.fits');

  // a damaged project: refused, nothing replaced
  const bad = path.join(tmp, 'bad.skyscore.json');
  writeFileSync(bad, JSON.stringify({ format: 'skyscore-project', version: 1, data: null, model: { shape: [8, 8], operators: 'psf' } }));
  await app.getByTestId('project-open').setInputFiles(bad);
  await expect(app.getByTestId('notice-error').last()).toContainText("bad.skyscore.json: model: M.json: operators must be a list, got 'psf'");
  await expect(app.getByTestId('obs-name')).toHaveText('m13.fits');

  // a PSF image with a NaN pixel: the engine names the problem, the form keeps the file
  const k = new Float32Array(9 * 9).fill(1);
  k[40] = NaN;
  const psf = path.join(tmp, 'nan-psf.fits');
  writeFileSync(psf, writeFits([{ data: k, shape: [9, 9] }]));
  await app.getByLabel('From a FITS image').check();
  await app.getByTestId('psf-file-0').setInputFiles(psf);
  await expect(app.getByTestId('model-error')).toContainText("operators[0] (psf): 'nan-psf.fits' has 1 NaN or infinite pixel");
  await shot(app, 'project-bad-psf.png');

  // a real PSF from the shared data fixes it, and its thumbnail appears
  await app.getByTestId('psf-file-0').setInputFiles(dataPath('psf', 'spitzer_irac_ch1_flight_psf.fits'));
  await expect(app.getByTestId('model-ok')).toContainText('PSF from spitzer_irac_ch1_flight_psf.fits (81×81, normalised');
  await expect(app.getByTestId('psf-thumb-0')).toBeVisible();
});
