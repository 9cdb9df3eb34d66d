"""FUSE and random search: the search algorithms of step 3 (splits in, genotype and α history out;
no files are read or written here).

FUSE (arXiv:2010.13962; log-det paper, Sec. 5). A stage takes C candidate networks c (cells from
``common/nas/space.py``) and mixes their logits,

    c̄(x) = Σ_c softmax(α)_c · c(x),

then alternates, ``rounds`` times:
  (i)  weight steps on the *train* split with α frozen: min_w CE(c̄(x), y)            (Eq. 8);
  (ii) α steps on the *validation* split with the weights frozen: min_α CE(c̄(x), y)  (Eq. 9).
The stage keeps c* = argmax α (Eq. 10); the next stage mixes c* with C - 1 new samples of the space,
until the budget (``stages``) is spent. The search functions receive the train and validation
splits only: the test split never reaches them (the authors' code trained α on the test data).

Choices the papers leave open, made here:
* every candidate, the incumbent included, starts each stage from fresh weights (the authors' code
  re-initialises the incumbent too), so α compares architectures trained for the same number of steps;
* the weights of a round are frozen during its α steps, so their validation logits are computed once
  per round and the α epochs run on those logits;
* with tens of weight steps per stage, BatchNorm running averages have not converged, so the
  validation logits use batch statistics (train-mode BN, as in the authors' code and DARTS); the
  running buffers are restored afterwards, so an α step changes nothing but α;
* the search trains without augmentation (a few epochs do not overfit); the retraining uses the
  training preset's settings (``common/presets.py``), augmentation included.

Random search, the baseline at equal budget: every stage trains C new samples of the full space
independently, for the same epochs as a FUSE stage, and keeps the best validation accuracy so far.
The genotype sampler is seeded by (seed, task, space): searches of different tasks or spaces draw
independent candidates, while full-space FUSE and random search of one target and seed draw the
same ones (a paired comparison at equal budget; the NAS table says so).

Warm start (``incumbent``): the first stage mixes a given genotype (the closest task's, for the
task-aware-warm space) with new samples, as every later stage mixes its incumbent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from common.base.errors import UserError
from common.data.splits import Normalizer, Split, iterate_batches, num_batches
from common.nas.space import Genotype, SearchSpace, build_nas_network
from common.presets import NASConfig
from common.store.cache import fingerprint
from common.tasks import Task
from common.training.train import prepare


# --------------------------------------------------------------------------- search
@dataclass
class SearchResult:
    genotype: Genotype
    history: pd.DataFrame  # one row per candidate and evaluation: α, softmax(α), validation accuracy
    seconds: float


def _train_weights(
    nets: nn.ModuleList,
    train: Split,
    mix: torch.Tensor | None,
    opt,
    cfg: NASConfig,
    normalize: Normalizer,
    generator: torch.Generator,
    device,
    bar,
) -> None:
    """``cfg.weight_epochs`` epochs over ``train``. FUSE (Eq. 8): ``mix`` = softmax(α), frozen, and the
    loss of the mixed logits. Random search (``mix`` None): the sum of every candidate's own loss,
    i.e. independent training (the candidates share no parameters)."""
    nets.train()
    for _ in range(cfg.weight_epochs):
        for x, y in iterate_batches(train, cfg.batch_size, normalize, shuffle=True, generator=generator, device=device):
            x = x.contiguous(memory_format=torch.channels_last)
            logits = torch.stack([net(x) for net in nets])  # C x B x K
            if mix is None:
                loss = sum(F.cross_entropy(out, y) for out in logits)
            else:
                loss = F.cross_entropy(torch.einsum("c,cbk->bk", mix, logits), y)
            if not torch.isfinite(loss):
                raise UserError(f"search loss became {loss.item()}; lower the NAS preset's lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update()


@torch.no_grad()
def _val_logits(
    nets: nn.ModuleList, val: Split, cfg: NASConfig, normalize: Normalizer, device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every candidate's logits on the validation split (C x N x K) and its labels, weights frozen.
    BN uses batch statistics; its running buffers are restored (see the module docstring)."""
    saved = [b.clone() for b in nets.buffers()]
    nets.train()
    logits, labels = [], []
    for x, y in iterate_batches(val, cfg.batch_size, normalize, device=device):
        x = x.contiguous(memory_format=torch.channels_last)
        logits.append(torch.stack([net(x) for net in nets]).float())
        labels.append(y)
    for buffer, value in zip(nets.buffers(), saved):
        buffer.copy_(value)
    return torch.cat(logits, dim=1), torch.cat(labels)


