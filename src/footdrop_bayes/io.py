"""Reading users' tables (CSV, and Parquet / Excel where the reader is installed).

A path may be a glob pattern (``"visits/*.parquet"``): the matching files, in sorted
order, are read and stacked into one table (all of one format).
"""

from __future__ import annotations

import glob
from pathlib import Path

import pandas as pd

from .errors import DataError

_READERS = {".csv": pd.read_csv, ".tsv": lambda p: pd.read_csv(p, sep="\t"),
            ".parquet": pd.read_parquet, ".xlsx": pd.read_excel, ".xls": pd.read_excel}


def is_pattern(path) -> bool:
    """True when ``path`` is a glob pattern (``*``, ``?`` or ``[``)."""
    return isinstance(path, str | Path) and glob.has_magic(str(path))


def expand_paths(path) -> list[Path]:
    """The files a path, a glob pattern or a list of them names, checked and sorted.

    Raises
    ------
    DataError
        A pattern that matches nothing, a missing file, or files of different formats.
    """
    items = list(path) if isinstance(path, list | tuple) else [path]
    files: list[Path] = []
    for item in items:
        if is_pattern(item):
            found = sorted(Path(p) for p in glob.glob(str(item)) if Path(p).is_file())
            if not found:
                raise DataError(f"{item}: no files match this pattern")
            files += found
        else:
            p = Path(item)
            if not p.is_file():
                raise DataError(f"{p}: no such file")
            files.append(p)
    kinds = {p.suffix.lower() for p in files}
    if len(kinds) > 1:
        raise DataError(f"{path}: the files mix formats ({', '.join(sorted(kinds))}); give "
                        "files of one format")
    return files


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table by its file extension; raise :class:`DataError` naming the file.

    A glob pattern reads every matching file and stacks them (rows in file order).
    """
    if is_pattern(path):
        files = expand_paths(path)
        return pd.concat([read_table(p) for p in files], ignore_index=True)
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unknown table format {path.suffix!r}; use "
                        f"{', '.join(sorted(_READERS))}")
    try:
        return reader(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading {path.suffix} files needs an optional package: "
                        f"{exc}") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: could not be read as a table: {exc}") from exc
