"""Which engine builds a cohort, and the inputs each takes (for ``Cohort.from_visits``).

``engine="pandas"`` (the default) holds every visit in memory and returns one row per
patient; ``engine="dask"`` (:mod:`footdrop_bayes.cohort_dask`) works out of core and
returns the collapsed cohort. Both take DataFrames, paths and glob patterns of Parquet /
CSV files; Dask is imported only when ``engine="dask"`` is asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

ENGINES = ("pandas", "dask")
#: rows of the patients table the Dask engine reads to infer factors and covariates
#: when neither is given
ROLE_SAMPLE = 50_000


def check_engine(engine: str) -> None:
    """Raise a :class:`DataError` for an unknown engine."""
    if engine not in ENGINES:
        raise DataError(f"engine={engine!r} is not one of {', '.join(ENGINES)}")


def _is_path(obj) -> bool:
    return isinstance(obj, str | Path) or (
        isinstance(obj, list | tuple) and all(isinstance(x, str | Path) for x in obj))


def read_input(obj, name: str, default_name: str, engine: str):
    """``(table, name)``: paths read (pandas) or kept (dask); the name defaults to the path."""
    if _is_path(obj):
        if name == default_name:
            name = str(obj) if not isinstance(obj, list | tuple) else ", ".join(map(str, obj))
        if engine == "pandas":
            from .io import read_table

            items = list(obj) if isinstance(obj, list | tuple) else [obj]
            obj = pd.concat([read_table(p) for p in items], ignore_index=True)
        return obj, name
    if engine == "pandas" and type(obj).__module__.startswith("dask"):
        raise DataError(f"{name}: a Dask DataFrame needs engine='dask'")
    return obj, name


def dask_from_visits(cls, visits, patients, *, factors, covariates, reference, pt,
                     time_unit, max_patterns, **kw):
    """A collapsed :class:`~footdrop_bayes.Cohort` built by the Dask engine."""
    from .cohort_dask import MAX_PATTERNS, dask_visit_patterns, import_dask, to_dask
    from .cohort_patterns import collapsed_cohort
    from .timescale import time_unit_name

    _, dd = import_dask()
    unit = time_unit_name(time_unit)
    roles = None
    if factors is None and covariates is None:
        from .cohort import _roles

        sample = to_dask(patients, dd).head(ROLE_SAMPLE, npartitions=-1)
        factors, covariates, roles = _roles(sample, kw["id_col"], None, None, pt)
    factors, covariates = list(factors or []), list(covariates or [])
    patterns, grid, follow_up, excluded, notes = dask_visit_patterns(
        visits, patients, factors=factors, covariates=covariates, pt=pt, unit=unit,
        max_patterns=max_patterns or MAX_PATTERNS, **kw)
    return collapsed_cohort(cls, patterns, factors=factors, covariates=covariates, table=pt,
                            reference=reference, grid=grid, follow_up=follow_up,
                            time_unit=unit, excluded=excluded, notes=notes, roles=roles)


def coarsened(cohort, coarsen: dict, max_patterns: int | None = None):
    """A pandas-engine cohort with numeric covariates rounded and then collapsed."""
    from .cohort_dask import MAX_PATTERNS

    cov = cohort.covariates.copy()
    unknown = [c for c in coarsen if c not in cohort.numeric]
    if unknown:
        raise DataError(f"coarsen= names columns that are not numeric covariates: {unknown} "
                        f"(numeric covariates: {list(cohort.numeric) or 'none'})")
    for col, step in coarsen.items():
        if not (np.isfinite(step) and step > 0):
            raise DataError(f"coarsen={{{col!r}: {step!r}}}: the step must be a positive number")
        cov[col] = (cov[col] / step).round() * step
    out = cohort._like(cohort.intervals, cov, cohort.factors, cohort.numeric).collapse()
    budget = max_patterns or MAX_PATTERNS
    if len(out.intervals) > budget:
        ranked = sorted(cohort.numeric, key=lambda c: -cov[c].nunique())
        raise DataError(f"{len(out.intervals):,} distinct (covariate pattern, interval) rows, "
                        f"more than the budget of {budget:,} (max_patterns=); the columns "
                        f"with most distinct values: "
                        f"{', '.join(f'{c!r} ({cov[c].nunique():,} values)' for c in ranked)}")
    return out


# ---------------------------------------------------------------- command line
def add_engine_args(p) -> None:
    """``--engine``, ``--scheduler``, ``--coarsen``, ``--max-patterns`` (see docs/cli.md)."""
    p.add_argument("--engine", default="pandas", choices=list(ENGINES),
                   help="pandas (default: tables in memory) or dask (Parquet/CSV globs "
                   "larger than memory, out of core; a collapsed cohort)")
    p.add_argument("--scheduler", default=None, help="with --engine dask: 'local' for a "
                   "new LocalCluster, or the address of a running Dask cluster "
                   "(tcp://host:8786); default the threaded scheduler")
    p.add_argument("--coarsen", default=None, help="round numeric covariates before "
                   "collapsing, e.g. age=1,delay=0.5")
    p.add_argument("--max-patterns", type=int, default=None, help="budget of distinct "
                   "(covariate pattern, interval) rows of a collapsed cohort")


def parse_coarsen(text: str | None) -> dict[str, float] | None:
    """``"age=1,delay=0.5"`` -> ``{"age": 1.0, "delay": 0.5}``; a DataError if not."""
    if not text:
        return None
    from .options import parse_assignments

    try:
        pairs = parse_assignments(text, "--coarsen")
        out = {k: float(v) for k, v in pairs.items()}
    except ValueError as exc:
        raise DataError(f"--coarsen: expected NAME=STEP[,NAME=STEP...] with positive "
                        f"numbers, got {text!r} ({exc})") from exc
    bad = [k for k, v in out.items() if not (np.isfinite(v) and v > 0)]
    if bad:
        raise DataError(f"--coarsen: the step of {bad} must be a positive number")
    return out


def _engine_setup(args, roles_source):
    """The engine keyword arguments of the command line, and for the Dask engine the
    first :data:`ROLE_SAMPLE` rows of ``roles_source`` (for inferring roles; ``None``
    with the pandas engine, which reads the tables itself)."""
    engine = getattr(args, "engine", "pandas")
    kwargs = {"engine": engine, "coarsen": parse_coarsen(getattr(args, "coarsen", None)),
              "max_patterns": getattr(args, "max_patterns", None)}
    if engine == "dask":
        from .cohort_dask import import_dask, to_dask

        _, dd = import_dask()
        sample = to_dask(roles_source, dd, args.id_col).head(ROLE_SAMPLE, npartitions=-1)
        kwargs["scheduler"] = args.scheduler
        return kwargs, sample
    if getattr(args, "scheduler", None):
        raise DataError("--scheduler needs --engine dask")
    return kwargs, None


def cli_tables(args):
    """``(visits, patients, roles_table, engine_kwargs)`` for ``Cohort.from_visits``.

    The pandas engine reads the tables (paths or globs); the Dask engine passes the paths
    on and gives the first :data:`ROLE_SAMPLE` patient rows for inferring roles.
    """
    kwargs, sample = _engine_setup(args, args.patients)
    if sample is not None:
        return args.visits, args.patients, sample, kwargs
    from .io import read_table

    patients = read_table(args.patients)
    return read_table(args.visits), patients, patients, kwargs


def cli_interval_table(args, read_table):
    """``(source, roles_table, engine_kwargs)`` for ``Cohort.from_intervals`` from
    ``--intervals``: the pandas engine reads the table (a path or glob), the Dask engine
    passes the path on and gives the first :data:`ROLE_SAMPLE` rows for inferring roles
    and finding the id column."""
    kwargs, sample = _engine_setup(args, args.intervals)
    if sample is not None:
        return args.intervals, sample, kwargs
    table = read_table(args.intervals)
    return table, table, kwargs
