"""Benchmark (not a test): training images/s of the small network on CIFAR-10, one epoch,
with the suite's tensor pipeline vs a plain torchvision DataLoader with per-sample PIL transforms.

    python bench/train_throughput.py --data-root ../shared/data [--images 50000] [--threads 2]

Same model (smallcnn, channels_last), same batch size, same augmentation (random crop with
padding 4 + horizontal flip), same number of threads. The DataLoader baseline is timed with 0 and
with 2 worker processes; the ratio is taken against the faster of the two.
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as T
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common.data.decode import Split, load_raw  # noqa: E402
from common.data.splits import Normalizer, iterate_batches  # noqa: E402
from common.datasets import DATASETS  # noqa: E402
from common.networks.models import build_network  # noqa: E402
from common.store import paths  # noqa: E402
from common.tasks import get_task  # noqa: E402
from common.training.train import prepare  # noqa: E402


def train_steps(batches, n_batches, desc):
    torch.manual_seed(0)
    net = prepare(build_network("smallcnn", get_task("cifar10-3"), seed=0), torch.device("cpu")).train()
    opt = torch.optim.Adam(net.parameters())
    seen, start = 0, time.time()
    for x, y in tqdm(batches, total=n_batches, desc=desc, unit="batch", mininterval=2):
        loss = F.cross_entropy(net(x.contiguous(memory_format=torch.channels_last)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(y)
    return seen / (time.time() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default="./data", help="holds cifar10/train/<class>/ (ImageFolder)")
    p.add_argument("--results-dir", default="./results", help="for the decoded-data cache")
    p.add_argument("--images", type=int, default=50_000, help="images per measurement (one epoch: 50000)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(args.data_root) / "cifar10" / "train"
    if not folder.is_dir():
        sys.exit(f"error: {folder} not found; pass --data-root holding cifar10/train/<class>/ (ImageFolder)")
    n_batches = (args.images + args.batch_size - 1) // args.batch_size

    raw = load_raw("cifar10", "train", args.data_root, paths.data_cache_dir(args.results_dir))  # decode once (cached)
    sub = Split(raw.x[: args.images], raw.y[: args.images])
    tensor_batches = iterate_batches(
        sub,
        args.batch_size,
        Normalizer("cifar10", "cpu"),
        shuffle=True,
        augment=True,
        generator=torch.Generator().manual_seed(0),
    )
    results = {"tensor pipeline": train_steps(tensor_batches, n_batches, "tensor pipeline")}

    mean, std = DATASETS["cifar10"].normalization
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
    ds = torchvision.datasets.ImageFolder(str(folder), transform=tf)
    ds = torch.utils.data.Subset(
        ds, torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[: args.images].tolist()
    )
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(
            ds, batch_size=args.batch_size, shuffle=True, num_workers=workers, persistent_workers=False
        )
        results[f"DataLoader + PIL, {workers} workers"] = train_steps(loader, n_batches, f"DataLoader {workers}w")

    baseline = max(v for k, v in results.items() if k.startswith("DataLoader"))
    print(
        f"\nsmallcnn, CIFAR-10 train, {args.images} images, batch {args.batch_size}, {args.threads} threads, "
        f"torch {torch.__version__}"
    )
    for k, v in results.items():
        print(f"  {k:32s} {v:8.0f} images/s")
    print(f"  ratio tensor / best DataLoader: {results['tensor pipeline'] / baseline:.2f}x")


if __name__ == "__main__":
    main()
