import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus } from 'node:os';
import type { Command } from '../command.js';
import { parse, optionalString } from '../args.js';
import { UsageError } from '../errors.js';
import type { Bench } from '../../bench/types.js';
import { versions } from '../../version.js';

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench');

/** Every `benches` export of src-main/bench/*.ts (one file per area). */
async function loadBenches(): Promise<Bench[]> {
  const files = readdirSync(BENCH_DIR)
    .filter((f) => /\.(ts|js)$/.test(f) && !/^types\./.test(f) && !f.endsWith('.d.ts'))
    .sort();
  const out: Bench[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(BENCH_DIR, f)).href)) as { benches?: Bench[] };
    if (Array.isArray(mod.benches)) out.push(...mod.benches);
  }
  return out;
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'the benchmarks (speed and memory figures; not pass/fail)',
  usage: `usage: skyscore bench [--json] [--filter SUBSTRING]

Runs the benchmarks of every area (FITS, operators, score models, sampling, training) on the backends
available here and prints their figures; --json prints one JSON object instead.`,
  async run(argv) {
    const p = parse(argv, { json: { type: 'boolean' }, filter: { type: 'string' } }, 'bench');
    if (p.positionals.length) throw new UsageError(`bench: unexpected argument '${p.positionals[0]}'`);
    const filter = optionalString(p, 'filter');
    const json = p.values.json === true;
    const benches = (await loadBenches()).filter((b) => !filter || b.name.includes(filter));
    if (benches.length === 0) throw new UsageError(`bench: no benchmark matches '${filter}'`);
    const cpu = cpus();
    const machine = { cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, ...versions() };
    if (!json) process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores; node ${machine.node}, tfjs ${machine.tfjs}\n`);
    const results: Record<string, Record<string, number | string>> = {};
    for (const b of benches) {
      const t0 = performance.now();
      try {
        results[b.name] = await b.run();
      } catch (e) {
        results[b.name] = { error: (e as Error).message };
      }
      if (!json) {
        const figs = Object.entries(results[b.name]!)
          .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`)
          .join('  ');
        process.stdout.write(`${b.name.padEnd(44)} ${figs}  (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      }
    }
    if (json) process.stdout.write(JSON.stringify({ machine, results }, null, 2) + '\n');
    return 0;
  },
};
