/**
 * The lens fit specs' starting point: the drizzle-like multi-extension file of tests/helpers/lens-mef.ts and its PSF
 * written into a folder, the file opened in the app, a lens operator added with the PSF as a FITS file of its own.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type Locator, type Page } from '@playwright/test';
import { lensMef, CORR_N, MEF_N } from '../helpers/lens-mef.js';

export async function openLensMef(app: Page, dir: string, opts: Parameters<typeof lensMef>[0] = {}): Promise<void> {
  const m = lensMef(opts);
  const obs = path.join(dir, opts.correlated ? 'drz.fits' : 'mef.fits');
  const psf = path.join(dir, 'psf.fits');
  writeFileSync(obs, m.bytes);
  writeFileSync(psf, m.psf);
  const n = opts.correlated ? CORR_N : MEF_N;
  await app.getByTestId('open-fits-input').first().setInputFiles(obs);
  await expect(app.getByTestId('model-ok')).toContainText(`y [${n}×${n}]`);
  await app.getByLabel('Add an operator').selectOption('lens');
  await app.getByTestId('psf-kind-fits-1').check();
  await app.getByTestId('psf-file-1').setInputFiles(psf);
  await expect(app.getByTestId('psf-thumb-1')).toBeVisible();
}

/**
 * The short fit of the noise specs on the lens-fit panel `fit`: the disc of 1.35″ (so that the sky beyond twice it
 * measures the noise), one start, 12² and 16² source grids, one light component, no errors.
 */
export async function chooseShortFit(fit: Locator): Promise<void> {
  await fit.getByTestId('lens-fit-mask').selectOption('annulus');
  for (const [id, v] of [['lens-fit-r1', '0'], ['lens-fit-r2', '1.35'], ['lens-fit-starts', '1'], ['lens-fit-fit-source', '12'], ['lens-fit-source', '16']] as const) {
    await fit.getByTestId(id).fill(v);
    await fit.getByTestId(id).press('Tab');
  }
  await fit.getByTestId('lens-fit-light').selectOption('1');
  await fit.getByTestId('lens-fit-errors').uncheck();
}
