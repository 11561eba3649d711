/**
 * A multi-source UVFITS file in the app, end to end in Chromium against `skyscore serve`: the VLBA BL Lac file
 * with a SOURCE random parameter and an AIPS SU table, its groups as source 1 (BLLAC) and a copy of every third
 * group as source 2 (OJ287: a 1.5 Jy point source at the phase centre with the weights' noise). Opening it lists
 * the sources (number, name, position, groups, usable visibilities) and images nothing; choosing one gives the
 * summary of `skyscore info --source`, its dirty image exported byte for byte as `skyscore clean --source` writes
 * it, CLEAN on it, and the other source from the view's Source menu. Screenshots go to test-results/.
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ROOT, dataPath } from '../helpers/data.js';
import { runCliAsync } from '../helpers/cli.js';
import { multiSourceUvfits } from '../helpers/multi-source-uvfits.js';

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });

type Info = { uvfits: { object: string; visibilities: number; flagged: number; groups: number; ra: number; dec: number } };

test('a multi-source file: the sources to choose from, then one source summarised, imaged and CLEANed; the other from the Source menu', async ({ app, consoleErrors }) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-e2e-uvsrc-'));
  try {
    const file = path.join(tmp, 'bllac-oj287.uvfits');
    const made = multiSourceUvfits(new Uint8Array(readFileSync(dataPath('uvfits', 'vlba43_BLLAC_2013may30.uvfits'))), {
      sources: [
        { name: 'BLLAC', ra: 330.680380712, dec: 42.2777721861 },
        { name: 'OJ287', ra: 133.70365, dec: 20.10851 },
      ],
      pointJy: 1.5,
    });
    writeFileSync(file, made.bytes);
    // the command line refuses it without --source, naming the sources
    const refused = await runCliAsync(['info', file]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('the file holds 2 sources (SOURCE: 1 BLLAC (2462 groups), 2 OJ287 (821 groups))');

    await app.getByTestId('open-fits-input').first().setInputFiles(file);
    // the sources, nothing imaged yet; no error
    await expect(app.getByTestId('uv-source-choice')).toBeVisible();
    await expect(app.getByTestId('viewer-error')).toHaveCount(0);
    await expect(app.getByTestId('uv-summary')).toHaveCount(0);
    await expect(app.getByTestId('uv-source-row-1')).toContainText('BLLAC');
    await expect(app.getByTestId('uv-source-row-1')).toContainText('22h02m43');
    await expect(app.getByTestId('uv-source-row-2')).toContainText('OJ287');
    await expect(app.getByTestId('uv-source-vis-1')).toHaveText('2462');
    await expect(app.getByTestId('uv-source-vis-2')).toHaveText('821');
    await shot(app, 'uvfits-sources.png');

    // source 2: the summary of `skyscore info --source OJ287`
    const info = JSON.parse((await runCliAsync(['info', file, '--source', 'OJ287', '--json'])).stdout) as Info;
    await app.getByTestId('uv-source-open-2').click();
    await expect(app.getByTestId('uv-summary')).toBeVisible();
    await expect(app.getByTestId('uv-source-choice')).toHaveCount(0);
    await expect(app.getByTestId('uv-object')).toHaveText('OJ287 (SOURCE 2)');
    await expect(app.getByTestId('uv-visibilities')).toContainText(`${info.uvfits.visibilities} used, ${info.uvfits.flagged} flagged`);
    await expect(app.getByTestId('uv-centre')).toContainText('08h54m48');
    await expect(app.getByTestId('uv-source')).toHaveValue('2');
    await expect(app.getByTestId('uv-sources')).toHaveText('2 in the file: 1 BLLAC, 2 OJ287');
    await expect(app.getByTestId('uv-coverage-plot')).toHaveAttribute('data-points', String(2 * info.uvfits.visibilities));

    // its dirty image: the bytes of `skyscore clean --source OJ287 --niter 0` with the same grid
    await app.getByTestId('uv-size').fill('64');
    await app.getByTestId('uv-cell').fill('0.0001');
    await app.getByTestId('uv-dirty').click();
    await expect(app.getByTestId('panel-uv-dirty')).toBeVisible();
    const cli = await runCliAsync(['clean', '--vis', file, '--source', 'OJ287', '--out', path.join(tmp, 'd'), '--size', '64', '--cell', '0.0001', '--niter', '0']);
    expect(cli.code, cli.stderr).toBe(0);
    const [dl] = await Promise.all([app.waitForEvent('download'), app.getByTestId('uv-export-dirty').click()]);
    expect(readFileSync(await dl.path()).equals(readFileSync(path.join(tmp, 'd-dirty.fits')))).toBe(true);
    await shot(app, 'uvfits-source-dirty.png');

    // CLEAN of the point source: its flux in the model
    await app.getByTestId('uv-niter').fill('100');
    await app.getByTestId('uv-clean').click();
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
    await expect(app.getByTestId('uv-products-summary')).toContainText('model flux 1.');

    // the other source from the Source menu: its own visibilities, the products of the first gone
    const bl = JSON.parse((await runCliAsync(['info', file, '--source', '1', '--json'])).stdout) as Info;
    await app.getByTestId('uv-source').selectOption('1');
    await expect(app.getByTestId('uv-object')).toHaveText('BLLAC (SOURCE 1)');
    await expect(app.getByTestId('uv-visibilities')).toContainText(`${bl.uvfits.visibilities} used`);
    await expect(app.getByTestId('panel-uv-model')).toHaveCount(0);
    await expect(app.getByTestId('uv-clean-progress')).toHaveCount(0);
    await app.getByTestId('uv-source').scrollIntoViewIfNeeded();
    await shot(app, 'uvfits-source-switched.png');
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
