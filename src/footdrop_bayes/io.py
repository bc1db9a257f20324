"""Reading users' tables (CSV, and Parquet / Excel where the reader is installed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError

_READERS = {".csv": pd.read_csv, ".tsv": lambda p: pd.read_csv(p, sep="\t"),
            ".parquet": pd.read_parquet, ".xlsx": pd.read_excel, ".xls": pd.read_excel}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table by its file extension; raise :class:`DataError` naming the file."""
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
