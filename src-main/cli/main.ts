#!/usr/bin/env node
import { commands } from './commands/index.js';
import { isInputError } from './errors.js';
import pkg from '../../package.json' with { type: 'json' };

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `skyscore ${pkg.version} — astronomical image reconstruction with score-based diffusion priors`,
    '',
    'usage: skyscore <command> [options]     (from a checkout: npm run -s skyscore -- <command> …)',
    '',
    'commands:',
    ...lines,
    '',
    'options:',
    '  --help, -h     this text (or `skyscore <command> --help` for one command)',
    '  --version, -V  versions of SkyScore, Node and tfjs',
    '',
    'Bad input exits with code 2 and one line starting "skyscore:"; internal faults exit with 1.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { versions } = await import('../version.js');
    const v = versions();
    process.stdout.write(`skyscore ${v.skyscore} (node ${v.node}, tfjs ${v.tfjs})\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`skyscore: unknown command '${name}' (see skyscore --help)\n`);
    return 2;
  }
  try {
    const cmd = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(cmd.usage.trimEnd() + '\n');
      return 0;
    }
    return await cmd.run(rest);
  } catch (err) {
    if (isInputError(err)) {
      const msg = (err as Error).message.replace(/\s*\n\s*/g, ' ');
      process.stderr.write(`skyscore: ${msg}\n`);
      return 2;
    }
    process.stderr.write(`skyscore: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

const isEntry = process.argv[1] !== undefined && /cli[\\/]main\.(ts|js|mjs)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`skyscore: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
