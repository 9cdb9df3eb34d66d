# Not a test: remakes the matrices of the FTD paper's networks on a lent GPU machine (the `device` tool: it
# copies the repo, runs this, returns what is under $OUT). For each network named and each of the mnist and
# cifar10 task sets, one chain in parallel on the GPU: the `cpu` preset's epsilon-networks, then the FTD
# matrix for each Fisher split of $SPLITS; each chain cut at $CHAIN_TIMEOUT s so that its outputs still
# return. The matrices made on 2026-11-27 (ResNet-18 both sets, VGG-16 mnist) were built before the one
# initialisation protocol (common/networks/init.py, 2026-12-02: torchvision's ResNet-18/DenseNet-121 drew
# their head before their init loop, so the networks of one seed did not share their body) and were removed.
# Since issue 32 the `cpu` preset trains these networks on their own budget (common/network_budgets.py) and
# `reproduce.py --preset cpu --sections arch-<network>` makes the same matrices plus their controls on 2 CPU
# cores in about an hour each (docs/reproduce.md); this script makes the FTD matrices of that budget on a GPU
# (pass --preset paper in the chain for the papers' budget: a result of its own, under results/paper/).
# One call for all three (≈ 10 min on an H200:
# on 2026-11-27 ResNet-18 took ≈ 5 min per task set, DenseNet-121 did not finish in 360 s, so give it the
# whole budget):
#   CHAIN_TIMEOUT=540 bash bench/device_matrices.sh resnet18 vgg16 densenet121
# Before: pack the data into .pack/ (git-ignored via .git/info/exclude), 28 MB:
#   (cd ../shared/data && tar cf - MNIST | xz -6 -T2 > ../../main/.pack/mnist.tar.xz)
#   (cd ../shared/data && tar cf - cifar10 | xz -6 -T2 > ../../main/.pack/cifar10.tar.xz)
# Call the device tool with carry [".pack"]. After: untar $OUT/<set>_<net>.tgz, copy cpu/distances/<net>/
# into results/cpu/distances/, append its train_metrics.csv rows to results/cpu/train_metrics.csv, then
# `.venv/bin/python consistency_study.py --preset cpu --parts c` and `.venv/bin/python collect.py --preset cpu`.
# The results must come from a clean commit (tests/test_committed_results.py): commit before the call.
set -o pipefail
export PYTHONUNBUFFERED=1 FTD_OFFLINE=1
SPLITS=${SPLITS:-test}
CHAIN_TIMEOUT=${CHAIN_TIMEOUT:-540}
D=/tmp/data; mkdir -p $D
(tar xJf .pack/mnist.tar.xz -C $D) & (tar xJf .pack/cifar10.tar.xz -C $D) & wait
chain() { S=$1; SCRIPT=$2; A=$3; R=/tmp/r_${S}_$A; T0=$(date +%s)
  FISHERS=""
  for SPLIT in $SPLITS; do
    FISHERS="$FISHERS && python3 fisher_distance.py --preset cpu --task-set $S --arch $A --device cuda --data-root $D --results-dir $R --fisher-split $SPLIT"
  done
  timeout $CHAIN_TIMEOUT bash -c "python3 $SCRIPT --preset cpu --tasks $S --arch $A --device cuda --data-root $D --results-dir $R $FISHERS"
  echo "chain $S $A rc=$? took $(( $(date +%s) - T0 )) s"
  tar czf $OUT/${S}_$A.tgz -C $R cpu/distances cpu/train_metrics.csv
}
for A in "$@"; do
  chain mnist train_task_mnist.py $A > $OUT/mnist_$A.log 2>&1 &
  chain cifar10 train_task_cifar.py $A > $OUT/cifar10_$A.log 2>&1 &
done
wait
grep -h "^chain" $OUT/*.log
