"""The papers' steps in order, as plain data: what ``reproduce.py`` runs. Each step is one call of a
step script's ``main(argv)`` with the flags shared by every step (preset, data root, results dir,
device, seeds, force) appended; a step whose datasets are missing is skipped with one line.
Adding a step is one entry here."""

from __future__ import annotations

from dataclasses import dataclass

from common.experiments import (
    FULL_SPACE_CELLS,
    MARGIN_MATRICES,
    MARGIN_SEEDS,
    PAPER_NETWORK_SETS,
    PAPER_NETWORKS,
    nas_targets,
)
from common.store.paths import MARGIN_FOLDER


@dataclass(frozen=True)
class Step:
    section: str  # the --sections name it belongs to
    name: str  # what the progress line says
    script: str  # a top-level module with main(argv)
    argv: tuple[str, ...]  # the step's own flags
    datasets: tuple[str, ...]  # the data it needs (skipped when one is missing)
    shared: bool = True  # whether the shared flags (--data-root, --device, ...) apply
    jobs: bool = True  # whether the script splits into launcher jobs (--launcher, --plan)
    cached: bool = True  # whether its work is keyed files a rerun finds done (the report is rewritten)
    root: str = ""  # a results root of its own under --results-dir (MARGIN_FOLDER: the margin claims' networks)


# Section -> what it runs. The first four are the core reproduction, the 2-core budget of the README
# (classification tasks, their matrices, the consistency study, NAS on the FTD paper's two targets).
SECTIONS: dict[str, str] = {
    "train": "ε-networks of the MNIST, CIFAR-10 (and CIFAR-100) tasks",
    "distances": "FTD matrices of mnist, cifar10 (cifar100), ldnas8; the log-det matrix; mnist's and cifar10's "
    "validation-split matrices for NAS",
    "study": "consistency study: seed to seed, Fisher estimators, distances",
    "nas": "task-aware NAS on the FTD paper's targets mnist-2 and cifar10-2",
    "logdet": "the log-det paper's distance study, ldnas8's validation-split matrix and the paper's NAS table "
    "(mnist-3 and cifar10-2 among ldnas8; it reuses the full-space cells of section nas)",
    "dense": "the Taskonomy application: dense ε-networks, matrix and atlas, transfer (taskonomy-2d on CIFAR-10)",
    "transfer": "transfer study of the mnist, cifar10 and ldnas8 sets",
    "benchmark": "the transferability benchmark: ε-networks of the transfer20 pool's new tasks, then FTD and the "
    "field's scorers against fine-tuning and head-only ground truths (smoke: the pool transfer12)",
    "controls": "noise floor (null twins, cross-seed matrix) and head-confound controls (body-only, "
    "label-permuted) and the label control (labels shuffled across images) of the mnist, cifar10 and ldnas8 matrices",
    "margins": "the six-seed matrices of claims 1, 2, 6 and 7 (per-seed margin tests): ε-networks of the mnist, "
    "cifar10 and ldnas8 tasks at 6 seeds, their FTD and log-det matrices, body-only, label-permuted, label-shuffled and "
    "cross-seed (under results/six-seeds/)",
    "nas-seeds": "NAS at 6 seeds (the fewest at which an exact paired test can reach p < 0.05): the FTD paper's "
    "mnist-2 and cifar10-2, then the log-det paper's mnist-3 and cifar10-2 among ldnas8",
    **{
        f"arch-{net}": f"the FTD paper's {net} on the preset's budget for it (common/network_budgets.py): ε-networks "
        "of the mnist and cifar10 sets, their FTD matrices, body-only, label-permuted, label-shuffled and cross-seed "
        "controls, noise floors (claims 2d-2i, 3d-3i)"
        for net in PAPER_NETWORKS
    },
    "alpha-rank": "does FUSE's α rank its candidates? the search-budget curve of docs/nas.md (about an hour, 2 cores)",
    "report": "REPORT.md from the results",
}
CORE_SECTIONS = ("train", "distances", "study", "nas")
# run only when named: 6 NAS seeds cost as much again as section nas; the six-seed matrices retrain 54 networks
# the papers' networks: an hour or more each on 2 cores
OPT_IN_SECTIONS = ("nas-seeds", "margins", "alpha-rank", *(f"arch-{net}" for net in PAPER_NETWORKS))
CORE_BUDGET_MIN = 45  # the core's wall time from scratch on 2 CPU cores, at most (preset cpu)
DATASETS = ("mnist", "cifar10", "cifar100", "taskonomy")
# Data reproduce.py never downloads: their steps run only when the files are under --data-root
# (neither CIFAR-100 nor a Taskonomy tree is on this project's machines; train_task_cifar100.py
# downloads CIFAR-100 when run alone, Taskonomy must be fetched by hand).
LOCAL_ONLY = ("cifar100", "taskonomy")
_BOTH = ("mnist", "cifar10")


