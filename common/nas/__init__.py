"""NAS (step 3): the search space, FUSE and random search, the task-aware space, runs and the table.

ops         the op table of a cell's edges (keyed code, with ``space``)
space       cells, genotypes, the search space and the network skeleton (keyed code, with ``ops``)
fuse        FUSE and random search (keyed code)
task_space  the closest task's cell -> the task-aware search space
keys        what a search and a retraining depend on: their keys
runs        every search and retraining of ``nas_fuse.py`` as a keyed record
table       the NAS table of a target (CSV, Markdown)
"""
