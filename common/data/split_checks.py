"""The smallest splits the suite accepts, checked before any training or Fisher (issue 27).

A test accuracy on two images, or a Fisher averaged over one, is written like any other result and
read as one. So each split a step reads has a stated minimum, per label and in total, and a split
below it stops the step with one line that names the task, the split and the sizes:

* test: at least ``MIN_TEST_PER_LABEL`` images of every label and ``MIN_TEST`` in all (the accuracy);
* validation: at least ``MIN_VAL`` images in all (model selection and the FUSE search read it; an
  empty one gives non-finite metrics after the whole training);
* dense tasks: a validation and a test split of at least ``MIN_DENSE`` images (a single Taskonomy
  building of a few views leaves the validation split empty);
* Fisher data: at least ``MIN_FISHER`` images of the target's Fisher split. Fewer than the preset
  asks for (``--fisher-samples``) is allowed: the matrix manifest records the number actually used
  per target (``fisher_samples_used``, in its value; the key keeps the number asked for).

The minimums are deliberately low (a tiny fabricated tree still runs the code path); they catch the
degenerate splits, not the small ones.
"""

from __future__ import annotations

from common.base.errors import UserError

MIN_TEST_PER_LABEL = 2
MIN_TEST = 10
MIN_VAL = 2
MIN_FISHER = 2
MIN_DENSE = 1  # dense tasks: a non-empty validation and test split (MSEs of nothing are NaN)


def _label_counts(y, num_classes: int) -> list[int]:
    return y.bincount(minlength=num_classes).tolist()


def check_task_splits(task, splits: dict, *, fix: str) -> None:
    """One error line when ``task``'s test or validation split is below the minimum; ``fix`` says what to do."""
    test = splits["test"]
    counts = _label_counts(test.y, task.num_classes)
    if len(test) < MIN_TEST or min(counts) < MIN_TEST_PER_LABEL:
        worst = min(range(len(counts)), key=counts.__getitem__)
        raise UserError(
            f"{task.name}: its test split has {len(test)} image(s), {counts[worst]} of label {worst} "
            f"({task.class_names[worst]}); a test accuracy needs at least {MIN_TEST_PER_LABEL} of every "
            f"label and {MIN_TEST} in all (common/data/split_checks.py): {fix}"
        )
    if len(splits["val"]) < MIN_VAL:
        raise UserError(
            f"{task.name}: its validation split has {len(splits['val'])} image(s), fewer than "
            f"{MIN_VAL} (common/data/split_checks.py): {fix}"
        )


def check_fisher_data(task, n_used: int, split: str, *, fix: str) -> None:
    """One error line when the target's Fisher data is below the minimum."""
    if n_used < MIN_FISHER:
        raise UserError(
            f"{task.name}: its {split} split holds {n_used} image(s) for the Fisher; it needs at least "
            f"{MIN_FISHER} (common/data/split_checks.py): {fix}"
        )


def check_dense_splits(task, splits: dict, *, fix: str) -> None:
    """Dense tasks: a validation and a test split of at least ``MIN_DENSE`` images each."""
    for name in ("val", "test"):
        n = len(splits[name])
        if n < MIN_DENSE:
            raise UserError(
                f"{task.name}: its {'validation' if name == 'val' else 'test'} split has {n} image(s), "
                f"fewer than {MIN_DENSE} (common/data/split_checks.py): {fix}"
            )
