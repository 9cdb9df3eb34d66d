"""The label controls of a Fisher: which labels of the target's images its log-likelihood reads.

Two controls ask different questions (issue 33):

* **permuted** (``fisher.store.permuted_labels``): every class index shifted by one, y -> (y + 1) mod C.
  Each image keeps its class, only the output unit that names it moves. It tests the *head confound*: does a
  verdict follow which output unit a class lands on? It cannot show that a verdict needs the labels at all.
* **shuffled** (here): the target's labels permuted *across its images*, one seeded random permutation per
  target (the same for every source network and seed, so that F_a and F_b of an entry read the same pairs).
  Class frequencies are kept; the link between an image and its label is cut. A verdict that survives
  shuffling comes from the images and the networks alone, not from the task's labelling. This control can fail.

This module is keyed code of its own (concept "label-control", ``store/code_identity.py``): the shuffle
enters a Fisher's key through ``keyed_labels``, and a shuffled matrix's key through ``matrix_files.matrix_key``,
so the Fishers and matrices of every other label choice keep their keys.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from common.data.decode import Split
from common.fisher.store import fisher_data
from common.presets import FisherConfig, TrainConfig
from common.store.cache import code_version
from common.tasks import Task

SHUFFLED = "shuffled"
# added to the target's split seed, so that the shuffle is not the permutation that drew the Fisher's subset
SHUFFLE_SEED_OFFSET = 7919


def shuffled_labels(y: torch.Tensor, seed: int) -> torch.Tensor:
    """``y`` permuted across its samples by a seeded random permutation: the same multiset of labels, each
    now on another sample's image (for C balanced classes about 1/C of the samples keep theirs by chance)."""
    g = torch.Generator().manual_seed(seed + SHUFFLE_SEED_OFFSET)
    return y[torch.randperm(len(y), generator=g)]


def control_fisher_data(
    task: Task,
    data_root,
    results_dir,
    cfg: TrainConfig,
    samples: int | None,
    split: str = "test",
    labels: str = "true",
) -> Split:
    """``fisher.store.fisher_data`` with every label choice of ``presets.FISHER_LABELS``: "shuffled" takes the
    true labels of the same images and shuffles them across the images (seeded by the target's split seed)."""
    if labels != SHUFFLED:
        return fisher_data(task, data_root, results_dir, cfg, samples, split, labels)
    data = fisher_data(task, data_root, results_dir, cfg, samples, split, "true")
    return Split(data.x, shuffled_labels(data.y, cfg.split_seed))


def keyed_labels(fcfg: FisherConfig) -> FisherConfig:
    """The Fisher config that ``fisher.store.cached_fisher`` keys a Fisher by: for shuffled labels the label
    field names this module's code too ("shuffled@<identity>"), so a changed shuffle is never read from the
    cache; every other label choice is returned unchanged (its Fishers keep their keys)."""
    if fcfg.labels != SHUFFLED:
        return fcfg
    return replace(fcfg, labels=f"{SHUFFLED}@{code_version('label-control')}")


def matrix_key_part(fcfg: FisherConfig) -> dict:
    """What a distance matrix's key adds for its label control: the shuffle's code for shuffled labels, nothing
    otherwise (so every matrix of another label choice keeps its key)."""
    return {"label_control": code_version("label-control")} if fcfg.labels == SHUFFLED else {}
