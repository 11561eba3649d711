/**
 * Self-calibration in the app, end to end in Chromium against `skyscore serve`: the EHT Sgr A* sample file
 * (uncalibrated station phases) in the Visibilities view, phase self-calibration chosen in the view, a CLEAN on a
 * 64×64 grid: the rounds' figures (those `skyscore clean --selfcal p` prints), the gains' phase rms, the gain table
 * exported as the command line writes it (but for its `command`), the data's amplitudes as read; then amplitude and
 * phase: the amplitude plot shows the self-calibrated data. Screenshots go to test-results/ (and, with
 * SKYSCORE_SHOTS=DIR, the panel to DIR).
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { ROOT, dataPath } from '../helpers/data.js';
import { runCliAsync } from '../helpers/cli.js';

const EHT = 'ehtim_sample_SYNTHETIC_sgra.uvfits';
const STEM = 'ehtim_sample_SYNTHETIC_sgra';
const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });

test('phase, then amplitude and phase self-calibration before CLEAN: the rounds, the gain table, the amplitudes', async ({ app, consoleErrors }) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-e2e-selfcal-'));
  try {
    await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('uvfits', EHT));
    await expect(app.getByTestId('uv-view')).toBeVisible();
    await app.getByTestId('uv-size').fill('64');
    await app.getByTestId('uv-cell').fill('0.00000922');
    await app.getByTestId('uv-niter').fill('5000');
    await app.getByTestId('uv-threshold').fill('0.0003');
    // the command line's defaults: none; once chosen, 3 rounds, each time stamp, auto
    await expect(app.getByTestId('uv-selfcal')).toHaveValue('none');
    await expect(app.getByTestId('uv-selfcal-rounds')).toHaveCount(0);
    await app.getByTestId('uv-selfcal').selectOption('p');
    await expect(app.getByTestId('uv-selfcal-rounds')).toHaveValue('3');
    await expect(app.getByTestId('uv-solint')).toHaveValue('0');
    await expect(app.getByTestId('uv-selfcal-start')).toHaveValue('auto');
    await app.getByTestId('uv-selfcal-start').scrollIntoViewIfNeeded();
    if (process.env.SKYSCORE_SHOTS) await app.getByTestId('uv-controls').screenshot({ path: path.join(process.env.SKYSCORE_SHOTS, 'appselfcal-settings.png') });
    await app.getByTestId('uv-clean').click();
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });

    // the rounds as `skyscore clean --selfcal p` prints them (each row's tooltip is its line)
    const cli = await runCliAsync(['clean', '--vis', dataPath('uvfits', EHT), '--out', path.join(tmp, 'p'), '--size', '64', '--cell', '0.00000922', '--niter', '5000', '--threshold', '0.0003', '--selfcal', 'p']);
    expect(cli.code, cli.stderr).toBe(0);
    const result = app.getByTestId('uv-selfcal-result-clean');
    await expect(result).toBeVisible();
    await expect(result).toContainText('--selfcal p --selfcal-rounds 3 --solint 0 --selfcal-start auto');
    await expect(result).toContainText('first model point');
    for (const r of [1, 2, 3]) {
      const row = app.getByTestId(`uv-selfcal-round-${r}`);
      const line = (await row.getAttribute('title'))!;
      expect(cli.stdout).toContain(line);
      // the row's χ² before → after are the line's
      const m = /χ²\/dof of the model (\S+) → (\S+) after/.exec(line)!;
      const [b, a] = (await app.getByTestId(`uv-selfcal-chi2-${r}`).textContent())!.split(' → ').map(Number);
      expect(b).toBeCloseTo(Number(m[1]), 0);
      expect(a).toBeCloseTo(Number(m[2]), 0);
    }
    const rms = /phase rms (\S+)°\)/.exec(cli.stdout)![1];
    await expect(app.getByTestId('uv-selfcal-gains-clean')).toContainText(`phase rms ${rms}°`);
    await expect(app.getByTestId('uv-selfcal-gains-clean')).toContainText('684 of 714 visibilities kept');
    // phase gains leave the amplitudes: the plot shows the data as read
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-data', 'as read');

    // the gain table among the products, as the command line writes it (but for the command it names)
    const [dl] = await Promise.all([app.waitForEvent('download'), app.getByTestId('uv-export-gains').click()]);
    expect(dl.suggestedFilename()).toBe(`${STEM}-gains.json`);
    const mine = JSON.parse(readFileSync(await dl.path(), 'utf8'));
    const theirs = JSON.parse(readFileSync(path.join(tmp, 'p-gains.json'), 'utf8'));
    expect(mine.command).toMatch(/^skyscore clean --vis ehtim_sample_SYNTHETIC_sgra\.uvfits .*--selfcal p --selfcal-rounds 3 --solint 0 --selfcal-start auto$/);
    delete mine.command;
    delete theirs.command;
    expect(mine).toEqual(theirs);
    const [img] = await Promise.all([app.waitForEvent('download'), app.getByTestId('uv-export-image').click()]);
    expect(readFileSync(await img.path()).equals(readFileSync(path.join(tmp, 'p-image.fits')))).toBe(true);

    await result.scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-selfcal-p.png');
    if (process.env.SKYSCORE_SHOTS) await app.getByTestId('uv-view').screenshot({ path: path.join(process.env.SKYSCORE_SHOTS, 'appselfcal-p-view.png') });

    // amplitude and phase: the amplitude plot shows the corrected data the CLEAN was made from
    await app.getByTestId('uv-selfcal').selectOption('ap');
    await app.getByTestId('uv-clean').click();
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
    await expect(app.getByTestId('uv-selfcal-result-clean')).toContainText('--selfcal ap --selfcal-rounds 3');
    await expect(app.getByTestId('uv-selfcal-round-2')).toContainText('round 2 (ap)');
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-data', 'self-calibrated');
    await expect(app.getByTestId('uv-amplitude-plot')).toContainText('self-calibrated data |V|');
    await app.getByTestId('uv-selfcal-result-clean').scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-selfcal-ap.png');
    if (process.env.SKYSCORE_SHOTS) {
      await app.screenshot({ path: path.join(process.env.SKYSCORE_SHOTS, 'appselfcal-ap-page.png') });
      await app.getByTestId('uv-controls').screenshot({ path: path.join(process.env.SKYSCORE_SHOTS, 'appselfcal-ap-panel.png') });
    }
    // none again: the next CLEAN is of the data as read
    await app.getByTestId('uv-selfcal').selectOption('none');
    await app.getByTestId('uv-clean').click();
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
    await expect(app.getByTestId('uv-selfcal-result-clean')).toHaveCount(0);
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-data', 'as read');
    await expect(app.getByTestId('uv-export-gains')).toHaveCount(0);
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
