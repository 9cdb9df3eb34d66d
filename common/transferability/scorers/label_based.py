r"""Label-based scorers: the source network's softmax outputs theta_i = p_src(z | x_i) over its C_s classes
(``probs``), against the target labels y_i in [0, C_t).

leep (Nguyen et al. 2020, "LEEP: A New Measure to Evaluate Transferability of Learned Representations")
    empirical joint   P(y, z) = 1/n \sum_i theta_{i,z} 1[y_i = y],   P(z) = \sum_y P(y, z),   P(y|z) = P(y, z) / P(z)
    LEEP = 1/n \sum_i \log \sum_z P(y_i | z) theta_{i,z}                       (<= 0; 0 = perfect)
    A source class z that no image puts mass on (P(z) = 0) is multiplied by theta_{i,z} = 0 everywhere: it is skipped.

nce (Tran et al. 2019, "Transferability and Hardness of Supervised Classification Tasks")
    hard source labels z_i = argmax_z theta_{i,z} (ties: the lowest index, numpy's argmax);
    empirical joint P(y, z) = 1/n #{i : y_i = y, z_i = z};   NCE = -H(Y|Z) = \sum_{y,z} P(y, z) \log P(y|z)   (<= 0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from common.transferability.scorers.validation import _finite, _labels, _probs


def leep(source_probs: Any, target_labels: Any) -> float:
    """LEEP (Nguyen et al. 2020): 1/n sum_i log sum_z P(y_i | z) theta_{i,z}; <= 0, higher = better."""
    theta = _probs(source_probs)
    n = theta.shape[0]
    y = _labels(target_labels, n)
    ct = int(y.max()) + 1
    onehot = np.zeros((n, ct))
    onehot[np.arange(n), y] = 1.0
    joint = onehot.T @ theta / n  # (Ct, Cs): P(y, z)
    pz = joint.sum(axis=0)
    cond = np.divide(joint, pz, out=np.zeros_like(joint), where=pz > 0)  # P(y | z); unused z -> 0
    eep = np.sum(theta * cond[y], axis=1)  # sum_z P(y_i | z) theta_{i,z}
    return _finite(np.mean(np.log(eep)), "leep")


def nce(source_probs: Any, target_labels: Any) -> float:
    """NCE (Tran et al. 2019): -H(Y | Z) with Z the argmax source label; <= 0, higher = better."""
    theta = _probs(source_probs)
    n = theta.shape[0]
    y = _labels(target_labels, n)
    z = np.argmax(theta, axis=1)
    joint = np.zeros((int(y.max()) + 1, theta.shape[1]))
    np.add.at(joint, (y, z), 1.0 / n)
    pz = joint.sum(axis=0)
    nz = joint > 0
    cond = joint[nz] / np.broadcast_to(pz, joint.shape)[nz]
    return _finite(np.sum(joint[nz] * np.log(cond)), "nce")
