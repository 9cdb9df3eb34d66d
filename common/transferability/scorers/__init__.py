"""Transferability scorers: predict, from a target's validation images only, how well a source network transfers.

Sign convention: ``score(name, inputs)`` always returns a number where HIGHER = predicted better transfer. The
scorers return their paper's raw quantity; a distance (smaller = closer = better) has ``higher_is_better=False``
in its registry entry and ``score`` negates it.

Notation: n target validation images, labels y_i in [0, C_t); the source network gives softmax outputs
theta_i = p_src(z | x_i) over its C_s source classes (``probs``) or penultimate features f_i in R^D (``features``).

One module per family, each with its formulas; the registry (``SCORERS``, ``score``) is here:

label_based    LEEP, NCE: the source's softmax outputs against the target labels
feature_based  LogME, H-score (with Ledoit-Wolf shrinkage): the source's penultimate features
distances      Task2Vec's cosine distance; the precomputed FTD, body-only FTD and log-det distance
peers          TransRate and GBC (the source's penultimate features), OTDD (both tasks' samples in the fixed
               feature space of the Task2Vec probe's body: ``probe`` inputs)
baselines      source accuracy, same dataset, random
validation     the input checks every scorer runs first
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from common.transferability.scorers.baselines import random_score, same_dataset, source_accuracy
from common.transferability.scorers.distances import _identity, task2vec_distance
from common.transferability.scorers.feature_based import LogMEFit, hscore, logme, logme_fit
from common.transferability.scorers.label_based import leep, nce
from common.transferability.scorers.peers import gbc, otdd, transrate
from common.transferability.scorers.validation import _finite

__all__ = [
    "INPUT_KEYS",
    "NEEDS",
    "SCORERS",
    "LogMEFit",
    "Scorer",
    "gbc",
    "hscore",
    "leep",
    "logme",
    "logme_fit",
    "nce",
    "otdd",
    "random_score",
    "same_dataset",
    "score",
    "source_accuracy",
    "task2vec_distance",
    "transrate",
]


NEEDS = ("probs", "features", "fisher", "task2vec", "probe", "meta")


@dataclass(frozen=True)
class Scorer:
    """One transferability scorer as plain data.

    needs            the kind of input it reads (one of NEEDS)
    inputs           (function argument, key of the pair's inputs dict) for each argument of ``function``
    higher_is_better whether ``function``'s raw value already reads "higher = better"; if not (a distance),
                     ``score`` negates it
    """

    name: str
    needs: str
    inputs: tuple[tuple[str, str], ...]
    higher_is_better: bool
    function: Callable[..., float]
    citation: str

    def __post_init__(self):
        if self.needs not in NEEDS:
            raise ValueError(f"scorer {self.name}: needs must be one of {NEEDS}, got {self.needs!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for _, key in self.inputs)

    def __call__(self, inputs: dict) -> float:
        missing = [key for key in self.keys if key not in inputs or inputs[key] is None]
        if missing:
            raise ValueError(f"scorer {self.name}: missing input {', '.join(repr(k) for k in missing)}")
        raw = self.function(**{arg: inputs[key] for arg, key in self.inputs})
        value = _finite(raw, self.name)
        return value if self.higher_is_better else -value


_FTD_CITE = "Le, Soltani, Dong, Ravier, Tarokh: Fisher Task Distance and its application in neural architecture search"


SCORERS: dict[str, Scorer] = {
    s.name: s
    for s in (
        Scorer("ftd", "fisher", (("distance", "ftd"),), False, _identity, _FTD_CITE),
        Scorer("ftd-body", "fisher", (("distance", "ftd_body"),), False, _identity, _FTD_CITE + " (body only)"),
        Scorer("logdet", "fisher", (("distance", "logdet"),), False, _identity, _FTD_CITE + " (log-det distance)"),
        Scorer(
            "leep",
            "probs",
            (("source_probs", "probs"), ("target_labels", "labels")),
            True,
            leep,
            "Nguyen, Hassner, Seeger, Archambeau 2020, LEEP (ICML)",
        ),
        Scorer(
            "nce",
            "probs",
            (("source_probs", "probs"), ("target_labels", "labels")),
            True,
            nce,
            "Tran, Nguyen, Hassner 2019, Transferability and hardness of supervised classification tasks (ICCV)",
        ),
        Scorer(
            "logme",
            "features",
            (("features", "features"), ("target_labels", "labels")),
            True,
            logme,
            "You, Liu, Wang, Long 2021, LogME (ICML)",
        ),
        Scorer(
            "hscore",
            "features",
            (("features", "features"), ("target_labels", "labels")),
            True,
            hscore,
            "Bao et al. 2019, H-score (ICIP); shrinkage: Ibrahim, Ponomareva, Mazumder 2022",
        ),
        Scorer(
            "task2vec",
            "task2vec",
            (("embedding_a", "task2vec_a"), ("embedding_b", "task2vec_b")),
            False,
            task2vec_distance,
            "Achille et al. 2019, Task2Vec (ICCV); distance as in awslabs/aws-cv-task2vec",
        ),
        Scorer(
            "transrate",
            "features",
            (("features", "features"), ("target_labels", "labels")),
            True,
            transrate,
            "Huang, Zhang, Chen, Lu 2022, Frustratingly easy transferability estimation (ICML)",
        ),
        Scorer(
            "gbc",
            "features",
            (("features", "features"), ("target_labels", "labels")),
            True,
            gbc,
            "Pandy, Agostinelli, Uijlings, Ferrari, Mensink 2022, Bhattacharyya class separability (CVPR)",
        ),
        Scorer(
            "otdd",
            "probe",
            (
                ("features_a", "probe_features_a"),
                ("labels_a", "probe_labels_a"),
                ("features_b", "probe_features_b"),
                ("labels_b", "probe_labels_b"),
            ),
            False,
            otdd,
            "Alvarez-Melis, Fusi 2020, Geometric dataset distances via optimal transport (NeurIPS); POT's exact OT",
        ),
        Scorer("source-accuracy", "meta", (("accuracy", "source_accuracy"),), True, source_accuracy, "baseline"),
        Scorer(
            "same-dataset",
            "meta",
            (("source_dataset", "source_dataset"), ("target_dataset", "target_dataset")),
            True,
            same_dataset,
            "baseline",
        ),
        Scorer(
            "random",
            "meta",
            (("rng_seed", "seed"), ("source", "source"), ("target", "target")),
            True,
            random_score,
            "baseline (chance)",
        ),
    )
}


INPUT_KEYS: tuple[str, ...] = tuple(sorted({key for s in SCORERS.values() for key in s.keys}))


def score(name: str, inputs: dict) -> float:
    """The registered scorer ``name`` on one (source, target) pair's ``inputs``; higher = predicted better."""
    if name not in SCORERS:
        raise ValueError(f"unknown scorer {name!r}; known: {', '.join(SCORERS)}")
    if not isinstance(inputs, dict):
        raise ValueError(f"scorer {name}: inputs must be a dict, got {type(inputs).__name__}")
    return SCORERS[name](inputs)
