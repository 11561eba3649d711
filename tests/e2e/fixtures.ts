import { test as base, expect, type Page } from '@playwright/test';
import { startServe } from '../helpers/cli.js';

type Server = Awaited<ReturnType<typeof startServe>>;

/** A `skyscore serve` per test file, and a page that records console errors. */
export const test = base.extend<{ consoleErrors: string[]; app: Page }, { server: Server }>({
  server: [
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures must destructure their dependencies
    async ({}, use) => {
      const s = await startServe();
      await use(s);
      await s.stop();
    },
    { scope: 'worker' },
  ],
  consoleErrors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await use(errors);
  },
  app: async ({ page, server, consoleErrors }, use) => {
    void consoleErrors;
    await page.goto(server.url);
    await use(page);
  },
});

export { expect };
