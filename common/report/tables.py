"""``results/<preset>/REPORT.md`` and the README's measured tables of steps 1 and 2, rendered from the result
files only (never typed by hand): step-1 accuracies, the FTD matrices, the published matrices side by side, a
user's folder against its original dataset, ``reproduce.py --plan``'s estimate and the logged wall times of the
paper networks' sections. The studies' tables are in
``common/report/study_tables.py``, the applications' (NAS, transfer, dense) in
``common/report/application_tables.py``, the claims in ``common/report/verdicts.py``.

Each ``*_markdown`` function returns one block of Markdown from ``results/<preset>/``; the same
blocks go into REPORT.md and between the README's ``<!-- generated:NAME -->`` markers
(``common/report/blocks.py``). The blocks hold numbers only, no times or commits, so regenerating them
from unchanged results gives the same text; REPORT.md adds the run's metadata.
"""

from __future__ import annotations

import json

import pandas as pd

from common.experiments import PAPER_NETWORKS, USER_FOLDER_EXAMPLE
from common.network_budgets import LEARNED_SHARE
from common.report.markdown import mean_pm, row, table
from common.report.results import mean_std, read_long
from common.steps import STEPS
from common.store import paths
from common.studies.published import PUBLISHED
from common.studies.ranking import as_frame, closest_sources, compare
from common.tasks import TASK_SETS, TASKS, get_task


def published_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """Ours vs every published matrix whose tasks we have: Spearman over the off-diagonal entries and
    the closest source per target (``common/studies/ranking.py``); with our `arch` matrix, and also with our
    matrix of the published network when we have one (e.g. ResNet-18 ε-networks)."""
    lines = [
        f"Our mean matrices (preset `{preset}`) beside the published ones: Spearman rank correlation "
        "over the off-diagonal entries, and the targets whose closest source agrees.",
        "",
        *table(["published matrix", "network", "ours", "Spearman", "closest source agrees"], []),
    ]
    for name, published in PUBLISHED.items():
        label = next((s for s, members in TASK_SETS.items() if tuple(members) == published.tasks), None)
        distances = ("frechet",) if published.paper == "FTD" else ("logdet", "frechet")
        for distance in distances:
            if not label:
                lines.append(row([name, published.network, "its tasks are not in the suite", "—", "—"]))
                continue
            for ours in dict.fromkeys([arch, published.network]):  # published.network: our name
                long = read_long(results_dir, preset, ours, label, distance) if ours else None
                if long is None:
                    if ours == arch:
                        lines.append(row([name, published.network, f"{label}, {distance}, {ours}: not run", "—", "—"]))
                    continue
                result = compare(mean_std(long)[0], as_frame(published))
                lines.append(
                    row(
                        [
                            name,
                            published.network,
                            f"{label}, {distance}, {ours}",
                            f"{result['spearman']:+.2f}",
                            f"{result['closest_agree']} of {result['targets']}",
                        ]
                    )
                )
    return "\n".join(lines)


def learned_floors(df: pd.DataFrame, reference: str = "smallcnn") -> dict[tuple[str, str], float]:
    """(arch, task) -> the test accuracy a network other than ``reference`` must reach to have learned its task
    (``common/network_budgets.py``'s ``LEARNED_SHARE``): chance + share x (the reference's mean - chance)."""
    ref = df[df.arch == reference].groupby("task").test_acc.mean()
    out = {}
    for arch, task in df[df.arch != reference][["arch", "task"]].drop_duplicates().itertuples(index=False):
        if task in ref.index:
            chance = 1.0 / get_task(task).num_classes
            out[(arch, task)] = chance + LEARNED_SHARE * (ref[task] - chance)
    return out


def step1_metrics(results_dir, preset: str) -> pd.DataFrame | None:
    """The step-1 metrics of ``preset`` (None when missing or unreadable)."""
    try:
        return pd.read_csv(paths.train_metrics_csv(results_dir, preset))
    except (OSError, ValueError):
        return None


def unlearned_networks(metrics: pd.DataFrame | None, arch: str, networks) -> tuple[list[str], list[str]]:
    """Of the (task, seed) ``networks`` of ``arch``: those below their learned floor (``learned_floors``), as
    "task/seedK (accuracy < floor)", and those that cannot be checked (no step-1 row, or no smallcnn row to
    set the floor), as "task/seedK"."""
    floors = learned_floors(metrics) if metrics is not None else {}
    rows = metrics[metrics.arch == arch] if metrics is not None else pd.DataFrame(columns=["task", "seed", "test_acc"])
    below, unchecked = [], []
    for task, seed in sorted(networks):
        row = rows[(rows.task == task) & (rows.seed == seed)]
        if row.empty or (arch, task) not in floors:
            unchecked.append(f"{task}/seed{seed}")
        elif row.test_acc.iloc[0] < floors[(arch, task)]:
            below.append(f"{task}/seed{seed} ({row.test_acc.iloc[0]:.3f} < {floors[(arch, task)]:.3f})")
    return below, unchecked


