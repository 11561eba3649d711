/**
 * model.json of the tests' tiny U-Net priors: trained (in tests: initialised) on 16×16 images, VE SDE
 * σ ∈ [0.01, 20], data divided by 255; `arch` and the weights' manifest are the caller's.
 */
import type { PriorMeta } from '../../src-shared/diffusion/nn/prior-meta.js';
import type { UnetArch } from '../../src-shared/diffusion/nn/unet.js';

export function tinyUnetMeta(arch: UnetArch, manifest: PriorMeta['weights']['manifest'], dtype: PriorMeta['weights']['dtype'] = 'float32'): PriorMeta {
  return {
    kind: 'unet',
    arch,
    imageShape: [16, 16],
    channels: 1,
    sde: { type: 've', sigmaMin: 0.01, sigmaMax: 20 },
    normalisation: { offset: 0, scale: 255 },
    data: { source: 'test', train: 0, validation: 0 },
    steps: 0,
    imagesSeen: 0,
    validationLoss: null,
    date: '2026-01-01T00:00:00Z',
    skyscoreVersion: 'test',
    weights: { file: 'weights.bin', dtype, manifest },
  };
}
