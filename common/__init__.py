"""ftd-nas: the library behind the scripts, on three floors (each room's ``__init__`` maps its modules).

What users edit stays at the front door (registries on the ground floor; ``library`` uses the fisher room):
    tasks        the task registry (and the task sets)
    datasets     the dataset registry (files, classes, normalisation)
    dense_tasks  the dense (Taskonomy) task registry
    presets      the budgets of each preset
    network_budgets  the papers' networks' budgets on a preset (cpu: ResNet-18, VGG-16, DenseNet-121 on 2 cores)
    experiments  what the papers' steps compute and the report shows (task sets, NAS targets, matrices)
    steps        the papers' steps in order, as plain data: what reproduce.py runs
    library      the Fisher and the distance of your own models and loaders

Ground floor (with the registries above; none of it imports anything above this floor):
    base        flags, errors, the registries' names, the device
    store       the keyed cache, the registry of keyed code, recorded sources, paths, atomic writes,
                seals and their verification, provenance

Rooms (the steps' code; they import the ground floor and each other, never the top floor):
    data        decoding datasets, task splits, batches
    networks    the ε-networks and their size
    training    the training algorithm, checkpoints, step 1
    fisher      Fisher estimators, the Fisher store, distances, step 2's matrices
    nas         search space, FUSE, the task-aware space, step 3
    transfer_learning  step 4: fine-tuning runs and their table
    transferability  the transferability benchmark: scorers, ground truths, metrics
    dense       the dense tasks' data, networks, training, Fisher, runs
    studies     rank comparisons, published matrices, consistency and log-det studies, the atlas
    report      REPORT.md, README blocks, claims, figures

Top floor (imports the rooms at the top of its modules; nothing below imports it), in three tiers, each
importing only the tiers below it (``tests/test_house.py`` checks every arrow):
    run         launching: ``launch``, ``launchers``, ``plan``, ``throughputs`` (how a step runs its jobs)
    */step.py   steps: each room's step module (``*/step.py``, ``dense/steps.py``, ``studies/*_step.py``: the
                bodies of the step scripts), which builds its jobs for ``run.launch.run_step``
    run         the runner: ``pipeline`` (reproduce.py's steps in order)
"""

import os as _os
import sys as _sys

from common.store.sources import install as _install

# progress bars only on a terminal: redirected to a file they are thousands of carriage returns. tqdm
# reads TQDM_* defaults when it is imported, so this is set before any submodule imports it.
if not _sys.stderr.isatty():
    _os.environ.setdefault("TQDM_DISABLE", "1")

_install(__name__)  # before any other submodule loads: keys digest the code that runs (common/store/sources.py)

from common.base.errors import install_excepthook as _install_excepthook  # noqa: E402

_install_excepthook()  # a registry error at import time is one ``error:`` line too, not a traceback
