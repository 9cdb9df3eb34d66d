"""Benchmark (not a test): where the sections ``arch-<network>`` spend their time (issue 32, item 4). For each
of the FTD paper's networks at 32 x 32: training images/s (Adam step, batch 32 as their ``cpu`` budget) in the
channels_last layout the suite trains in and in the default contiguous layout, one batched backward, and the
per-sample ``empirical`` Fisher (ms per sample, and its ratio to the batched backward), beside this machine's
sgemm peak (a 2048 x 2048 fp32 matmul) and the share of it each network's training reaches.

    .venv/bin/python bench/paper_networks_speed.py [--threads 2] [--repeats 3] [--networks vgg16 resnet18]

Medians of ``--repeats`` rounds after one warm-up; absolute times drift on a shared VM, compare ratios.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.experiments import PAPER_NETWORKS  # noqa: E402
from common.fisher.estimators import fisher_diag  # noqa: E402
from common.networks.complexity import count_macs  # noqa: E402
from common.networks.models import build_network  # noqa: E402
from common.tasks import get_task  # noqa: E402

CL = torch.channels_last


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sgemm_gflops(repeats: int, n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / median_seconds(lambda: a @ b, repeats) / 1e9


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--networks", nargs="+", default=list(PAPER_NETWORKS), choices=PAPER_NETWORKS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    peak = sgemm_gflops(args.repeats)
    print(f"sgemm peak: {peak:.0f} GFLOP/s ({args.threads} threads)")
    task = get_task("cifar10-2")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32, generator=gen)
    y = torch.randint(0, task.num_classes, (args.batch,), generator=gen)
    print(
        "| network | MMACs | train img/s channels_last | train img/s contiguous | share of sgemm peak (best) "
        "| batched backward ms/sample | empirical Fisher ms/sample | Fisher / backward |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for arch in args.networks:
        net = build_network(arch, task, seed=0)
        macs = count_macs(net)
        rates = {}
        for layout in ("channels_last", "contiguous"):
            model = (
                net.to(memory_format=CL) if layout == "channels_last" else net.to(memory_format=torch.contiguous_format)
            )
            xs = x.contiguous(memory_format=CL) if layout == "channels_last" else x.contiguous()
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def step():
                loss = F.cross_entropy(model(xs), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

            model.train()
            rates[layout] = args.batch / median_seconds(step, args.repeats)
        net = net.to(memory_format=CL).eval()
        xs = x.contiguous(memory_format=CL)

        def backward():
            net.zero_grad(set_to_none=True)
            F.cross_entropy(net(xs), y).backward()

        backward_ms = 1e3 * median_seconds(backward, args.repeats) / args.batch
        fisher_ms = 1e3 * median_seconds(lambda: fisher_diag(net, [(xs, y)]), args.repeats) / args.batch
        share = max(rates.values()) * 3 * 2 * macs / 1e9 / peak  # training ≈ 3 forward passes, 2 FLOP per MAC
        print(
            f"| {arch} | {macs / 1e6:.0f} | {rates['channels_last']:.1f} | {rates['contiguous']:.1f} | {share:.0%} "
            f"| {backward_ms:.1f} | {fisher_ms:.1f} | {fisher_ms / backward_ms:.2f}× |"
        )


if __name__ == "__main__":
    main()
