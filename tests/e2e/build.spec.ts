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

// The bundled engine must load and answer as built (a bundler's own `require` shim once clashed with ours and the
// desktop engine failed at start while every test from source passed).
test('the built engine (out/main/engine.js) starts in a worker thread and answers engine.info on wasm', async () => {
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(path.join(ROOT, 'out/main/engine.js'), { workerData: { backend: 'wasm' }, stdout: true, stderr: true });
  let stderr = '';
  w.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer in 60 s; stderr: ${stderr}`)), 60_000);
      w.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      w.on('message', (m: Record<string, unknown>) => {
        if (m.event === 'engine.status') w.postMessage({ id: 1, method: 'engine.info', params: {} });
        else if (m.id === 1) {
          clearTimeout(timer);
          resolve(m);
        }
      });
    });
    expect(reply.ok, JSON.stringify(reply)).toBe(true);
    expect((reply.result as { backend: { backend: string } }).backend.backend).toBe('wasm');
  } finally {
    await w.terminate();
  }
});
