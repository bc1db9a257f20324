"""An output folder that is written whole or not at all.

Results go to a fresh sibling folder first; only when every file is written does it take
the place of ``out``. An earlier run's folder is never half-overwritten: without
``overwrite=True`` a non-empty ``out`` is an error.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def check_output_folder(out: str | Path, *, overwrite: bool = False) -> Path:
    """Raise ``FileExistsError`` unless ``out`` can take new results.

    ``out`` may be missing or empty; a non-empty folder needs ``overwrite``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out}: folder is not empty (an earlier run?); choose another "
                              "folder or ask to replace it (--overwrite on the command line, "
                              "overwrite=True in Python)")
    return out


@contextmanager
def output_folder(out: str | Path, *, overwrite: bool = False):
    """Yield a staging folder that replaces ``out`` when the block succeeds.

    Raises
    ------
    FileExistsError
        When ``out`` exists, is not empty and ``overwrite`` is False.
    """
    out = check_output_folder(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        stage.rename(out)
