import { UserInputError } from '../errors.js';

/** Bad or unsupported FITS input (a UserInputError: the CLI exits with code 2, the engine answers 'input'). */
export class FitsInputError extends UserInputError {
  override name = 'FitsInputError';
  constructor(message: string) {
    super(message);
    this.name = 'FitsInputError';
  }
}
