import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';
import { parse, numberFlag, optionalString } from '../args.js';
import { UsageError } from '../errors.js';
import { startServer } from '../../serve/server.js';
import { isBackendName } from '../../engine/backend.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the app in a browser; prints its URL with the access token',
  usage: `usage: skyscore serve [--host 127.0.0.1] [--port 0] [--backend auto|tensorflow|webgpu|wasm|cpu]

Serves the SkyScore app to a browser and the engine over WebSocket. Binds 127.0.0.1 unless --host says
otherwise; --port 0 (the default) picks a free port. Prints one line with the URL, token included:
every connection must present the token. Stop with Ctrl-C.`,
  async run(argv) {
    const p = parse(argv, { host: { type: 'string' }, port: { type: 'string' }, backend: { type: 'string' }, 'renderer-dir': { type: 'string' } }, 'serve');
    if (p.positionals.length) throw new UsageError(`serve: unexpected argument '${p.positionals[0]}'`);
    const host = optionalString(p, 'host') ?? '127.0.0.1';
    const port = numberFlag(p, 'port', 'serve', { default: 0, integer: true, min: 0, max: 65535 });
    const backend = optionalString(p, 'backend');
    if (backend !== undefined && backend !== 'auto' && !isBackendName(backend)) throw new UsageError(`serve: --backend must be auto, tensorflow, webgpu, wasm or cpu, got '${backend}'`);
    let rendererDir = optionalString(p, 'renderer-dir') ?? path.join(ROOT, 'out', 'renderer');
    if (!optionalString(p, 'renderer-dir') && !existsSync(path.join(rendererDir, 'index.html'))) {
      process.stderr.write('skyscore: building the app (first run)…\n');
      const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error('building the renderer failed');
      rendererDir = path.join(ROOT, 'out', 'renderer');
    }
    const server = await startServer({ host, port, rendererDir, backend });
    process.stdout.write(`SkyScore at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
