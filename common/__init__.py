"""ftd-nas: the library behind the scripts. One module per concept:

tasks (registry), data (datasets, splits, batches), models (networks), presets, train,
fisher (diagonal Fisher estimators), distance (FTD / log-det), ftd (distance matrices),
plots, paths (results layout), io (atomic writes), cli (shared flags), errors.
"""
