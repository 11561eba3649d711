/**
 * The posterior from visibilities in the app, end to end in Chromium against `skyscore serve`: the VLBA BL Lac
 * file in the Visibilities view, a 32×32 Gaussian-field prior of the engine's list, 2 samples × 30 steps: the
 * progress with the χ² per visibility, the posterior mean, std and a sample in viewer panels with the sky
 * read-out, the report's warnings, the mean's amplitudes over the data's, and posterior-mean.fits exported byte
 * for byte as `skyscore reconstruct --vis` writes it, with the run panel's sampler settings (2 worker threads) and
 * the weights rescaled to the data's scatter; the same run with the total flux at zero spacing unchecked (--total-flux
 * none in its command line, no constraint in its products); Stop and keep; Stop. Also: a random-groups FITS file that is not UVFITS
 * opens in the image viewer (its headers, no image), not in the Visibilities view. And the posterior of the EHT
 * file after phase self-calibration: the flags in its command line, the rounds' figures as report.json gives
 * them, posterior-mean.fits as that command writes it. Screenshots go to test-results/.
 */
import { test as base, expect, userDirServer, type Server } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import os from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { runCliAsync } from '../helpers/cli.js';
import { ROOT, dataPath } from '../helpers/data.js';
import { writePowerSpectrumPrior } from '../helpers/power-spectrum-prior.js';

const VLBA = 'vlba43_BLLAC_2013may30.uvfits';
const N = 32;
// The engine lists priors from $SKYSCORE_USER_DIR/models: this file's own server gets a user folder with a
// 32×32 power-law Gaussian field (an exact score: the sampling runs in seconds).
const userDir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-uvpost-e2e-'));
const PK = path.join(userDir, 'models', 'gf32', 'power-spectrum.fits');

const test = base.extend<{ app: Page }, { postServer: Server }>({
  postServer: userDirServer(userDir, () => {
    mkdirSync(path.dirname(PK), { recursive: true });
    writePowerSpectrumPrior(PK, N, 0.05, 3, 2);
    writeFileSync(path.join(path.dirname(PK), 'README.md'), '# gf32 (test prior)\n\nA power-law Gaussian field, 32×32, for the end-to-end tests.\n');
  }, () => rmSync(userDir, { recursive: true, force: true })),
  app: async ({ page, postServer, consoleErrors }, use) => {
    void consoleErrors;
    await page.goto(postServer.url);
    await use(page);
  },
});

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });

/** Pixels of a plot's canvas in the model colour (orange). */
async function orangePixels(p: Page, testId: string): Promise<number> {
  return p
    .getByTestId(testId)
    .locator('canvas')
    .evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let orange = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] >= 128 && d[i] > d[i + 2] + 80 && d[i] > d[i + 1] + 30) orange++;
      return orange;
    });
}

