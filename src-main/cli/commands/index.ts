import type { CommandEntry } from '../command.js';

/**
 * The CLI's commands, in the order `--help` lists them. Each is loaded only when run (fast start-up).
 * A new command is one file in this folder plus one entry here:
 *   { name: 'x', summary: '…', load: async () => (await import('./x.js')).xCommand },
 */
export const commands: CommandEntry[] = [
  { name: 'bench', summary: 'the benchmarks (speed and memory figures; not pass/fail)', load: async () => (await import('./bench.js')).benchCommand },
  { name: 'serve', summary: 'the app in a browser; prints its URL with the access token', load: async () => (await import('./serve.js')).serveCommand },
];
