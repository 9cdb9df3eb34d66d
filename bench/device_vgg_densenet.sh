# Not a test: the VGG-16 and DenseNet-121 matrices of results/cpu/distances/{vgg16,densenet121}/ on a
# lent GPU machine (see bench/device_resnet18.sh for the data packing and how results come back).
# Four chains in parallel on one GPU (task set x network), each cut at 360 s so its outputs return.
set -o pipefail
export PYTHONUNBUFFERED=1 FTD_OFFLINE=1
D=/tmp/data; mkdir -p $D
(tar xJf .pack/mnist.tar.xz -C $D) & (tar xJf .pack/cifar10.tar.xz -C $D) & wait
chain() { S=$1; SCRIPT=$2; A=$3; R=/tmp/r_${S}_$A; T0=$(date +%s)
  timeout 360 bash -c "python3 $SCRIPT --preset cpu --tasks $S --arch $A --device cuda --data-root $D --results-dir $R \
    && python3 fisher_distance.py --preset cpu --task-set $S --arch $A --device cuda --data-root $D --results-dir $R"
  echo "chain $S $A rc=$? took $(( $(date +%s) - T0 )) s"
  tar czf $OUT/${S}_$A.tgz -C $R cpu/distances cpu/train_metrics.csv
}
for A in vgg16 densenet121; do
  chain mnist train_task_mnist.py $A > $OUT/mnist_$A.log 2>&1 &
  chain cifar10 train_task_cifar.py $A > $OUT/cifar10_$A.log 2>&1 &
done
wait
grep -h "^chain" $OUT/*.log
