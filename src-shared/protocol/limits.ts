/**
 * The limits of the engine's API: every request and every resource it names is checked against them before any
 * work starts, and an error names the limit. They apply to every client of the engine (the desktop app over IPC,
 * a browser through `skyscore serve`); the command line, which runs on the user's own files, has none of them.
 * docs/serve.md lists them with their reasons.
 */
export const LIMITS = {
  /** One WebSocket message (serve); larger ones close the connection with 1009. */
  messageBytes: 256 * 1024 ** 2,
  /** The JSON header of a binary frame. */
  frameHeaderBytes: 8 * 1024 ** 2,
  /** Nesting of a frame's JSON header (a free-form document such as M.json: 32, protocol/validate.ts `json`). */
  jsonDepth: 64,
  /** WebSocket connections open at once (serve). */
  connections: 32,
  /** Requests of one connection waiting for their answer (serve). */
  inFlightPerConnection: 16,
  /** Jobs one connection has queued or running (serve). */
  jobsPerConnection: 4,
  /** Jobs waiting in the engine's queue behind the running one. */
  queuedJobs: 16,
  /** A request (not a job: jobs run after their request is answered) not answered in this time restarts the engine. */
  requestSeconds: 120,
  /** A job not ended this long after it was cancelled is ended by restarting the engine. */
  cancelGraceSeconds: 10,
  /** serve pings every connection this often; one that has not answered the previous ping is closed. */
  heartbeatSeconds: 30,
  /** Bytes a FITS file from a client may have once decompressed (a gzip stream is cut off past it). */
  fitsBytes: 1024 ** 3,
  /** Pixels (all planes) of an image HDU from a client that the engine decodes (float64: 1 GiB). */
  fitsDecodePixels: 2 ** 27,
  /** The engine process's resident memory, as a fraction of the machine's: past it the engine is restarted. */
  engineMemoryFraction: 0.75,
  /** Either side of any image the engine is asked to build or run: the unknown, the data, every stage's grid. */
  imageSide: 4096,
  /** Pixels of any such image (2048 × 2048). */
  imagePixels: 2048 * 2048,
  /** Arithmetic to set up a PSF stage (its transfer function by direct DFTs, ≈ K²·P/2 + K·P²/2 for a K×K kernel on a P×P padded grid). */
  psfSetupOperations: 4e8,
  /** Rays a lens stage shoots: image pixels × supersample². */
  lensRays: 2 ** 22,
  /** The lens fit: side of its final source grid (a dense inversion of side² unknowns) and of its fit grid. */
  lensFitSourceSide: 64,
  lensFitFitSourceSide: 40,
  /** The lens fit: starts of its mass search. */
  lensFitStarts: 10,
  /**
   * The lens fit: pixels of the observation it fits (each a row of every inversion; its rays are also held to
   * lensRays): 400², so that HST lens cutouts (200–400 px) fit. docs/lensing.md *In the app* gives its memory and time
   * on a 360² ACS-like cutout.
   */
  lensFitImagePixels: 400 * 400,
  /** Hour angles of a uv-sampling stage: its hourAngleH span / stepMin. */
  uvHourAngles: 100_000,
  /** Values of a run's samples: n × the unknown's pixels (the products and previews hold them). */
  sampleValues: 2 ** 26,
  /** Pixels of one training step: batch × size². */
  trainBatchValues: 2 ** 22,
  /** CLEAN iterations of one job. */
  cleanIterations: 1_000_000,
  /** Visibilities a UVFITS file opened in the app sends for plotting (a larger file sends an evenly spaced subset). */
  uvPlotPoints: 100_000,
} as const;

/** A number of bytes for a message: "256 MiB". */
export function bytesText(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
