import { test, expect } from '@playwright/test';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/data.js';

// `npm test` runs `electron-vite build` before the end-to-end tests; this checks what it produced.
test('electron-vite build produced out/main, out/preload and out/renderer', () => {
  for (const f of ['out/main/index.js', 'out/main/engine.js', 'out/main/train-worker.js', 'out/main/sampling-worker.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
    expect(existsSync(path.join(ROOT, f)), f).toBe(true);
  }
});
