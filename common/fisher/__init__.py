"""Fisher and distance (step 2): the diagonal Fisher of a network, the task distances, the matrices.

estimators  diagonal Fisher estimators (per-sample empirical, mc, legacy) (keyed code)
store       the keyed Fisher store F_{a,b} of (source network, target data) (keyed code)
distance    the task distances between two Fishers (FTD, log-det, ...) (keyed code)
matrices    step 2: distance matrices, their CSVs and manifests, and reading them back
"""
