/**
 * The lens fit in the app on drizzle-like correlated noise (Chromium against `skyscore serve`): a 112 × 112 simulated
 * lens of 0.05″ pixels as PRIMARY, SCI, ERR and WHT (tests/helpers/lens-mef.ts, `correlated`: σ = 1/√WHT times
 * noise filtered by [0.12, 0.76, 0.12] per axis, neighbour correlation 0.30, per-pixel variance 0.37 σ²). The fit
 * (WHT as weights, a 1.35″ disc) measures the correlation on the sky and whitens; "Use the fitted lens" makes the
 * Noise step the fit's correlated noise — model.json's block, the noise-only draw and the per-pixel σ map, which
 * `skyscore reconstruct --model` reads — and the step shows the fit's estimate and switches to white noise of the
 * fit's σ map and back. Screenshots go to test-results/lens-fit/ (and to $SKYSCORE_SHOTS when set).
 */
import { test, expect } from './fixtures.js';
import { shot } from './shots.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chooseShortFit, openLensMef } from './lens-mef-open.js';


test("a whitened fit: the Noise step becomes its correlated noise with the fit's estimate, and switches to white and back", async ({ app, consoleErrors }) => {
  test.setTimeout(600_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'skyscore-lensfit-corr-e2e-'));
  try {
    await openLensMef(app, dir, { correlated: true });

    const fit = app.getByTestId('lens-fit');
    await fit.getByTestId('lens-fit-noise-source').selectOption('obs-weights');
    await expect(fit.getByTestId('lens-fit-noise-hdu')).toHaveValue('3');
    // the fitted disc: 1.35″, so that the sky beyond twice it (about 3400 pixels) measures the correlation
    await chooseShortFit(fit);
    await fit.getByTestId('lens-fit-start').click();
    await expect(fit.getByTestId('lens-fit-table')).toBeVisible({ timeout: 540_000 });
    await expect(fit.getByTestId('lens-fit-state')).toHaveText('done');
    // the fit's notes: the correlation measured and the data whitened
    await expect(fit).toContainText(/noise correlation: correlated \(neighbour correlation 0\.[23]\d\d \(x\) \/ 0\.[23]\d\d \(y\)/);
    await expect(fit.getByTestId('lens-fit-export-noise-realisation.fits')).toBeVisible();
    await expect(fit.getByTestId('lens-fit-export-noise-sigma.fits')).toBeVisible();
    await expect(fit.getByTestId('lens-fit-use-noise')).toContainText("also makes the Noise step the fit's correlated noise");
    await expect(fit.getByTestId('lens-fit-use-noise')).toContainText('white noise of the fit\'s σ map (sigma.fits: σ = 1/√w of the weight map drz.fits[WHT])');

    const noise = app.getByTestId('noise-section');
    await expect(noise.getByTestId('noise-lens-fit')).toHaveCount(0);
    await fit.getByTestId('lens-fit-use').click();
    await expect(app.getByTestId('operator-0')).toContainText('Strong lens');
    // the Noise step: the fit's correlated block, its estimate, the σ map it scales
    const note = noise.getByTestId('noise-lens-fit');
    await expect(note).toHaveAttribute('data-in-use', 'correlated');
    await expect(noise.getByLabel('Correlated: measured spectrum')).toBeChecked();
    await expect(noise.getByTestId('noise-lens-fit-in-use')).toContainText("In use: the lens fit's correlated noise");
    const est = (await noise.getByTestId('noise-lens-fit-estimate').textContent())!;
    const m1 = /neighbour correlation (0\.\d+) ± 0\.0\d+ \(x\) \/ (0\.\d+) ± 0\.0\d+ \(y\); per-pixel variance ([\d.]+)×/.exec(est);
    expect(m1, est).not.toBeNull();
    // the filter's 0.304 and 0.368
    expect(Math.abs(Number(m1![1]) - 0.304)).toBeLessThan(0.05);
    expect(Math.abs(Number(m1![2]) - 0.304)).toBeLessThan(0.05);
    expect(Math.abs(Number(m1![3]) - 0.368)).toBeLessThan(0.05);
    await expect(noise.getByTestId('noise-corr-sigma')).toHaveText('σ per pixel: the map lens-fit-noise-sigma.fits');
    await expect(noise.locator('.filename')).toHaveText('lens-fit-noise-realisation.fits');
    // the engine's build of that model (what Run uses): σ = 0.02·√0.37 ≈ 0.012 and the correlation read back from the draw
    const built = noise.getByTestId('noise-model-estimate');
    await expect(built).toHaveAttribute('data-state', 'ok');
    await expect(built).toContainText(/σ = 0\.01[12]\d*; neighbour correlation 0\.[23]\d \(x\) \/ 0\.[23]\d \(y\)/);
    await expect(noise.getByTestId('noise-spectrum')).toBeVisible();
    await expect(app.getByTestId('model-ok')).toBeVisible();
    await noise.scrollIntoViewIfNeeded();
    await shot(noise, 'lens-fit-correlated-noise.png', 'lens-fit');

    // white noise of the fit's σ map, and back
    await note.getByTestId('noise-lens-fit-white').click();
    await expect(note).toHaveAttribute('data-in-use', 'white');
    await expect(noise.getByLabel('σ map (FITS)')).toBeChecked();
    await expect(noise.locator('.filename')).toHaveText('lens-fit-sigma.fits');
    await expect(noise.getByTestId('noise-map-range')).toContainText('σ from 0.02');
    await expect(noise.getByTestId('noise-lens-fit-in-use')).toContainText('In use: white noise, the σ map lens-fit-sigma.fits');
    await shot(noise, 'lens-fit-correlated-noise-white.png', 'lens-fit');
    await note.getByTestId('noise-lens-fit-correlated').click();
    await expect(note).toHaveAttribute('data-in-use', 'correlated');
    await expect(noise.getByLabel('Correlated: measured spectrum')).toBeChecked();
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
