/**
 * The lens fit in the app on a drizzled-style multi-extension file (Chromium against `skyscore serve`): a 64 × 64
 * simulated lens of 0.07″ pixels as PRIMARY (empty), SCI, ERR and WHT with a rotated TAN WCS, a hot pixel the
 * weights do not flag and a column of weight 0 (tests/helpers/lens-mef.ts). The panel takes SCI as the data and
 * WHT as inverse-variance weights, shows the scale read from the WCS and the default 3″ disc; after the fit, the
 * hot pixel left out, the notes, sigma.fits among the products and the command line with HDU selectors (as
 * `skyscore lens-fit --obs mef.fits[SCI] --weight-map mef.fits[WHT]` reads them); "Use the fitted lens" makes the
 * fit's sigma.fits the Noise step's σ map (Run uses the noise the fit used). A second fit keeps the sharp pixels and
 * fits no light: the implausible-lens note of lens.json, in the panel's words, with the light components it advises
 * one click away. A third fit, two Sérsic components and two core Gaussians tied to the first (the control is off
 * with no light): --light-core 2 on the command line, the Gaussians' amplitudes in the result. Screenshots go to
 * test-results/lens-fit/.
 */
import { test, expect } from './fixtures.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MEF_HOT, MEF_N } from '../helpers/lens-mef.js';
import { openLensMef } from './lens-mef-open.js';

const SHOTS = 'test-results/lens-fit';
mkdirSync(SHOTS, { recursive: true });

