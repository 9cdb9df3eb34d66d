r"""Distance scorers (smaller = closer = better: the registry negates them).

task2vec (Achille et al. 2019, ICCV, "Task2Vec: Task Embedding for Meta-Learning")
    e_a, e_b: diagonal Fishers of ONE fixed probe network (a head fitted per task), elementwise >= 0. As in
    awslabs/aws-cv-task2vec's "cosine" distance (task_similarity.py, get_scaled_hessian):
      h_a = e_a / (e_a + e_b),  h_b = e_b / (e_a + e_b)   (elementwise; 0 where e_a + e_b = 0)
      d = 1 - <h_a, h_b> / (||h_a|| ||h_b||)            in [0, 1] for non-negative embeddings
    The reference adds 1e-8 to the denominator; here entries with e_a + e_b = 0 are set to 0 instead, which makes d
    exactly invariant to a common scale (d(c e_a, c e_b) = d(e_a, e_b)). Note d(e, c e) = 0 for every c > 0: both
    normalised vectors are constant, so the distance ignores a global scale between the two tasks.

ftd / ftd-body / logdet: precomputed Fisher Task Distances of the pair (this project, Le et al.): the full-network
    FTD, the body-only FTD, and the log-det distance, passed through (``_identity``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from common.transferability.scorers.validation import _finite, _numpy, _scalar


def task2vec_distance(embedding_a: Any, embedding_b: Any) -> float:
    """Task2Vec's cosine distance of the sum-normalised embeddings e_a/(e_a+e_b), e_b/(e_a+e_b); in [0, 1]."""
    ea = _numpy(embedding_a).astype(np.float64).reshape(-1)
    eb = _numpy(embedding_b).astype(np.float64).reshape(-1)
    if ea.shape != eb.shape:
        raise ValueError(f"task2vec: the embeddings differ in size ({ea.size} vs {eb.size})")
    if ea.size == 0:
        raise ValueError("task2vec: empty embeddings")
    for name, e in (("embedding_a", ea), ("embedding_b", eb)):
        if not np.all(np.isfinite(e)):
            raise ValueError(f"task2vec: {name} contains NaN or infinite values")
        if e.min() < 0:
            raise ValueError(f"task2vec: {name} has negative entries (a diagonal Fisher is >= 0)")
        if not np.any(e > 0):
            raise ValueError(f"task2vec: {name} is all zero, its direction is undefined")
    total = ea + eb
    ha = np.divide(ea, total, out=np.zeros_like(ea), where=total > 0)
    hb = np.divide(eb, total, out=np.zeros_like(eb), where=total > 0)
    cos = float(ha @ hb) / (np.linalg.norm(ha) * np.linalg.norm(hb))
    return _finite(min(max(1.0 - cos, 0.0), 1.0), "task2vec")  # clip the rounding of identical embeddings


def _identity(distance: Any) -> float:
    return _scalar(distance, "distance")
