"""The body of ``consistency_study.py``: parts (a) seed to seed, (b) Fisher samples, (c) architectures and
(d) estimators and distances (the computations are in ``common/studies/consistency.py``; the tables are
rendered by ``common/report/study_tables.py``, as in REPORT.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import pandas as pd  # noqa: E402

from common.base.device import select_device  # noqa: E402
from common.base.errors import UserError, check_results_dir, check_seeds  # noqa: E402
from common.base.names import NETWORK_NAMES  # noqa: E402
from common.data.tree_checks import check_data  # noqa: E402
from common.fisher.matrices import distance_table  # noqa: E402
from common.presets import fisher_config, train_configs  # noqa: E402
from common.report.markdown import table as markdown_table  # noqa: E402
from common.report.results import mean_std, read_long  # noqa: E402
from common.report.study_tables import samples_table, seeds_table  # noqa: E402
from common.store import paths  # noqa: E402
from common.store.io import atomic_write, atomic_write_csv, atomic_write_text  # noqa: E402
from common.store.provenance import git_commit  # noqa: E402
from common.studies.consistency import (  # noqa: E402
    architecture_agreement,
    measure_agreement,
    samples_sweep,
    seed_distances,
    seed_summary,
)
from common.tasks import TASK_SETS, resolve_tasks  # noqa: E402


def consistency_study(args) -> list[Path]:
    """Runs the parts ``args.parts`` of the study; the files written."""
    names = args.tasks or ["mnist", "cifar10"]
    tasks = resolve_tasks(names)
    seeds = check_seeds(args.seeds)
    cfgs = train_configs(args.preset, sorted({t.dataset for t in tasks}), args.arch, seeds)
    cfg = next(iter(cfgs.values()))
    fcfg = fisher_config(args.preset, None, args.batch_size, arch=cfg.arch)
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    parts = set(args.parts)
    if parts & {"a", "b"}:
        for ds in cfgs:
            check_data(ds, args.data_root)
    outputs = []
    if "a" in parts and len(cfg.seeds) < 2:
        print(
            f"(a) skipped: the seed-to-seed distance needs at least 2 seeds, the preset has {list(cfg.seeds)} "
            "(pass --seeds 0 1)"
        )
    elif "a" in parts:
        pairs = seed_distances(
            tasks,
            cfg.seeds,
            arch=cfg.arch,
            preset=args.preset,
            cfgs=cfgs,
            fcfg=fcfg,
            data_root=args.data_root,
            results_dir=args.results_dir,
            estimator=args.estimator,
            device=device,
        )
        if not pairs.distance.between(0, 1).all():
            raise UserError("a seed-to-seed distance is outside [0, 1] or NaN; nothing was written")
        frames = []
        for label in [n for n in names if n in TASK_SETS] or names:
            long = read_long(args.results_dir, args.preset, cfg.arch, label, "frechet")
            members = [t.name for t in resolve_tasks([label])]
            between = mean_std(long)[0] if long is not None else None
            part = pairs[pairs.task.isin(members)]
            if between is None:
                print(
                    f"no {label} FTD matrix: run fisher_distance.py --task-set {label} first for the between-task column"
                )
            frames.append(seed_summary(part, between) if between is not None else seed_summary(part, _empty(members)))
        summary = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

        out = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "consistency_seeds")
        atomic_write_csv(pairs.assign(git_commit=git_commit()), out["long"])
        atomic_write_csv(summary.assign(git_commit=git_commit()), out["csv"])
        fig, ax = plt.subplots(figsize=(1 + 0.8 * len(summary), 3.5))
        x = range(len(summary))
        ax.bar(
            x,
            summary.seed_distance_mean,
            yerr=summary.seed_distance_std,
            capsize=3,
            color="tab:blue",
            label="between two seeds of the task (mean ± std over seed pairs)",
        )
        ax.scatter(
            x,
            summary.smallest_between_tasks,
            color="tab:red",
            marker="_",
            s=400,
            zorder=3,
            label="smallest distance to another task of its set",
        )
        ax.set_xticks(list(x), summary.task, rotation=45, ha="right")
        ax.set_ylabel(f"FTD (frechet, {args.estimator} Fisher)")
        ax.set_ylim(0, 1)  # the FTD lies in [0, 1]; leaves room for the legend
        ax.set_title(f"Seed-to-seed vs between-task FTD ({cfg.arch}, preset {args.preset}, seeds {list(cfg.seeds)})")
        ax.legend(fontsize=7, loc="upper left")
        png = _save(fig, out["csv"].with_suffix(".png"))
        lines = [
            f"# Consistency study (a): seed-to-seed distance, preset `{args.preset}`, `{cfg.arch}`",
            "",
            f"d(N_a^i, N_a^j) on X_a (frechet, {args.estimator} Fisher, {fcfg.samples or 'all'} test images), seeds "
            f"{list(cfg.seeds)}; ratio = seed-to-seed mean / smallest distance to another task of the set.",
            "",
            *seeds_table(summary),
        ]
        lines += ["", f"Figure: `{png.name}`. Commit {git_commit()}.", ""]

        atomic_write_text("\n".join(lines), out["md"], seal=True)
        print(summary.round(3).to_string(index=False))
        outputs += [out["csv"], out["md"], png, out["long"]]
    # (b) the matrix against the number of Fisher samples, per task set
    counts = sorted({n for n in args.samples if n > 0} | {fcfg.samples or 10**9})
    sweeps = []
    for label in [n for n in names if n in TASK_SETS] if "b" in parts else []:
        members = resolve_tasks([label])
        longs = {}
        for n in counts:
            n_cfg = replace(fcfg, samples=None if n == 10**9 else n)
            longs[n], _ = distance_table(
                members,
                cfg.seeds,
                arch=cfg.arch,
                preset=args.preset,
                cfgs=cfgs,
                fcfg=n_cfg,
                data_root=args.data_root,
                results_dir=args.results_dir,
                estimator=args.estimator,
                measures=[("frechet", None)],
                device=device,
            )
        sweeps.append(samples_sweep(longs).assign(task_set=label))
    if sweeps:
        sweep = pd.concat(sweeps, ignore_index=True)
        sweep_out = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "consistency_samples")
        atomic_write_csv(sweep.assign(git_commit=git_commit()), sweep_out["csv"])
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        for label, g in sweep.groupby("task_set", sort=False):
            axes[0].plot(g.samples, g.spearman_vs_most, marker="o", label=label)
            axes[1].plot(g.samples, g.same_closest / g.targets, marker="o", label=label)
        for ax, ylabel in zip(axes, ("Spearman with the most-sample matrix", "targets keeping their closest source")):
            ax.set_xscale("log")
            ax.set_xlabel("Fisher samples per target (test images)")
            ax.set_ylabel(ylabel, fontsize=8)
            ax.set_ylim(-0.05, 1.05)
            ax.legend(fontsize=7, title="task set", title_fontsize=7)
        fig.suptitle(
            f"FTD vs number of Fisher samples ({cfg.arch}, preset {args.preset}, seeds {list(cfg.seeds)})", fontsize=9
        )
        sweep_png = _save(fig, sweep_out["csv"].with_suffix(".png"))
        md = [
            f"# Consistency study (b): FTD vs number of Fisher samples, preset `{args.preset}`, `{cfg.arch}`",
            "",
            f"Compared with the matrix of the most samples ({max(counts) if max(counts) < 10**9 else 'all'}); "
            f"seeds {list(cfg.seeds)}; figure `{sweep_png.name}`.",
            "",
            *samples_table(sweep),
        ]
        atomic_write_text("\n".join(md) + "\n", sweep_out["md"], seal=True)
        print(sweep.round(3).to_string(index=False))
        outputs += [sweep_out["csv"], sweep_out["md"], sweep_png]

    # (c) the ordering across architectures: result files only
    if "c" in parts:
        outputs += _architectures(args, cfg.arch, [n for n in names if n in TASK_SETS])

    study = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "logdet_ldnas8")["long"]
    measures_out = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "consistency_measures")
    try:
        study_long = pd.read_csv(study) if "d" in parts else None
    except (OSError, ValueError):
        study_long = None
        print(f"(d) skipped: no log-det study table {study}; run logdet_study.py first")
    if study_long is not None:
        agreement = measure_agreement(study_long)
        atomic_write_csv(agreement.assign(git_commit=git_commit()), measures_out["csv"])
        md = [
            f"# Consistency study (d): estimators and distances vs the empirical FTD (ldnas8, `{cfg.arch}`)",
            "",
            "Spearman of each variant's mean matrix with the empirical-Fisher `frechet` matrix over the 56 "
            "off-diagonal entries, and the targets whose closest source is the same.",
            "",
            *markdown_table(
                ["estimator", "distance", "σ²", "Spearman vs empirical frechet", "same closest source"],
                (
                    [
                        r.estimator,
                        r.measure,
                        "" if r.sigma2 != r.sigma2 or r.sigma2 is None else f"{r.sigma2:g}",
                        f"{r.spearman_vs_reference:+.2f}",
                        f"{r.same_closest} of {r.targets}",
                    ]
                    for r in agreement.itertuples()
                ),
            ),
        ]
        atomic_write_text("\n".join(md) + "\n", measures_out["md"], seal=True)
        outputs += [measures_out["csv"], measures_out["md"]]
    return outputs


def _architectures(args, arch, labels) -> list:
    """(c): every task set's `arch` matrix against the same set's matrix of each other network."""

    others = args.other_archs or [a for a in NETWORK_NAMES if a != arch]
    frames, pairs = [], []
    for label in labels:
        ref = read_long(args.results_dir, args.preset, arch, label, "frechet")
        for other in others:
            long = read_long(args.results_dir, args.preset, other, label, "frechet") if ref is not None else None
            if long is None:
                continue
            m_ref, m_other = mean_std(ref)[0], mean_std(long)[0]
            frames.append(
                architecture_agreement(m_ref, m_other).assign(
                    task_set=label,
                    reference=arch,
                    other=other,
                    seeds_reference=ref.seed.nunique(),
                    seeds_other=long.seed.nunique(),
                )
            )
            pairs.append((label, other, m_ref, m_other))
    if not frames:
        print(
            f"(c) skipped: no task set has a matrix of another network beside {arch}; make one, e.g. "
            f"`.venv/bin/python train_task_mnist.py --preset {args.preset} --arch resnet18` and "
            f"`.venv/bin/python fisher_distance.py --preset {args.preset} --task-set mnist --arch resnet18` (a GPU helps)"
        )
        return []
    table = pd.concat(frames, ignore_index=True)
    out = paths.study_outputs(args.results_dir, args.preset, arch, "consistency_architectures")
    atomic_write_csv(table.assign(git_commit=git_commit()), out["csv"])
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.6 * len(pairs), 3.6), squeeze=False)
    for ax, (label, other, m_ref, m_other) in zip(axes[0], pairs):
        part = table[(table.task_set == label) & (table.other == other)]
        for a in m_ref.index:
            for b in m_ref.columns:
                if a != b:
                    ax.scatter(m_ref.loc[a, b], m_other.loc[a, b], color="tab:blue", s=14)
                    ax.annotate(f"{a}→{b}", (m_ref.loc[a, b], m_other.loc[a, b]), fontsize=5)
        ax.set_xlabel(f"FTD with {arch} ε-networks")
        ax.set_ylabel(f"FTD with {other} ε-networks")
        ax.set_title(
            f"{label}: Spearman {part.spearman_all.iloc[0]:+.2f}, closest source agrees "
            f"{int(part.same_closest.sum())}/{len(part)}",
            fontsize=8,
        )
    fig.suptitle(
        f"Consistency (c): the same tasks' FTD with two architectures (preset {args.preset}; "
        "mean over seeds; one point per source→target)",
        fontsize=8,
    )
    png = _save(fig, out["csv"].with_suffix(".png"))
    md = [
        f"# Consistency study (c): the closest-task ranking across architectures, preset `{args.preset}`",
        "",
        f"Mean FTD matrices (frechet, empirical Fisher) of each task set with `{arch}` ε-networks against those "
        "with another network; per target, Kendall's τ between the two orderings of its sources; Spearman over "
        f"all off-diagonal entries; figure `{png.name}`.",
        "",
        *markdown_table(
            ["task set", "networks", "target", "Kendall τ", "closest source", "same"],
            (
                [
                    r.task_set,
                    f"{r.reference} vs {r.other}",
                    r.target,
                    f"{r.kendall_tau:+.2f}",
                    f"{r.closest_reference} / {r.closest_other}",
                    "yes" if r.same_closest else "**no**",
                ]
                for r in table.itertuples()
            ),
        ),
    ]
    atomic_write_text("\n".join(md) + "\n", out["md"], seal=True)
    print(table.round(3).to_string(index=False))
    return [out["csv"], out["md"], png]


def _save(fig, path):
    """Atomically, like every file of the suite (common/store/io.py)."""
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return path


def _empty(members):
    return pd.DataFrame(float("nan"), index=members, columns=members)
