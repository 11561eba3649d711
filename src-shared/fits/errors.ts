/** Bad or unsupported FITS input. The CLI maps errors named `*InputError` to exit code 2. */
export class FitsInputError extends Error {
  override name = 'FitsInputError';
  constructor(message: string) {
    super(message);
    this.name = 'FitsInputError';
  }
}
