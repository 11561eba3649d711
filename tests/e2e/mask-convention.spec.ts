/**
 * A PyAutoLens mask in the forward-model editor, end to end (Chromium against `skyscore serve`): a 64×64 observation
 * with a WCS of 0.05″ pixels, a mask operator given PyAutoLens's circular mask (1 outside 1.2″, no WCS: as PyAutoLens
 * writes mask.fits). Read by default as 1 = observed, the model check warns that it may be a PyAutoLens mask; "1 =
 * missing" shows it inverted in the painter and the warning goes; `auto` waits for the observation's WCS (the editor's
 * check has none), and the run reads the mask inverted by lens-fit's rule at 0.05″ — report.json's warnings say so and
 * count the observed pixels of the disc. Screenshots go to test-results/mask-convention/ (and $SKYSCORE_SHOTS).
 */
import { test as base, expect, userDirServer, type Server } from './fixtures.js';
import { downloadTo, runShort } from './page-actions.js';
import type { Page } from '@playwright/test';
import path from 'node:path';
import os from 'node:os';
import { readFileSync, mkdtempSync } from 'node:fs';
import { FitsHeader, writeFits } from '../../src-shared/fits/index.js';
import { makeGaussianFieldPrior } from './small-prior.js';
import { shot } from './shots.js';

const userDir = mkdtempSync(path.join(os.tmpdir(), 'skyscore-mask-convention-e2e-'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'skyscore-mask-convention-dl-'));

const test = base.extend<{ app: Page }, { maskServer: Server }>({
  maskServer: userDirServer(userDir, () => {
    makeGaussianFieldPrior(path.join(userDir, 'models'), 'galaxies-gf');
  }),
  app: async ({ page, maskServer, consoleErrors }, use) => {
    void consoleErrors;
    await page.goto(maskServer.url);
    await use(page);
  },
});

const N = 64;
const SCALE = 0.05;
const inDisc = (i: number, j: number) => Math.hypot((j - (N - 1) / 2) * SCALE, (i - (N - 1) / 2) * SCALE) <= 1.2;

/** A ring (radius 0.6″) at the centre of a 64×64 TAN image of 0.05″ pixels, with noise of σ 0.05. */
function observation(): Uint8Array {
  const h = new FitsHeader();
  for (const [k, v] of [['CTYPE1', 'RA---TAN'], ['CTYPE2', 'DEC--TAN'], ['CRPIX1', 32.5], ['CRPIX2', 32.5], ['CRVAL1', 150], ['CRVAL2', 2], ['CDELT1', -SCALE / 3600], ['CDELT2', SCALE / 3600]] as const) h.set(k, v);
  let s = 7;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const y = new Float32Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      const r = Math.hypot((j - (N - 1) / 2) * SCALE, (i - (N - 1) / 2) * SCALE);
      y[i * N + j] = Math.exp(-((r - 0.6) ** 2) / (2 * 0.1 ** 2)) + 0.05 * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    }
  return writeFits([{ data: y, shape: [N, N], header: h }]);
}

/** PyAutoLens's circular mask: 1 (masked) outside 1.2″, 0 inside; no WCS. */
function pyautolensMask(): { bytes: Uint8Array; inside: number } {
  const m = new Uint8Array(N * N);
  let inside = 0;
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      m[i * N + j] = inDisc(i, j) ? 0 : 1;
      inside += inDisc(i, j) ? 1 : 0;
    }
  return { bytes: writeFits([{ data: m, shape: [N, N] }]), inside };
}

const download = (p: Page, click: () => Promise<void>): Promise<string> => downloadTo(tmp, p, click);

test("a PyAutoLens mask: the default warns, '1 = missing' inverts it, auto reads it by the observation's WCS in the run", async ({ app: page, consoleErrors }) => {
  await page.getByTestId('open-fits-input').first().setInputFiles({ name: 'ring.fits', mimeType: 'application/fits', buffer: Buffer.from(observation()) });
  await expect(page.getByTestId('obs-name')).toHaveText('ring.fits');
  await page.getByTestId('psf-fwhm-0').fill('2');
  await page.getByLabel('Add an operator').selectOption('mask');
  const { bytes, inside } = pyautolensMask();
  await page.getByLabel('Mask 2 FITS file').setInputFiles({ name: 'mask.fits', mimeType: 'application/fits', buffer: Buffer.from(bytes) });
  const ok = page.getByTestId('model-ok');
  const painter = page.getByTestId('mask-painter-1');

  // the default: 1 = observed, everything but the disc; the check warns (no pixel scale in the editor: in pixels)
  await expect(page.getByTestId('mask-convention-1')).toHaveValue('');
  await expect(painter).toContainText(`${inside} of 4096 pixels masked`);
  await expect(ok).toContainText(`mask mask.fits: ${4096 - inside} of 4096 pixels observed`);
  await expect(ok).toContainText("'mask.fits' may be a PyAutoLens mask (1 = missing): its border is all 1 and the 0-pixels around the centre span an equivalent radius of");
  await page.getByTestId('operator-1').scrollIntoViewIfNeeded();
  await shot(page, 'mask-default-warning.png', 'mask-convention');

  // 1 = missing: the disc is observed, the painter shows the rest masked, no warning
  await page.getByTestId('mask-convention-1').selectOption('exclude');
  await expect(painter).toContainText(`${4096 - inside} of 4096 pixels masked`);
  await expect(ok).toContainText(`mask mask.fits (read as 1 = missing): ${inside} of 4096 pixels observed`);
  await expect(ok).not.toContainText('PyAutoLens mask');
  await page.getByTestId('operator-1').scrollIntoViewIfNeeded();
  await shot(page, 'mask-exclude.png', 'mask-convention');

  // auto: the editor's check has no observation WCS — the run decides
  await page.getByTestId('mask-convention-1').selectOption('auto');
  await expect(ok).toContainText("'mask.fits' read as 1 = observed for now");
  await expect(ok).toContainText("the run decides with the observation's WCS");

  // the run: lens-fit's rule at the observation's 0.05″ reads the mask inverted (the disc's 1.2″ ≥ the rule's 1″)
  await page.getByLabel('Type σ (white)').check();
  await page.getByTestId('noise-sigma').fill('0.05');
  await runShort(page, 'galaxies-gf', 170_000);
  const report = JSON.parse(readFileSync(await download(page, () => page.getByTestId('export-report.json').click()), 'utf8'));
  const note = (report.warnings as string[]).find((w) => w.includes("'mask.fits' read as 1 = missing"));
  expect(note).toMatch(/PyAutoLens's convention: its border is all 1 and the \d+ 0-pixels around the centre span an equivalent radius of 1\.20″ .*\(0\.05″ per pixel from ring\.fits's WCS: CDELTi\)/);
  expect(report.observedPixels).toBe(inside);
  expect(consoleErrors).toEqual([]);
});
