"""The NAS search space: one op table, a 4-node cell, a genotype that round-trips, a network skeleton.

The space of the log-det paper (section "Search space"; FUSE: arXiv:2010.13962): a cell is a DAG of
4 nodes with edges 0->1, 0->2, 0->3, 1->2, 1->3, 2->3 and one operation per edge, chosen from the
10 DARTS-style operations of ``OPS`` (DARTS, Liu et al., arXiv:1806.09055, ``operations.py``);
cells are stacked into a skeleton. The "task-aware" space is the one restricted to the operations
of the closest task's cell: ``SearchSpace.from_genotype``. The FUSE search itself is not here.

A ``Genotype`` is plain data: 6 op names for the normal cell and 6 for the reduction cell, in the
order of ``EDGES``. It is stored as a string (``to_str``, fits a CSV cell) or JSON, never as code.
String format (NAS-Bench-201 style, Dong & Yang, arXiv:2001.00326), one ``|op~source|`` per edge,
grouped by target node 1, 2, 3 and joined by ``+``, the two cells joined by ``;``::

    normal:|sep_conv_3x3~0|+|skip_connect~0|none~1|+|max_pool_3x3~0|none~1|conv_7x1_1x7~2|;reduce:|...|
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn as nn

from common.base.errors import UserError
from common.nas.ops import OP_NAMES, OPS, ReLUConvBN
from common.tasks import Task

# The cell DAG (log-det paper, "Search space"): node 0 is the cell input, node j sums its incoming
# edges. A genotype lists one op per edge in this order.
NUM_NODES = 4
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
CELL_KINDS = ("normal", "reduce")


def cell_is_alive(ops: Sequence[str]) -> bool:
    """Whether the cell's output (node 3) depends on its input: some path 0 -> ... -> 3 has no
    ``none`` edge. A dead cell outputs zeros whatever its input, and so does a network built on it."""
    reached = {0}
    for (i, j), name in zip(EDGES, ops):  # EDGES is in topological order of the source node
        if name != "none" and i in reached:
            reached.add(j)
    return NUM_NODES - 1 in reached


def _live_cells(ops: Sequence[str]) -> int:
    """How many cells (one op per edge from ``ops``) are alive: each none/other pattern of the edges
    counts (#other ops)^(edges that are not none) when it leaves a live path."""
    others = len([name for name in ops if name != "none"])
    has_none = "none" in ops
    total = 0
    for mask in range(2 ** len(EDGES)):  # bit k set: edge k is an op other than none
        if not has_none and mask != 2 ** len(EDGES) - 1:
            continue
        pattern = ["skip" if mask >> k & 1 else "none" for k in range(len(EDGES))]
        if cell_is_alive(pattern):
            total += others ** bin(mask).count("1")
    return total


_FORMAT = "'normal:|op~0|+|op~0|op~1|+|op~0|op~1|op~2|;reduce:|op~0|+|...|'"


def _check_ops(ops, where: str) -> tuple[str, ...]:
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise UserError(f"{where}: expected a list of {len(EDGES)} op names, got {ops!r}")
    ops = tuple(ops)
    if len(ops) != len(EDGES):
        raise UserError(
            f"{where}: expected {len(EDGES)} op names (one per edge "
            f"{', '.join(f'{i}->{j}' for i, j in EDGES)}), got {len(ops)}"
        )
    for name in ops:
        if not isinstance(name, str) or name not in OPS:
            raise UserError(f"{where}: unknown op {name!r}; choose from {', '.join(OPS)}")
    return ops


@dataclass(frozen=True)
class Genotype:
    """The ops of one normal and one reduction cell, one name per edge in ``EDGES`` order."""

    normal: tuple[str, ...]
    reduce: tuple[str, ...]

    def __post_init__(self):
        # lists (from JSON) become tuples, so genotypes are hashable and compare equal
        for kind in CELL_KINDS:
            object.__setattr__(self, kind, _check_ops(getattr(self, kind), f"genotype, {kind} cell"))

    @property
    def ops(self) -> tuple[str, ...]:
        """The distinct ops used by either cell, in ``OPS`` order."""
        used = set(self.normal) | set(self.reduce)
        return tuple(name for name in OPS if name in used)

    def to_str(self) -> str:
        return ";".join(f"{kind}:{_cell_to_str(getattr(self, kind))}" for kind in CELL_KINDS)

    def __str__(self) -> str:
        return self.to_str()

    @classmethod
    def from_str(cls, text: str) -> Genotype:
        """Parse ``to_str``'s format; any other string raises one ``UserError``."""
        if not isinstance(text, str):
            raise UserError(f"bad genotype {text!r}: expected a string like {_FORMAT}")

        def bad(reason: str) -> UserError:
            return UserError(
                f"bad genotype string '{text}': {reason}; expected {_FORMAT} with ops from {', '.join(OPS)}"
            )

        cells: dict[str, tuple[str, ...]] = {}
        parts = text.strip().split(";")
        if len(parts) != len(CELL_KINDS):
            raise bad(f"expected {len(CELL_KINDS)} cells separated by ';', got {len(parts)}")
        for part in parts:
            kind, sep, body = part.partition(":")
            kind = kind.strip()
            if not sep or kind not in CELL_KINDS:
                raise bad(f"each cell must start with 'normal:' or 'reduce:', got '{part.strip()}'")
            if kind in cells:
                raise bad(f"the {kind} cell is given twice")
            cells[kind] = _cell_from_str(body.strip(), kind, bad)
        return cls(**cells)

    def to_dict(self) -> dict[str, list[str]]:
        return {kind: list(getattr(self, kind)) for kind in CELL_KINDS}

    @classmethod
    def from_dict(cls, data) -> Genotype:
        if not isinstance(data, dict) or set(data) != set(CELL_KINDS):
            raise UserError(f"bad genotype {data!r}: expected an object with exactly the keys {', '.join(CELL_KINDS)}")
        return cls(**{kind: data[kind] for kind in CELL_KINDS})

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Genotype:
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise UserError(f"bad genotype JSON {text!r}: {exc}") from None
        return cls.from_dict(data)


def _incoming(j: int) -> list[int]:
    """Indices into ``EDGES`` of the edges that end at node j, by source node."""
    return [k for k, (_, target) in enumerate(EDGES) if target == j]


def _cell_to_str(ops: tuple[str, ...]) -> str:
    return "+".join("|" + "|".join(f"{ops[k]}~{EDGES[k][0]}" for k in _incoming(j)) + "|" for j in range(1, NUM_NODES))


def _cell_from_str(body: str, kind: str, bad: Callable[[str], UserError]) -> tuple[str, ...]:
    groups = body.split("+")
    if len(groups) != NUM_NODES - 1:
        raise bad(f"the {kind} cell needs {NUM_NODES - 1} node groups joined by '+', got {len(groups)}")
    found: dict[tuple[int, int], str] = {}
    for j, group in enumerate(groups, start=1):
        if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
            raise bad(f"node {j} of the {kind} cell must be written '|op~0|...|', got '{group}'")
        items = group[1:-1].split("|")
        if len(items) != j:
            raise bad(f"node {j} of the {kind} cell needs {j} input edges, got {len(items)}")
        for i, item in enumerate(items):
            name, sep, source = item.partition("~")
            if not sep or source != str(i):
                raise bad(f"edge {i}->{j} of the {kind} cell must be written '<op>~{i}', got '{item}'")
            if name not in OPS:
                raise bad(f"unknown op '{name}' on edge {i}->{j} of the {kind} cell")
            found[(i, j)] = name
    return tuple(found[edge] for edge in EDGES)


@dataclass(frozen=True)
class SearchSpace:
    """The allowed op names of each cell type (default: all of ``OPS`` for both). ``reduce_ops``
    None: the reduction cell draws from ``ops`` too; else normal edges draw from ``ops`` and
    reduction edges from ``reduce_ops`` (the task-aware space restricts each cell type to the ops
    of the closest task's cell of that type).

    Stored deduplicated and in ``OPS`` order, so two spaces with the same ops are equal and sample
    the same genotypes from the same seed, whatever order the ops were given in.
    """

    ops: tuple[str, ...] = OP_NAMES
    reduce_ops: tuple[str, ...] | None = None

    def __post_init__(self):
        for field in ("ops", "reduce_ops"):
            value = getattr(self, field)
            if value is None and field == "reduce_ops":
                continue
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise UserError(f"search space: expected a list of op names, got {value!r}")
            unknown = [name for name in value if not isinstance(name, str) or name not in OPS]
            if unknown:
                raise UserError(
                    f"search space: unknown op(s) {', '.join(map(repr, unknown))}; choose from {', '.join(OPS)}"
                )
            if not value:
                raise UserError("search space: no ops given; it must allow at least one")
            if set(value) == {"none"}:
                raise UserError(
                    f"search space: the {'reduction' if field == 'reduce_ops' else 'normal'} cell may only "
                    "use 'none', so every network would output zeros; allow at least one other op"
                )
            object.__setattr__(self, field, tuple(name for name in OPS if name in value))

    @classmethod
    def from_genotype(cls, genotype: Genotype) -> SearchSpace:
        """The task-aware space (log-det paper, "Search space": the closest task's *cells and
        operations*): normal edges draw from the ops of the closest task's normal cell, reduction
        edges from those of its reduction cell."""
        return cls(tuple(set(genotype.normal)), tuple(set(genotype.reduce)))

    def cell_ops(self, kind: str) -> tuple[str, ...]:
        return self.reduce_ops if kind == "reduce" and self.reduce_ops is not None else self.ops

    def to_dict(self) -> dict[str, list[str]]:
        """Both cell types' ops (what a search key records)."""
        return {kind: list(self.cell_ops(kind)) for kind in CELL_KINDS}

    @property
    def log10_size(self) -> float:
        """log10 of the number of distinct genotypes the space samples: one op per edge of each cell,
        both cells alive (``cell_is_alive``)."""
        return sum(math.log10(_live_cells(self.cell_ops(kind))) for kind in CELL_KINDS)

    def sample(self, generator: torch.Generator) -> Genotype:
        """A genotype drawn uniformly from the live ones: every edge's op drawn uniformly and
        independently from its cell's ops, a dead cell (output independent of the input) drawn
        again. Such a network cannot learn: in the `cpu` runs of 2026-11-23, FUSE chose one in 2 of 5
        seeds of cifar10-2's task-aware search (test accuracy at chance), so the space excludes them."""
        n = len(EDGES)
        cells = {}
        for kind in CELL_KINDS:
            ops = self.cell_ops(kind)
            while True:  # terminates: __post_init__ refuses a cell of 'none' alone
                cell = tuple(ops[k] for k in torch.randint(len(ops), (n,), generator=generator).tolist())
                if cell_is_alive(cell):
                    break
            cells[kind] = cell
        return Genotype(**cells)

    def __contains__(self, genotype: Genotype) -> bool:
        return all(set(getattr(genotype, kind)) <= set(self.cell_ops(kind)) for kind in CELL_KINDS)


class Cell(nn.Module):
    """One cell of the DAG in ``EDGES``: node 0 = the (preprocessed) input, node j = the sum of
    op(i->j)(node i) over i < j, output = node 3.

    The output is the last node, as in NAS-Bench-201's cell of the same 4-node, 6-edge shape, rather
    than DARTS' concatenation of the intermediate nodes: every edge lies on a path to node 3, so
    every op of the genotype matters, and the width stays C with no extra 1x1 conv that the
    genotype does not describe. (A genotype whose every path to node 3 crosses ``none`` outputs zeros;
    NAS-Bench-201 keeps such cells, ``SearchSpace.sample`` never draws them: ``cell_is_alive``.) A reduction cell puts stride 2 on the edges leaving node 0,
    so nodes 1-3 all have half the resolution.
    """

    def __init__(self, ops: Sequence[str], c_in: int, c: int, reduction: bool):
        super().__init__()
        ops = _check_ops(ops, "cell")
        self.reduction = reduction
        # A 1x1 ReLU-conv-BN only where the width changes: the op table is built for C -> C.
        self.preprocess = ReLUConvBN(c_in, c, 1, 1, 0) if c_in != c else nn.Identity()
        self.edges = nn.ModuleList(OPS[name](c, 2 if reduction and i == 0 else 1) for (i, _), name in zip(EDGES, ops))
        self.node_inputs = [_incoming(j) for j in range(1, NUM_NODES)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [self.preprocess(x)]
        for edges in self.node_inputs:
            # sum() adds out of place: skip_connect returns its input, so an in-place += would
            # modify another node, and the Fisher hooks refuse inputs modified in place
            nodes.append(sum(self.edges[k](nodes[EDGES[k][0]]) for k in edges))
        return nodes[-1]


class NASNetwork(nn.Module):
    """The skeleton of the log-det paper's search: stem (3x3 conv + BN), ``layers`` stacked cells
    with reduction cells at 1/3 and 2/3 of the depth (width doubled at each, as in DARTS), global
    average pooling, linear classifier. ``channels`` is the width of the first cells."""

    def __init__(self, genotype: Genotype, num_classes: int, channels: int = 16, layers: int = 5, in_channels: int = 3):
        super().__init__()
        if not isinstance(genotype, Genotype):
            raise UserError(f"NASNetwork needs a Genotype, got {type(genotype).__name__}")
        for name, value in (
            ("num_classes", num_classes),
            ("channels", channels),
            ("layers", layers),
            ("in_channels", in_channels),
        ):
            if not isinstance(value, int) or value < 1:
                raise UserError(f"NASNetwork: {name} must be a positive integer, got {value!r}")
        self.genotype = genotype
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        reductions = {layers // 3, 2 * layers // 3}
        cells, c_prev, c = [], channels, channels
        for index in range(layers):
            reduction = index in reductions
            if reduction:
                c *= 2
            cells.append(Cell(genotype.reduce if reduction else genotype.normal, c_prev, c, reduction))
            c_prev = c
        self.cells = nn.Sequential(*cells)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.cells(self.stem(x))))


def build_nas_network(genotype: Genotype | str, task: Task, width: int, depth: int) -> NASNetwork:
    """``NASNetwork`` for ``task`` (its class count); ``genotype`` may be a ``to_str`` string."""
    if isinstance(genotype, str):
        genotype = Genotype.from_str(genotype)
    return NASNetwork(genotype, num_classes=task.num_classes, channels=width, layers=depth)


def width_for_params(genotype: Genotype | str, task: Task, depth: int, params: float, max_width: int = 512) -> int:
    """The skeleton width whose network for ``task`` has the parameter count closest to ``params``
    (on a log scale), so searched cells can be compared with a hand-designed network at a matched
    size (``nas_fuse.py --params``). Parameters grow with the width, so the first width at or past
    the target and the one before it are the only candidates; ``max_width`` if none reaches it
    (a genotype of pools, skips and ``none`` has almost no parameters at any width)."""
    if not (isinstance(params, (int, float)) and math.isfinite(params) and params > 0):
        raise UserError(f"the target parameter count must be a positive number, got {params!r}")

    def count(width: int) -> int:
        return sum(p.numel() for p in build_nas_network(genotype, task, width, depth).parameters())

    previous = None
    for width in range(1, max_width + 1):
        n = count(width)
        if n >= params:
            if previous is not None and abs(math.log(previous / params)) < abs(math.log(n / params)):
                return width - 1
            return width
        previous = n
    return max_width