def _datasets_of(tasks) -> tuple[str, ...]:
    """The dataset of each task, from its name (``mnist-2`` -> ``mnist``): no registry import here."""
    return tuple(dict.fromkeys(task.rsplit("-", 1)[0] for task in tasks))


_NAS_SPACES = ("--space", "task-aware", "task-aware-warm")
# the benchmark pool's tasks beyond those of section train (common/tasks.py, task set transfer20)
_POOL_MNIST = ("mnist-lowhigh", "mnist-1738", "mnist-49")
_POOL_CIFAR = ("cifar10-animals", "cifar10-catdog", "cifar10-vehicles", "cifar10-animals5")
_CONTROL_SETS = (("mnist", ("mnist",)), ("cifar10", ("cifar10",)), ("ldnas8", _BOTH))
NAS_SEEDS = tuple(range(6))  # section nas-seeds: 2 / 2^6 = 0.031 is the exact paired test's floor
_MARGIN = ("--seeds", *map(str, MARGIN_SEEDS))
_TRAIN_SCRIPTS = {"mnist": "train_task_mnist", "cifar10": "train_task_cifar"}
_MARGIN_VARIANTS = (
    ("", ()),
    ("body-only ", ("--parameters", "body")),
    ("label-permuted ", ("--target-labels", "permuted")),
    ("label-shuffled ", ("--target-labels", "shuffled")),
    ("cross-seed ", ("--pairing", "cross-seed")),
)
_LABEL_CONTROL = "label-"  # the variants whose Fishers are their own (the others read the plain matrix's Fishers)


def _network_steps(net: str) -> tuple[Step, ...]:
    """Section arch-<net>: per task set its training, matrix and the Fisher-free controls (body-only and cross-seed
    read the plain matrix's Fishers), so that a section cut short holds whole task sets; then the label-permuted
    matrices (Fishers of their own), the orderings (result files only), the noise floors last (twins: as much
    training again)."""
    section = f"arch-{net}"

    def matrix(label: str, what: str, flags: tuple[str, ...]) -> Step:
        argv = ("--task-set", label, "--arch", net, *flags)
        return Step(section, f"2n. {what}FTD matrix, {net}, {label}", "fisher_distance", argv, (label,))

    train = {
        label: Step(
            section,
            f"1n. {net} ε-networks, {label} tasks",
            _TRAIN_SCRIPTS[label],
            ("--tasks", label, "--arch", net),
            (label,),
        )
        for label in PAPER_NETWORK_SETS
    }
    own = [(w, f) for w, f in _MARGIN_VARIANTS if w.startswith(_LABEL_CONTROL)]  # Fishers of their own
    reads = [(w, f) for w, f in _MARGIN_VARIANTS if (w, f) not in own]  # read the plain matrix's Fishers
    return (
        *(s for label in PAPER_NETWORK_SETS for s in (train[label], *(matrix(label, w, f) for w, f in reads))),
        *(matrix(label, w, f) for w, f in own for label in PAPER_NETWORK_SETS),
        Step(
            section,
            f"2n. orderings across networks (consistency study (c)), {net}",
            "consistency_study",
            ("--parts", "c"),
            PAPER_NETWORK_SETS,
            jobs=False,
            cached=False,
        ),
        *(
            Step(
                section,
                f"2n. noise floor, {net}, {label}",
                "noise_floor",
                ("--task-set", label, "--arch", net),
                (label,),
                jobs=False,
            )
            for label in PAPER_NETWORK_SETS
        ),
    )


