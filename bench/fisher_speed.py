"""Benchmark (not a test): time per sample of the diagonal-Fisher estimators.

    python bench/fisher_speed.py [--threads 2] [--batch-size 64] [--archs smallcnn resnet18]

``empirical`` (per-sample squared gradients from layer hooks, the suite's default) vs a plain
per-sample autograd loop (the same quantity, ``fisher_diag_reference``) vs ``legacy-batch``
(one backward per batch: the floor any estimator pays). Random 3x32x32 inputs, 10 classes,
network in eval mode, after one warm-up batch.
"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.fisher import fisher_diag, fisher_diag_reference  # noqa: E402
from common.models import build_network, count_parameters  # noqa: E402
from common.tasks import get_task  # noqa: E402
from common.train import prepare  # noqa: E402


def per_sample_seconds(fn, data) -> float:
    fn(data[:1])                                   # warm-up
    start = time.perf_counter()
    fn(data[1:])
    return (time.perf_counter() - start) / sum(len(y) for _, y in data[1:])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--batches", type=int, default=4, help="timed batches (plus one warm-up)")
    p.add_argument("--loop-batches", type=int, default=1, help="timed batches for the slow loop")
    p.add_argument("--archs", nargs="+", default=["smallcnn", "resnet18"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    task = get_task("cifar10-3")
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}; ms per sample")
    for arch in args.archs:
        torch.manual_seed(0)
        net = prepare(build_network(arch, task), torch.device("cpu")).eval()
        data = [(torch.randn(args.batch_size, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last),
                 torch.randint(0, 10, (args.batch_size,), generator=g)) for _ in range(args.batches + 1)]
        t_emp = per_sample_seconds(lambda d: fisher_diag(net, d), data)
        t_leg = per_sample_seconds(lambda d: fisher_diag(net, d, estimator="legacy-batch"), data)
        t_loop = per_sample_seconds(lambda d: fisher_diag_reference(net, d), data[:args.loop_batches + 1])
        print(f"{arch:10s} ({count_parameters(net) / 1e6:.2f} M params): empirical {1e3 * t_emp:.2f} | "
              f"per-sample loop {1e3 * t_loop:.2f} | legacy-batch {1e3 * t_leg:.2f}  ->  "
              f"empirical / legacy-batch = {t_emp / t_leg:.2f}x, loop / empirical = {t_loop / t_emp:.1f}x")


if __name__ == "__main__":
    main()
