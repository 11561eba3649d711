import { UserInputError } from '../../src-shared/errors.js';

/** An error in the user's input (a bad flag or argument): the CLI prints `skyscore: <message>` and exits with code 2. */
export class UsageError extends UserInputError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The CLI's convention: any UserInputError (UsageError, FitsInputError, SamplerInputError, …) is the user's, exit 2. */
export function isInputError(err: unknown): boolean {
  return err instanceof UserInputError;
}
