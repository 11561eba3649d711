/**
 * Writes the ONNX graph of a SkyScore U-Net prior (the one ONNX Runtime runs when the prior is loaded) to a file,
 * for use elsewhere (onnxruntime in Python or C++, netron, …). Inputs x [batch, 1, height, width] and sigma [batch],
 * output score [batch, 1, height, width] = s(x, σ) in prior units (docs/onnx-priors.md); height and width must be
 * multiples of the network's down-sampling factor.
 *
 *   node --import tsx scripts/export-onnx.ts models/galaxy-64 galaxy-64.onnx
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { validatePriorMeta } from '../src-shared/diffusion/nn/prior-meta.js';
import { decodeWeights } from '../src-shared/diffusion/nn/weights.js';
import { downFactor, unetLayout } from '../src-shared/diffusion/nn/unet.js';
import { exportUnetOnnx } from '../src-shared/diffusion/nn/onnx-export.js';
import { SKYSCORE_VERSION } from '../src-main/version.js';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
  process.stderr.write('usage: node --import tsx scripts/export-onnx.ts MODEL_DIR OUT.onnx\n');
  process.exit(2);
}
const meta = validatePriorMeta(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')), path.join(dir, 'model.json'));
const values = decodeWeights(unetLayout(meta.arch), meta.weights.manifest, new Uint8Array(readFileSync(path.join(dir, meta.weights.file))));
const bytes = exportUnetOnnx(meta.arch, values, { 'skyscore.model': path.basename(path.resolve(dir)) }, SKYSCORE_VERSION);
writeFileSync(out, bytes);
process.stdout.write(`${out}: ${bytes.length} bytes; inputs x [batch, 1, H, W], sigma [batch]; output score; H, W multiples of ${downFactor(meta.arch)}\n`);
