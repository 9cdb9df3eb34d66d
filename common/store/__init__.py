"""The results store: the keyed cache, the source of the code that runs, paths, atomic writes, provenance.

sources     the source each ``common`` module was executed from (installed first, by ``common/__init__.py``)
cache       ``cached``: every derived file carries the key of everything it depends on; ``code_version``
paths       where every file of the suite lives
io          atomic writes
provenance  what produced a result (versions, device, commit)
"""
