"""Keep pytensor's generated numba sources in one temporary folder, removed at exit.

PyTensor's numba backend writes the source of every function it generates to a
temporary file (``NamedTemporaryFile(delete=False)`` in ``pytensor.link.utils`` and
``pytensor.link.numba.cache``) and never deletes it: about 50 files per fit, also when
every function is loaded from numba's disk cache (measured on the bundled cohort, pytensor
2.38). On a server running many fits they pile up in ``/tmp``. The files are only read
while this process compiles (numba looks up source lines; the cache is keyed by hash, not
by file), so :func:`contain` sends them to one folder per process, removed when the
process exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

#: the pytensor modules whose module-level ``NamedTemporaryFile`` writes the sources
MODULES = ("pytensor.link.utils", "pytensor.link.numba.cache")

_STATE: dict = {"pid": None, "folder": None}


def folder() -> str | None:
    """This process's folder of generated sources (``None`` until one is written)."""
    return _STATE["folder"] if _STATE["pid"] == os.getpid() else None


def _named_temporary_file(*args, **kwargs):
    if _STATE["pid"] != os.getpid():                  # first source of this process
        _STATE.update(pid=os.getpid(),
                      folder=tempfile.mkdtemp(prefix="footdrop-bayes-pytensor-"))
        atexit.register(_remove, _STATE["folder"], os.getpid())
    kwargs.setdefault("dir", _STATE["folder"])
    return tempfile.NamedTemporaryFile(*args, **kwargs)


def _remove(path: str, pid: int) -> None:
    if os.getpid() == pid:                             # not from a forked child
        shutil.rmtree(path, ignore_errors=True)


def contain() -> None:
    """Send pytensor's generated sources to :func:`folder` from now on (idempotent).

    A pytensor without these module attributes is left as it is.
    """
    import importlib

    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "NamedTemporaryFile", None) is tempfile.NamedTemporaryFile:
            module.NamedTemporaryFile = _named_temporary_file
