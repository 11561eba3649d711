/**
 * The forward-model editor follows the physics (Chromium against `skyscore serve`, a real 64×64 SDSS galaxy of
 * the Galaxy Zoo cube): a new operator goes where it belongs in the chain (lens → PSF → mask, uv sampling last),
 * the shapes are checked live against the data, an out-of-order chain is explained and reordered, the PSF keeps
 * its FWHM through a switch to a FITS PSF and back, and refused values are worded in the field's units. Screenshots
 * go to /tmp/shots-diag.
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';

const SHOTS = '/tmp/shots-diag';
mkdirSync(SHOTS, { recursive: true });
const shot = (p: Page, name: string) => p.screenshot({ path: path.join(SHOTS, name) });
const header = (p: Page, i: number) => p.getByTestId(`operator-${i}`).locator('header');

test('operators go where they belong, shapes are checked live, the order can be put right', async ({ app, consoleErrors }) => {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits'));
  await expect(app.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');
  await expect(header(app, 0)).toContainText('PSF (convolution)');

  // a lens goes before the PSF (it maps the source plane to the sky the telescope blurs)
  await app.getByLabel('Add an operator').selectOption('lens');
  await expect(header(app, 0)).toContainText('Strong lens');
  await expect(header(app, 1)).toContainText('PSF (convolution)');
  // the lens makes a 96×96 image of the 64×64 source: the chain's output is not the data's, said on the last stage
  await expect(app.getByTestId('operator-shape-0')).toHaveText('64×64 → 96×96');
  await expect(app.getByTestId('operator-shape-1')).toHaveText('96×96 → 96×96 ≠ data 64×64');
  await expect(app.getByTestId('order-advice')).toHaveCount(0);

  // the mass profile: an EPL gets its slope (2, the SIE's, to start) and its critical curves; back to the SIE
  await app.getByTestId('lens-model-0').selectOption('EPL');
  await expect(app.getByTestId('lens-gamma-0')).toHaveValue('2');
  await app.getByTestId('lens-gamma-0').fill('2.3');
  await expect(app.getByTestId('lens-gamma-0')).toHaveValue('2.3');
  await expect(app.getByTestId('lens-curves-0')).toContainText('critical curve');
  await app.getByTestId('operator-0').scrollIntoViewIfNeeded();
  await shot(app, 'editor-lens-epl.png');
  await app.getByTestId('lens-model-0').selectOption('SIE');
  await expect(app.getByTestId('lens-gamma-0')).toHaveCount(0);
  await expect(app.getByTestId('lens-model-0')).toHaveValue('SIE');

  // a mask goes after the PSF; uv sampling last
  await app.getByLabel('Add an operator').selectOption('uv-sampling');
  await app.getByLabel('Add an operator').selectOption('mask');
  await expect(header(app, 2)).toContainText('Mask');
  await expect(header(app, 3)).toContainText('Interferometer');
  await shot(app, 'editor-chain.png');

  // moved out of order: the editor says why, and puts it right
  await app.getByLabel('Move operator 1 down').click();
  await expect(header(app, 0)).toContainText('PSF (convolution)');
  await expect(app.getByTestId('order-advice')).toContainText('a PSF before the lens blurs the source plane');
  await app.getByTestId('order-advice').scrollIntoViewIfNeeded();
  await shot(app, 'editor-order-advice.png');
  await app.getByTestId('order-fix').click();
  await expect(app.getByTestId('order-advice')).toHaveCount(0);
  await expect(header(app, 0)).toContainText('Strong lens');
  await expect(header(app, 1)).toContainText('PSF (convolution)');

  // back to the PSF alone: the shapes agree again
  await app.getByLabel('Remove operator 4').click();
  await app.getByLabel('Remove operator 3').click();
  await app.getByLabel('Remove operator 1').click();
  await expect(app.getByTestId('operator-shape-0')).toHaveText('64×64 → 64×64');
  await expect(app.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');
  expect(consoleErrors).toEqual([]);
});

test('the PSF keeps its FWHM through a switch of kind, and refused values speak in pixels', async ({ app }) => {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits'));
  await expect(app.getByTestId('model-ok')).toContainText('x [64×64] → y [64×64]');
  const fwhm = app.getByTestId('psf-fwhm-0');
  await fwhm.fill('3.7');
  await expect(app.getByTestId('model-ok')).toContainText('FWHM 3.7 px');
  await app.getByTestId('psf-kind-fits-0').check();
  await expect(fwhm).toHaveCount(0);
  await app.getByTestId('psf-kind-gaussian-0').check();
  await expect(fwhm).toHaveValue('3.7');
  await expect(app.getByTestId('model-ok')).toContainText('FWHM 3.7 px');

  // a FITS PSF chosen, then back to a Gaussian: the FWHM it had, not the default
  await app.getByTestId('psf-kind-fits-0').check();
  await app.getByTestId('psf-file-0').setInputFiles(dataPath('psf', 'lenstronomy_tinytim_psf_example.fits'));
  await expect(app.getByTestId('psf-thumb-0')).toBeVisible();
  await app.getByTestId('psf-kind-gaussian-0').check();
  await expect(fwhm).toHaveValue('3.7');

  // refused values, in the field's words and units
  await fwhm.fill('-1');
  await expect(app.getByText('FWHM must be > 0 px')).toBeVisible();
  await fwhm.fill('0');
  await expect(app.getByText('FWHM must be > 0 px')).toBeVisible();
  await fwhm.fill('abc');
  await expect(app.getByText('FWHM: enter a number (px)')).toBeVisible();
  await expect(app.locator('body')).not.toContainText('5e-324');
  await fwhm.scrollIntoViewIfNeeded();
  await shot(app, 'editor-fwhm-message.png');
  // the model kept its last valid value
  await expect(app.getByTestId('model-ok')).toContainText('FWHM 3.7 px');
});

test('the prior card reads as a card: what it is for, the evaluation and the limits first, the rest folded, within the panel', async ({ app, consoleErrors }) => {
  await app.getByRole('tab', { name: 'Prior' }).click();
  await app.getByLabel('Prior galaxy-64').check();
  const card = app.getByTestId('prior-card');
  await expect(card).toContainText('What it is for.');
  const evaluation = card.getByTestId('card-section-evaluation');
  await expect(evaluation.locator('table')).toBeVisible();
  await expect(evaluation.locator('th', { hasText: 'measure' })).toBeVisible();
  await expect(card.getByTestId('card-section-limits')).toContainText('Small for its task');
  // the rest is folded: present, closed, opened on demand
  const training = card.locator('details.card-fold', { has: app.locator('summary', { hasText: /^Training$/ }) });
  await expect(training).toHaveCount(1);
  await expect(training).not.toHaveAttribute('open', '');
  const folded = await card.locator('details.card-fold:not([open])').count();
  expect(folded).toBeGreaterThanOrEqual(5);
  // the order: intro, then Evaluation, then Limits, then the folded sections
  const text = (await card.textContent())!;
  expect(text.indexOf('What it is for')).toBeLessThan(text.indexOf('Evaluation'));
  expect(text.indexOf('Evaluation')).toBeLessThan(text.indexOf('Limits'));
  expect(text.indexOf('Limits')).toBeLessThan(text.indexOf('Data and provenance'));
  // it fits the panel: nothing wider than the side panel but a table's own scroller
  const overflow = await card.evaluate((el) => el.scrollWidth - el.clientWidth);
  expect(overflow).toBeLessThanOrEqual(1);
  await card.scrollIntoViewIfNeeded();
  await shot(app, 'prior-card.png');
  await training.locator('summary').click();
  await expect(training).toHaveAttribute('open', '');
  // the training form below it (its name field's pattern) raises no console error
  await expect(app.getByLabel('New prior name')).toBeAttached();
  await app.getByLabel('New prior name').fill('my-prior_2');
  expect(consoleErrors).toEqual([]);
});
