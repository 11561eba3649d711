import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/**
 * What a worker thread runs, for the module at `callerUrl` whose worker entry is `./worker.ts` beside it:
 * from source, the tsx bootstrap with that entry as its argument; when built (electron-vite), `builtFile`
 * (an entry of electron.vite.config.ts) beside the bundle, or one folder up where the caller was bundled into a shared
 * chunk (out/main/chunks/). Pass both fields to `new Worker(file, { argv })`.
 */
export function workerScript(callerUrl: string, builtFile: string): { file: string; argv: string[] } {
  if (callerUrl.endsWith('.ts')) {
    return { file: fileURLToPath(new URL('./tsx-worker.mjs', import.meta.url)), argv: [fileURLToPath(new URL('./worker.ts', callerUrl))] };
  }
  // the bundler may put the caller in a shared chunk (out/main/chunks/…) rather than an entry: the entries lie one up
  const beside = fileURLToPath(new URL(builtFile, callerUrl));
  const above = fileURLToPath(new URL(`../${builtFile.replace(/^\.\//, '')}`, callerUrl));
  return { file: !existsSync(beside) && existsSync(above) ? above : beside, argv: [] };
}
