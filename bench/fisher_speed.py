"""Benchmark (not a test): time per sample of the diagonal-Fisher estimators.

    python bench/fisher_speed.py [--threads 2] [--batch-size 64] [--archs smallcnn resnet18]

``empirical`` (per-sample squared gradients from layer hooks, the suite's default) vs a plain
per-sample autograd loop (the same quantity, ``fisher_diag_reference``) vs ``legacy-batch``
(one backward per batch: the floor any estimator pays), and the same quantity from two peer
libraries (``bench/peers.py``): BackPACK's SumGradSquared and Opacus's per-sample gradients.
A peer that cannot run a network (BackPACK on torchvision's ResNet-18, Opacus on any BatchNorm)
is reported as n/a with its reason; ``smallcnn-nobn`` (smallcnn without its BatchNorm layers) is
a network all of them run. Random 3x32x32 inputs, 10 classes, network in eval mode. After one
warm-up batch each, the estimators are timed in turn for --repeats rounds; the figures are
medians over rounds (and the ratios medians of per-round ratios).
"""

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore", UserWarning)  # BackPACK/Opacus hooks warn on every backward

import torch  # noqa: E402 - after the warning filter
import torch.nn as nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import fisher_backpack, fisher_opacus  # noqa: E402

from common.fisher.estimators import fisher_diag, fisher_diag_reference  # noqa: E402
from common.networks.models import build_network, count_parameters  # noqa: E402
from common.tasks import get_task  # noqa: E402
from common.training.train import prepare  # noqa: E402


def per_sample_seconds(fns: dict, data: dict, repeats: int) -> dict:
    """Median seconds per sample of each estimator over ``repeats`` rounds, and the median per-round
    ratios. The estimators are timed in turn within every round, so a slow spell of this shared VM
    (single timings of a small net vary by up to 50 % between minutes) hits all of them alike."""
    failed = {}
    for name, fn in list(fns.items()):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(data[name][:1])  # warm-up
        except Exception as exc:  # noqa: BLE001 - a peer that cannot run this network
            failed[name] = f"n/a ({type(exc).__name__}: {str(exc).splitlines()[0][:70]})"
            del fns[name]
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(data[name][1:])
            times[name].append((time.perf_counter() - start) / sum(len(y) for _, y in data[name][1:]))
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(times[a], times[b]))  # noqa: E731
    return {
        **{name: statistics.median(t) for name, t in times.items()},
        "failed": failed,
        "empirical/legacy": ratio("empirical", "legacy-batch"),
        "loop/empirical": ratio("loop", "empirical"),
        **{f"{peer}/empirical": ratio(peer, "empirical") for peer in ("backpack", "opacus") if peer in times},
    }


def build(arch: str, task) -> nn.Module:
    if arch == "smallcnn-nobn":
        net = build_network("smallcnn", task, seed=0)
        return nn.Sequential(*[nn.Identity() if isinstance(m, nn.BatchNorm2d) else m for m in net])
    return build_network(arch, task, seed=0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--batches", type=int, default=4, help="timed batches (plus one warm-up)")
    p.add_argument("--loop-batches", type=int, default=1, help="timed batches for the slow loop")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds; medians are reported")
    p.add_argument("--archs", nargs="+", default=["smallcnn", "smallcnn-nobn", "resnet18"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    task = get_task("cifar10-3")
    print(
        f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}; ms per sample, "
        f"medians of {args.repeats} rounds"
    )
    for arch in args.archs:
        torch.manual_seed(0)
        net = prepare(build(arch, task), torch.device("cpu")).eval()
        data = [
            (
                torch.randn(args.batch_size, 3, 32, 32, generator=g).contiguous(memory_format=torch.channels_last),
                torch.randint(0, 10, (args.batch_size,), generator=g),
            )
            for _ in range(args.batches + 1)
        ]
        fns = {
            "empirical": lambda d: fisher_diag(net, d),
            "legacy-batch": lambda d: fisher_diag(net, d, estimator="legacy-batch"),
            "loop": lambda d: fisher_diag_reference(net, d),
            "backpack": lambda d: fisher_backpack(net, d),
            "opacus": lambda d: fisher_opacus(net, d),
        }
        t = per_sample_seconds(
            fns,
            {
                "empirical": data,
                "legacy-batch": data,
                "loop": data[: args.loop_batches + 1],
                "backpack": data,
                "opacus": data,
            },
            args.repeats,
        )
        peers = " | ".join(
            f"{peer} {1e3 * t[peer]:.2f} ({t[peer + '/empirical']:.2f}x empirical)"
            if peer in t
            else f"{peer} {t['failed'][peer]}"
            for peer in ("backpack", "opacus")
        )
        print(
            f"{arch:13s} ({count_parameters(net) / 1e6:.2f} M params): empirical {1e3 * t['empirical']:.2f} | "
            f"per-sample loop {1e3 * t['loop']:.2f} | legacy-batch {1e3 * t['legacy-batch']:.2f} | {peers}  ->  "
            f"empirical / legacy-batch = {t['empirical/legacy']:.2f}x, loop / empirical = {t['loop/empirical']:.1f}x"
        )


if __name__ == "__main__":
    main()
