"""The delta of the withdrawal sensitivity analysis: its grid, per-level settings and
how it is written (``-inf``, numbers, ``0``, ``inf``).

See :mod:`footdrop_bayes.summaries.withdrawal_draws` for what delta means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Default grid of delta (log hazard ratio after withdrawal vs the model's hazard).
DEFAULT_DELTAS = (-np.inf, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, np.inf)


@dataclass(frozen=True)
class DeltaSpec:
    """Which delta each withdrawn patient gets.

    ``grid`` is the varied delta; patients at a level of ``factor`` listed in ``fixed``
    keep that level's fixed delta instead (``factor=None``: everyone follows the grid).
    """

    grid: np.ndarray
    factor: str | None = None
    fixed: dict = field(default_factory=dict)
    varied: tuple = ()

    def matrix(self, levels: np.ndarray | None, grid: np.ndarray | None = None) -> np.ndarray:
        """Delta per (profile, grid point) for profiles at ``levels`` of ``factor``."""
        grid = self.grid if grid is None else np.asarray(grid, float)
        n = 1 if levels is None else len(levels)
        out = np.broadcast_to(grid, (n, len(grid))).copy()
        if self.factor is not None and levels is not None:
            for lv, d in self.fixed.items():
                out[levels == lv] = d
        return out

    def who(self) -> str:
        """Which withdrawn patients the varied delta applies to, in words."""
        if self.factor is None:
            return "withdrawn patients"
        return f"withdrawn patients with {self.factor} = {' or '.join(self.varied)}"


def parse_deltas(text: str) -> list[float]:
    """``"-inf,-1,0,1,inf"`` -> floats (for the command line)."""
    try:
        out = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError as exc:
        raise ValueError(f"deltas must be comma-separated numbers, -inf or inf, got "
                         f"{text!r}") from exc
    if not out or any(np.isnan(out)):
        raise ValueError(f"deltas must be comma-separated numbers, -inf or inf, got {text!r}")
    return out


def check_delta_by(cohort, deltas=None, delta_by: str | None = None) -> None:
    """Check ``deltas`` / ``delta_by`` against a cohort before any fitting.

    Raises
    ------
    DataError
        Naming the factor or levels that the cohort does not have, or a malformed grid.
    """
    from ..errors import DataError

    try:
        delta_spec(cohort, deltas, delta_by)
    except ValueError as exc:
        raise DataError(f"withdrawal sensitivity: {exc}") from None


def delta_spec(cohort, deltas=None, delta_by: str | None = None) -> DeltaSpec:
    """Validate ``deltas`` / ``delta_by`` (see :func:`withdrawal_sensitivity`)."""
    if delta_by is None:
        if isinstance(deltas, Mapping):
            raise ValueError("a dict of deltas per level needs delta_by=<factor>")
        grid = np.asarray(DEFAULT_DELTAS if deltas is None else deltas, float).ravel()
        if grid.size == 0 or np.isnan(grid).any():
            raise ValueError("deltas must be numbers, -inf or inf")
        return DeltaSpec(grid=grid)
    cov = cohort.covariates
    if delta_by not in cov.columns:
        raise ValueError(f"delta_by={delta_by!r} is not a column of the cohort "
                         f"({list(cov.columns)})")
    levels = [str(x) for x in pd.unique(cov[delta_by].astype(str))]
    if not isinstance(deltas, Mapping):
        raise ValueError("with delta_by, give deltas as a dict {level: grid or fixed delta}, "
                         "e.g. {'surgery': [-2, -1, 0]} (other levels stay at 0, MAR)")
    bad = [k for k in deltas if str(k) not in levels]
    if bad:
        raise ValueError(f"levels {bad} are not levels of {delta_by!r} ({levels})")
    grids = {str(k): np.asarray(v, float).ravel() for k, v in deltas.items()
             if np.ndim(v) > 0}
    if not grids:
        raise ValueError("with delta_by, at least one level needs a grid of deltas")
    lengths = {len(g) for g in grids.values()}
    if len(lengths) > 1 or any(not np.array_equal(g, next(iter(grids.values())))
                               for g in grids.values()):
        raise ValueError("the levels given a grid of deltas must share the same grid")
    fixed = {lv: 0.0 for lv in levels if lv not in grids}
    fixed |= {str(k): float(v) for k, v in deltas.items() if np.ndim(v) == 0}
    grid = next(iter(grids.values()))
    if np.isnan(grid).any() or any(np.isnan(v) for v in fixed.values()):
        raise ValueError("deltas must be numbers, -inf or inf")
    return DeltaSpec(grid=grid, factor=delta_by, fixed=fixed, varied=tuple(grids))


def format_delta(x: float) -> str:
    """A delta as written in the tables: ``-inf``, ``-0.5``, ``0``, ``inf``."""
    return "" if pd.isna(x) else f"{float(x):g}"


def to_csv(df: pd.DataFrame, path) -> None:
    """Write a withdrawal table with its delta columns as ``-inf``, numbers, ``0``, ``inf``."""
    out = df.copy()
    for col in ("delta", "tipping_delta"):
        if col in out.columns:
            out[col] = out[col].map(format_delta)
    out.to_csv(path, index=False)
