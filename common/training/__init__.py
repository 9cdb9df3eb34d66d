"""Training (step 1): the algorithm, its accelerator settings, keyed checkpoints, the step's runs.

train        the training algorithm of every network (Adam; accuracies) (keyed code)
accel        bf16 autocast / TF32 on accelerators, and the retired precision of before
checkpoints  one keyed checkpoint per (preset, arch, task, seed): train or load, metrics tables
step         the body of ``train_task_<dataset>.py``: every task x seed of a dataset
"""
