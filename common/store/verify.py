"""``collect.py --verify``: is every result of a preset the one its run wrote, made by today's code?

Checked, for ``results/<preset>/`` (read only; no data, no network):

* every table (``*.csv``, and every Markdown table but REPORT.md) against its seal (``common/store/seals.py``):
  missing, unreadable, another file's, or a hash that differs;
* every distance-matrix manifest (``distances/<arch>/<stem>.json``, dense ``<label>_frechet.json``):
  readable, its CSVs' hashes, its arch and measure equal to what its file name says, and its code
  identity today's (``common/store/code_identity.py``);
* every keyed record (NAS searches and retrainings, transfer runs, the transferability benchmark's runs and
  scores): readable, named after the task, method/source and seed its key holds (a retraining: its search's
  key; a benchmark record: also its network and protocol folders), and made by today's code.

``problems(results_dir, preset)`` lists ``(path, why)``; nothing listed means every result verifies.
"""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path

from common.store import paths
from common.store.cache import code_version, fingerprint
from common.store.seals import SUFFIX, check_seal, sha256

# where each kind of keyed file lives under results/<preset>/, and the concept of the code that makes it
# (first match wins: fnmatch's * also matches "/", so the benchmark's deeper records come before transfer's)
KEYED_FILES: tuple[tuple[str, str], ...] = (
    ("transfer/benchmark/runs/*/scores/*.json", "transferability-scores"),
    ("transfer/benchmark/runs/*/*/*.json", "transferability-truth"),
    ("distances/*/*.json", "distance-matrix"),
    ("dense/*/*/transfer/runs/*.json", "dense-transfer"),
    ("dense/*/*/*_frechet.json", "dense-matrix"),
    ("nas/genotypes/*_retrain.json", "nas-retrain"),
    ("nas/genotypes/*.json", "nas-search"),
    ("transfer/*/runs/*.json", "transfer"),
)
UNSEALED = ("REPORT.md",)  # written by collect.py from the results, not a result itself


def problems(results_dir, preset: str) -> list[tuple[Path, str]]:
    return _checked(results_dir, preset)[1]


def _checked(results_dir, preset: str) -> tuple[int, list[tuple[Path, str]]]:
    """(files looked at, their problems); a preset with no results yet has nothing to verify or publish."""
    run = paths.run_dir(results_dir, preset)
    found: list[tuple[Path, str]] = []
    files = sorted(p for p in run.rglob("*") if p.is_file() and not _ignored(p, run)) if run.is_dir() else []
    for path in files:
        rel = path.relative_to(run).as_posix()
        if path.suffix in (".csv", ".md") and path.name not in UNSEALED:
            why = check_seal(path)
        elif path.name.endswith(SUFFIX):
            table = path.with_name(path.name[: -len(SUFFIX)])
            why = "" if table.is_file() else f"is the seal of {table.name}, which does not exist"
        elif path.suffix == ".json" and (concept := _concept(rel)):
            why = _check_keyed(path, concept)
        else:
            continue
        if why:
            found.append((path, why))
    return len(files), found


def _ignored(path: Path, run: Path) -> bool:
    """Local, git-ignored stores (checkpoints, Fishers, logs, temp files) are not published results."""
    top = path.relative_to(run).parts[0]
    return top in ("checkpoints", "fisher", "logs") or path.name.startswith(".")


def _concept(rel: str) -> str | None:
    return next((concept for pattern, concept in KEYED_FILES if fnmatch(rel, pattern)), None)


def _read(path: Path) -> dict | None:
    try:
        entry = json.loads(path.read_text())
    except (ValueError, OSError, UnicodeDecodeError):
        return None
    return entry if isinstance(entry, dict) and isinstance(entry.get("key"), dict) and "value" in entry else None


