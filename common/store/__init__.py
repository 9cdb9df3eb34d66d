"""The results store: the keyed cache, the source of the code that runs, paths, atomic writes, provenance.

sources     the source each ``common`` module was executed from (installed first, by ``common/__init__.py``)
cache       ``cached``: every derived file carries the key of everything it depends on; ``code_version``
paths       where every file of the suite lives
io          atomic writes
provenance  what produced a result (versions, device, commit)
code_identity  the registry of keyed code (``KEYED_CODE``) and each concept's identity: a digest of what it does
seals       ``<table>.sha256`` beside every result table, written by the code that writes the table
verify      ``collect.py --verify``: every result is the one its run wrote, made by today's code
"""
