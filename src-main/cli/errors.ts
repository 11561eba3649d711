/** An error in the user's input: the CLI prints `skyscore: <message>` and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Turns an error thrown by pure code (src-shared) into the CLI's convention. */
export function isInputError(err: unknown): boolean {
  if (err instanceof UsageError) return true;
  // src-shared modules signal bad input with errors whose name ends in "InputError" (FitsInputError, ModelInputError, ...)
  return err instanceof Error && /InputError$/.test(err.name);
}
