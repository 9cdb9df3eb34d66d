"""Study: is the distance consistent? (a) between independently seeded networks of the same task,
(b) over the number of Fisher samples, (c) across ε-network architectures, and (d) across Fisher
estimators and distances.

    .venv/bin/python consistency_study.py --preset cpu --data-root ../shared/data

(a) For every task of --tasks (default: the mnist and cifar10 task sets) and every pair of seeds,
d(N_a^i, N_a^j) on X_a, from the Fishers of fisher_distance.py's runs (computed if missing), beside
the smallest distance between that task and another one of its set: a seed-to-seed distance well
below it means the FTD separates tasks rather than training runs. (d) From the log-det study's
long table (logdet_study.py): every estimator x distance x sigma^2 against the empirical FTD, Spearman
over the off-diagonal entries and the targets that keep their closest source. (c) reads only the
step-2 matrices: for each task set, the --arch matrix against those of every other network that has
one (e.g. fisher_distance.py --arch resnet18), Kendall's tau per target and the closest sources.
Needs the step-1 checkpoints and the step-2 matrices. Writes results/<preset>/studies/<arch>/
consistency_{seeds,samples,architectures,measures}.*
"""
from common.cli import common_parser, run
from common.names import NETWORK_NAMES


def main(argv=None):
    p = common_parser(__doc__, training=False, launchers=False)
    p.add_argument("--estimator", default="empirical", help="Fisher estimator of (a) and (b) (default: %(default)s)")
    p.add_argument("--samples", nargs="+", type=int, default=[100, 250, 500],
                   help="(b) Fisher sample counts compared with the preset's (default: %(default)s)")
    p.add_argument("--parts", nargs="+", choices=("a", "b", "c", "d"), default=["a", "b", "c", "d"],
                   help="which studies to run (default: all); c and d read only result files")
    p.add_argument("--other-archs", nargs="+", choices=NETWORK_NAMES,
                   help="(c) networks compared with --arch (default: every other one with a matrix of the set)")
    args = p.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common import paths
    from common.claims import mean_std, read_long
    from dataclasses import replace

    from common.consistency import measure_agreement, samples_sweep, seed_distances, seed_summary
    from common.ftd import distance_table
    from common.datasets import check_data
    from common.device import select_device
    from common.errors import UserError, check_results_dir, check_seeds
    from common.io import atomic_write_csv, atomic_write_text
    from common.presets import fisher_config, train_configs
    from common.provenance import git_commit
    from common.tasks import TASK_SETS, resolve_tasks

    names = args.tasks or ["mnist", "cifar10"]
    tasks = resolve_tasks(names)
    seeds = check_seeds(args.seeds)
    cfgs = train_configs(args.preset, sorted({t.dataset for t in tasks}), args.arch, seeds)
    cfg = next(iter(cfgs.values()))
    fcfg = fisher_config(args.preset, None, args.batch_size)
    device = select_device(args.device)
    check_results_dir(args.results_dir)
    parts = set(args.parts)
    if parts & {"a", "b"}:
        for ds in cfgs:
            check_data(ds, args.data_root)
    outputs = []
    if "a" not in parts:
        pass
    elif len(cfg.seeds) < 2:
        print(f"(a) skipped: the seed-to-seed distance needs at least 2 seeds, the preset has {list(cfg.seeds)} "
              "(pass --seeds 0 1)")
    else:
        pairs = seed_distances(tasks, cfg.seeds, arch=cfg.arch, preset=args.preset, cfgs=cfgs, fcfg=fcfg,
                               data_root=args.data_root, results_dir=args.results_dir, estimator=args.estimator,
                               device=device)
        if not pairs.distance.between(0, 1).all():
            raise UserError("a seed-to-seed distance is outside [0, 1] or NaN; nothing was written")
        frames = []
        for label in [n for n in names if n in TASK_SETS] or names:
            long = read_long(args.results_dir, args.preset, cfg.arch, label, "frechet")
            members = [t.name for t in resolve_tasks([label])]
            between = mean_std(long)[0] if long is not None else None
            part = pairs[pairs.task.isin(members)]
            if between is None:
                print(f"no {label} FTD matrix: run fisher_distance.py --task-set {label} first for the between-task column")
            frames.append(seed_summary(part, between) if between is not None else seed_summary(part, _empty(members)))
        summary = frames[0] if len(frames) == 1 else __import__("pandas").concat(frames, ignore_index=True)

        out = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "consistency_seeds")
        atomic_write_csv(pairs.assign(git_commit=git_commit()), out["long"])
        atomic_write_csv(summary.assign(git_commit=git_commit()), out["csv"])
        fig, ax = plt.subplots(figsize=(1 + 0.8 * len(summary), 3.5))
        x = range(len(summary))
        ax.bar(x, summary.seed_distance_mean, yerr=summary.seed_distance_std, capsize=3, color="tab:blue",
               label="between two seeds of the task (mean ± std over seed pairs)")
        ax.scatter(x, summary.smallest_between_tasks, color="tab:red", marker="_", s=400, zorder=3,
                   label="smallest distance to another task of its set")
        ax.set_xticks(list(x), summary.task, rotation=45, ha="right")
        ax.set_ylabel(f"FTD (frechet, {args.estimator} Fisher)")
        ax.set_ylim(0, 1)   # the FTD lies in [0, 1]; leaves room for the legend
        ax.set_title(f"Seed-to-seed vs between-task FTD ({cfg.arch}, preset {args.preset}, seeds {list(cfg.seeds)})")
        ax.legend(fontsize=7, loc="upper left")
        png = _save(fig, out["csv"].with_suffix(".png"))
        lines = [f"# Consistency study (a): seed-to-seed distance, preset `{args.preset}`, `{cfg.arch}`", "",
                 f"d(N_a^i, N_a^j) on X_a (frechet, {args.estimator} Fisher, {fcfg.samples or 'all'} test images), seeds "
                 f"{list(cfg.seeds)}; ratio = seed-to-seed mean / smallest distance to another task of the set.", "",
                 "| task | seed-to-seed d (mean ± std) | pairs | smallest d to another task | ratio |", "|---|---|---|---|---|"]
        lines += [f"| {r.task} | {r.seed_distance_mean:.3f} ± {r.seed_distance_std:.3f} | {r.pairs} | "
                  f"{r.smallest_between_tasks:.3f} | {r.ratio:.2f} |" for r in summary.itertuples()]
        lines += ["", f"Figure: `{png.name}`. Commit {git_commit()}.", ""]

        atomic_write_text("\n".join(lines), out["md"])
        print(summary.round(3).to_string(index=False))
        outputs += [out["csv"], out["md"], png, out["long"]]
    # (b) the matrix against the number of Fisher samples, per task set
    counts = sorted({n for n in args.samples if n > 0} | {fcfg.samples or 10 ** 9})
    sweeps = []
    for label in [n for n in names if n in TASK_SETS] if "b" in parts else []:
        members = resolve_tasks([label])
        longs = {}
        for n in counts:
            n_cfg = replace(fcfg, samples=None if n == 10 ** 9 else n)
            longs[n], _ = distance_table(members, cfg.seeds, arch=cfg.arch, preset=args.preset, cfgs=cfgs, fcfg=n_cfg,
                                         data_root=args.data_root, results_dir=args.results_dir,
                                         estimator=args.estimator, measures=[("frechet", None)], device=device)
        sweeps.append(samples_sweep(longs).assign(task_set=label))
    if sweeps:
        import pandas as pd
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
        fig.suptitle(f"FTD vs number of Fisher samples ({cfg.arch}, preset {args.preset}, seeds {list(cfg.seeds)})",
                     fontsize=9)
        sweep_png = _save(fig, sweep_out["csv"].with_suffix(".png"))
        md = [f"# Consistency study (b): FTD vs number of Fisher samples, preset `{args.preset}`, `{cfg.arch}`", "",
              f"Compared with the matrix of the most samples ({max(counts) if max(counts) < 10 ** 9 else 'all'}); "
              f"seeds {list(cfg.seeds)}; figure `{sweep_png.name}`.", "",
              "| task set | samples | mean seed std | mean \\|Δd\\| | Spearman | same closest source | settled from |",
              "|---|---|---|---|---|---|---|"]
        md += [f"| {r.task_set} | {r.samples} | {r.mean_seed_std:.3f} | {r.mean_abs_change:.3f} | "
               f"{r.spearman_vs_most:+.2f} | {r.same_closest} of {r.targets} | {r.settled_from} |"
               for r in sweep.itertuples()]
        atomic_write_text("\n".join(md) + "\n", sweep_out["md"])
        print(sweep.round(3).to_string(index=False))
        outputs += [sweep_out["csv"], sweep_out["md"], sweep_png]

    # (c) the ordering across architectures: result files only
    if "c" in parts:
        outputs += _architectures(args, cfg.arch, [n for n in names if n in TASK_SETS])

    study = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "logdet_ldnas8")["long"]
    measures_out = paths.study_outputs(args.results_dir, args.preset, cfg.arch, "consistency_measures")
    try:
        study_long = __import__("pandas").read_csv(study) if "d" in parts else None
    except (OSError, ValueError):
        study_long = None
        print(f"(d) skipped: no log-det study table {study}; run logdet_study.py first")
    if study_long is not None:
        agreement = measure_agreement(study_long)
        atomic_write_csv(agreement.assign(git_commit=git_commit()), measures_out["csv"])
        md = [f"# Consistency study (d): estimators and distances vs the empirical FTD (ldnas8, `{cfg.arch}`)", "",
              "Spearman of each variant's mean matrix with the empirical-Fisher `frechet` matrix over the 56 "
              "off-diagonal entries, and the targets whose closest source is the same.", "",
              "| estimator | distance | σ² | Spearman vs empirical frechet | same closest source |", "|---|---|---|---|---|"]
        md += [f"| {r.estimator} | {r.measure} | {'' if r.sigma2 != r.sigma2 or r.sigma2 is None else f'{r.sigma2:g}'} | "
               f"{r.spearman_vs_reference:+.2f} | {r.same_closest} of {r.targets} |" for r in agreement.itertuples()]
        atomic_write_text("\n".join(md) + "\n", measures_out["md"])
    if study_long is not None:
        outputs += [measures_out["csv"], measures_out["md"]]
    print("outputs:\n  " + "\n  ".join(map(str, outputs)))


