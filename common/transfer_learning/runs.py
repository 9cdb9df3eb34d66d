"""Does a small distance mean a good transfer? (FTD paper: "applications in transfer learning").

For an ordered pair (source a, target b) and a seed: the ε-network N_a of step 1, its head replaced
by a fresh one for b's classes, is fine-tuned on a small fixed budget of b's training images
(``TransferConfig``: e.g. 1,000 images, 1 epoch; every layer trained), and tested on b's test split.
The same budget from scratch (the same architecture, randomly initialised with the same seed) is the
baseline: **gain(a→b) = accuracy(fine-tuned N_a) − accuracy(scratch)**. The question is whether
−d(a→b) ranks the sources of a target as the gain does (``common/transfer_learning/table.py``).

A cheap alternative score from the same networks, so that the distance is compared and not only
reported: **LEEP** (Nguyen et al., ICML 2020), from N_a's softmax θ(z|x) over its own labels z on b's
budget images with labels y: P(y, z) = mean_i θ(z|x_i)·[y_i = y], P(y|z) = P(y, z) / P(z), and
LEEP = mean_i log Σ_z P(y_i|z) θ(z|x_i) (≤ 0; higher: a better expected transfer).

Every run is one keyed JSON (``common/store/cache.py``): the key names the source network (its run id),
the target task, the budget and training settings, the data identity and this code.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from common.base.errors import UserError
from common.data.decode import data_identity
from common.data.splits import Normalizer, Split, iterate_batches, task_splits
from common.networks.init import head_module
from common.networks.models import build_network
from common.presets import TrainConfig, TransferConfig
from common.store import paths
from common.store.cache import cached, code_version
from common.store.provenance import device_name, provenance
from common.tasks import Task
from common.training.accel import Accel, on_device
from common.training.checkpoints import network_id
from common.training.train import fit, prepare


def transplant(source_state: dict, target_net: nn.Module) -> nn.Module:
    """``target_net`` (fresh, with the target's head) with every parameter and buffer of the source
    network except the head's: the new head keeps its random initialisation."""
    head = head_module(target_net)[0] + "."
    own = target_net.state_dict()
    body = {k: v for k, v in source_state.items() if not k.startswith(head)}
    wrong = [k for k, v in body.items() if k not in own or own[k].shape != v.shape]
    if wrong:
        raise UserError(f"the source network does not fit the target's architecture ({wrong[0]})")
    target_net.load_state_dict({**own, **body})
    return target_net


@torch.no_grad()
def leep(
    net: nn.Module, split: Split, normalize: Normalizer, num_target_classes: int, batch_size: int, device
) -> float:
    """LEEP of the source network ``net`` (eval mode) for the labels of ``split`` (see the module doc)."""
    net.eval()
    probs, labels = [], []
    for x, y in iterate_batches(split, batch_size, normalize, device=device):
        probs.append(net(x.contiguous(memory_format=torch.channels_last)).double().softmax(1).cpu())
        labels.append(y.cpu())
    theta, y = torch.cat(probs), torch.cat(labels)  # N x Z, N
    onehot = nn.functional.one_hot(y, num_target_classes).double()  # N x Y
    joint = onehot.T @ theta / len(y)  # Y x Z: P(y, z)
    conditional = joint / joint.sum(0, keepdim=True).clamp_min(1e-300)  # P(y | z)
    expected = (theta @ conditional.T).gather(1, y[:, None]).squeeze(1)  # Σ_z P(y_i|z) θ(z|x_i)
    return float(expected.clamp_min(1e-300).log().mean())


def budget_splits(target: Task, tcfg: TransferConfig, train_cfg: TrainConfig, data_root, results_dir) -> dict:
    """The target's budget: ``tcfg.images`` seeded training images (the same for every source and for
    scratch), its validation and test splits under the training preset's caps."""
    return task_splits(
        target,
        data_root,
        paths.data_cache_dir(results_dir),
        val_fraction=train_cfg.val_fraction,
        split_seed=train_cfg.split_seed,
        max_train=tcfg.images,
        max_eval=train_cfg.max_eval,
    )


def budget_config(tcfg: TransferConfig, train_cfg: TrainConfig) -> TrainConfig:
    """The training of a transfer run: the preset's optimiser and augmentation, the budget's epochs,
    batch size and learning rate."""
    return TrainConfig(
        arch=train_cfg.arch,
        epochs=tcfg.epochs,
        batch_size=tcfg.batch_size,
        lr=tcfg.lr,
        lr_schedule="constant",
        augment=train_cfg.augment,
        max_train=tcfg.images,
        max_eval=train_cfg.max_eval,
        seeds=train_cfg.seeds,
        val_fraction=train_cfg.val_fraction,
        split_seed=train_cfg.split_seed,
        eval_batch_size=train_cfg.eval_batch_size,
    )


def budget_variant(tcfg: TransferConfig, preset_tcfg: TransferConfig) -> str:
    """The file-name suffix of runs and tables with a non-preset budget ('' for the preset's), so that a
    study at another budget never replaces the preset's files."""
    parts = [
        f"{tag}{getattr(tcfg, field)}"
        for tag, field in (("n", "images"), ("e", "epochs"), ("b", "batch_size"), ("lr", "lr"))
        if getattr(tcfg, field) != getattr(preset_tcfg, field)
    ]
    return "".join(f"_{p}" for p in parts)


def transfer_key(
    source: Task | None,
    checkpoint: dict | None,
    target: Task,
    seed: int,
    tcfg: TransferConfig,
    train_cfg: TrainConfig,
    *,
    data_root,
    results_dir,
) -> dict:
    cfg = budget_config(tcfg, train_cfg).to_dict()
    cfg.pop("seeds")
    return {
        "source": source.to_dict() if source else None,
        "network": network_id(checkpoint) if checkpoint else None,
        "target": target.to_dict(),
        "seed": seed,
        "arch": train_cfg.arch,
        "budget": cfg,
        "data": data_identity(target.dataset, data_root, paths.data_cache_dir(results_dir)),
        "code": code_version("transfer"),
    }


def _check(value: dict) -> None:
    bad = [k for k, v in value.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise UserError(f"a transfer run gave {bad[0]} = {value[bad[0]]}; check the budget (empty split?)")


def transfer_run(
    source: Task | None,
    checkpoint: dict | None,
    target: Task,
    seed: int,
    tcfg: TransferConfig,
    train_cfg: TrainConfig,
    *,
    preset: str,
    data_root,
    results_dir,
    device,
    force: bool = False,
    variant: str = "",
    accel: Accel = Accel(),
) -> tuple[dict, bool]:
    """(record, run now) of fine-tuning the (source, seed) network on ``target`` at the budget, with its
    LEEP; ``source`` None: the same budget from scratch. ``variant``: the budget's file-name suffix."""
    key = transfer_key(source, checkpoint, target, seed, tcfg, train_cfg, data_root=data_root, results_dir=results_dir)
    device = torch.device(device)

    def run() -> dict:
        splits = budget_splits(target, tcfg, train_cfg, data_root, results_dir)
        net = build_network(train_cfg.arch, target, seed=seed)  # the new head (or the whole scratch network)
        score = float("nan")
        if source is not None:
            src = prepare(build_network(train_cfg.arch, source, seed=seed), device)
            src.load_state_dict(checkpoint["value"]["state_dict"])
            score = leep(
                src,
                splits["train"],
                Normalizer(target.dataset, device),
                target.num_classes,
                train_cfg.eval_batch_size,
                device,
            )
            net = transplant(checkpoint["value"]["state_dict"], net)
        net = prepare(net, device)
        with accel.autocast():
            metrics = fit(
                accel.wrap(net),
                on_device(splits, device),
                budget_config(tcfg, train_cfg),
                target.dataset,
                seed,
                device,
                desc=f"{source.name if source else 'scratch'} -> {target.name} seed {seed}",
            )
        return {
            "source": source.name if source else "scratch",
            "target": target.name,
            "seed": seed,
            **{k: round(v, 6) for k, v in metrics.items()},
            **({"leep": round(score, 6)} if source is not None else {}),
            "n_train": len(splits["train"]),
            "n_test": len(splits["test"]),
            "device": device_name(device),
            "provenance": provenance(device),
            **accel.record(),
        }

    name = source.name if source else "scratch"
    record, hit = cached(
        paths.transfer_record_path(results_dir, preset, train_cfg.arch, name, target.name, seed, variant),
        key,
        run,
        fmt="json",
        force=force,
        what="transfer run",
        validate=_check,
    )
    return record, not hit