def train_markdown(results_dir, preset: str) -> str:
    path = paths.train_metrics_csv(results_dir, preset)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError):
        return f"No step-1 results (`{path}` missing)."
    floors = learned_floors(df)

    def learned(arch, task, x) -> str:
        if (arch, task) not in floors:
            return "—"
        low = x.test_acc.min()
        return f"{'yes' if low >= floors[(arch, task)] else '**no**'} (lowest {low:.3f} vs {floors[(arch, task)]:.3f})"

    g = df.groupby(["arch", "task"])
    rows = (
        [
            task,
            arch,
            mean_pm(x.test_acc.mean(), x.test_acc.std(ddof=1), 4),
            len(x),
            int(x.epochs.iloc[0]),
            int(x.n_train.iloc[0]),
            learned(arch, task, x),
        ]
        for (arch, task), x in g
    )
    head = ["task", "network", "test acc (mean ± std)", "seeds", "epochs", "train images", "learned its task"]
    note = (
        f"A network other than smallcnn learned its task when every seed's test accuracy reaches chance + "
        f"{LEARNED_SHARE:.2f} × (smallcnn's mean − chance), chance = 1 / classes (common/network_budgets.py)."
    )
    return "\n".join([*table(head, rows), "", note] if floors else table(head, rows))


def matrix_markdown(results_dir, preset: str, label: str, distance: str, arch: str = "smallcnn") -> str:
    """Mean ± std over seeds, rows = source, columns = target; each target's closest source in bold."""
    long = read_long(results_dir, preset, arch, label, distance)
    if long is None:
        return f"No `{label}` {distance} matrix in `results/{preset}/`."
    return matrix_table(long, label, distance)


def matrix_table(long: pd.DataFrame, label: str, distance: str) -> str:
    mean, std = mean_std(long)
    closest = closest_sources(mean)
    lines = [
        f"`{label}`, {distance}, {long.seed.nunique()} seed(s) (rows = source, columns = target; "
        "bold: each target's closest source)",
        "",
        *table(
            ["source \\ target", *mean.columns],
            (
                [
                    a,
                    *(
                        "0"
                        if a == b
                        else (lambda t: f"**{t}**" if closest[b] == a else t)(mean_pm(mean.loc[a, b], std.loc[a, b], 3))
                        for b in mean.columns
                    ),
                ]
                for a in mean.index
            ),
        ),
    ]
    return "\n".join(lines)


def user_folder_markdown(results_dir, preset: str, arch: str = "smallcnn") -> str:
    """The example user folder against the dataset it copies: per task, the test accuracies of both
    and how many (task, seed) runs agree exactly; then the distances, entry by entry."""
    folder, builtin = USER_FOLDER_EXAMPLE
    twin = {
        t.name: next(
            b.name for b in TASKS.values() if b.dataset == builtin and b.groups == t.groups and b.other == t.other
        )
        for t in TASKS.values()
        if t.dataset == folder
    }
    try:
        df = pd.read_csv(paths.train_metrics_csv(results_dir, preset))
        df = df[df.arch == arch]
    except (OSError, ValueError, AttributeError):
        return f"No step-1 results in `results/{preset}/`."
    runs = df.set_index(["task", "seed"]).test_acc
    lines = table(
        [
            "task as a user's folder",
            f"its `{builtin}` twin",
            "test acc, folder",
            f"test acc, `{builtin}`",
            "seeds equal",
        ],
        [],
    )
    for task, other in twin.items():
        mine = df[df.task == task].set_index("seed").test_acc
        theirs = df[df.task == other].set_index("seed").test_acc
        if mine.empty:
            lines.append(row([task, other, "not run", "—", "—"]))
            continue
        same = sum(1 for seed, acc in mine.items() if runs.get((other, seed)) == acc)
        lines.append(
            row(
                [
                    task,
                    other,
                    mean_pm(mine.mean(), mine.std(ddof=1), 4),
                    mean_pm(theirs.mean(), theirs.std(ddof=1), 4) if len(theirs) else "—",
                    f"{same} of {len(mine)}",
                ]
            )
        )
    a, b = (
        read_long(results_dir, preset, arch, folder, "frechet"),
        read_long(results_dir, preset, arch, builtin, "frechet"),
    )
    if a is None or b is None:
        lines += ["", f"No `{folder}` and `{builtin}` FTD matrices to compare."]
    else:
        a = a.assign(source=a.source.map(twin), target=a.target.map(twin)).set_index(["seed", "source", "target"])
        joined = a.distance.to_frame("folder").join(b.set_index(["seed", "source", "target"]).distance, how="inner")
        diff = (joined.folder - joined.distance).abs()
        lines += [
            "",
            f"FTD entries (seed, source, target) compared: {len(joined)}; identical: {int((diff == 0).sum())}; "
            f"largest difference {diff.max():.2g}.",
        ]
    return "\n".join(lines)


