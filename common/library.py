"""The suite as a library: the Fisher of your model on your loader, and the distance between two of
your models on a target loader, without registering a task or a dataset.

    from common.library import fisher_diagonal, task_distance
    fisher = fisher_diagonal(model, loader)           # {parameter name: diagonal Fisher}
    d = task_distance(model_a, model_b, target_loader)  # FTD d(a -> b), in [0, 1]

``loader`` is any iterable of ``(inputs, labels, ...)`` batches (a ``torch.utils.data.DataLoader``),
already normalised as the model expects. The models are classifiers returning logits; they are put
in eval mode for the measurement (BatchNorm uses its running statistics) and restored afterwards.
The Fisher is the papers' diagonal empirical Fisher (log-det paper, Eq. 6): the mean over samples
of the squared per-sample gradient of log p(y | x); ``task_distance`` is the FTD paper's Eq. 3:
both Fishers on the target's data, each normalised to unit trace, d = (1/√2)·‖√F_a − √F_b‖₂.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from common.base.errors import UserError
from common.fisher.distance import DEFAULT_SIGMA2
from common.fisher.distance import task_distance as distance_of_fishers
from common.fisher.estimators import _SquaredGradHooks, fisher_diag, fisher_diag_reference


def _batches(loader, device):
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise UserError("the loader must yield (inputs, labels, ...) batches")
        x, y = batch[0], batch[1]
        yield x.to(device), torch.as_tensor(y).to(device)


def _has_per_sample_rule(model: nn.Module) -> bool:
    return all(
        isinstance(m, _SquaredGradHooks.SUPPORTED)
        for m in model.modules()
        if any(True for _ in m.parameters(recurse=False))
    )


def fisher_diagonal(
    model: nn.Module, loader, *, estimator: str = "empirical", num_classes: int | None = None, device=None
) -> dict[str, torch.Tensor]:
    """{parameter name: diagonal Fisher} of ``model`` on ``loader``'s data.

    ``estimator``: "empirical" (the true labels; the papers'), "mc" (labels drawn from the model),
    or the labelled legacy options of ``common/fisher/estimators.py``. ``num_classes``: the target's label
    count, when the model's head is smaller (its logits are zero-padded, the papers' rule).
    Linear, Conv2d and BatchNorm layers use the fast per-sample rule (about one backward pass per
    batch); a model with other parameterised layers falls back to a per-sample autograd loop.
    """
    device = device or next(model.parameters()).device
    batches = _batches(loader, device)
    if estimator in ("empirical", "mc") and not _has_per_sample_rule(model):
        return fisher_diag_reference(model, batches, estimator=estimator, num_classes=num_classes)
    return fisher_diag(model, batches, estimator=estimator, num_classes=num_classes)


def task_distance(
    model_a: nn.Module,
    model_b: nn.Module,
    loader,
    *,
    distance: str = "frechet",
    sigma2: float = DEFAULT_SIGMA2,
    estimator: str = "empirical",
    num_classes: int | None = None,
) -> float:
    """d(a → b): the distance from the task of ``model_a`` to that of ``model_b``, both measured on
    ``loader`` (the target b's data). "frechet" is the FTD; "logdet" the log-det paper's Eq. 1–2
    (``sigma2`` its regulariser). Asymmetric: swap the models *and* the loader for d(b → a)."""
    fisher_a = fisher_diagonal(model_a, loader, estimator=estimator, num_classes=num_classes)
    fisher_b = fisher_diagonal(model_b, loader, estimator=estimator, num_classes=num_classes)
    return distance_of_fishers(fisher_a, fisher_b, distance, sigma2)