def _architectures(args, arch, labels) -> list:
    """(c): every task set's `arch` matrix against the same set's matrix of each other network."""
    import matplotlib.pyplot as plt
    import pandas as pd
    from common import paths
    from common.consistency import architecture_agreement
    from common.claims import mean_std, read_long
    from common.io import atomic_write_csv, atomic_write_text
    from common.provenance import git_commit

    others = args.other_archs or [a for a in NETWORK_NAMES if a != arch]
    frames, pairs = [], []
    for label in labels:
        ref = read_long(args.results_dir, args.preset, arch, label, "frechet")
        for other in others:
            long = read_long(args.results_dir, args.preset, other, label, "frechet") if ref is not None else None
            if long is None:
                continue
            m_ref, m_other = mean_std(ref)[0], mean_std(long)[0]
            frames.append(architecture_agreement(m_ref, m_other).assign(task_set=label, reference=arch, other=other,
                                                           seeds_reference=ref.seed.nunique(),
                                                           seeds_other=long.seed.nunique()))
            pairs.append((label, other, m_ref, m_other))
    if not frames:
        print(f"(c) skipped: no task set has a matrix of another network beside {arch}; make one, e.g. "
              f"`.venv/bin/python train_task_mnist.py --preset {args.preset} --arch resnet18` and "
              f"`.venv/bin/python fisher_distance.py --preset {args.preset} --task-set mnist --arch resnet18` (a GPU helps)")
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
        ax.set_title(f"{label}: Spearman {part.spearman_all.iloc[0]:+.2f}, closest source agrees "
                     f"{int(part.same_closest.sum())}/{len(part)}", fontsize=8)
    fig.suptitle(f"Consistency (c): the same tasks' FTD with two architectures (preset {args.preset}; "
                 "mean over seeds; one point per source→target)", fontsize=8)
    png = _save(fig, out["csv"].with_suffix(".png"))
    md = [f"# Consistency study (c): the closest-task ranking across architectures, preset `{args.preset}`", "",
          f"Mean FTD matrices (frechet, empirical Fisher) of each task set with `{arch}` ε-networks against those "
          "with another network; per target, Kendall's τ between the two orderings of its sources; Spearman over "
          f"all off-diagonal entries; figure `{png.name}`.", "",
          "| task set | networks | target | Kendall τ | closest source | same |", "|---|---|---|---|---|---|"]
    md += [f"| {r.task_set} | {r.reference} vs {r.other} | {r.target} | {r.kendall_tau:+.2f} | "
           f"{r.closest_reference} / {r.closest_other} | {'yes' if r.same_closest else '**no**'} |"
           for r in table.itertuples()]
    atomic_write_text("\n".join(md) + "\n", out["md"])
    print(table.round(3).to_string(index=False))
    return [out["csv"], out["md"], png]


def _save(fig, path):
    """Atomically, like every file of the suite (common/io.py)."""
    import matplotlib.pyplot as plt
    from common.io import atomic_write
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    plt.close(fig)
    return path


def _empty(members):
    import pandas as pd
    return pd.DataFrame(float("nan"), index=members, columns=members)


if __name__ == "__main__":
    run(main)
