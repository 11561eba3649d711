#!/bin/bash
# Training on a remote GPU machine (packed by scripts/device/bundle.sh; see docs/training.md). Runs `skyscore train`
# on webgpu (Dawn → Vulkan → the NVIDIA driver) until TRAIN_S seconds after the start, or on 15 wasm worker threads
# when the GPU run fails or is slower than MIN_GPU_RATE images/s; each phase ends at its step count, or at the
# deadline with SIGINT (the trainer then writes its checkpoint; the phases are sized to end on their own, as a SIGINT
# has ended the process on an H200 without that checkpoint), then packs /tmp/run into $OUT in 15 MB pieces (for
# transfers limited to 16 MiB a file).
#
# RESUME=DIR continues a run: DIR holds checkpoint.bin, model.json and train-log.jsonl (default: the shipped
# galaxy-64, i.e. models/galaxy-64 + training/galaxy-64/checkpoint.bin). The resumed segment runs in two phases:
# a speed probe of PROBE_STEPS steps at the full rate, then (after a checkpointed restart) to the step that the
# measured speed reaches by the deadline, with the learning rate cooled down over the last COOL_FRAC of the
# segment. FRESH=1 starts a new run instead (ARCH, HYPER, BATCH). .gl/*.deb (the Vulkan loader libvulkan1 and what
# it needs, from Debian) are unpacked into / first unless SKIP_GL is set.
T0=$(date +%s)
cd "$(dirname "$0")/../.."
exec > >(tee "$OUT/run.log") 2>&1
TRAIN_S=${TRAIN_S:-520}
PROBE_S=${PROBE_S:-150}
PROBE_STEPS=${PROBE_STEPS:-60}
RESTART_S=${RESTART_S:-30}
COOL_FRAC=${COOL_FRAC:-0.3}
BATCH=${BATCH:-240}
CPU_BATCH=${CPU_BATCH:-60}
MIN_GPU_RATE=${MIN_GPU_RATE:-60}
EXTRA=${EXTRA:-}
ARCH=${ARCH:---nf 16 --ch-mult 1,2,4,4 --res-blocks 1}
HYPER=${HYPER:---lr 4e-4 --warmup 100 --ema 0.999}
[ -n "$SKIP_GL" ] || { for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; }
python3 - <<'PY'
import lzma, tarfile, shutil, os
with lzma.open('.dev/gpu-bundle/node.xz') as s, open('/tmp/node', 'wb') as d: shutil.copyfileobj(s, d)
os.chmod('/tmp/node', 0o755)
with lzma.open('.dev/gpu-bundle/data.fits.xz') as s, open('/tmp/data.fits', 'wb') as d: shutil.copyfileobj(s, d)
tarfile.open('.dev/gpu-bundle/pkg.tar.xz').extractall('/tmp')
PY
N=/tmp/node; APP=/tmp/pkg/app/cli/main.js
echo "setup $(( $(date +%s) - T0 )) s"; $N --version; nvidia-smi -L 2>&1; nproc
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f $ICD ] && export VK_DRIVER_FILES=$ICD
COMMON="--data /tmp/data.fits --checkpoint-every 100 --log-every 5 --val-every 200 --val-size 128"
END=$((T0 + TRAIN_S))
RUN=/tmp/run/train
mkdir -p $RUN
if [ -n "$FRESH" ]; then
  COMMON="$COMMON $ARCH $HYPER"
else
  if [ -n "$RESUME" ]; then cp -r "$RESUME"/. $RUN/; else cp models/galaxy-64/{model.json,weights.bin,train-log.jsonl} training/galaxy-64/checkpoint.bin $RUN/; fi
  COMMON="$COMMON --resume"
fi
# the run's step (model.json)
step() { python3 -c "import json; print(json.load(open('$RUN/model.json'))['steps'])" 2>/dev/null || echo 0; }
train() { # seconds backend steps [flags...]
  local secs=$1 backend=$2 steps=$3; shift 3
  timeout -s INT "$secs" $N $APP train $COMMON --out $RUN --backend "$backend" --steps "$steps" "$@" 2>&1 | grep --line-buffered -v "^Warning\|^ *at \|^$"
}
START_STEP=$(step); echo "start: step $START_STEP"
# phase 1: the speed probe (PROBE_STEPS steps of real training at the full rate, which end with a checkpoint;
# PROBE_S bounds it on a slow GPU), unless SPEED (images/s on the GPU) is known. The speed: 95 % of the median
# of the probe's log entries after the first (which holds the shader compilation).
if [ -z "$SPEED" ]; then
  train "$PROBE_S" webgpu $(( START_STEP + PROBE_STEPS )) --batch "$BATCH" --micro-batch 4096 $EXTRA
  S=$(python3 -c "
import json, statistics
rows = [json.loads(l) for l in open('$RUN/train-log.jsonl')]
new = [r['imagesPerS'] for r in rows if r['step'] > $START_STEP and r.get('valLoss') is None][1:]
print(int(0.95 * statistics.median(new)) if new else 0)" 2>/dev/null || echo 0)
else S=$SPEED; fi
NOW=$(step)
echo "webgpu: ${S:-0} img/s at batch $BATCH after $(( $(date +%s) - T0 )) s, step $NOW"
if [ "${S:-0}" -lt "$MIN_GPU_RATE" ]; then
  echo "falling back to wasm on 15 workers, batch $CPU_BATCH"
  USE=cpu; B=$CPU_BATCH; BE=wasm; FLAGS="--batch $CPU_BATCH --micro-batch 4 --workers 15"; S=${CPU_RATE:-38}
else
  USE=gpu; B=$BATCH; BE=webgpu; FLAGS="--batch $BATCH --micro-batch 4096"
fi
# phase 2: to the step the speed reaches by the deadline, cooling down over the last part of the segment
LEFT=$(( END - $(date +%s) - RESTART_S ))
TARGET=$(python3 -c "print($NOW + max(1, int($LEFT * $S / $B)))")
COOL=$(python3 -c "print(max(1, min($TARGET - $NOW, round($COOL_FRAC * ($TARGET - $START_STEP)))))")
[ -n "$FRESH" ] && FLAGS="$FLAGS --resume"
echo "phase 2 ($USE): to step $TARGET, cooldown over the last $COOL steps, deadline in $(( END - $(date +%s) )) s"
train $(( END - $(date +%s) )) $BE "$TARGET" --cooldown "$COOL" $FLAGS $EXTRA
echo "training ended at $(( $(date +%s) - T0 )) s ($USE) at step $(step)"
ls -la $RUN
cp $RUN/train-log.jsonl $RUN/model.json "$OUT/"
tar -cf - -C /tmp/run . | split -b 15M - "$OUT/run.tar."
ls -la "$OUT"; echo "done at $(( $(date +%s) - T0 )) s"
