/**
 * The lens fit's noise options in the app (Chromium against `skyscore serve`), as an astronomer sets them for a
 * drizzled HST cutout: the 112 × 112 drizzle-like file of tests/helpers/lens-mef.ts (`correlated`: σ = 1/√WHT times
 * noise filtered by [0.12, 0.76, 0.12] per axis) with BUNIT ELECTRONS/S on SCI and EXPTIME 2000 s in the primary
 * header. WHT as IVM weights (EXP: the exposure time per pixel); the panel reads the units and the exposure time
 * before the fit; the exposure time given (1000 s) replaces the header's; the blank-sky box drawn on the image, then typed (0,0,112,40); the fit's
 * command line carries the same flags, and after the fit the panel shows what it used: σ_sky, e and the cards it
 * came from, the Poisson term added, and the correlation measured on the box and whitened. Screenshots go to
 * test-results/lens-fit/ (and to $SKYSCORE_SHOTS when set).
 */
import { test, expect } from './fixtures.js';
import { shot } from './shots.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CORR_N } from '../helpers/lens-mef.js';
import { chooseShortFit, openLensMef } from './lens-mef-open.js';


test('the noise options: weights, the Poisson term with the exposure time, the blank-sky box; the noise the fit used', async ({ app, consoleErrors }) => {
  test.setTimeout(600_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-noise-e2e-'));
  try {
    await openLensMef(app, dir, { correlated: true, bunit: 'ELECTRONS/S', exptime: 2000 });

    const fit = app.getByTestId('lens-fit');
    const preview = fit.getByTestId('lens-fit-poisson-preview');
    // the Noise step's σ is taken as complete: no term unless an exposure time is given
    await expect(preview).toContainText('not added: a σ map (or one σ) is taken as complete');
    await fit.getByTestId('lens-fit-noise-source').selectOption('obs-weights');
    await expect(fit.getByTestId('lens-fit-noise-hdu')).toHaveValue('3');
    await expect(fit.getByTestId('lens-fit-weight-type')).toHaveValue('ivm');
    // the header read: the unit and the exposure time of the primary header
    await expect(preview).toContainText('Poisson term added — data in e⁻/s (BUNIT ELECTRONS/S), effective exposure 2000 s (EXPTIME): 2000.00 e⁻ per unit');
    await expect(fit.getByTestId('lens-fit-exposure')).toHaveAttribute('placeholder', '2000 (EXPTIME)');
    // EXP weights: the exposure time per pixel, the field gone
    await fit.getByTestId('lens-fit-weight-type').selectOption('exp');
    await expect(preview).toContainText('the exposure time per pixel from the EXP weight map');
    await expect(fit.getByTestId('lens-fit-exposure')).toHaveCount(0);
    await fit.getByTestId('lens-fit-weight-type').selectOption('ivm');
    // the exposure time given replaces the header's
    await fit.getByTestId('lens-fit-exposure').fill('1000');
    await fit.getByTestId('lens-fit-exposure').press('Tab');
    await expect(preview).toContainText('effective exposure 1000 s (given): 1000.00 e⁻ per unit');
    await fit.getByTestId('lens-fit-poisson').selectOption('none');
    await expect(preview).toContainText('not added (--poisson none)');
    await expect(fit.getByTestId('lens-fit-exposure')).toBeDisabled();
    await fit.getByTestId('lens-fit-poisson').selectOption('auto');

    // the blank-sky box: drawn over the image's lower part, then typed as the command's --noise-region
    await expect(fit.getByTestId('lens-fit-noise-box')).toContainText('measured on the blank sky outside the fitted region');
    await fit.getByTestId('lens-fit-draw-box').click();
    const canvas = fit.getByTestId('lens-fit-box-draw').locator('canvas').first();
    const b = (await canvas.boundingBox())!;
    await app.mouse.move(b.x + b.width * 0.05, b.y + b.height * 0.95);
    await app.mouse.down();
    await app.mouse.move(b.x + b.width * 0.5, b.y + b.height * 0.8, { steps: 4 });
    await app.mouse.move(b.x + b.width * 0.95, b.y + b.height * 0.7, { steps: 4 });
    await app.mouse.up();
    await expect(fit.getByTestId('lens-fit-noise-box')).toContainText(/measured on the box x \d+–\d+, y \d+–\d+/);
    await expect(fit.getByTestId('lens-fit-noise-region')).toHaveValue(/^\d+,\d+,\d+,\d+$/);
    await fit.getByTestId('lens-fit-noise-region').fill('0,0,112,200');
    await fit.getByTestId('lens-fit-noise-region').press('Enter');
    await expect(fit).toContainText(`the box reaches outside the ${CORR_N}×${CORR_N} (x × y) image`);
    await fit.getByTestId('lens-fit-noise-region').fill('0,0,112,40');
    await fit.getByTestId('lens-fit-noise-region').press('Enter');
    await expect(fit.getByTestId('lens-fit-noise-box')).toHaveText('measured on the box x 0–111, y 0–39 (112×40 px)');

    await chooseShortFit(fit);
    await fit.getByTestId('lens-fit-inputs').scrollIntoViewIfNeeded();
    await shot(fit.getByTestId('lens-fit-inputs'), 'lens-fit-noise-options.png', 'lens-fit');
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-table')).toBeVisible({ timeout: 540_000 });
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('done');
    // the command line the job reports: the same flags
    await expect(fit).toContainText('--weight-map drz.fits[WHT] --exposure-time 1000 --psf psf.fits');
    await expect(fit).toContainText('--noise-region 0,0,112,40');

    // what the fit used (lens.json noise and noiseCorrelation)
    const used = fit.getByTestId('lens-fit-noise-used');
    await expect(used.getByTestId('lens-fit-noise-sky')).toHaveText('σ_sky 0.02 ELECTRONS/S (median) — 1/√w of the IVM weights drz.fits[WHT]');
    const poisson = used.getByTestId('lens-fit-noise-poisson');
    await expect(poisson).toHaveAttribute('data-added', 'yes');
    await expect(poisson).toContainText('Poisson term added: σ² = σ_sky² + s/e, e = 1000 e⁻ per data unit (BUNIT ELECTRONS/S, exposure time 1000 s, given); σ up to ');
    const corr = used.getByTestId('lens-fit-noise-correlation');
    await expect(corr).toHaveAttribute('data-decision', 'whitened');
    const ct = (await corr.textContent())!;
    const m1 = /neighbour correlation (0\.\d+) ± 0\.0\d+ \(x\) \/ (0\.\d+) ± 0\.0\d+ \(y\), per-pixel variance ([\d.]+)× σ², large-scale [\d.]+×, measured on the box x 0–111, y 0–39 \((\d+) pixels\)/.exec(ct);
    expect(m1, ct).not.toBeNull();
    // the filter's neighbour correlation 0.304 and per-pixel variance 0.368
    expect(Math.abs(Number(m1![1]) - 0.304)).toBeLessThan(0.05);
    expect(Math.abs(Number(m1![2]) - 0.304)).toBeLessThan(0.05);
    expect(Math.abs(Number(m1![3]) - 0.368)).toBeLessThan(0.05);
    expect(Number(m1![4])).toBeGreaterThan(2000);
    await used.scrollIntoViewIfNeeded();
    await shot(used, 'lens-fit-noise-used.png', 'lens-fit');
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A cutout without a noise map's use or an exposure time, its sky not subtracted (as the public SLACS cutouts): the
 * drizzle-like file with the sources' Poisson noise (T = 250 before the filter: 680 e⁻ per unit per pixel) and a sky
 * of 0.05 left in SCI, no EXPTIME. σ_sky from the blank sky, the exposure time by photon transfer and the sky fitted:
 * the panel says what will happen, the job's command line carries the command's flags, and the noise used shows the
 * estimates and the sky level subtracted.
 */
test('the noise from the data: σ_sky and the exposure time estimated, the sky level fitted', async ({ app, consoleErrors }) => {
  test.setTimeout(600_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-noise-estimate-e2e-'));
  try {
    await openLensMef(app, dir, { correlated: true, bunit: 'ELECTRONS/S', poissonT: 250, pedestal: 0.05 });
    const fit = app.getByTestId('lens-fit');
    const preview = fit.getByTestId('lens-fit-poisson-preview');
    await fit.getByTestId('lens-fit-noise-source').selectOption('estimate');
    await expect(preview).toContainText('not added: σ_sky estimated from the blank sky is taken as complete');
    await fit.getByTestId('lens-fit-exposure-estimate').check();
    await expect(fit.getByTestId('lens-fit-exposure')).toBeDisabled();
    await expect(preview).toContainText("Poisson term added — e (electrons per data unit) estimated from the data when the fit starts, by photon transfer (the flux above the blank sky's median)");
    await fit.getByTestId('lens-fit-sky').selectOption('level');
    await expect(fit.getByTestId('lens-fit-sky-level')).toBeVisible();
    await fit.getByTestId('lens-fit-sky').selectOption('fit');
    await expect(fit.getByTestId('lens-fit-sky-text')).toHaveText("fitted with the deflector's light (two Sérsic components and a constant)");
    await expect(preview).toContainText('(the flux above the sky level subtracted)');

    await chooseShortFit(fit);
    await fit.getByTestId('lens-fit-inputs').scrollIntoViewIfNeeded();
    await shot(fit.getByTestId('lens-fit-inputs'), 'lens-fit-noise-estimate-options.png', 'lens-fit');
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-table')).toBeVisible({ timeout: 540_000 });
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('done');
    await expect(fit).toContainText('--noise-map estimate --exposure-time estimate --sky fit --psf psf.fits');

    const used = fit.getByTestId('lens-fit-noise-used');
    const sky = (await used.getByTestId('lens-fit-noise-sky').textContent())!;
    const ms = /^σ_sky ([\d.]+) ELECTRONS\/S \(median\) — σ_sky [\d.]+ estimated from the blank sky \(± [\d.e-]+ over the quadrants [\d., –]+; \d+ pixels of the blank sky outside the fitted region grown by 1\.35″ \(sources clipped\)\)$/.exec(sky);
    expect(ms, sky).not.toBeNull();
    // the per-pixel rms: 0.02 × √0.368 = 0.0121
    expect(Math.abs(Number(ms![1]) / 0.0121 - 1)).toBeLessThan(0.08);
    const e = (await used.getByTestId('lens-fit-noise-estimate-e').textContent())!;
    const me = /^e estimated ([\d.]+) ± [\d.]+ by photon transfer \(per bin [\d., –]+ over smooth fluxes [\d.]+–[\d.]+; flux above the sky level subtracted\)$/.exec(e);
    expect(me, e).not.toBeNull();
    expect(Math.abs(Number(me![1]) / 680 - 1)).toBeLessThan(0.3);
    await expect(used.getByTestId('lens-fit-noise-poisson')).toContainText('Poisson term added: σ² = σ_sky² + s/e, e = ');
    await expect(used.getByTestId('lens-fit-noise-poisson')).toContainText('estimated by photon transfer');
    const lv = (await used.getByTestId('lens-fit-noise-sky-level').textContent())!;
    const ml = /^Sky level ([\d.]+) subtracted \(fitted with the deflector's light to \d+ pixels within 6″\)$/.exec(lv);
    expect(ml, lv).not.toBeNull();
    expect(Math.abs(Number(ml![1]) - 0.05)).toBeLessThan(0.0121);
    await used.scrollIntoViewIfNeeded();
    await shot(used, 'lens-fit-noise-estimate-used.png', 'lens-fit');
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
