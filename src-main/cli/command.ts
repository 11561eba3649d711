/** One CLI command. Each lives in its own file under src-main/cli/commands/ and is registered in commands/index.ts. */
export interface Command {
  name: string;
  /** One line for `skyscore --help`. */
  summary: string;
  /** Full usage text for `skyscore <name> --help`. */
  usage: string;
  /** Returns the exit code. Throw UsageError (or an *InputError) for bad input: exit 2. */
  run(argv: string[]): Promise<number>;
}

/** A registry entry: name and summary for --help; the module is imported only when the command runs. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}
