# Not a test: does --amp pay off at the `paper` preset's sizes (VGG-16, CIFAR-10 batch 128, MNIST batch 64)?
# Run on a lent GPU machine (the `device` tool, carry [".pack"], data packed as in bench/device_matrices.sh):
#   bash bench/device_amp_paper.sh
# Run 2026-11-30 on one H200 (NOTES "GPU checks": amp 1.28x on cifar10-0, 0.92x on mnist-0).
# Each run: one task, seed 0, EPOCHS epochs of the paper preset, with --amp and with --no-amp, in that order.
set -o pipefail
export PYTHONUNBUFFERED=1 FTD_OFFLINE=1
EPOCHS=${EPOCHS:-3}
D=/tmp/data; R=/tmp/amp_paper; rm -rf $D $R; mkdir -p $D ${OUT:=/tmp/out}
(tar xJf .pack/mnist.tar.xz -C $D) & (tar xJf .pack/cifar10.tar.xz -C $D) & wait
python3 -c "from common.data.decode import prepare_data; [prepare_data(d, '$D', '$R/amp/cache/data') for d in ('cifar10', 'mnist')]"
mkdir -p $R/fp32 && cp -al $R/amp/cache $R/fp32/
for T in "cifar10-0 train_task_cifar.py" "mnist-0 train_task_mnist.py"; do
  set -- $T
  for P in amp no-amp; do
    timeout 150 python3 $2 --preset paper --epochs $EPOCHS --tasks $1 --seeds 0 --device cuda --data-root $D \
      --results-dir $R/${P/no-amp/fp32} --$P > $OUT/${1}_$P.log 2>&1; echo "$1 --$P rc=$?"
  done
done
python3 - $R <<'PY'
import sys, pandas as pd
for d in ("amp", "fp32"):
    t = pd.read_csv(f"{sys.argv[1]}/{d}/paper/train_metrics.csv")
    print(d, t[[c for c in ("task", "epochs", "n_train", "test_acc", "train_seconds", "precision") if c in t]].to_string(index=False))
PY
