# Not a test: how the ResNet-18 matrices of results/cpu/distances/resnet18/ were made (2026-11-27) on a
# lent GPU machine (the `device` tool: it copies the repo, runs this, returns what is under $OUT).
# Consistency study (c): ResNet-18 epsilon-networks + FTD matrices (test and val splits) for the mnist
# and cifar10 task sets, `cpu` preset, both sets in parallel on one GPU (about 5 min each on an H200).
# Before: pack the data into .pack/ (git-ignored via .git/info/exclude), 28 MB:
#   (cd ../shared/data && tar cf - MNIST | xz -6 -T2 > ../../main/.pack/mnist.tar.xz)
#   (cd ../shared/data && tar cf - cifar10 | xz -6 -T2 > ../../main/.pack/cifar10.tar.xz)
# Run: bash bench/device_resnet18.sh  (carry .pack). After: untar $OUT/{mnist,cifar10}.tgz, copy
# cpu/distances/resnet18/ into results/cpu/distances/, append the train_metrics.csv rows, then
# `.venv/bin/python consistency_study.py --preset cpu --parts c` and `collect.py --preset cpu`.
set -o pipefail
export PYTHONUNBUFFERED=1 FTD_OFFLINE=1
D=/tmp/data; mkdir -p $D
(tar xJf .pack/mnist.tar.xz -C $D) & (tar xJf .pack/cifar10.tar.xz -C $D) & wait
python3 -c "import torch,torchvision;print(torch.__version__,torchvision.__version__,torch.cuda.get_device_name())"
nvidia-smi --query-gpu=name,memory.used --format=csv
chain() { S=$1; SCRIPT=$2; R=/tmp/r_$S; T0=$(date +%s)
  python3 $SCRIPT --preset cpu --tasks $S --arch resnet18 --device cuda --data-root $D --results-dir $R \
  && python3 fisher_distance.py --preset cpu --task-set $S --arch resnet18 --device cuda --data-root $D --results-dir $R \
  && python3 fisher_distance.py --preset cpu --task-set $S --arch resnet18 --device cuda --data-root $D --results-dir $R --fisher-split val
  echo "chain $S rc=$? took $(( $(date +%s) - T0 )) s"
  tar czf $OUT/$S.tgz -C $R cpu/distances cpu/train_metrics.csv
}
chain mnist train_task_mnist.py > $OUT/mnist.log 2>&1 &
chain cifar10 train_task_cifar.py > $OUT/cifar10.log 2>&1 &
wait
tail -n 5 $OUT/mnist.log $OUT/cifar10.log
