#!/bin/bash
# Training on a lent GPU machine (packed by scripts/device/bundle.sh; see docs/training.md). Runs `skyscore train`
# on webgpu (Dawn → Vulkan → the NVIDIA driver) for TRAIN_S seconds, or on 15 wasm worker threads when the GPU run
# fails or is slower than MIN_GPU_RATE images/s; stops with SIGINT (the trainer writes its checkpoint), then packs
# /tmp/run into $OUT in 15 MB pieces (the device tool returns files of at most 16 MiB).
# Resume a run brought back earlier: RESUME=DIR (a folder under .dev/carry holding checkpoint.bin).
T0=$(date +%s)
cd "$(dirname "$0")/../.."
exec > >(tee "$OUT/run.log") 2>&1
TRAIN_S=${TRAIN_S:-555}
BATCH=${BATCH:-64}
MIN_GPU_RATE=${MIN_GPU_RATE:-50}
ARCH=${ARCH:---nf 16 --ch-mult 1,2,4,4 --res-blocks 1}
HYPER=${HYPER:---lr 4e-4 --warmup 100 --ema 0.999}
[ -n "$SKIP_GL" ] || { for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; }
python3 - <<'PY'
import lzma, tarfile, shutil, os
with lzma.open('.dev/carry/node.xz') as s, open('/tmp/node', 'wb') as d: shutil.copyfileobj(s, d)
os.chmod('/tmp/node', 0o755)
tarfile.open('.dev/carry/pkg.tar.xz').extractall('/tmp')
PY
N=/tmp/node; APP=/tmp/pkg/app/cli/main.js
echo "setup $(( $(date +%s) - T0 )) s"; $N --version; nvidia-smi -L; nproc
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f $ICD ] && export VK_DRIVER_FILES=$ICD
DATA=.dev/carry/galaxyzoo_kaggle2000_gray64.fits
COMMON="--data $DATA --steps 1000000 --checkpoint-every 100 --log-every 10 --val-every 250 --val-size 128"
mkdir -p /tmp/run
if [ -n "$RESUME" ]; then cp -r ".dev/carry/$RESUME" /tmp/run/gpu; COMMON="$COMMON --resume"; else COMMON="$COMMON $ARCH $HYPER --batch $BATCH"; fi
END=$((T0 + TRAIN_S))
speed() { tail -n 1 "$1/train-log.jsonl" 2>/dev/null | python3 -c 'import sys,json; l=sys.stdin.read().strip(); print(int(json.loads(l)["imagesPerS"]) if l else 0)'; }
timeout -s INT $((END - $(date +%s))) $N $APP train $COMMON --out /tmp/run/gpu --micro-batch 1024 --backend webgpu 2>&1 | grep -v "^Warning\|^ *at \|^$" &
PID=$!
USE=gpu
for i in $(seq 1 24); do sleep 5; kill -0 $PID 2>/dev/null || break; done
S=$(speed /tmp/run/gpu); echo "webgpu speed after $(( $(date +%s) - T0 )) s: ${S:-0} img/s"
if [ -z "$RESUME" ] && { ! kill -0 $PID 2>/dev/null || [ "${S:-0}" -lt "$MIN_GPU_RATE" ]; }; then
  echo "falling back to wasm on 15 workers"; pkill -INT -f "out /tmp/run/gpu"; wait $PID
  USE=cpu
  timeout -s INT $((END - $(date +%s))) $N $APP train $COMMON --out /tmp/run/cpu --micro-batch 8 --backend wasm --workers 15 2>&1 &
  PID=$!
fi
wait $PID
echo "training ended at $(( $(date +%s) - T0 )) s ($USE)"
ls -la /tmp/run/*
tar -cf - -C /tmp/run . | split -b 15M - "$OUT/run.tar."
ls -la "$OUT"; echo "done at $(( $(date +%s) - T0 )) s"