test('the posterior from the visibilities: progress, mean, std and a sample with the sky read-out, the mean over the amplitudes, export as the CLI writes it', async ({ app, consoleErrors }) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-e2e-uvpost-'));
  try {
    await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('uvfits', VLBA));
    await expect(app.getByTestId('uv-view')).toBeVisible();
    await app.getByTestId('uv-size').fill(String(N));
    await app.getByTestId('uv-cell').fill('0.00005');
    // the default prior is one made for the image's size
    await expect(app.getByTestId('uv-posterior-prior')).toHaveValue('user/gf32');
    await app.getByTestId('uv-posterior-n').fill('2');
    await app.getByTestId('uv-posterior-steps').fill('30');
    await app.getByTestId('uv-posterior-seed').fill('3');
    // the run panel's sampler settings, and the weights rescaled by the thermal check's factor (1/0.470², the rms ratio)
    await expect(app.getByTestId('uv-posterior-sampler')).toHaveValue('pc');
    await app.getByTestId('uv-posterior-advanced').locator('summary').click();
    await app.getByTestId('uv-posterior-workers').fill('2');
    // pc's corrector steps: one by default, two here (the command line below carries them)
    await expect(app.getByTestId('uv-posterior-correctors')).toHaveValue('1');
    await expect(app.getByTestId('uv-posterior-sampler-help')).toHaveText(/a Langevin corrector step at each level; 2 score evaluations a level/);
    await app.getByTestId('uv-posterior-correctors').fill('2');
    await expect(app.getByTestId('uv-posterior-sampler-help')).toHaveText(/2 Langevin corrector steps at each level; 3 score evaluations a level/);
    // the factor is 1/r² of the scatter ratio the summary shows (the rms ratio, the variance a Gaussian likelihood needs)
    await expect(app.getByTestId('uv-thermal')).toHaveText(/= 0\.470 \(rms; robust 0\.413; 2033 pairs\)/);
    await expect(app.getByTestId('uv-posterior-reweight-factor')).toHaveText(/weights × 4\.5\d/);
    await app.getByTestId('uv-posterior-reweight').check();
    await app.getByTestId('uv-posterior-reweight').scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-posterior-settings.png');
    await app.getByTestId('uv-posterior').click();
    const prog = app.getByTestId('uv-posterior-progress');
    await expect(prog).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
    await expect(prog).toHaveAttribute('data-step', '30');
    await expect(prog).toContainText(/χ²\/visibility dof of the mean \d/);
    for (const k of ['mean', 'std', 'sample']) await expect(app.getByTestId(`panel-uv-posterior-${k}`)).toBeVisible();
    await expect(app.getByTestId('panel-uv-posterior-mean').locator('.panel-name')).toContainText('posterior-mean.fits');
    // a 32-pixel field of 0.05 mas lies within 1 mas of the phase centre: the read-out is the source's position
    const sum = JSON.parse((await runCliAsync(['info', dataPath('uvfits', VLBA), '--json'])).stdout) as { uvfits: { ra: number; dec: number; visibilities: number } };
    const view = app.getByTestId('panel-uv-posterior-mean').locator('.panel-view');
    const vb = (await view.boundingBox())!;
    await app.mouse.move(vb.x + vb.width / 2, vb.y + vb.height / 2);
    expect(Math.abs(Number(await app.getByTestId('readout-lon').textContent()) - sum.uvfits.ra)).toBeLessThan(1e-5);
    expect(Math.abs(Number(await app.getByTestId('readout-lat').textContent()) - sum.uvfits.dec)).toBeLessThan(1e-5);
    // the mean's amplitudes over the data's
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-model', 'posterior mean |V|');
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-model-points', String(sum.uvfits.visibilities));
    expect(await orangePixels(app, 'uv-amplitude-plot')).toBeGreaterThan(100);
    // a Gaussian field on a 1.6 mas field is no model of BL Lac: the report's χ² warning is shown
    await expect(app.getByTestId('uv-posterior-warnings')).toContainText('the model does not fit the data to their noise');
    for (const f of ['posterior-std', 'posterior-samples', 'residual', 'report']) await expect(app.getByTestId(`uv-export-${f}`)).toBeVisible();
    // the total flux at zero spacing held by default (the survey CLEAN's), as report.json gives it
    await expect(app.getByTestId('uv-posterior-zero-spacing')).toBeChecked();
    await expect(app.getByTestId('uv-products-summary')).toContainText(/total flux at zero spacing \d\.\d{3} ± \d/);
    await prog.scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-posterior.png');

    // export: the bytes of skyscore reconstruct --vis with the command line the view gives
    const command = (await app.getByTestId('uv-posterior-command').locator('code').textContent())!;
    expect(command).toBe(`skyscore reconstruct --vis ${VLBA} --prior gaussian-field:${PK} --size 32 --cell 0.00005 --stokes I --sampler pc --n 2 --steps 30 --seed 3 --reweight --correctors 2 --workers 2 --out DIR`);
    const argv = command.split(' ').slice(1, -2);
    argv[argv.indexOf('--vis') + 1] = dataPath('uvfits', VLBA);
    const cli = await runCliAsync([...argv, '--out', path.join(tmp, 'p'), '--quiet'], { timeoutMs: 300_000 });
    expect(cli.code, cli.stderr).toBe(0);
    const [dl] = await Promise.all([app.waitForEvent('download'), app.getByTestId('uv-export-posterior-mean').click()]);
    expect(dl.suggestedFilename()).toBe('posterior-mean.fits');
    expect(readFileSync(await dl.path()).equals(readFileSync(path.join(tmp, 'p', 'posterior-mean.fits')))).toBe(true);
    // report.json: the constraint held, and the survey run for it is the one the total flux is compared with
    const report = async () => {
      const [d] = await Promise.all([app.waitForEvent('download'), app.getByTestId('uv-export-report').click()]);
      expect(d.suggestedFilename()).toBe('report.json');
      return JSON.parse(readFileSync(await d.path(), 'utf8')) as { zeroSpacing: { fluxJy: number; source: string } | null; totalFluxJy: { cleanSurvey: number | null }; notes: string[] };
    };
    const held = await report();
    expect(held.zeroSpacing!.source).toContain('survey CLEAN');
    expect(held.totalFluxJy.cleanSurvey).toBeCloseTo(held.zeroSpacing!.fluxJy, 6);

    // unchecked: the request's totalFlux 'none', which the command line the engine gives for it carries as
    // --total-flux none; the products hold no constraint (summary, label, report.json)
    await app.getByTestId('uv-posterior-zero-spacing').uncheck();
    await app.getByTestId('uv-posterior').click();
    await expect(app.getByTestId('uv-posterior-command').locator('code')).toHaveText(
      `skyscore reconstruct --vis ${VLBA} --prior gaussian-field:${PK} --size 32 --cell 0.00005 --stokes I --sampler pc --n 2 --steps 30 --seed 3 --reweight --total-flux none --correctors 2 --workers 2 --out DIR`,
      { timeout: 120_000 },
    );
    await expect(prog).toHaveAttribute('data-state', 'done');
    await expect(app.getByTestId('uv-products-summary')).toContainText(/; no total flux at zero spacing$/);
    await expect(app.getByTestId('uv-products-summary')).not.toContainText(/total flux at zero spacing \d/);
    await expect(app.getByTestId('uv-products')).toContainText('seed 3, weights rescaled, no total flux at zero spacing');
    const free = await report();
    expect(free.zeroSpacing).toBeNull();
    expect(free.totalFluxJy.cleanSurvey).toBeNull();
    expect(free.notes.some((n) => /total flux at zero spacing/.test(n))).toBe(false);
    await app.getByTestId('uv-products-summary').scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-posterior-no-zero-spacing.png');
    await app.getByTestId('uv-posterior-zero-spacing').check();

    // Stop and keep: a long run ends with its chains' states as the products
    await app.getByTestId('uv-posterior-steps').fill('100000');
    await app.getByTestId('uv-posterior').click();
    await expect.poll(async () => Number(await prog.getAttribute('data-step')), { timeout: 30_000 }).toBeGreaterThan(0);
    await app.getByTestId('uv-posterior-stop-keep').click();
    await expect(prog).toHaveAttribute('data-state', 'done', { timeout: 30_000 });
    await expect(prog).toContainText(/stopped at step \d+ \/ 100000 and kept \(2 of 2 chains\)/);
    await expect(app.getByTestId('uv-products-summary')).toContainText('not converged');
    await expect(app.getByTestId('panel-uv-posterior-mean').locator('.panel-name')).toContainText('posterior-mean.fits');
    await expect(app.getByTestId('uv-export-posterior-samples')).toBeVisible();
    await prog.scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-posterior-kept.png');

    // Stop: a long run ends when asked, with nothing kept
    await app.getByTestId('uv-posterior').click();
    await expect(prog).toHaveAttribute('data-state', 'running', { timeout: 30_000 });
    await expect.poll(async () => Number(await prog.getAttribute('data-step')), { timeout: 30_000 }).toBeGreaterThan(0);
    // the previous run's amplitudes leave the plot while a new run goes
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-model-points', '0');
    await shot(app, 'uvfits-posterior-running.png');
    await app.getByTestId('uv-posterior-stop').click();
    await expect(prog).toHaveAttribute('data-state', 'cancelled', { timeout: 15_000 });
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the posterior after phase self-calibration: the flags in its command line, the rounds of report.json, the products of that command', async ({ app, consoleErrors }) => {
  const EHT = 'ehtim_sample_SYNTHETIC_sgra.uvfits';
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-e2e-uvpost-sc-'));
  try {
    await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('uvfits', EHT));
    await expect(app.getByTestId('uv-view')).toBeVisible();
    await app.getByTestId('uv-size').fill(String(N));
    await app.getByTestId('uv-cell').fill('0.000005');
    await expect(app.getByTestId('uv-posterior-prior')).toHaveValue('user/gf32');
    await app.getByTestId('uv-posterior-n').fill('2');
    await app.getByTestId('uv-posterior-steps').fill('20');
    await app.getByTestId('uv-posterior-seed').fill('5');
    await app.getByTestId('uv-selfcal').selectOption('p');
    await app.getByTestId('uv-selfcal-rounds').fill('2');
    await app.getByTestId('uv-posterior').click();
    const prog = app.getByTestId('uv-posterior-progress');
    await expect(prog).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
    const command = (await app.getByTestId('uv-posterior-command').locator('code').textContent())!;
    expect(command).toMatch(/ --seed 5 --selfcal p --selfcal-rounds 2 --solint 0 --selfcal-start auto --workers \d+ --out DIR$/);
    const argv = command.split(' ').slice(1, -2);
    argv[argv.indexOf('--vis') + 1] = dataPath('uvfits', EHT);
    const cli = await runCliAsync([...argv, '--out', path.join(tmp, 'p'), '--quiet'], { timeoutMs: 300_000 });
    expect(cli.code, cli.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(tmp, 'p', 'report.json'), 'utf8')) as { selfcal: { firstModel: string; gainPhaseRmsDeg: number; visibilitiesKept: number; visibilitiesBefore: number; rounds: { chi2After: number }[] } };
    const result = app.getByTestId('uv-selfcal-result-posterior');
    await expect(result).toContainText(`--selfcal p --selfcal-rounds 2 --solint 0 --selfcal-start auto: first model ${report.selfcal.firstModel}`);
    for (const [i, r] of report.selfcal.rounds.entries()) {
      const after = Number((await app.getByTestId(`uv-selfcal-chi2-${i + 1}`).textContent())!.split(' → ')[1]);
      // four significant digits
      expect(Math.abs(after - r.chi2After)).toBeLessThanOrEqual(5e-4 * r.chi2After);
    }
    await expect(app.getByTestId('uv-selfcal-round-3')).toHaveCount(0);
    await expect(app.getByTestId('uv-selfcal-gains-posterior')).toContainText(
      `phase rms ${report.selfcal.gainPhaseRmsDeg.toFixed(1)}°`,
    );
    await expect(app.getByTestId('uv-selfcal-gains-posterior')).toContainText(`${report.selfcal.visibilitiesKept} of ${report.selfcal.visibilitiesBefore} visibilities kept`);
    // the posterior's products: no gain table (as reconstruct --vis), the mean as that command writes it
    await expect(app.getByTestId('uv-export-report')).toBeVisible();
    const [dl] = await Promise.all([app.waitForEvent('download'), app.getByTestId('uv-export-posterior-mean').click()]);
    expect(readFileSync(await dl.path()).equals(readFileSync(path.join(tmp, 'p', 'posterior-mean.fits')))).toBe(true);
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-data', 'as read');
    await result.scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-posterior-selfcal.png');
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a random-groups FITS file that is not UVFITS opens in the image viewer, with its headers', async ({ app, consoleErrors }) => {
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('fits', 'group.fits'));
  await expect(app.getByTestId('viewer-error')).toContainText('group.fits: no image in this file');
  await expect(app.getByTestId('viewer-error')).not.toContainText('appears twice');
  await expect(app.getByTestId('uv-view')).toHaveCount(0);
  await shot(app, 'uvfits-group-not-uvfits.png');
  expect(consoleErrors).toEqual([]);
});
