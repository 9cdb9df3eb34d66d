"""ftd-nas: the library behind the scripts. One module per concept:

tasks (registry), datasets (raw files -> decoded tensors, data identity), data (task splits,
batches), models (networks), presets, train (the training algorithm), checkpoints (keyed
ε-network checkpoints), train_runs (step 1), fisher (diagonal Fisher estimators), fishers (keyed
Fisher store), distance (FTD / log-det), ftd (step 2: distance matrices and their manifests),
published (the papers' matrices), ranking (rank comparison), logdet_study, nas (search space,
cells), fuse (FUSE and random search), task_space (closest task -> space), nas_keys, nas_runs
(step 3 runs and records), nas_report (NAS table), plots, paths (results layout), cache (the keyed
cache), io (atomic writes), cli (shared flags), errors (user errors, input checks), device,
provenance, sources (the source each module was executed from, for the keys).
"""
import os as _os
import sys as _sys

from .sources import install as _install

# progress bars only on a terminal: redirected to a file they are thousands of carriage returns. tqdm
# reads TQDM_* defaults when it is imported, so this is set before any submodule imports it.
if not _sys.stderr.isatty():
    _os.environ.setdefault("TQDM_DISABLE", "1")

_install(__name__)   # before any other submodule loads: keys hash the code that runs (common/sources.py)

from .errors import install_excepthook as _install_excepthook

_install_excepthook()   # a registry error at import time is one ``error:`` line too, not a traceback