test('a multi-extension file: SCI as data, WHT as weights, the scale from the WCS, the default disc; the sharp pixel left out; the implausible-lens note', async ({ app, consoleErrors }) => {
  test.setTimeout(480_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-mef-e2e-'));
  try {
    await openLensMef(app, dir);

    const fit = app.getByTestId('lens-fit');
    // the data: the first image HDU, SCI; σ: the WHT extension as inverse-variance weights
    await expect(fit.getByTestId('lens-fit-data-hdu')).toHaveValue('1');
    await expect(fit.getByTestId('lens-fit-data-hdu').locator('option')).toHaveCount(3);
    await expect(fit.getByTestId('lens-fit-noise-hdu')).toHaveCount(0);
    await fit.getByTestId('lens-fit-noise-source').selectOption('obs-weights');
    await expect(fit.getByTestId('lens-fit-noise-hdu')).toHaveValue('3');
    await expect(fit.getByTestId('lens-fit-noise-hdu').locator('option')).toHaveText([/^2 ERR/, /^3 WHT/]);
    // the scale from the WCS (its CD matrix rotated by 30°), the default disc at that scale
    await expect(fit.getByTestId('lens-fit-scale')).toContainText('pixel scale 0.07″ from the WCS (the CD matrix)');
    await expect(fit.getByTestId('lens-fit-scale')).toContainText("the lens stage's image pixel is 0.05″");
    await expect(fit.getByTestId('lens-fit-scale')).toContainText('fitted: the pixels within 3″ of the image centre');
    await expect(fit.getByTestId('lens-fit-mask')).toHaveValue('default');
    await expect(fit.getByTestId('lens-fit-keep-sharp')).not.toBeChecked();

    // fast settings: one start, small source grids, no errors
    for (const [id, v] of [['lens-fit-starts', '1'], ['lens-fit-fit-source', '8'], ['lens-fit-source', '12']] as const) {
      await fit.getByTestId(id).fill(v);
      await fit.getByTestId(id).press('Tab');
    }
    await fit.getByTestId('lens-fit-errors').uncheck();
    await fit.scrollIntoViewIfNeeded();
    await fit.getByTestId('lens-fit-inputs').screenshot({ path: `${SHOTS}/lens-fit-mef-inputs.png` });
    await fit.screenshot({ path: `${SHOTS}/lens-fit-mef-panel.png` });
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-table')).toBeVisible({ timeout: 240_000 });
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('done');
    const thetaE = Number((await fit.getByTestId('lens-fit-row-thetaE').locator('td').nth(1).textContent())!.trim());
    expect(Math.abs(thetaE - 0.7) / 0.7).toBeLessThan(0.03);
    // on the sky through the file's WCS (+y at position angle 30° East of North): the major axis's PA is φ + 30° − 90°
    // (mod 180) near the tangent point; the centre in RA and Dec
    const phiDeg = (Number((await fit.getByTestId('lens-fit-row-phi').locator('td').nth(1).textContent())!.trim()) * 180) / Math.PI;
    const pa = Number((await fit.getByTestId('lens-fit-row-pa').locator('td').nth(1).textContent())!.trim());
    expect(Math.abs(((pa - (phiDeg + 30 - 90) + 90) % 180 + 180) % 180 - 90)).toBeLessThan(0.01);
    await expect(fit.getByTestId('lens-fit-row-pa')).toContainText('° E of N (major axis)');
    await expect(fit.getByTestId('lens-fit-row-centre')).toContainText(/10h00m2\d\.\d{3}s \+02°1\d′\d\d\.\d\d″/);
    await expect(fit.getByTestId('lens-fit-row-shear')).toContainText(/stretching at PA \d+(\.\d+)?°/);
    await expect(fit.getByTestId('lens-fit-row-light0.pa')).toContainText('° E of N');
    // the command line with HDU selectors and no --pixel-scale (the WCS's), sigma.fits among the products
    await expect(fit).toContainText('skyscore lens-fit --obs mef.fits --hdu 1 --weight-map mef.fits[WHT] --psf psf.fits --source-size 12 --fit-source-size 8 --starts 1 --no-errors --out lens-fit');
    await expect(fit.getByTestId('lens-fit-export-sigma.fits')).toBeVisible();
    await expect(fit.getByTestId('lens-fit-used-scale')).toHaveText('pixel scale 0.07″ (the WCS: the CD matrix)');
    await expect(fit.getByTestId('lens-fit-outliers')).toHaveText(`1 pixel sharper than the PSF left out (cosmic rays, hot pixels): (${MEF_HOT[1]}, ${MEF_HOT[0]}) (x, y from 0)`);
    await expect(fit).toContainText(`σ = 1/√w from the weight map mef.fits[WHT] (${MEF_N} pixels of weight 0 or NaN left out)`);
    await expect(fit).toContainText('fitting the pixels within 3″ of the image centre, widened to twice the first θE where that is larger (the default disc)');
    await expect(fit.getByTestId('lens-fit-note')).toHaveCount(0);
    // the light's components chosen by the evidence (the form's default, auto: no --light on the command line)
    await expect(fit.getByTestId('lens-fit-light')).toHaveValue('auto');
    await expect(fit.getByTestId('lens-fit-light-choice')).toContainText(/^light: [12] Sérsic components? chosen by the evidence \(log Z with one -?\d/);
    await expect(fit.getByTestId('lens-fit-radius')).toHaveText('fitted the pixels within 3″ of the image centre (the default disc as fitted)');
    await fit.getByTestId('lens-fit-result').scrollIntoViewIfNeeded();
    await app.screenshot({ path: `${SHOTS}/lens-fit-mef-result.png` });
    await fit.getByTestId('lens-fit-result').screenshot({ path: `${SHOTS}/lens-fit-mef-table.png` });

    // no light model, the sharp pixels kept: the mass takes up the deflector's light — lens.json's note
    await expect(fit.getByTestId('lens-fit-light-core')).toHaveValue('0');
    await expect(fit.getByTestId('lens-fit-light-core')).toBeEnabled();
    await expect(fit.getByTestId('lens-fit-light-core-result')).toHaveCount(0);
    await fit.getByTestId('lens-fit-light').selectOption('0');
    // core Gaussians are tied to a Sérsic component: off with no light
    await expect(fit.getByTestId('lens-fit-light-core')).toBeDisabled();
    await fit.getByTestId('lens-fit-keep-sharp').check();
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('done', { timeout: 240_000 });
    await expect(fit).toContainText('--light 0 --no-errors --keep-sharp --out lens-fit');
    await expect(fit.getByTestId('lens-fit-note')).toContainText("outside galaxy-scale lenses' range");
    // the command line's advice in the panel's words; the advised light components one click away
    await expect(fit.getByTestId('lens-fit-note')).toContainText('try Light components = 2');
    await expect(fit.getByTestId('lens-fit-note')).not.toContainText('--');
    await expect(fit.getByTestId('lens-fit-outliers')).toHaveText('pixels sharper than the PSF kept in the fit, as asked');
    await fit.getByTestId('lens-fit-result').scrollIntoViewIfNeeded();
    await fit.getByTestId('lens-fit-result').screenshot({ path: `${SHOTS}/lens-fit-mef-note.png` });
    await fit.getByTestId('lens-fit-note-light').click();
    await expect(fit.getByTestId('lens-fit-light')).toHaveValue('2');
    await expect(fit.getByTestId('lens-fit-note-light')).toHaveCount(0);

    // two Sérsic components and two core Gaussians tied to the first: --light-core 2, their amplitudes in the result
    await expect(fit.getByTestId('lens-fit-light-core')).toBeEnabled();
    await fit.getByTestId('lens-fit-light-core').selectOption('2');
    await fit.getByTestId('lens-fit-light-core').scrollIntoViewIfNeeded();
    await app.screenshot({ path: `${SHOTS}/lens-fit-mef-core-control.png` });
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('done', { timeout: 240_000 });
    await expect(fit).toContainText('--light 2 --light-core 2 --no-errors --keep-sharp --out lens-fit');
    await expect(fit.getByTestId('lens-fit-light-core-result')).toContainText(/^core Gaussians at the first component's centre and shape: σ 0\.5 px -?\d[^,]*, σ 1 px -?\d/);
    await fit.getByTestId('lens-fit-light-core-result').scrollIntoViewIfNeeded();
    await app.screenshot({ path: `${SHOTS}/lens-fit-mef-core.png` });

    // the fitted lens with the noise the fit used: (the second fit's) the Noise step becomes sigma.fits (1/√WHT, NaN at weight 0)
    await expect(fit.getByTestId('lens-fit-use-noise')).toHaveText("also makes the Noise step the fit's σ map (sigma.fits: σ = 1/√w of the weight map mef.fits[WHT]), so that Run uses the noise the fit used; the Noise step can change it");
    const noise = app.getByTestId('noise-section');
    await expect(noise.getByLabel('σ map (FITS)')).not.toBeChecked();
    await fit.getByTestId('lens-fit-use').click();
    await expect(app.getByTestId('operator-0')).toContainText('Strong lens');
    await expect(noise.getByLabel('σ map (FITS)')).toBeChecked();
    await expect(noise.locator('.filename')).toHaveText('lens-fit-sigma.fits');
    await expect(noise.getByTestId('noise-map-range')).toContainText('σ from');
    await expect(app.getByTestId('model-ok')).toBeVisible();
    await noise.scrollIntoViewIfNeeded();
    await noise.screenshot({ path: `${SHOTS}/lens-fit-mef-used-noise.png` });
    await app.screenshot({ path: `${SHOTS}/lens-fit-mef-used.png` });
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
