import { fileURLToPath } from 'node:url';

/**
 * What a worker thread runs, for the module at `callerUrl` whose worker entry is `./worker.ts` beside it:
 * from source, the tsx bootstrap with that entry as its argument; when built (electron-vite), `builtFile`
 * (an entry of electron.vite.config.ts) beside the bundle. Pass both fields to `new Worker(file, { argv })`.
 */
export function workerScript(callerUrl: string, builtFile: string): { file: string; argv: string[] } {
  if (callerUrl.endsWith('.ts')) {
    return { file: fileURLToPath(new URL('./tsx-worker.mjs', import.meta.url)), argv: [fileURLToPath(new URL('./worker.ts', callerUrl))] };
  }
  return { file: fileURLToPath(new URL(builtFile, callerUrl)), argv: [] };
}
