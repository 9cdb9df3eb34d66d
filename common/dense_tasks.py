"""The dense (pixel-to-pixel) task registry: Taskonomy's targets and tasks *derived* from any RGB
images, as plain data. Classification tasks live in ``common/tasks.py``.

* ``taskonomy``: the FTD paper's 10 Taskonomy tasks, numbered as in its figures (Sec. 4.2): the
  input is Taskonomy's ``rgb`` domain, the target the named domain's image (``common/dense/taskonomy.py``
  reads both). Needs a Taskonomy tree (none on this project's machines).
* ``taskonomy-2d``: tasks computed from the RGB images alone (``common/dense/derived_targets.py``), so that
  a dense task set runs on CIFAR-10 or any registered image dataset. They are **derived stand-ins**,
  not Taskonomy's tasks: e.g. ``2d-edges`` is a Canny-like edge map of the image, as Taskonomy's
  ``edge_texture`` is, but computed here.

To add a task, add one ``DenseTask(...)`` line; to add a set, one line to ``DENSE_TASK_SETS``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from common.base.errors import UserError, require
from common.datasets import DATASETS


@dataclass(frozen=True)
class DenseTask:
    name: str
    target: str  # Taskonomy domain folder, or the generator of common/dense/derived_targets.py
    derived: bool  # True: the target is computed from the RGB image
    channels: int  # channels of the target (and of the network's output)
    description: str

    def to_dict(self) -> dict:
        return asdict(self)


DENSE_TASKS: dict[str, DenseTask] = {
    t.name: t
    for t in [
        # Taskonomy (FTD paper, Fig. 4: tasks 0-9). Channels as the domain's PNGs store them.
        DenseTask("depth_euclidean", "depth_euclidean", False, 1, "0: Euclidean depth (16-bit PNG)"),
        DenseTask("depth_zbuffer", "depth_zbuffer", False, 1, "1: z-buffer depth (16-bit PNG)"),
        DenseTask("edge_occlusion", "edge_occlusion", False, 1, "2: occlusion edges (16-bit PNG)"),
        DenseTask("edge_texture", "edge_texture", False, 1, "3: texture (Canny) edges (16-bit PNG)"),
        DenseTask("keypoints2d", "keypoints2d", False, 1, "4: 2-D keypoints (16-bit PNG)"),
        DenseTask("keypoints3d", "keypoints3d", False, 1, "5: 3-D keypoints (16-bit PNG)"),
        DenseTask("normal", "normal", False, 3, "6: surface normals (RGB PNG)"),
        DenseTask("principal_curvature", "principal_curvature", False, 3, "7: principal curvature (RGB PNG)"),
        DenseTask("reshading", "reshading", False, 1, "8: reshading (PNG)"),
        DenseTask("autoencoding", "rgb", False, 3, "9: autoencoding (the rgb image itself)"),
        # Derived from any RGB images (common/dense/derived_targets.py): stand-ins, not Taskonomy data.
        DenseTask("2d-autoencoding", "autoencoding", True, 3, "derived: reconstruct the image"),
        DenseTask("2d-denoising", "denoising", True, 3, "derived: remove seeded Gaussian noise (std 0.2)"),
        DenseTask("2d-colorization", "colorization", True, 3, "derived: RGB from the grayscale image"),
        DenseTask("2d-inpainting", "inpainting", True, 3, "derived: fill a masked central square (half the side)"),
        DenseTask(
            "2d-edges",
            "edges",
            True,
            1,
            "derived: Canny-like edges (blur, Sobel magnitude, threshold), as Taskonomy's edge_texture",
        ),
        DenseTask("2d-keypoints", "keypoints", True, 1, "derived: Harris corner response, as Taskonomy's keypoints2d"),
    ]
}

DENSE_TASK_SETS: dict[str, tuple[str, ...]] = {
    "taskonomy": (
        "depth_euclidean",
        "depth_zbuffer",
        "edge_occlusion",
        "edge_texture",
        "keypoints2d",
        "keypoints3d",
        "normal",
        "principal_curvature",
        "reshading",
        "autoencoding",
    ),
    "taskonomy-2d": ("2d-autoencoding", "2d-denoising", "2d-colorization", "2d-inpainting", "2d-edges", "2d-keypoints"),
}

# Where the input images of a dense task set come from by default (--images overrides it for
# derived sets): "taskonomy" = the rgb domain of a Taskonomy tree, else any registered dataset
# (common/datasets.py: a user's image folder too).
DEFAULT_IMAGES = {"taskonomy": "taskonomy", "taskonomy-2d": "cifar10"}
IMAGE_SOURCES = ("taskonomy", *DATASETS)


def resolve_dense_tasks(names) -> list[DenseTask]:
    """Dense task and task-set names -> tasks (order kept, duplicates dropped); one error line for an
    unknown name."""
    out: list[DenseTask] = []
    for name in names:
        for tname in DENSE_TASK_SETS.get(name, (name,)):
            if tname not in DENSE_TASKS:
                raise UserError(
                    f"unknown dense task '{tname}'; known: {', '.join(DENSE_TASKS)}; task sets: "
                    f"{', '.join(DENSE_TASK_SETS)} (add one in common/dense_tasks.py)"
                )
            if DENSE_TASKS[tname] not in out:
                out.append(DENSE_TASKS[tname])
    return out


def check_images(tasks: list[DenseTask], images: str) -> None:
    """Taskonomy's own targets need Taskonomy's images; derived targets take any image source."""
    if images not in IMAGE_SOURCES:
        raise UserError(f"unknown image source '{images}'; choose from {', '.join(IMAGE_SOURCES)}")
    real = [t.name for t in tasks if not t.derived]
    if real and images != "taskonomy":
        raise UserError(
            f"{', '.join(real[:3])} {'is a Taskonomy task' if len(real) == 1 else 'are Taskonomy tasks'}: "
            f"it needs --images taskonomy (a Taskonomy tree), not {images}; the derived set "
            "taskonomy-2d runs on any images"
        )


def _check_registry() -> None:
    """UserErrors, not asserts (``python -O`` would skip them)."""
    fix = "; fix it in common/dense_tasks.py"
    for key, t in DENSE_TASKS.items():
        require(key == t.name, f"dense task registered under '{key}' is named '{t.name}'" + fix)
        require(t.channels in (1, 3), f"dense task {t.name}: channels must be 1 or 3 (grey or RGB PNGs)" + fix)
    for set_name, names in DENSE_TASK_SETS.items():
        require(set_name in DEFAULT_IMAGES, f"dense task set '{set_name}' has no default image source" + fix)
        for name in names:
            require(name in DENSE_TASKS, f"dense task set '{set_name}' names unknown task '{name}'" + fix)


_check_registry()
