"""Presets: every training/evaluation constant of the suite in one place.

``smoke``: seconds on tiny subsets (used by the tests).
``cpu``:   real data, the small network, data capped: a task set x 3 seeds trains on 2 cores in ≈ 15 min.
``paper``: the papers' settings (Adam, default lr; MNIST 50 epochs batch 64; CIFAR 100 epochs batch 128, crop +
           flip; 10 seeds; VGG-16). Meant for a GPU. The papers' networks on ``cpu``: common/network_budgets.py.
The dense (Taskonomy) tasks' presets: common/dense/presets.py. Command-line flags (``--epochs``, ``--batch-size``, ``--arch``, ``--seeds``) override a preset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from common.base.errors import UserError, positive
from common.datasets import DATASETS, RECIPES
from common.network_budgets import network_budget, network_fisher_samples


@dataclass(frozen=True)
class TrainConfig:
    arch: str
    epochs: int
    batch_size: int
    lr: float  # Adam learning rate (1e-3 is Adam's default, as in the papers)
    lr_schedule: str  # "constant" (papers) or "onecycle" (faster convergence on a CPU budget)
    augment: bool  # random crop (padding 4) + horizontal flip, on tensors
    max_train: int | None  # cap on training images per task (None: all)
    max_eval: int | None  # cap on validation / test images per task (None: all)
    seeds: tuple[int, ...]
    val_fraction: float = 0.1  # validation split carved from the official train split
    split_seed: int = 0  # seeds the val carve-out and the class balancing (same for every run)
    eval_batch_size: int = 500

    def to_dict(self) -> dict:
        return asdict(self)


PRESET_NAMES = ("smoke", "cpu", "paper")

_SMOKE = TrainConfig(
    arch="smallcnn",
    epochs=1,
    batch_size=32,
    lr=1e-3,
    lr_schedule="constant",
    augment=False,
    max_train=128,
    max_eval=64,
    seeds=(0,),
    eval_batch_size=64,
)
_CPU = TrainConfig(
    arch="smallcnn",
    epochs=3,
    batch_size=128,
    lr=2e-3,
    lr_schedule="onecycle",
    augment=False,
    max_train=12_000,
    max_eval=2_000,
    seeds=(0, 1, 2),
)
_PAPER_MNIST = TrainConfig(
    arch="vgg16",
    epochs=50,
    batch_size=64,
    lr=1e-3,
    lr_schedule="constant",
    augment=False,
    max_train=None,
    max_eval=None,
    seeds=tuple(range(10)),
)

# preset -> recipe -> config; a dataset names its recipe ("mnist": no augmentation; "cifar": crop + flip)
# "digits" (scikit-learn's 1,078 training images after the validation carve-out): MNIST's recipe, more epochs
_DIGITS = {"smoke": _SMOKE, "cpu": replace(_CPU, epochs=20, batch_size=64), "paper": replace(_PAPER_MNIST, epochs=200)}
PRESETS: dict[str, dict[str, TrainConfig]] = {
    "smoke": {"mnist": _SMOKE, "cifar": replace(_SMOKE, augment=True), "digits": _DIGITS["smoke"]},
    "cpu": {"mnist": _CPU, "cifar": replace(_CPU, epochs=5, max_train=20_000, augment=True), "digits": _DIGITS["cpu"]},
    "paper": {
        "mnist": _PAPER_MNIST,
        "cifar": replace(_PAPER_MNIST, epochs=100, batch_size=128, augment=True),
        "digits": _DIGITS["paper"],
    },
}
assert all(set(rows) == set(RECIPES) for rows in PRESETS.values()), "every preset needs every recipe"


def train_config(preset: str, dataset: str, **overrides) -> TrainConfig:
    """The preset's config for a dataset (with ``arch``'s budget on it: common/network_budgets.py), overridden."""
    if preset not in PRESETS:
        raise KeyError(f"unknown preset '{preset}'; choose from {', '.join(PRESET_NAMES)}")
    recipe = DATASETS[dataset].recipe
    cfg = PRESETS[preset][recipe]
    cfg = replace(cfg, **network_budget(preset, overrides.get("arch") or cfg.arch, recipe))
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})


def train_configs(preset: str, datasets, arch: str | None, seeds, epochs: int | None = None) -> dict[str, TrainConfig]:
    """The training configs of several datasets whose networks are compared (distances): they
    must share the arch and the seeds. ``epochs``: networks trained with --epochs."""
    cfgs = {ds: train_config(preset, ds, arch=arch, seeds=seeds, epochs=epochs) for ds in sorted(datasets)}
    first = next(iter(cfgs.values()))
    if any(c.arch != first.arch or c.seeds != first.seeds for c in cfgs.values()):
        raise UserError("the preset uses different archs or seeds for these datasets; pass --arch and --seeds")
    return cfgs


FISHER_SPLITS = ("test", "val")
# the target labels a Fisher reads: permuted, class indices shifted (the head-confound control); shuffled, labels
# permuted across the target's images (does a verdict need the labels at all?): common/fisher/label_controls.py
FISHER_LABELS = ("true", "permuted", "shuffled")
PARAMETER_PARTS = ("all", "body")  # what a distance compares (body: the classifier head left out)
# whose target network F_b comes from: the source's seed (the papers) or the next seed (cross-seed: the two
# networks of an entry never share their initial weights)
PAIRINGS = ("same-seed", "cross-seed")


@dataclass(frozen=True)
class FisherConfig:
    samples: int | None  # target images the Fisher is computed on (None: the whole split)
    batch_size: int  # the authors' code used batches of 50-100
    split: str = "test"  # the target's split: "test" as the authors (figures); "val" keeps test labels
    # out of anything that chooses an architecture (NAS)
    labels: str = "true"  # "permuted" / "shuffled": the label controls (FISHER_LABELS)


FISHER_PRESETS: dict[str, FisherConfig] = {
    "smoke": FisherConfig(samples=32, batch_size=16),
    "cpu": FisherConfig(samples=1000, batch_size=100),
    "paper": FisherConfig(samples=None, batch_size=100),
}


def fisher_config(
    preset: str,
    samples: int | None = None,
    batch_size: int | None = None,
    split: str | None = None,
    labels: str | None = None,
    arch: str | None = None,
) -> FisherConfig:
    """The preset's Fisher config (``arch``'s samples: common/network_budgets.py) with --fisher-samples,
    --batch-size, --fisher-split, --target-labels applied."""
    cfg = FISHER_PRESETS[preset]
    cfg = replace(cfg, samples=network_fisher_samples(preset, arch) or cfg.samples)
    if split is not None and split not in FISHER_SPLITS:
        raise UserError(f"--fisher-split must be one of {', '.join(FISHER_SPLITS)}, got {split}")
    if labels is not None and labels not in FISHER_LABELS:
        raise UserError(f"--target-labels must be one of {', '.join(FISHER_LABELS)}, got {labels}")
    return replace(
        cfg,
        samples=positive("fisher-samples", samples) or cfg.samples,
        batch_size=positive("batch-size", batch_size) or cfg.batch_size,
        split=split or cfg.split,
        labels=labels or cfg.labels,
    )


@dataclass(frozen=True)
class NASConfig:
    """Step 3, task-aware NAS (``common/nas/fuse.py``). A FUSE search runs ``stages`` stages; each stage
    trains its candidates' weights and the mixing weights α in ``rounds`` alternations."""

    width: int  # channels of the first cells (doubled at each reduction cell)
    depth: int  # cells of the skeleton (reduction cells at 1/3 and 2/3 of it)
    initial_candidates: int  # candidates of the first stage
    candidates: int  # candidates of every later stage: the incumbent + (candidates - 1) new ones
    stages: int  # search stages: the default --budget
    rounds: int  # alternations of (weights, α) training per stage
    weight_epochs: int  # epochs over the search train split per round, α frozen (Eq. 8)
    alpha_epochs: int  # epochs over the validation split per round, weights frozen (Eq. 9)
    lr: float  # Adam learning rate of the candidates' weights during the search
    alpha_lr: float  # Adam learning rate of α
    search_max_train: int | None  # cap on train images seen by the search (None: all)
    search_max_val: int | None  # cap on validation images of the α steps (None: all)
    retrain_epochs: int | None  # retraining of the chosen cell (None: the training preset's epochs)
    retrain_max_train: int | None  # cap on train images of the retraining (None: all)
    retrain_max_eval: int | None  # cap on val / test images of the retraining (None: all)
    # parameter count the retrained cells are widened to (nas.width_for_params; None: keep `width`),
    # so that searched cells and the hand-designed networks are compared at a matched size
    retrain_params: float | None
    batch_size: int  # search and retraining
    seeds: tuple[int, ...]  # one search + one retraining per seed and method
    # hand-designed networks retrained by the NAS step with the cells' retraining config (equal protocol)
    retrain_archs: tuple[str, ...] = ("smallcnn",)

    def to_dict(self) -> dict:
        return asdict(self)


