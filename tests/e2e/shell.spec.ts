import { test, expect } from './fixtures.js';
import path from 'node:path';
import { ROOT } from '../helpers/data.js';

test('the served app shows its shell and the engine backend, with no console errors', async ({ app, consoleErrors }) => {
  await expect(app.getByRole('toolbar', { name: 'Main toolbar' })).toBeVisible();
  await expect(app.getByRole('complementary', { name: 'Forward model, prior and run settings' })).toBeVisible();
  await expect(app.getByRole('main', { name: 'Images' })).toBeVisible();
  const status = app.getByTestId('backend-status');
  await expect(status).toHaveText(/backend: (tensorflow|webgpu|wasm|cpu) · tfjs \d+\.\d+\.\d+ · GPU: /);
  // what evaluates a learned prior's network: here ONNX Runtime's CPU provider, its workers × threads and the CPU
  await expect(app.getByTestId('score-engine-status')).toHaveText(/^score: ONNX Runtime \d+\.\d+\.\d+ · CPU · \d+ workers? × \d+ threads? · .+ \(\d+ logical cores\)$/);
  await app.screenshot({ path: path.join(ROOT, 'test-results', 'shell-light.png') });
  await app.getByLabel('Theme').selectOption('dark');
  await expect(app.locator('html')).toHaveAttribute('data-theme', 'dark');
  await app.screenshot({ path: path.join(ROOT, 'test-results', 'shell-dark.png') });
  expect(consoleErrors).toEqual([]);
});

test('the theme follows the system setting', async ({ page, server }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(server.url);
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
});

test('a page without the token cannot reach the engine and says so', async ({ page, server }) => {
  await page.goto(server.url.replace(/\?token=.*/, ''));
  await expect(page.getByTestId('backend-status')).toHaveText(/engine unavailable/);
});
