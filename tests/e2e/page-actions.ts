/** Page actions several specs share: a download saved into a folder, a box dragged over a 64×64 drawing canvas. */
import path from 'node:path';
import { expect, type Locator, type Page } from '@playwright/test';

/** Clicks `click`, waits for the download it starts and saves it into `dir` (the name prefixed by the time); its path. */
export async function downloadTo(dir: string, p: Page, click: () => Promise<void>): Promise<string> {
  const [dl] = await Promise.all([p.waitForEvent('download'), click()]);
  const file = path.join(dir, `${Date.now()}-${dl.suggestedFilename()}`);
  await dl.saveAs(file);
  return file;
}

/** Drags over the drawing canvas from pixel (x0, y0) to (x1, y1) (64×64 image, row 0 at the bottom), once the layout has settled. */
export async function dragBox(canvas: Locator, x0: number, y0: number, x1: number, y1: number, page: Page): Promise<void> {
  await canvas.scrollIntoViewIfNeeded();
  // the step's layout settles first (the engine's noise estimate arrives on its own time and may move the canvas)
  let b = (await canvas.boundingBox())!;
  await expect
    .poll(
      async () => {
        await page.waitForTimeout(150);
        const now = (await canvas.boundingBox())!;
        const same = now.x === b.x && now.y === b.y && now.width === b.width && now.height === b.height;
        b = now;
        return same;
      },
      { timeout: 10_000 },
    )
    .toBe(true);
  const at = (x: number, y: number) => [b.x + ((x + 0.5) / 64) * b.width, b.y + b.height - ((y + 0.5) / 64) * b.height] as const;
  const [ax, ay] = at(x0, y0);
  const [bx, by] = at(x1, y1);
  await page.mouse.move(ax, ay);
  await page.mouse.down();
  await page.mouse.move((ax + bx) / 2, (ay + by) / 2, { steps: 4 });
  await page.mouse.move(bx, by, { steps: 4 });
  await page.mouse.up();
}

/** Chooses `prior` on the Prior tab and runs 2 samples × 20 steps (seed 7) on the Run tab, waiting up to `timeout` ms for the end. */
export async function runShort(page: Page, prior: string, timeout: number): Promise<void> {
  await page.getByRole('tab', { name: 'Prior' }).click();
  await page.getByLabel(`Prior ${prior}`).check();
  await page.getByRole('tab', { name: 'Run' }).click();
  await page.getByTestId('run-n').fill('2');
  await page.getByTestId('run-steps').fill('20');
  await page.getByTestId('run-seed').fill('7');
  await page.getByTestId('run-button').click();
  await expect(page.getByTestId('run-progress')).toHaveAttribute('data-state', 'done', { timeout });
}
