/**
 * The tests' Gaussian-field priors: a power-law spectrum P(k) = amplitude · (1 + |k|²/k0²)^(−slope/2) on n × n
 * (powerLawSpectrum, in cycles per grid), written as a one-HDU FITS file that `gaussian-field:FILE` reads or that a
 * model folder holds as power-spectrum.fits.
 */
import { writeFileSync } from 'node:fs';
import { powerLawSpectrum } from '../../src-shared/diffusion/priors/gaussian-field.js';
import { writeFits } from '../../src-shared/fits/writer.js';

/** The spectrum's FITS bytes. */
export function powerSpectrumFits(n: number, amplitude: number, k0: number, slope: number): Uint8Array {
  return writeFits([{ data: Float32Array.from(powerLawSpectrum(n, n, amplitude, k0, slope)), shape: [n, n] }]);
}

/** Writes the spectrum to `file`; returns the --prior argument `gaussian-field:FILE`. */
export function writePowerSpectrumPrior(file: string, n: number, amplitude: number, k0: number, slope: number): string {
  writeFileSync(file, powerSpectrumFits(n, amplitude, k0, slope));
  return `gaussian-field:${file}`;
}
