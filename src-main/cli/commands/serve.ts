import path from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.js';
import { parse, numberFlag, optionalString } from '../args.js';
import { UsageError } from '../errors.js';
import { startServer } from '../../serve/server.js';
import { isBackendName } from '../../engine/backend.js';
import { normaliseOrigin } from '../../serve/origin.js';
import { LIMITS, bytesText } from '../../../src-shared/protocol/limits.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const serveCommand: Command = {
  name: 'serve',
  summary: 'the app in a browser; prints its URL with the access token',
  usage: `usage: skyscore serve [--host 127.0.0.1] [--port 0] [--backend auto|tensorflow|webgpu|wasm|cpu] [--allow-origin URL]…

Serves the SkyScore app to a browser and the engine over WebSocket. Binds 127.0.0.1 unless --host says
otherwise; --port 0 (the default) picks a free port. Prints one line with the URL, token included: every
WebSocket connection must present the token, and come from a page of this server (Host and Origin name it:
localhost, 127.0.0.1, [::1] or the --host address). The page itself (scripts and styles, no data) is served
without the token. Stop with Ctrl-C.

  --allow-origin URL  also accept pages of this origin (http://gpu-box:8080: the name a remote browser uses
                      to reach the server, e.g. with --host 0.0.0.0 or behind a proxy); may be repeated

Limits (docs/serve.md): ${LIMITS.connections} connections, ${LIMITS.inFlightPerConnection} requests in flight and ${LIMITS.jobsPerConnection} jobs per connection,
${LIMITS.queuedJobs} jobs queued, messages of at most ${bytesText(LIMITS.messageBytes)}, images of at most ${LIMITS.imageSide} px a side and ${LIMITS.imagePixels} px.
A client's jobs are cancelled when it disconnects.`,
  async run(argv) {
    const p = parse(
      argv,
      { host: { type: 'string' }, port: { type: 'string' }, backend: { type: 'string' }, 'renderer-dir': { type: 'string' }, 'allow-origin': { type: 'string', multiple: true } },
      'serve',
    );
    if (p.positionals.length) throw new UsageError(`serve: unexpected argument '${p.positionals[0]}'`);
    const host = optionalString(p, 'host') ?? '127.0.0.1';
    const port = numberFlag(p, 'port', 'serve', { default: 0, integer: true, min: 0, max: 65535 });
    const backend = optionalString(p, 'backend');
    if (backend !== undefined && backend !== 'auto' && !isBackendName(backend)) throw new UsageError(`serve: --backend must be auto, tensorflow, webgpu, wasm or cpu, got '${backend}'`);
    const allowOrigins = ((p.values['allow-origin'] as string[] | undefined) ?? []).map(normaliseOrigin);
    let rendererDir = optionalString(p, 'renderer-dir') ?? path.join(ROOT, 'out', 'renderer');
    if (!optionalString(p, 'renderer-dir') && !existsSync(path.join(rendererDir, 'index.html'))) {
      process.stderr.write('skyscore: building the app (first run)…\n');
      const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0) throw new Error('building the renderer failed');
      rendererDir = path.join(ROOT, 'out', 'renderer');
    }
    const server = await startServer({ host, port, rendererDir, backend, allowOrigins });
    if ((host === '0.0.0.0' || host === '::') && allowOrigins.length === 0) {
      process.stderr.write(`serve: note: bound to ${host}, but a browser on another machine is refused until its origin is allowed: --allow-origin http://NAME:PORT (the name it uses for this machine)\n`);
    }
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