def _check_keyed(path: Path, concept: str) -> str:
    entry = _read(path)
    if entry is None:
        return "is unreadable or has no key (damaged, or of an older format)"
    key = entry["key"]
    if "hand-designed" in key:  # a hand-designed network: nothing was searched
        return ""
    if key.get("code") != code_version(concept):
        return (
            f"was made by other code than today's {concept} code (code {key.get('code')}, today "
            f"{code_version(concept)}): recompute it"
        )
    check = {
        "distance-matrix": _matrix,
        "dense-matrix": _dense_matrix,
        "nas-search": _search,
        "nas-retrain": _retrain,
        "transfer": _transfer_run,
        "dense-transfer": _transfer_run,
        "transferability-truth": _benchmark_run,
        "transferability-scores": _benchmark_run,
    }[concept]
    try:
        return check(path, key, entry["value"])
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        return f"has a key without the fields of a {concept} record ({type(exc).__name__}: {exc})"


def _hashes(path: Path, stem: str, value: dict) -> str:
    for table, digest in value["sha256"].items():
        csv = path.with_name(f"{stem}_{table}.csv")
        if not csv.is_file():
            return f"names {csv.name}, which does not exist"
        if sha256(csv)[:16] != digest:
            return f"does not match {csv.name} (edited, or the manifest of another matrix)"
    return ""


def _matrix(path: Path, key: dict, value: dict) -> str:
    # distances/<arch>/<task set>_<distance>_<estimator><variant>.json
    if key["arch"] != path.parent.name:
        return f"is the manifest of a {key['arch']} matrix, in the {path.parent.name} folder"
    parts = path.stem.split("_")
    if parts[1:3] != [key["distance"], key["estimator"]]:
        return f"is the manifest of a {key['distance']} {key['estimator']} matrix, not of {path.stem}"
    return _hashes(path, path.stem, value)


def _dense_matrix(path: Path, key: dict, value: dict) -> str:
    return _hashes(path, path.stem, value)


def _search(path: Path, key: dict, value: dict) -> str:
    stem = path.stem
    if not stem.startswith(f"{key['task']['name']}_{key['method']}") or not stem.endswith(f"_seed{key['seed']}"):
        return f"holds the search of {key['task']['name']} {key['method']} seed {key['seed']}, not of {stem}"
    return ""


def _retrain(path: Path, key: dict, value: dict) -> str:
    search = path.with_name(path.name.removesuffix("_retrain.json") + ".json")
    if not search.is_file():
        return "" if "_hand-" in path.name else f"has no search record {search.name}"
    entry = _read(search)
    if entry is not None and fingerprint(entry["key"]) != key["search"]:
        return f"is the retraining of another search than {search.name}"
    return ""


def _run_stem(key: dict) -> str:
    """``<source>_to_<target>_seed<k>``: the file name a transfer or benchmark run's key gives (no source: scratch)."""
    source = key["source"]["name"] if key["source"] else "scratch"
    return f"{source}_to_{key['target']['name']}_seed{key['seed']}"


def _transfer_run(path: Path, key: dict, value: dict) -> str:
    expected = _run_stem(key)
    if path.stem != expected and not path.stem.startswith(expected + "_"):
        return f"holds the run {expected}, not {path.stem}"
    return ""


def _benchmark_run(path: Path, key: dict, value: dict) -> str:
    # transfer/benchmark/runs/<arch>/<protocol>/<source>_to_<target>_seed<k>.json (common/store/paths.py)
    if path.stem != (expected := _run_stem(key)):
        return f"holds the record {expected}, not {path.stem}"
    protocol = key["protocol"]
    if path.parent.name != protocol or path.parent.parent.name != key["arch"]:
        return f"holds a {key['arch']} {protocol} record, in {path.parent.parent.name}/{path.parent.name}"
    return ""


def report(results_dir, preset: str) -> tuple[int, list[str]]:
    """(files checked, one line per problem) for ``collect.py``."""
    checked, found = _checked(results_dir, preset)
    return checked, [f"{p}: {why}" for p, why in found]