# The cpu retraining widens every searched cell to smallcnn's size (0.22 M parameters), so the
# searched rows and the hand-designed row are compared at a matched parameter count.
RETRAIN_PARAMS_CPU = 0.2e6

NAS_PRESETS: dict[str, NASConfig] = {
    "smoke": NASConfig(
        width=4,
        depth=3,
        initial_candidates=3,
        candidates=3,
        stages=2,
        rounds=2,
        weight_epochs=1,
        alpha_epochs=2,
        lr=2e-3,
        alpha_lr=0.05,
        search_max_train=64,
        search_max_val=32,
        retrain_epochs=1,
        retrain_max_train=128,
        retrain_max_eval=64,
        retrain_params=None,
        batch_size=32,
        seeds=(0,),
    ),
    # Sized for ~5 minutes per target and seed: the three searched methods (task-aware FUSE, full
    # FUSE, random search, ~40-50 s each) and their three retrainings (~50-80 s each) of cifar10-2,
    # seed 0, took 5.2 min with 1 thread (2 threads are only ~15 % faster for a width-8 cell:
    # ~230 vs ~200 training images/s; width 16: ~150 vs ~100). The retraining's eval cap equals the
    # ε-networks' (2,000), so both are tested on the same test images. Seeds: the ε-networks' 3, so
    # that the core reproduction fits the 45-minute budget on 2 cores (issue 12; 5 seeds: ~1 h of NAS).
    "cpu": NASConfig(
        width=8,
        depth=5,
        initial_candidates=3,
        candidates=3,
        stages=3,
        rounds=2,
        weight_epochs=1,
        alpha_epochs=5,
        lr=2e-3,
        alpha_lr=0.05,
        search_max_train=320,
        search_max_val=320,
        retrain_epochs=2,
        retrain_max_train=4_000,
        retrain_max_eval=2_000,
        retrain_params=RETRAIN_PARAMS_CPU,
        batch_size=64,
        seeds=(0, 1, 2),
    ),
    # The papers' search: 5 initial candidates (log-det paper); 3 candidates per stage, 10 stages of
    # 5 rounds of 5 epochs each for weights and α, Adam with its default learning rate, batch 128
    # (the authors' FUSE code). The papers do not give the skeleton's size; 36 channels x 8 cells
    # gives 0.6-2.2 M parameters (papers: 2-3 M). For a GPU.
    "paper": NASConfig(
        width=36,
        depth=8,
        initial_candidates=5,
        candidates=3,
        stages=10,
        rounds=5,
        weight_epochs=5,
        alpha_epochs=5,
        lr=1e-3,
        alpha_lr=1e-3,
        search_max_train=None,
        search_max_val=None,
        retrain_epochs=None,
        retrain_max_train=None,
        retrain_max_eval=None,
        retrain_params=None,
        batch_size=128,
        seeds=tuple(range(10)),
        retrain_archs=("vgg16", "resnet18", "densenet121"),
    ),
}


@dataclass(frozen=True)
class TransferConfig:
    """The transfer study's budget (``transfer.py``): each source network fine-tuned on ``images``
    training images of the target for ``epochs`` (a new head, every layer trained), and the same
    budget from scratch."""

    images: int  # target training images (a seeded subset, the same for every source)
    epochs: int
    batch_size: int
    lr: float  # Adam, constant


TRANSFER_PRESETS: dict[str, TransferConfig] = {
    "smoke": TransferConfig(images=64, epochs=1, batch_size=16, lr=1e-3),
    # 1,000 images, 1 epoch (the example): ~1 s per run on 2 cores with smallcnn
    "cpu": TransferConfig(images=1000, epochs=1, batch_size=32, lr=1e-3),
    "paper": TransferConfig(images=1000, epochs=5, batch_size=64, lr=1e-4),
}
