import type { Command } from '../command.js';
import { serveCommand } from './serve.js';

/**
 * The CLI's commands, in the order `--help` lists them.
 * A new command is one file in this folder plus one line here.
 */
export const commands: Command[] = [serveCommand];
