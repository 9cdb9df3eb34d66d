"""Reading a Taskonomy tree: the ``rgb`` images and the target domains, paired by (building, point,
view) as parsed from the file names — never by listing order (the authors' script paired two
``os.listdir`` results, whose orders need not match).

Layouts under ``<data-root>/taskonomy`` (first match per domain):

* official: ``<domain>/<building>/point_<P>_view_<V>_domain_<domain>.png``
* the authors' flat one: ``<domain>/[<building>_]point_<P>_view_<V>_domain_<domain>.png``

Images are resized to the preset's size (bilinear, antialiased; paper: 128 x 128). 8-bit PNGs are
scaled by 1/255, 16-bit ones (depth, edges, keypoints) by 1/65535; no other processing (Taskonomy's
depth uses 65535 for "no depth", kept as is). Decoded trees are cached under
``results/cache/data`` and keyed by the files' names and bytes and this module's code.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from common.base.errors import UserError
from common.store.cache import cached, code_version

FOLDER = "taskonomy"
_NAME = re.compile(
    r"^(?:(?P<building>.+?)_)?point_(?P<point>\d+)_view_(?P<view>\d+)_domain_(?P<domain>[A-Za-z0-9_]+)\.png$"
)


def tree_root(data_root) -> Path:
    root = Path(data_root).expanduser().resolve() / FOLDER
    if not root.is_dir():
        raise UserError(
            f"no Taskonomy tree at {root}: put the rgb and target domain folders there "
            f"(<domain>/<building>/point_P_view_V_domain_<domain>.png), or use the derived set "
            "taskonomy-2d, which runs on any images"
        )
    return root


def index_domain(root: Path, domain: str) -> dict[tuple[str, int, int], Path]:
    """(building, point, view) -> file, for one domain folder (official or flat layout)."""
    folder = root / domain
    if not folder.is_dir():
        present = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise UserError(
            f"Taskonomy domain folder {folder} is missing (present: {', '.join(present) or 'none'}); "
            f"download the '{domain}' domain there or drop its task"
        )
    out: dict[tuple[str, int, int], Path] = {}
    for path in sorted(folder.rglob("*.png")):
        m = _NAME.match(path.name)
        if m is None or m["domain"] != domain:
            raise UserError(
                f"{path} is not named point_<P>_view_<V>_domain_{domain}.png; rename it or move it out of {folder}"
            )
        building = path.parent.name if path.parent != folder else (m["building"] or "")
        key = (building, int(m["point"]), int(m["view"]))
        if key in out:
            raise UserError(
                f"{path} and {out[key]} are the same view (building {key[0]!r}, point {key[1]}, "
                f"view {key[2]}); remove one"
            )
        out[key] = path
    if not out:
        raise UserError(f"Taskonomy domain folder {folder} holds no PNG images")
    return out


def paired_files(root: Path, domains) -> tuple[list[tuple[str, int, int]], dict[str, list[Path]]]:
    """The views present in ``rgb`` and in every domain, and each domain's files in that order; an
    unpaired file on either side is one error line."""
    rgb = index_domain(root, "rgb")
    files = {"rgb": rgb}
    for domain in domains:
        if domain == "rgb":
            continue
        other = index_domain(root, domain)
        only_rgb, only_other = sorted(set(rgb) - set(other)), sorted(set(other) - set(rgb))
        if only_rgb or only_other:
            parts = []
            if only_rgb:
                parts.append(f"{len(only_rgb)} rgb image(s) have no {domain} file (e.g. {rgb[only_rgb[0]]})")
            if only_other:
                parts.append(f"{len(only_other)} {domain} file(s) have no rgb image (e.g. {other[only_other[0]]})")
            raise UserError(
                f"unpaired Taskonomy files: {'; '.join(parts)}; images are paired by building, point "
                "and view: add or remove the odd files"
            )
        files[domain] = other
    keys = sorted(rgb)
    return keys, {d: [f[k] for k in keys] for d, f in files.items()}


def read_png(path: Path, channels: int, size: int) -> torch.Tensor:
    """One PNG as float C x size x size in [0, 1]."""
    try:
        img = Image.open(path)
        if channels == 1:
            arr = np.array(img if img.mode in ("I;16", "I;16B", "I", "L") else img.convert("L"))
            scale = 65535.0 if arr.dtype != np.uint8 else 255.0
            t = torch.from_numpy(arr.astype(np.float32) / scale)[None]
        else:
            t = torch.from_numpy(np.array(img.convert("RGB")).astype(np.float32) / 255.0).permute(2, 0, 1)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - PIL raises several types for a damaged file
        raise UserError(f"cannot decode image {path} ({type(exc).__name__}: {exc}); replace or delete it") from None
    if t.shape[-2:] != (size, size):
        t = F.interpolate(t[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return t.clamp(0, 1)


def content_digest(files: dict[str, list[Path]], root: Path) -> str:
    """Hash of the files' names and bytes, computed once per process for a given list of files and
    their (size, mtime) (the keys of every dense run ask for it; within one process the files are
    assumed not to change, as for the datasets)."""
    listing = tuple(
        (str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
        for domain in sorted(files)
        for p in files[domain]
    )
    return _digest(str(root), listing)


@functools.lru_cache(maxsize=64)
def _digest(root: str, listing: tuple) -> str:
    h = hashlib.sha256()
    for rel, _, _ in listing:
        h.update(rel.encode() + b"\0" + (Path(root) / rel).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def load_tree(data_root, domains: dict[str, int], size: int, cache_dir) -> dict:
    """``{"keys": [(building, point, view)], "rgb": uint8 N x 3 x S x S, <domain>: float16 N x C x S x S}``
    for ``domains`` (name -> channels), cached and keyed by the files' content."""
    root = tree_root(data_root)
    keys, files = paired_files(root, domains)
    key = {
        "taskonomy": content_digest(files, root),
        "domains": dict(sorted(domains.items())),
        "size": size,
        "code": code_version("taskonomy-data"),
    }
    tag = hashlib.sha1(f"{root}:{sorted(domains)}:{size}".encode()).hexdigest()[:10]

    def decode():
        out = {"keys": [list(k) for k in keys]}
        rgb = [read_png(p, 3, size) for p in tqdm(files["rgb"], desc="decode taskonomy rgb", leave=False)]
        out["rgb"] = (torch.stack(rgb) * 255).round().to(torch.uint8)
        for domain, channels in domains.items():
            if domain != "rgb":
                out[domain] = torch.stack([read_png(p, channels, size) for p in files[domain]]).half()
        return out

    value, _ = cached(Path(cache_dir) / f"taskonomy_{tag}.pt", key, decode, what="decoded Taskonomy tree")
    return value


def identity(data_root, domains, size: int) -> dict:
    """What a network trained on the tree depends on: the files' content, size and this code."""
    root = tree_root(data_root)
    _, files = paired_files(root, domains)
    return {"taskonomy": content_digest(files, root), "size": size, "code": code_version("taskonomy-data")}
