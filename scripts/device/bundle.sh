#!/bin/bash
# Packs the CLI for training on a remote GPU machine that has no Node.js and no npm registry (see docs/training.md,
# "Training on a GPU machine"). Writes .dev/gpu-bundle/ (git-ignored, ~33 MB): node.xz (this Node binary), pkg.tar.xz
# (the CLI bundled by esbuild, with Dawn's dawn.node and the tfjs wasm files beside it), the training cube
# (data.fits.xz) and train.sh. The run to resume is read from the checkout (models/, training/). Copy the checkout
# with .dev/gpu-bundle and .gl (the Vulkan/GL loader packages) to the GPU machine and run
# `OUT=DIR bash .dev/gpu-bundle/train.sh` there.
set -euo pipefail
cd "$(dirname "$0")/../.."
find .dev/gpu-bundle -mindepth 1 ! -name node.xz -delete 2>/dev/null; rm -rf .dev/pkg && mkdir -p .dev/pkg/app/cli .dev/pkg/app/node_modules/@tensorflow/tfjs-backend-wasm/dist .dev/pkg/app/node_modules/webgpu/dist .dev/gpu-bundle
# ESM bundle: CommonJS dependencies need require/__dirname; 'main' fields pick tfjs's Node builds; the cpu backend
# registers itself by a side-effect import that esbuild would otherwise drop.
BANNER="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url); import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
npx esbuild main=src-main/cli/main.ts train-worker=src-main/train/worker.ts sampling-worker=src-main/sampling/worker.ts \
  --bundle --platform=node --format=esm --splitting --outdir=.dev/pkg/app/cli \
  --external:webgpu --external:@tensorflow/tfjs-node-gpu --external:electron \
  --ignore-annotations --main-fields=main,module --log-level=warning --banner:js="$BANNER"
npx esbuild scripts/device/profile.ts --bundle --platform=node --format=esm --outfile=.dev/pkg/app/profile.mjs \
  --external:webgpu --external:@tensorflow/tfjs-node-gpu --external:electron \
  --ignore-annotations --main-fields=main,module --log-level=warning --banner:js="$BANNER"
cp node_modules/@tensorflow/tfjs-backend-wasm/package.json .dev/pkg/app/node_modules/@tensorflow/tfjs-backend-wasm/
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm .dev/pkg/app/node_modules/@tensorflow/tfjs-backend-wasm/dist/
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .dev/pkg/app/node_modules/webgpu/
cp -r node_modules/webgpu/dist/linux-x64 .dev/pkg/app/node_modules/webgpu/dist/
echo '{"type":"module"}' > .dev/pkg/app/package.json
(cd .dev && tar -cJf gpu-bundle/pkg.tar.xz pkg)
[ -f .dev/gpu-bundle/node.xz ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .dev/gpu-bundle/node.xz
xz -T2 -6 -c ../shared/data/train/galaxyzoo_kaggle2000_gray64.fits > .dev/gpu-bundle/data.fits.xz
cp scripts/device/train.sh .dev/gpu-bundle/train.sh
du -sh .dev/gpu-bundle
