/** The M.json example of docs/forward-models.md (lens → psf → mask), verbatim; `mask.fits` is relative to the JSON file. */
export const FORWARD_MODEL_EXAMPLE = {
  shape: [64, 64],
  operators: [
    {
      type: 'lens',
      imageShape: [96, 96],
      imagePixelScale: 0.05,
      sourcePixelScale: 0.03,
      supersample: 2,
      lens: { model: 'SIE', thetaE: 1.1, q: 0.75, phi: 0.4, x0: 0.0, y0: 0.0 },
      shear: { gamma1: 0.02, gamma2: -0.01 },
    },
    { type: 'psf', fwhmPx: 2.5 },
    { type: 'mask', fits: 'mask.fits' },
  ],
};
