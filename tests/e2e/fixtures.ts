import { test as base, expect, type Page, type WorkerFixture } from '@playwright/test';
import { startServe } from '../helpers/cli.js';

export type Server = Awaited<ReturnType<typeof startServe>>;

/**
 * A worker-scoped `skyscore serve` whose user folder (its models/) is `userDir`, filled by `prepare` before it starts,
 * for specs that need priors of their own: `myServer: userDirServer(dir, () => …)` in `test.extend`. `after` runs
 * once the server has stopped.
 */
export function userDirServer(userDir: string, prepare: () => void | Promise<void>, after?: () => void): [WorkerFixture<Server, object>, { scope: 'worker'; timeout: number }] {
  return [
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures must destructure their dependencies
    async ({}, use) => {
      await prepare();
      const old = process.env.SKYSCORE_USER_DIR;
      process.env.SKYSCORE_USER_DIR = userDir;
      const s = await startServe().finally(() => {
        if (old === undefined) delete process.env.SKYSCORE_USER_DIR;
        else process.env.SKYSCORE_USER_DIR = old;
      });
      await use(s);
      await s.stop();
      after?.();
    },
    { scope: 'worker', timeout: 120_000 },
  ];
}

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
