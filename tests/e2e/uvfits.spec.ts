/**
 * Visibilities in the app, end to end in Chromium against `skyscore serve`: open the real VLBA BL Lac UVFITS
 * file, its summary against `skyscore info --json`, the uv coverage and amplitude plots drawn from the data (point
 * counts, coloured pixels), the uv plot at full size and zoomed, a dirty image and beam with the sky read-out, a
 * short CLEAN with progress, the model's amplitudes over the data, an exported product byte for byte against
 * `skyscore clean`, Stop, and the refusals (a Measurement Set, a FITS image). Screenshots go to test-results/.
 */
import { test, expect } from './fixtures.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { ROOT, dataPath } from '../helpers/data.js';
import { runCliAsync } from '../helpers/cli.js';

const shot = (p: Page, name: string) => p.screenshot({ path: path.join(ROOT, 'test-results', name) });
const VLBA = 'vlba43_BLLAC_2013may30.uvfits';

/** Pixels of a plot's canvas in the data colour (blue) and in the model colour (orange). */
async function colouredPixels(p: Page, testId: string): Promise<{ blue: number; orange: number }> {
  return p
    .getByTestId(testId)
    .locator('canvas')
    .evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let blue = 0;
      let orange = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] < 128) continue;
        if (d[i + 2] > d[i] + 60 && d[i + 2] > d[i + 1]) blue++;
        if (d[i] > d[i + 2] + 80 && d[i] > d[i + 1] + 30) orange++;
      }
      return { blue, orange };
    });
}

