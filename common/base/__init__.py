"""The ground floor: what every script and every room uses, with no step code and no torch but ``device``.

cli      flags shared by every script, and the one-line error handling (``run``)
errors   ``UserError`` and the input checks
names    the registries' names, importable without torch (for ``--help``)
device   ``--device``
"""
