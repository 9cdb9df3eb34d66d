# Not a test: issue 13's GPU checks, run once on a lent GPU machine (the `device` tool copies the repo,
# runs this, returns what is under $OUT). Run 2026-11-29 on one H200 (see NOTES "GPU checks").
#   A (alone on the GPU, timings): `reproduce.py --preset paper --plan --device cuda` (its plan.csv is
#     committed as results/paper/plan.csv), then the `cpu` preset's ResNet-18 CIFAR-10 ε-networks (seed 0)
#     with --amp and --no-amp, each after its own --plan (estimate vs the real train_seconds).
#   B (side by side, correctness): --compile, the local launcher on the GPU against inline, submitit's
#     local executor on the GPU (MNIST smoke ε-networks, seeds 0 1, and their FTD matrix).
# Before: the data as in bench/device_matrices.sh (.pack/mnist.tar.xz, .pack/cifar10.tar.xz) and
# submitit's wheel in .whl/ (both git-ignored via .git/info/exclude):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl submitit==1.5.4
# Call the device tool with carry [".pack", ".whl"] and `bash bench/device_gpu_checks.sh`.
# Dry run here, on the CPU, with smoke sizes: OUT=/tmp/dry DEV=cpu TRAIN_PRESET=smoke PLAN_PRESET=smoke bash bench/device_gpu_checks.sh
set -o pipefail
export PYTHONUNBUFFERED=1 FTD_OFFLINE=1
DEV=${DEV:-cuda}; TRAIN_PRESET=${TRAIN_PRESET:-cpu}; PLAN_PRESET=${PLAN_PRESET:-paper}; mkdir -p $OUT
T0=$(date +%s); DEADLINE=$((T0 + ${BUDGET_S:-470}))
left() { echo $(( DEADLINE - $(date +%s) )); }
phase() { # phase NAME TIMEOUT CMD...: runs CMD with its output in $OUT/NAME.log, cut at TIMEOUT s or the deadline
  local name=$1 limit=$2; shift 2; local l; l=$(left); [ "$l" -lt "$limit" ] && limit=$l
  if [ "$limit" -lt 20 ]; then echo "phase $name skipped: $l s left" | tee -a $OUT/summary.txt; return; fi
  local s=$(date +%s); timeout "$limit" bash -c "$*" > $OUT/$name.log 2>&1; local rc=$?
  echo "phase $name rc=$rc took $(( $(date +%s) - s )) s (limit $limit s)" | tee -a $OUT/summary.txt
}
python3 -c "import submitit" 2>/dev/null || { python3 -m pip install -q --no-index --no-deps --no-compile \
  --no-cache-dir --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site; }
D=/tmp/data; R=/tmp/r; rm -rf $D $R; mkdir -p $D
(tar xJf .pack/mnist.tar.xz -C $D) & (tar xJf .pack/cifar10.tar.xz -C $D) & wait
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import torch, torchvision, submitit; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'submitit', submitit.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0))"
  nproc; } > $OUT/summary.txt 2>&1
echo "setup took $(( $(date +%s) - T0 )) s" >> $OUT/summary.txt
C="python3 train_task_cifar.py --preset $TRAIN_PRESET --arch resnet18 --device $DEV --data-root $D --seeds 0"

# A: timings, one thing on the GPU at a time
phase plan_paper 150 "python3 reproduce.py --preset $PLAN_PRESET --plan --device $DEV --results-dir $R/plan && cp $R/plan/$PLAN_PRESET/plan.csv $OUT/plan_$PLAN_PRESET.csv"
phase decode 120 "python3 -c 'from common.data.decode import prepare_data; [prepare_data(d, \"$D\", \"$R/amp/cache/data\") for d in (\"cifar10\", \"mnist\")]'"
for d in fp32 compile local inline submitit; do mkdir -p $R/$d && cp -al $R/amp/cache $R/$d/; done
phase amp 150 "$C --amp --plan --results-dir $R/amp && $C --amp --results-dir $R/amp"
phase fp32 150 "$C --no-amp --plan --results-dir $R/fp32 && $C --no-amp --results-dir $R/fp32"

# B: correctness side by side (timings here are shared ones)
S() { # S RESULTS LAUNCHER: MNIST ε-networks and their FTD matrix (smoke, seeds 0 1) through a launcher
  local a="--preset smoke --device $DEV --data-root $D --seeds 0 1 --results-dir $R/$1 --launcher $2"
  echo "python3 train_task_mnist.py $a ${3:-} && python3 fisher_distance.py --task-set mnist $a ${3:-}"; }
phase compile 200 "$C --amp --compile --tasks cifar10-0 --results-dir $R/compile" &
phase local 200 "$(S local local --workers\ 2) && $(S inline inline)" &
phase submitit 200 "$(S submitit submitit)" &
wait
python3 - "$R" "$TRAIN_PRESET" > $OUT/compare.txt 2>&1 <<'EOF'
"""Each run's metrics and distances side by side: amp vs fp32 (cpu preset), local/submitit vs inline (smoke)."""
import sys
from pathlib import Path
import pandas as pd
R, PRESET = Path(sys.argv[1]), sys.argv[2]
pd.set_option("display.width", 200)
for d in ("amp", "fp32", "compile"):
    f = R / d / PRESET / "train_metrics.csv"
    if f.exists():
        t = pd.read_csv(f)
        print(f"== {d}\n{t[[c for c in t.columns if c in ('task', 'seed', 'test_acc', 'train_seconds', 'precision', 'compiled', 'device')]].to_string(index=False)}")
for d in ("local", "submitit"):
    for csv in sorted((R / "inline" / "smoke").rglob("*.csv")):
        other = R / d / "smoke" / csv.relative_to(R / "inline" / "smoke")
        if not other.exists():
            print(f"{d}: {other.relative_to(R)} missing"); continue
        a, b = pd.read_csv(csv), pd.read_csv(other)
        keys = [c for c in ("task", "seed", "source", "target") if c in a and c in b]
        a, b = (t.sort_values(keys) if keys else t for t in (a, b))   # rows come in completion order with launchers
        num = [c for c in a.select_dtypes("number").columns if c in b and "seconds" not in c and "hours" not in c]
        if len(a) != len(b) or not num:
            print(f"{d}: {csv.name}: rows {len(a)} vs {len(b)}"); continue
        diff = (a[num].reset_index(drop=True) - b[num].reset_index(drop=True)).abs().max().max()
        print(f"{d} vs inline: {csv.relative_to(R / 'inline' / 'smoke')}: {len(a)} rows, largest |difference| {diff:.3g}")
EOF
cat $OUT/summary.txt; cat $OUT/compare.txt
