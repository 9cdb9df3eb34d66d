"""Benchmark (not a test): training images/s of the NAS cell networks of the `cpu` preset.

    .venv/bin/python bench/nas_throughput.py [--genotypes 6] [--steps 8] [--threads 2]

For each of N genotypes drawn from the full space (fixed seed), one training step = forward,
backward and an Adam step on a batch of the preset's size (random 32x32 images, 4 classes), timed
after 2 warm-up steps, in the same run for every variant:

* ``nchw``: the cell network in the default (NCHW) memory layout: the code before the layout change;
* ``channels_last``: what the suite runs (``common/training/train.py::prepare``);

* ``--compile``: also ``channels_last`` under ``torch.compile`` (inductor; its compile time, in the
  first warm-up step, is printed separately and not counted in images/s);

each at the search width (``NASConfig.width``) and at the width the retraining widens the cell to
(``NASConfig.retrain_params``). Prints one row per genotype and the medians.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.nas.space import SearchSpace, build_nas_network, width_for_params  # noqa: E402
from common.presets import NAS_PRESETS  # noqa: E402
from common.tasks import get_task  # noqa: E402


def images_per_second(net, batch: int, steps: int, channels_last: bool, compile: bool = False) -> tuple[float, float]:
    """(training images/s after 2 warm-up steps, seconds of the first step: compilation when ``compile``)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt).train()
    opt = torch.optim.Adam(net.parameters())
    model = torch.compile(net) if compile else net
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=fmt)
    y = torch.randint(4, (batch,))
    first = time.perf_counter()
    for step in range(steps + 2):
        if step == 1:
            first = time.perf_counter() - first
        if step == 2:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start), first


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--genotypes", type=int, default=6, help="genotypes drawn from the full space")
    p.add_argument("--steps", type=int, default=8, help="timed training steps per measurement")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--preset", default="cpu", choices=tuple(NAS_PRESETS))
    p.add_argument("--compile", action="store_true", help="also time channels_last under torch.compile")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = NAS_PRESETS[args.preset]
    task = get_task("cifar10-2")
    sampler = torch.Generator().manual_seed(0)
    rows = []
    print(f"preset {args.preset}: depth {cfg.depth}, batch {cfg.batch_size}, {args.threads} thread(s); images/s")
    print(
        "genotype | width | params (M) | nchw | channels_last | ratio"
        + (" | compiled | ratio to channels_last | compile s" if args.compile else "")
    )
    for i in range(args.genotypes):
        genotype = SearchSpace().sample(sampler)
        widths = [cfg.width] + (
            [width_for_params(genotype, task, cfg.depth, cfg.retrain_params)] if cfg.retrain_params else []
        )
        for width in widths:
            torch.manual_seed(0)
            net = build_nas_network(genotype, task, width, cfg.depth)
            params = sum(q.numel() for q in net.parameters()) / 1e6
            nchw = images_per_second(net, cfg.batch_size, args.steps, channels_last=False)[0]
            last = images_per_second(net, cfg.batch_size, args.steps, channels_last=True)[0]
            extra, compiled = "", None
            if args.compile:
                compiled, seconds = images_per_second(net, cfg.batch_size, args.steps, channels_last=True, compile=True)
                extra = f" | {compiled:.0f} | {compiled / last:.2f} | {seconds:.0f}"
            rows.append((width == cfg.width, nchw, last, compiled))
            print(f"{i} | {width} | {params:.3f} | {nchw:.0f} | {last:.0f} | {last / nchw:.2f}{extra}", flush=True)
    for search, label in ((True, "search width"), (False, "retraining width")):
        sel = [r for r in rows if r[0] == search]
        if sel:
            print(
                f"median, {label}: nchw {statistics.median(r[1] for r in sel):.0f} img/s, channels_last "
                f"{statistics.median(r[2] for r in sel):.0f} img/s, ratio "
                f"{statistics.median(r[2] / r[1] for r in sel):.2f}"
                + (
                    f"; compiled {statistics.median(r[3] for r in sel):.0f} img/s, ratio to channels_last "
                    f"{statistics.median(r[3] / r[2] for r in sel):.2f}"
                    if args.compile
                    else ""
                )
            )


if __name__ == "__main__":
    main()