def _alpha_steps(
    alpha: torch.Tensor, opt, logits: torch.Tensor, labels: torch.Tensor, cfg: NASConfig, generator: torch.Generator
) -> None:
    """Eq. 9: ``cfg.alpha_epochs`` epochs of Adam on α over mini-batches of the validation logits."""
    n = len(labels)
    for _ in range(cfg.alpha_epochs):
        order = torch.randperm(n, generator=generator).to(labels.device)
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            mixed = torch.einsum("c,cbk->bk", alpha.softmax(0), logits[:, idx])
            loss = F.cross_entropy(mixed, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def draw_seed(seed: int, task: Task, space: SearchSpace) -> int:
    """The candidates' generator seed: a function of (seed, task, space)."""
    return int(fingerprint([seed, task.name, space.to_dict()]), 16) % 2**62


def _search(
    task: Task,
    space: SearchSpace,
    train: Split,
    val: Split,
    cfg: NASConfig,
    seed: int,
    device,
    stages: int,
    fuse: bool,
    desc: str,
    incumbent: Genotype | None = None,
) -> SearchResult:
    if len(train) == 0 or len(val) == 0:
        raise UserError(
            f"{task.name}: the search needs train and validation images "
            f"(got {len(train)} and {len(val)}); check the data and the NAS preset's caps"
        )
    device = torch.device(device)
    normalize = Normalizer(task.dataset, device)
    if incumbent is not None and incumbent not in space:
        raise UserError(f"the warm-start genotype {incumbent} is not in the search space {space.to_dict()}")
    sampler = torch.Generator().manual_seed(draw_seed(seed, task, space))  # the candidates' genotypes
    batches = torch.Generator().manual_seed(10_000 + seed)  # the order of train and α mini-batches
    total = stages * cfg.rounds * cfg.weight_epochs * num_batches(train, cfg.batch_size)
    bar = tqdm(total=total, desc=desc, unit="batch", leave=False, mininterval=1.0)
    rows: list[dict] = []
    best, best_acc = incumbent, float("-inf")
    start = time.time()
    for stage in range(1, stages + 1):
        n = cfg.initial_candidates if stage == 1 else cfg.candidates
        keep = [best] if fuse and best is not None else []
        genotypes = keep + [space.sample(sampler) for _ in range(n - len(keep))]
        torch.manual_seed(seed * 1000 + stage)  # fresh weights for every candidate of the stage
        nets = prepare(nn.ModuleList(build_nas_network(g, task, cfg.width, cfg.depth) for g in genotypes), device)
        opt = torch.optim.Adam(nets.parameters(), lr=cfg.lr)
        alpha = torch.zeros(len(genotypes), device=device, requires_grad=True)  # uniform softmax
        alpha_opt = torch.optim.Adam([alpha], lr=cfg.alpha_lr)
        for rnd in range(1, cfg.rounds + 1):
            bar.set_postfix_str(f"stage {stage}/{stages}, round {rnd}/{cfg.rounds}")
            _train_weights(
                nets, train, alpha.detach().softmax(0) if fuse else None, opt, cfg, normalize, batches, device, bar
            )
            if not fuse and rnd < cfg.rounds:
                continue  # random search: validated once, after all its epochs
            logits, labels = _val_logits(nets, val, cfg, normalize, device)
            if fuse:
                _alpha_steps(alpha, alpha_opt, logits, labels, cfg, batches)
            acc = (logits.argmax(2) == labels).double().mean(1)
            loss = torch.stack([F.cross_entropy(out, labels) for out in logits])
            weight = alpha.detach().softmax(0)
            rows += [
                {
                    "stage": stage,
                    "round": rnd,
                    "candidate": c,
                    "genotype": g.to_str(),
                    "alpha": alpha[c].item() if fuse else float("nan"),
                    "weight": weight[c].item() if fuse else float("nan"),
                    "val_acc": acc[c].item(),
                    "val_loss": loss[c].item(),
                    "chosen": False,
                }
                for c, g in enumerate(genotypes)
            ]
        if fuse:
            k = int(alpha.detach().argmax())  # Eq. 10
            best = genotypes[k]
        else:
            k = int(acc.argmax())
            if acc[k].item() > best_acc:
                best, best_acc = genotypes[k], acc[k].item()
        if best == genotypes[k]:
            rows[len(rows) - len(genotypes) + k]["chosen"] = True
    bar.close()
    return SearchResult(best, pd.DataFrame(rows), time.time() - start)


def fuse_search(
    task: Task,
    space: SearchSpace,
    train: Split,
    val: Split,
    cfg: NASConfig,
    seed: int,
    device="cpu",
    stages: int | None = None,
    desc: str = "FUSE",
    incumbent: Genotype | None = None,
) -> SearchResult:
    """FUSE in ``space`` for ``stages`` stages (default: the preset's). Weights see ``train``
    only, α sees ``val`` only; there is no test split to pass. ``chosen`` in the history marks
    the argmax-α candidate each stage keeps; ``incumbent``: a warm start for the first stage."""
    return _search(task, space, train, val, cfg, seed, device, stages or cfg.stages, True, desc, incumbent)


def random_search(
    task: Task,
    space: SearchSpace,
    train: Split,
    val: Split,
    cfg: NASConfig,
    seed: int,
    device="cpu",
    stages: int | None = None,
    desc: str = "random",
) -> SearchResult:
    """Random search at FUSE's budget: per stage ``candidates`` new samples trained independently
    for ``rounds * weight_epochs`` epochs; the best validation accuracy over all stages wins."""
    return _search(task, space, train, val, cfg, seed, device, stages or cfg.stages, False, desc)
