"""Data: the files of a registered dataset decoded into tensors, and the splits of a task.

decode        raw files -> uint8 N x 3 x 32 x 32 tensors, cached and keyed by the files' content (its decoders: keyed code)
splits        a task's train / validation / test splits (relabelled, balanced) and the batch pipeline (keyed code)
class_names   the class names a dataset's files carry, checked against its registry entry
split_checks  the minimum sizes of test, validation and Fisher splits, checked before any work
tree_checks   checks of a data tree: a missing --data-root, empty class folders, skipped files, copied test images
"""
