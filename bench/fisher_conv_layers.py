"""Benchmark (not a test): per conv layer, the per-sample squared weight gradients of the Fisher
hooks vs one batched weight gradient (what ``legacy-batch`` pays for that layer).

    python bench/fisher_conv_layers.py [--threads 2] [--batch-size 64]

Layer shapes of smallcnn and ResNet-18 on 32x32 inputs, channels-last tensors as in the suite.
Use it to tune the schedules of ``common/fisher/estimators.py::_conv_per_sample_sq_grads`` (SMALL_MAP,
FEW_COLUMNS, CHUNK_FLOATS). Medians of --repeats timings, ms per batch.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.fisher.estimators import _conv_per_sample_sq_grads  # noqa: E402

# (net, Cin, Cout, input size, stride), 3x3 kernels, padding 1
LAYERS = [
    ("smallcnn", 3, 16, 32, 1),
    ("smallcnn", 16, 48, 16, 1),
    ("smallcnn", 48, 96, 8, 1),
    ("smallcnn", 96, 192, 4, 1),
    ("resnet18", 3, 64, 32, 1),
    ("resnet18", 64, 64, 32, 1),
    ("resnet18", 64, 128, 32, 2),
    ("resnet18", 128, 128, 16, 1),
    ("resnet18", 128, 256, 16, 2),
    ("resnet18", 256, 256, 8, 1),
    ("resnet18", 256, 512, 8, 2),
    ("resnet18", 512, 512, 4, 1),
]


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch_size}; ms per batch")
    for net, cin, cout, size, stride in LAYERS:
        cl = torch.channels_last
        conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False).to(memory_format=cl)
        a = torch.randn(args.batch_size, cin, size, size).contiguous(memory_format=cl)
        d = torch.randn(args.batch_size, cout, size // stride, size // stride).contiguous(memory_format=cl)
        per_sample = median_ms(lambda: _conv_per_sample_sq_grads(conv, a, d), args.repeats)
        batched = median_ms(
            lambda: torch.ops.aten.convolution_backward(
                d,
                a,
                conv.weight,
                None,
                conv.stride,
                conv.padding,
                conv.dilation,
                False,
                (0, 0),
                1,
                (False, False, True),
            ),
            args.repeats,
        )
        print(
            f"{net:9s} {cin:4d} -> {cout:4d} at {size:2d}x{size:<2d} stride {stride}: per-sample {per_sample:7.2f} | "
            f"batched weight grad {batched:7.2f}  ->  {per_sample / batched:.2f}x"
        )


if __name__ == "__main__":
    main()