test('open a UVFITS file: summary, uv coverage, amplitudes, dirty image, CLEAN, export as the CLI writes it', async ({ app, consoleErrors }) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-e2e-uv-'));
  try {
    const info = await runCliAsync(['info', dataPath('uvfits', VLBA), '--json']);
    expect(info.code).toBe(0);
    const s = (JSON.parse(info.stdout) as { uvfits: Record<string, unknown> & { antennas: string[] } }).uvfits;

    await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('uvfits', VLBA));
    await expect(app.getByTestId('uv-view')).toBeVisible();
    await expect(app.getByTestId('viewer-error')).toHaveCount(0);
    // the summary's figures are those of skyscore info
    await expect(app.getByTestId('uv-object')).toHaveText(String(s.object));
    await expect(app.getByTestId('uv-telescope')).toHaveText(String(s.telescope));
    await expect(app.getByTestId('uv-date')).toHaveText(String(s.dateObs));
    await expect(app.getByTestId('uv-antennas')).toContainText(`${s.antennas.length} (${s.antennas.slice(0, 3).join(', ')}`);
    await expect(app.getByTestId('uv-baselines')).toHaveText(String(s.baselines));
    await expect(app.getByTestId('uv-ifs')).toHaveText(String(s.nIf));
    await expect(app.getByTestId('uv-channels')).toContainText(String(s.nChan));
    await expect(app.getByTestId('uv-visibilities')).toContainText(`${s.visibilities} used, ${s.flagged} flagged`);
    await expect(app.getByTestId('uv-uvrange')).toContainText(`${Math.round(s.uvMin as number)} – ${Math.round(s.uvMax as number)} λ`);
    await expect(app.getByTestId('uv-stokes')).toContainText(`${(s.stokes as string[]).join(', ')}; imaging I`);

    // the plots, drawn from the data: every visibility and its conjugate on the uv plane, every amplitude
    const uv = app.getByTestId('uv-coverage-plot');
    await expect(uv).toHaveAttribute('data-points', String(2 * (s.visibilities as number)));
    await expect(uv).toHaveAttribute('data-drawn', String(2 * (s.visibilities as number)));
    await expect(app.getByTestId('uv-amplitude-plot')).toHaveAttribute('data-points', String(s.visibilities));
    expect((await colouredPixels(app, 'uv-coverage-plot')).blue).toBeGreaterThan(500);
    expect((await colouredPixels(app, 'uv-amplitude-plot')).blue).toBeGreaterThan(500);
    // square: the uv plot's plotting box is as tall as it is wide
    const [bw, bh] = (await uv.getAttribute('data-box'))!.split('x').map(Number);
    expect(bw).toBe(bh);
    expect(bw).toBeGreaterThan(150);
    await shot(app, 'uvfits-summary.png');

    // at full size, zoomed with the wheel, reset by a double click
    await app.getByTestId('uv-full-size').click();
    const full = app.getByTestId('uv-coverage-full');
    await expect(full).toBeVisible();
    const fb = (await full.locator('canvas').boundingBox())!;
    expect(fb.height).toBeGreaterThan(500);
    const [fw, fh] = (await full.getAttribute('data-box'))!.split('x').map(Number);
    expect(fw).toBe(fh);
    expect(fw).toBeGreaterThan(500);
    await shot(app, 'uvfits-uv-full.png');
    await app.mouse.move(fb.x + fb.width / 2, fb.y + fb.height / 2);
    await app.mouse.wheel(0, -300);
    await expect(full).toHaveAttribute('data-zoomed', 'true');
    expect(Number(await full.getAttribute('data-drawn'))).toBeLessThan(2 * (s.visibilities as number));
    await shot(app, 'uvfits-uv-zoomed.png');
    await full.locator('canvas').dblclick();
    await expect(full).toHaveAttribute('data-zoomed', 'false');
    await app.getByTestId('uv-full-close').click();
    await expect(full).toHaveCount(0);

    // the dirty image and beam, with the sky WCS
    expect(Number(await app.getByTestId('uv-size').inputValue())).toBeGreaterThanOrEqual(64);
    await app.getByTestId('uv-size').fill('64');
    await app.getByTestId('uv-cell').fill('0.00005');
    await app.getByTestId('uv-dirty').click();
    await expect(app.getByTestId('panel-uv-dirty')).toBeVisible();
    await expect(app.getByTestId('panel-uv-psf')).toBeVisible();
    await expect(app.getByTestId('panel-uv-dirty').locator('.panel-name')).toContainText('vlba43_BLLAC_2013may30-dirty.fits');
    const view = app.getByTestId('panel-uv-dirty').locator('.panel-view');
    const vb = (await view.boundingBox())!;
    await app.mouse.move(vb.x + vb.width / 2, vb.y + vb.height / 2);
    const ra = Number(await app.getByTestId('readout-lon').textContent());
    const dec = Number(await app.getByTestId('readout-lat').textContent());
    // a 64-pixel field of 0.05 mas: every pixel lies within 2 mas of the phase centre
    expect(Math.abs(ra - (s.ra as number))).toBeLessThan(1e-5);
    expect(Math.abs(dec - (s.dec as number))).toBeLessThan(1e-5);
    await shot(app, 'uvfits-dirty.png');

    // a short CLEAN: progress, the five products, the model's amplitudes over the data
    await app.getByTestId('uv-niter').fill('200');
    await app.getByTestId('uv-clean').click();
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-iterations', '200');
    for (const k of ['model', 'residual', 'image']) await expect(app.getByTestId(`panel-uv-${k}`)).toBeVisible();
    for (const k of ['dirty', 'psf']) await expect(app.getByTestId(`panel-uv-${k}`)).toHaveCount(0);
    await expect(app.getByTestId('uv-amplitude')).toHaveAttribute('data-model-points', String(s.visibilities));
    await expect(app.getByTestId('uv-amplitude-plot')).toHaveAttribute('data-points', String(2 * (s.visibilities as number)));
    expect((await colouredPixels(app, 'uv-amplitude-plot')).orange).toBeGreaterThan(200);
    await shot(app, 'uvfits-clean.png');
    // the view folds to its header line, giving the panels the room
    await app.getByTestId('uv-fold').click();
    await expect(app.getByTestId('uv-amplitude-plot')).toBeHidden();
    await shot(app, 'uvfits-clean-folded.png');
    await app.getByTestId('uv-fold').click();
    await expect(app.getByTestId('uv-amplitude-plot')).toBeVisible();

    // export: the bytes skyscore clean writes for the same settings
    const cli = await runCliAsync(['clean', '--vis', dataPath('uvfits', VLBA), '--out', path.join(tmp, 'c'), '--size', '64', '--cell', '0.00005', '--niter', '200', '--weighting', 'natural']);
    expect(cli.code).toBe(0);
    for (const k of ['image', 'model']) {
      const [dl] = await Promise.all([app.waitForEvent('download'), app.getByTestId(`uv-export-${k}`).click()]);
      expect(dl.suggestedFilename()).toBe(`vlba43_BLLAC_2013may30-${k}.fits`);
      expect(readFileSync(await dl.path()).equals(readFileSync(path.join(tmp, `c-${k}.fits`)))).toBe(true);
    }
    // all five products are there to export, named as WSClean names them
    for (const k of ['dirty', 'psf', 'residual']) await expect(app.getByTestId(`uv-export-${k}`)).toBeVisible();

    // Stop: a long CLEAN ends at once when asked
    await app.getByTestId('uv-size').fill('256');
    await app.getByTestId('uv-niter').fill('1000000');
    await app.getByTestId('uv-gain').fill('0.001');
    await app.getByTestId('uv-method').selectOption('hogbom');
    await app.getByTestId('uv-clean').click();
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-state', 'running');
    await expect.poll(async () => Number(await app.getByTestId('uv-clean-progress').getAttribute('data-iterations'))).toBeGreaterThan(0);
    await shot(app, 'uvfits-clean-running.png');
    await app.getByTestId('uv-stop').click();
    await expect(app.getByTestId('uv-clean-progress')).toHaveAttribute('data-state', 'cancelled', { timeout: 15_000 });

    // another product of the file: one hand, as `skyscore info --stokes LL` counts it
    const ll = JSON.parse((await runCliAsync(['info', dataPath('uvfits', VLBA), '--json', '--stokes', 'LL'])).stdout) as { uvfits: { visibilities: number; flagged: number } };
    await app.getByTestId('uv-product').selectOption('LL');
    await expect(app.getByTestId('uv-stokes')).toContainText('imaging LL = LL');
    await expect(app.getByTestId('uv-visibilities')).toContainText(`${ll.uvfits.visibilities} used, ${ll.uvfits.flagged} flagged`);
    await expect(app.getByTestId('uv-coverage-plot')).toHaveAttribute('data-points', String(2 * ll.uvfits.visibilities));
    expect(consoleErrors).toEqual([]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a Measurement Set and a FITS image given as visibilities get the command line messages', async ({ app, consoleErrors }) => {
  // a casacore table's file (magic 0xbebebebe), dropped
  const dt = await app.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File([new Uint8Array(64).fill(0xbe)], 'table.dat'));
    return d;
  });
  const area = app.getByRole('main', { name: 'Images' });
  await area.dispatchEvent('dragover', { dataTransfer: dt });
  await area.dispatchEvent('drop', { dataTransfer: dt });
  await expect(app.getByTestId('viewer-error')).toContainText("a CASA Measurement Set (a table directory), which SkyScore does not read; export it to UVFITS in CASA first: exportuvfits(vis='table.dat'");
  await expect(app.getByTestId('uv-view')).toHaveCount(0);
  // an image named as visibilities: the reader's message, as `skyscore clean` prints it
  const img = dataPath('radio', 'purify_M31.fits');
  await app.getByTestId('open-fits-input').first().setInputFiles({ name: 'm31.uvfits', mimeType: 'application/fits', buffer: readFileSync(img) });
  await expect(app.getByTestId('viewer-error')).toContainText('m31.uvfits: not UVFITS: the primary HDU holds no random groups (GROUPS = T, NAXIS1 = 0)');
  const cli = await runCliAsync(['clean', '--vis', img, '--out', path.join(os.tmpdir(), 'never')]);
  expect(cli.stderr).toContain(': not UVFITS: the primary HDU holds no random groups (GROUPS = T, NAXIS1 = 0)');
  await shot(app, 'uvfits-refusal.png');
  // every visibility flagged (the MWA file as pyuvdata wrote it): the summary says so, nothing to image
  await app.getByTestId('open-fits-input').first().setInputFiles(dataPath('uvfits', 'mwa_1133866760_uvceti.uvfits'));
  await expect(app.getByTestId('uv-visibilities')).toContainText('0 used,');
  await expect(app.getByTestId('uv-nothing')).toBeVisible();
  await expect(app.getByTestId('uv-dirty')).toBeDisabled();
  await expect(app.getByTestId('uv-coverage-plot')).toHaveAttribute('data-points', '0');
  await shot(app, 'uvfits-all-flagged.png');
  expect(consoleErrors).toEqual([]);
});

test("the model editor's uv-sampling operator shows its uv coverage at full size", async ({ app, consoleErrors }) => {
  await app.getByLabel('Add an operator').selectOption('uv-sampling');
  await app.getByLabel('Station table 2').setInputFiles(dataPath('arrays', 'VLA_BNA.txt'));
  const small = app.getByTestId('uv-coverage').locator('canvas');
  await expect(small).toBeVisible();
  const n = Number(await small.getAttribute('data-points'));
  expect(n).toBeGreaterThan(100);
  await app.getByTestId('uv-full-size-1').click();
  const full = app.getByTestId('operator-uv-full');
  await expect(full).toBeVisible();
  // the operator's own points ((u, v) and (−u, −v) both among them), every one drawn
  await expect(full).toHaveAttribute('data-points', String(n));
  await expect(full).toHaveAttribute('data-drawn', String(n));
  const fb = (await full.locator('canvas').boundingBox())!;
  expect(fb.height).toBeGreaterThan(500);
  expect((await colouredPixels(app, 'operator-uv-full')).blue).toBeGreaterThan(500);
  await shot(app, 'uvfits-operator-uv-full.png');
  await app.getByTestId('uv-full-close').click();
  await expect(full).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});
