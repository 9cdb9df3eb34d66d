"""ftd-nas: the library behind the scripts, in rooms (each room's ``__init__`` maps its modules).

What users edit stays at the front door:
    tasks        the task registry (and the task sets)
    datasets     the dataset registry (files, classes, normalisation)
    dense_tasks  the dense (Taskonomy) task registry
    presets      the budgets of each preset
    experiments  what the papers' steps compute and the report shows (task sets, NAS targets, matrices)

Rooms:
    data        decoding datasets, task splits, batches
    networks    the ε-networks and their size
    training    the training algorithm, checkpoints, step 1
    fisher      Fisher estimators, the Fisher store, distances, step 2's matrices
    nas         search space, FUSE, the task-aware space, step 3
    transfer_learning  step 4: fine-tuning runs and their table
    dense       the dense tasks' data, networks, training, Fisher, runs
    studies     rank comparisons, published matrices, consistency and log-det studies, the atlas
    report      REPORT.md, README blocks, claims, figures
    run         flags, errors, devices, launchers, plans, reproduce.py's steps
    store       the keyed cache, recorded sources, paths, atomic writes, provenance
"""
from common.store.sources import install as _install

_install(__name__)   # before any other submodule loads: keys hash the code that runs (common/store/sources.py)
