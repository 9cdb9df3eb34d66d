"""The source text each ``common`` module was executed from, recorded when it is imported.

Keys name the code a result came from by a digest of its definitions (``common/store/code_identity.py``).
Reading the files when the key is made would be wrong when a file is edited while a run is going:
the process would key results of the code in memory with the digest of the new file. So ``common``'s
modules are loaded through ``RecordingLoader``, which reads each source file once, executes exactly
those bytes and keeps them in ``SOURCES``; ``code_identity`` digests what was executed.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys

SOURCES: dict[str, bytes] = {}  # module name (e.g. "common.fisher.estimators") -> the bytes it was executed from


class RecordingLoader(importlib.machinery.SourceFileLoader):
    def exec_module(self, module) -> None:
        source = self.get_data(self.path)
        SOURCES[module.__name__] = source
        exec(compile(source, self.path, "exec", dont_inherit=True), module.__dict__)


class RecordingFinder:
    """Finds ``<package>.<name>`` modules as the default path finder does, with ``RecordingLoader``."""

    def __init__(self, package: str):
        self.package = package

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.package + ".") or path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = RecordingLoader(fullname, spec.origin)
        return spec


def install(package: str) -> None:
    if not any(isinstance(f, RecordingFinder) and f.package == package for f in sys.meta_path):
        sys.meta_path.insert(0, RecordingFinder(package))


def source_of(module: str) -> bytes:
    """The bytes ``module`` was executed from in this process (imported now if it was not yet)."""
    if module not in SOURCES:
        importlib.import_module(module)
    if module not in SOURCES:  # imported before the finder was installed: read the file
        with open(sys.modules[module].__file__, "rb") as f:
            SOURCES[module] = f.read()
    return SOURCES[module]
