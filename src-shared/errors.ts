/**
 * The user's fault, not ours: the base of every error that reports bad input — a bad or unsupported file (FITS,
 * M.json, weights, checkpoint, log), a bad flag or option value, a bad spec or request (prior, sampler, model
 * document, job). Not bugs (a broken invariant in our code stays a plain Error), not cancellations, not a
 * dead engine or a malformed protocol message.
 *
 * The rule is `err instanceof UserInputError`, never the class name: the CLI prints `skyscore: <message>` and
 * exits with code 2; the engine answers with error code 'input' (instead of 'internal') where the error leaves
 * it. Subclasses keep their own `name` (FitsInputError, SamplerInputError, UsageError, …) for messages and tests.
 *
 * Pure: no Node APIs, no tfjs, so every layer (src-shared, src-main, src-renderer, scripts) can extend it.
 */
export class UserInputError extends Error {
  override name = 'UserInputError';
}
