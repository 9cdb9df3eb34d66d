"""Fisher and distance (step 2): the diagonal Fisher of a network, the task distances, the matrices.

estimators  diagonal Fisher estimators (per-sample empirical, mc, legacy) (keyed code)
store       the keyed Fisher store F_{a,b} of (source network, target data) (keyed code)
distance    the task distances between two Fishers (FTD, log-det, ...) (keyed code)
matrices      step 2: the Fishers of every (source, target) pair and the distance matrices over seeds
matrix_files  a matrix's file names, manifest key, CSVs and heatmaps, and reading them back with checks
step          the body of fisher_distance.py: the Fishers as launcher jobs, then the matrix files
"""
