/** A job stopped by the user (the job manager reports it as 'cancelled', not as a failure). */
export class CancelledError extends Error {
  override name = 'CancelledError';
}