STEPS: tuple[Step, ...] = (
    Step("train", "1a. ε-networks, MNIST tasks", "train_task_mnist", ("--tasks", "mnist", "mnist-oddeven"), ("mnist",)),
    Step("train", "1b. ε-networks, CIFAR-10 tasks", "train_task_cifar", (), ("cifar10",)),
    Step("train", "1c. ε-networks, CIFAR-100 tasks", "train_task_cifar100", (), ("cifar100",)),
    Step(
        "dense", "1d. dense ε-networks, taskonomy-2d on CIFAR-10", "train_task_taskonomy", (), ("cifar10",), jobs=False
    ),
    Step(
        "dense",
        "1e. dense ε-networks, Taskonomy",
        "train_task_taskonomy",
        ("--task-set", "taskonomy"),
        ("taskonomy",),
        jobs=False,
    ),
    Step("distances", "2. FTD matrix, mnist", "fisher_distance", ("--task-set", "mnist"), ("mnist",)),
    Step("distances", "2. FTD matrix, cifar10", "fisher_distance", ("--task-set", "cifar10"), ("cifar10",)),
    Step("distances", "2. FTD matrix, cifar100", "fisher_distance", ("--task-set", "cifar100"), ("cifar100",)),
    Step("distances", "2. FTD matrix, ldnas8", "fisher_distance", ("--task-set", "ldnas8"), _BOTH),
    Step(
        "dense",
        "2. FTD matrix and atlas, taskonomy-2d on CIFAR-10",
        "fisher_distance_taskonomy",
        (),
        ("cifar10",),
        jobs=False,
    ),
    Step(
        "dense",
        "2. FTD matrix and atlas, Taskonomy",
        "fisher_distance_taskonomy",
        ("--task-set", "taskonomy"),
        ("taskonomy",),
        jobs=False,
    ),
    Step(
        "distances",
        "2'. log-det matrix, ldnas8",
        "fisher_distance",
        ("--task-set", "ldnas8", "--distance", "logdet"),
        _BOTH,
    ),
    Step(
        "distances",
        "2'''. FTD on validation splits (for NAS), mnist",
        "fisher_distance",
        ("--task-set", "mnist", "--fisher-split", "val"),
        ("mnist",),
    ),
    Step(
        "distances",
        "2'''. FTD on validation splits (for NAS), cifar10",
        "fisher_distance",
        ("--task-set", "cifar10", "--fisher-split", "val"),
        ("cifar10",),
    ),
    Step(
        "logdet",
        "2'''. FTD on validation splits (for NAS), ldnas8",
        "fisher_distance",
        ("--task-set", "ldnas8", "--fisher-split", "val"),
        _BOTH,
    ),
    Step("logdet", "2''. log-det study, ldnas8", "logdet_study", (), _BOTH, jobs=False),
    Step("study", "2''. consistency study (seed-to-seed, estimators)", "consistency_study", (), _BOTH, jobs=False),
    *(
        Step(
            "nas",
            f"3a. full-space cells of {target}",
            "nas_fuse",
            ("--target", target, "--space", "full", "--search-only"),
            _datasets_of((target,)),
        )
        for target in FULL_SPACE_CELLS
    ),
    # the FTD paper's targets, cifar10's first (the order of the committed run logs)
    *(
        Step(
            "nas",
            f"3b. NAS for {t.target} (baselines {t.baselines})",
            "nas_fuse",
            ("--target", t.target, *_NAS_SPACES),
            _datasets_of((t.target,)),
        )
        for t in reversed(nas_targets("FTD"))
    ),
    *(
        Step(
            "logdet",
            f"3c. NAS for {t.target} (baselines {t.baselines})",
            "nas_fuse",
            ("--target", t.target, "--task-set", t.baselines, *_NAS_SPACES),
            _BOTH,
        )
        for t in nas_targets("log-det")
    ),
    *(
        Step("controls", f"2c. noise floor, {label}", "noise_floor", ("--task-set", label), datasets, jobs=False)
        for label, datasets in _CONTROL_SETS
    ),
    *(
        Step(
            "controls",
            f"2d. {what} {distance} matrix, {label}",
            "fisher_distance",
            ("--task-set", label, "--distance", distance, *flags),
            datasets,
        )
        for label, datasets in _CONTROL_SETS
        for distance in (("frechet", "logdet") if label == "ldnas8" else ("frechet",))
        for what, flags in (
            ("body-only", ("--parameters", "body")),
            ("label-permuted", ("--target-labels", "permuted")),
            ("label-shuffled", ("--target-labels", "shuffled")),
        )
    ),
    Step(
        "margins",
        "1m. ε-networks at 6 seeds, MNIST tasks",
        "train_task_mnist",
        ("--tasks", "mnist", "mnist-oddeven", *_MARGIN),
        ("mnist",),
        root=MARGIN_FOLDER,
    ),
    Step(
        "margins",
        "1m. ε-networks at 6 seeds, CIFAR-10 tasks",
        "train_task_cifar",
        _MARGIN,
        ("cifar10",),
        root=MARGIN_FOLDER,
    ),
    *(
        Step(
            "margins",
            f"2m. {what}{distance} matrix at 6 seeds, {label}",
            "fisher_distance",
            ("--task-set", label, "--distance", distance, *flags, *_MARGIN),
            dict(_CONTROL_SETS)[label],
            root=MARGIN_FOLDER,
        )
        for what, flags in _MARGIN_VARIANTS
        for label, distance in MARGIN_MATRICES
    ),
    *(
        Step(
            "nas-seeds",
            f"3d. full-space cells of {target} at {len(NAS_SEEDS)} seeds",
            "nas_fuse",
            ("--target", target, "--space", "full", "--search-only", "--seeds", *map(str, NAS_SEEDS)),
            _datasets_of((target,)),
        )
        for target in FULL_SPACE_CELLS
    ),
    # the FTD paper's targets, then the log-det paper's (8a, 8b: cifar10-2's runs among ldnas8 are cifar10's, reused)
    *(
        Step(
            "nas-seeds",
            f"3d. NAS for {t.target} at {len(NAS_SEEDS)} seeds (baselines {t.baselines})",
            "nas_fuse",
            ("--target", t.target, *ldnas8, *_NAS_SPACES, "--seeds", *map(str, NAS_SEEDS)),
            _BOTH if ldnas8 else _datasets_of((t.target,)),
        )
        for t, ldnas8 in (
            *((t, ()) for t in reversed(nas_targets("FTD"))),
            *((t, ("--task-set", t.baselines)) for t in nas_targets("log-det")),
        )
    ),
    *(
        Step("benchmark", f"1g. ε-networks of the benchmark pool, {what}", script, ("--tasks", *tasks), (dataset,))
        for what, script, tasks, dataset in (
            ("MNIST", "train_task_mnist", _POOL_MNIST, "mnist"),
            ("CIFAR-10", "train_task_cifar", _POOL_CIFAR, "cifar10"),
        )
    ),
    Step(
        "benchmark", "1g. ε-networks of the benchmark pool, digits", "train_task", ("--dataset", "digits"), ("digits",)
    ),
    Step(
        "benchmark", "5. transferability benchmark of the pool", "transferability", (), (*_BOTH, "digits"), jobs=False
    ),
    Step("transfer", "4. transfer study, mnist", "transfer", ("--task-set", "mnist"), ("mnist",)),
    Step("transfer", "4. transfer study, cifar10", "transfer", ("--task-set", "cifar10"), ("cifar10",)),
    Step("transfer", "4. transfer study, ldnas8", "transfer", ("--task-set", "ldnas8"), _BOTH),
    Step("dense", "4. transfer study, taskonomy-2d on CIFAR-10", "transfer_taskonomy", (), ("cifar10",), jobs=False),
    *(step for net in PAPER_NETWORKS for step in _network_steps(net)),
    Step("alpha-rank", "3e. α-rank study: FUSE's α vs stand-alone accuracy", "alpha_rank_study", (), _BOTH, jobs=False),
    Step(
        "report",
        "report: REPORT.md from the results",
        "collect",
        ("--no-readme",),
        (),
        shared=False,
        jobs=False,
        cached=False,
    ),
)
# checked at import: a step in an unknown section would silently never run
assert all(step.section in SECTIONS for step in STEPS), "every step's section must be in SECTIONS"
assert set(CORE_SECTIONS) <= set(SECTIONS)
