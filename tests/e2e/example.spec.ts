/**
 * The bundled example end to end (Chromium against `skyscore serve`): a fresh profile shows the welcome card;
 * opening the example puts the observation in the viewer (64×64) with the truth beside it, the Gaussian PSF
 * in the model editor, σ, the default prior selected and the demo's settings in the Run tab; a short run of
 * it finishes. Dismissing the card lasts across a reload, and the toolbar's "Open example" still loads it.
 * Screenshots go to test-results/ (and to $SKYSCORE_SHOTS when set).
 */
import { test, expect } from './fixtures.js';
import { shot } from './shots.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { readFileSync, existsSync } from 'node:fs';
import { ROOT } from '../helpers/data.js';

const demo = JSON.parse(readFileSync(path.join(ROOT, 'assets', 'demo', 'demo.json'), 'utf8')) as { noise: number; seed: number; observation: string };
const model = JSON.parse(readFileSync(path.join(ROOT, 'assets', 'demo', 'model.json'), 'utf8')) as { shape: [number, number]; operators: { fwhmPx: number }[] };
const [NY, NX] = model.shape;
const FWHM = model.operators[0]!.fwhmPx;
// the Gaussian kernel is (2⌈4σ⌉+1)² with σ = FWHM/2.3548 (docs/forward-models.md)
const K = 2 * Math.ceil((4 * FWHM) / 2.3548) + 1;
// defaultPrior()'s rule: the learned galaxy-64 when installed, else the Gaussian-field stand-in
const DEFAULT_PRIOR = existsSync(path.join(ROOT, 'models', 'galaxy-64', 'model.json')) ? 'galaxy-64' : 'galaxy-gaussian-64';


/** The example is in: viewer, editor, noise, prior, settings. */
async function expectExampleLoaded(app: Page) {
  const obs = app.getByTestId('panel-observation');
  await expect(obs).toBeVisible();
  await expect(obs.locator('.panel-name')).toHaveText(demo.observation);
  await expect(obs.locator('.panel-view')).toHaveAttribute('aria-label', new RegExp(`: ${NX} × ${NY} pixels\\.`));
  await expect(app.getByTestId('panel-truth').locator('.panel-view')).toHaveAttribute('aria-label', new RegExp(`: ${NX} × ${NY} pixels\\.`));
  // the title says what the truth is, with its most important words first (a narrow panel cuts the end)
  await expect(app.getByTestId('panel-truth').locator('.panel-name')).toHaveText(/^Truth — not used by the run \(/);
  await expect(app.getByTestId('welcome-card')).toHaveCount(0);
  // the Run tab is shown, one click from sampling, with the demo's settings
  await expect(app.getByTestId('run-button')).toBeEnabled();
  await expect(app.getByTestId('run-blockers')).toHaveCount(0);
  await expect(app.getByTestId('run-n')).toHaveValue('8');
  await expect(app.getByTestId('run-steps')).toHaveValue('500');
  await expect(app.getByTestId('run-seed')).toHaveValue(String(demo.seed));
  await expect(app.getByLabel('Sampler')).toHaveValue('pc');
  // the prior picker
  await app.getByRole('tab', { name: 'Prior' }).click();
  await expect(app.getByRole('radio', { name: `Prior ${DEFAULT_PRIOR}` })).toBeChecked();
  // the forward model editor: the observation, the PSF (validated by the engine) and σ
  await app.getByRole('tab', { name: 'Forward model' }).click();
  await expect(app.getByTestId('obs-name')).toHaveText(demo.observation);
  await expect(app.getByTestId('obs-shape')).toContainText(`${NY}×${NX}`);
  await expect(app.getByTestId('psf-fwhm-0')).toHaveValue(String(FWHM));
  await expect(app.getByTestId('psf-thumb-0')).toContainText(`PSF ${K}×${K}`);
  await expect(app.getByTestId('model-ok')).toContainText(`x [${NY}×${NX}] → y [${NY}×${NX}]`);
  await expect(app.getByTestId('model-ok')).toContainText(`Gaussian PSF, FWHM ${FWHM} px`);
  await expect(app.getByTestId('noise-sigma')).toHaveValue(String(demo.noise));
}

test('a fresh profile is offered the example; it loads everything for a run, and a short run of it finishes', async ({ app, consoleErrors }) => {
  const card = app.getByTestId('welcome-card');
  await expect(card).toBeVisible();
  await expect(app.getByTestId('welcome-headline')).toHaveText(`Try the example: reconstruct a galaxy blurred by a ${FWHM}-px PSF with noise`);
  await expect(app.getByTestId('welcome-prior')).toContainText(DEFAULT_PRIOR);
  await expect(app.getByTestId('welcome-thumb')).toBeVisible();
  // not modal: the rest of the app works with the card up
  await app.getByRole('tab', { name: 'Run' }).click();
  await expect(app.getByTestId('run-blockers')).toContainText('open the observation');
  await app.getByRole('tab', { name: 'Forward model' }).click();
  await shot(app, 'example-welcome.png');

  await app.getByTestId('welcome-open').click();
  await expectExampleLoaded(app);
  await app.getByRole('tab', { name: 'Run' }).click();
  await shot(app, 'example-loaded.png');

  // a short run (the e2e suite stays quick): 2 samples × 20 steps
  await app.getByTestId('run-n').fill('2');
  await app.getByTestId('run-steps').fill('20');
  await app.getByTestId('run-button').click();
  await expect(app.getByTestId('run-progress')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await expect(app.getByTestId('panel-mean')).toBeVisible();
  await expect(app.getByTestId('panel-residual')).toBeVisible();
  await shot(app, 'example-run-done.png');
  expect(consoleErrors).toEqual([]);
});

test('dismissing the card lasts across a reload; the toolbar entry still opens the example', async ({ app, consoleErrors }) => {
  await expect(app.getByTestId('welcome-card')).toBeVisible();
  // the card grows when the engine's description of the example arrives (its thumbnail and text): dismiss after
  // that, so that the click does not land where the button was a moment before
  await expect(app.getByTestId('welcome-thumb')).toBeVisible();
  await app.getByTestId('welcome-dismiss').click();
  await expect(app.getByTestId('welcome-card')).toHaveCount(0);
  await expect(app.getByText('Open a FITS file to begin')).toBeVisible();

  await app.reload();
  await expect(app.getByTestId('backend-status')).toContainText(/wasm|cpu|webgpu|tensorflow/);
  await expect(app.getByText('Open a FITS file to begin')).toBeVisible();
  await expect(app.getByTestId('welcome-card')).toHaveCount(0);

  await app.getByTestId('toolbar-open-example').click();
  await expectExampleLoaded(app);
  // and after another reload (nothing open again) the card stays away
  await app.reload();
  await expect(app.getByTestId('backend-status')).toContainText(/wasm|cpu|webgpu|tensorflow/);
  await expect(app.getByTestId('welcome-card')).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});
