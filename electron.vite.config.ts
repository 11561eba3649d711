import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src-main/electron/main.ts'),
          engine: resolve(__dirname, 'src-main/engine/worker.ts'),
          // training worker threads (src-main/train/pool.ts loads ./train-worker.js when built)
          'train-worker': resolve(__dirname, 'src-main/train/worker.ts'),
          // sampling worker threads (src-main/sampling/pool.ts loads ./sampling-worker.js when built)
          'sampling-worker': resolve(__dirname, 'src-main/sampling/worker.ts'),
          // the lens fit's worker thread (src-main/lens-fit/thread.ts loads ./lens-fit-worker.js when built)
          'lens-fit-worker': resolve(__dirname, 'src-main/lens-fit/worker.ts'),
          // the lens fit's pool of threads for its independent evaluations (src-main/lens-fit/pool/pool.ts loads
          // ./lens-fit-pool-worker.js when built)
          'lens-fit-pool-worker': resolve(__dirname, 'src-main/lens-fit/pool/worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: true,
      rollupOptions: {
        input: { index: resolve(__dirname, 'src-main/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
});
