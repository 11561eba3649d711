import type { CommandEntry } from '../command.js';

/**
 * The CLI's commands, in the order `--help` lists them. Each is loaded only when run (fast start-up).
 * A new command is one file in this folder plus one entry here:
 *   { name: 'x', summary: '…', load: async () => (await import('./x.js')).xCommand },
 */
export const commands: CommandEntry[] = [
  { name: 'info', summary: 'HDUs of a FITS file: kind, EXTNAME, BITPIX, shape, header and pixel statistics', load: async () => (await import('./info.js')).infoCommand },
  { name: 'convert', summary: 'write one image HDU to a new FITS file, header cards (WCS, BUNIT, HISTORY) kept', load: async () => (await import('./convert.js')).convertCommand },
  { name: 'forward', summary: 'applies a forward model A (or its adjoint Aᵀ) to an image', load: async () => (await import('./forward.js')).forwardCommand },
  { name: 'simulate', summary: 'simulates data y = A x + n from a truth image, a forward model and Gaussian noise', load: async () => (await import('./simulate.js')).simulateCommand },
  { name: 'clean', summary: 'dirty image, dirty beam and CLEAN (Högbom or Cotton–Schwab) of UVFITS visibilities', load: async () => (await import('./clean.js')).cleanCommand },
  { name: 'lens-fit', summary: 'fits a strong lens (SIE + shear, Sérsic light) by the Bayesian evidence of a pixelated-source inversion', load: async () => (await import('./lens-fit.js')).lensFitCommand },
  { name: 'sample', summary: 'unconditional samples from a prior (model folder, Gaussian field or a 2-D density)', load: async () => (await import('./sample.js')).sampleCommand },
  { name: 'reconstruct', summary: 'posterior samples, mean, std and residuals of y = A x + n with a score-based prior', load: async () => (await import('./reconstruct.js')).reconstructCommand },
  { name: 'demo', summary: 'reconstructs the bundled example galaxy with the default prior (offline, no input needed)', load: async () => (await import('./demo.js')).demoCommand },
  { name: 'train', summary: 'train a score-based prior (U-Net, denoising score matching) on FITS images', load: async () => (await import('./train.js')).trainCommand },
  { name: 'bench', summary: 'the benchmarks (speed and memory figures; not pass/fail)', load: async () => (await import('./bench.js')).benchCommand },
  { name: 'serve', summary: 'the app in a browser; prints its URL with the access token', load: async () => (await import('./serve.js')).serveCommand },
];
