/**
 * The lens fit specs' starting point: the drizzle-like multi-extension file of tests/helpers/lens-mef.ts and its PSF
 * written into a folder, the file opened in the app, a lens operator added with the PSF as a FITS file of its own.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, type Page } from '@playwright/test';
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
