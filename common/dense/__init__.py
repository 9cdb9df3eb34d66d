"""Dense tasks (Taskonomy and the derived 2-D targets): data, networks, training, Fisher, runs, transfer.
The dense task registry itself is at the front door: ``common/dense_tasks.py``.

taskonomy        reading a Taskonomy tree, paired by (building, point, view) (keyed code)
derived_targets  dense targets computed from RGB images alone (keyed code)
data             (input, target) splits of a dense task (keyed code)
models           encoder-decoder networks (keyed code)
train            training of the dense networks (keyed code)
fisher           the diagonal Fisher of a regression network (keyed code)
runs             the dense steps' keyed checkpoints, Fishers and matrices (keyed code)
transfer_runs    fine-tuning runs between dense tasks (keyed code)
steps            the bodies of ``train_task_taskonomy.py`` and ``fisher_distance_taskonomy.py``
"""