def plan_markdown(results_dir, preset: str) -> str:
    """``reproduce.py --plan``'s estimate per step: jobs, device-hours, and the device it was measured on."""
    try:
        plan = pd.read_csv(paths.plan_csv(results_dir, preset), dtype={"git_commit": str})  # 0872525 stays
    except (OSError, ValueError):
        return f"_No plan for preset {preset}: run `.venv/bin/python reproduce.py --preset {preset} --plan`._\n"
    # plans written before --plan timed training under --amp have no precision: fp32 then
    plan = plan.assign(precision=plan["precision"].fillna("fp32") if "precision" in plan else "fp32")
    steps = plan.groupby("step", sort=False).agg(
        jobs=("job", "nunique"),
        seconds=("seconds", "sum"),
        precision=("precision", lambda p: " + ".join(sorted(set(p)))),
    )
    lines = table(
        ["step", "jobs", "device-hours", "timed at"],
        ([step, int(r.jobs), f"{r.seconds / 3600:,.2f}", r.precision] for step, r in steps.iterrows()),
    )
    lines.append(
        f"| **all** | {int(steps.jobs.sum())} | **{steps.seconds.sum() / 3600:,.2f}** | |"
    )  # an empty last cell
    first = plan.iloc[0]
    return (
        "\n".join(lines) + f"\n\nMeasured by `reproduce.py --preset {preset} --plan` on {first.device}, "
        f"{first.date}, commit {first.git_commit}.\n"
    )


def network_timings_markdown(results_dir, preset: str) -> str:
    """Wall time of each step of the sections ``arch-<net>`` (the FTD paper's networks), per network and task set,
    as ``reproduce.py`` last logged it (``reproduce_log.json``): a step that reused an earlier run's results is
    marked partial, since its seconds are a share of its cost."""
    try:
        logged = {e["step"]: e for e in json.loads(paths.reproduce_log(results_dir, preset).read_text())["steps"]}
    except (OSError, ValueError, KeyError, TypeError):
        logged = {}
    rows: dict[tuple[str, str], dict[str, str]] = {}
    columns: list[str] = []
    dates: dict[tuple[str, str], set[str]] = {}
    for net in PAPER_NETWORKS:
        for step in (s for s in STEPS if s.section == f"arch-{net}" and len(s.datasets) == 1):
            # "1n. vgg16 ε-networks, mnist tasks" -> "ε-networks"; "2n. body-only FTD matrix, vgg16, mnist" -> "body-only"
            column = step.name.split(",")[0].split(". ", 1)[-1].replace(f"{net} ", "").replace(" FTD matrix", "")
            columns += [column] if column not in columns else []
            entry, key = logged.get(step.name), (net, step.datasets[0])
            cell = "—"
            if entry is not None:
                cell = f"{entry['seconds']:,.0f} s" + (" (partial)" if (entry.get("reused") or 0) > 0 else "")
                dates.setdefault(key, set()).add(str(entry.get("finished", "?"))[:10])
            rows.setdefault(key, {})[column] = cell
    if not dates:
        return (
            f"_No step of the sections arch-* logged for preset {preset}: "
            f"`.venv/bin/python reproduce.py --preset {preset} --sections arch-resnet18` runs one._\n"
        )
    lines = table(
        ["network", "task set", *columns, "logged"],
        (
            [net, label, *(cells.get(c, "—") for c in columns), ", ".join(sorted(dates.get((net, label), ()))) or "—"]
            for (net, label), cells in rows.items()
        ),
    )
    return "\n".join(lines) + (
        f"\n\nFrom `results/{preset}/reproduce_log.json`: each step's latest run (its device and threads: REPORT.md's "
        "run log); —: not run yet; partial: the step reused an earlier run's results, so its seconds are a share of "
        "its cost.\n"
    )
