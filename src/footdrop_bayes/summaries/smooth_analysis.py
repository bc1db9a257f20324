"""The smooth-term part of an analysis: its tables, written as one unit.

:func:`smooth_analysis` gathers, for a fitted model with smooth terms, what the report
shows (:mod:`footdrop_bayes.report_smooth`): which terms are smooth and how wiggly their
fits are, the partial effects on a grid, recovery by g-computation at chosen values and
the leave-one-patient-out comparison with the linear fits. Each piece is computed
separately: one that fails is left empty and named, the others are kept.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import smooth as ss
from .smooth_compare import smooth_comparison


@dataclass
class SmoothAnalysis:
    """Tables of the smooth terms (see :func:`smooth_analysis`)."""

    terms: pd.DataFrame
    partial: pd.DataFrame
    recovery: pd.DataFrame
    comparison: pd.DataFrame | None
    at: dict
    failed: list = field(default_factory=list)

    def write(self, out: Path) -> None:
        """``smooth_terms.csv``, ``partial_effects.csv``, ``smooth_recovery.csv`` and
        (when run) ``smooth_comparison.csv`` in ``out`` (Markdown / LaTeX in
        ``out/tables``)."""
        from .export import export_table

        out = Path(out)
        tables = {"smooth_terms": self.terms, "partial_effects": self.partial,
                  "smooth_recovery": self.recovery, "smooth_comparison": self.comparison}
        for name, df in tables.items():
            if df is None:
                continue
            df.to_csv(out / f"{name}.csv", index=False)
            if name != "partial_effects":        # 60 rows per term: CSV only
                export_table(df, out / "tables" / name, formats=("md", "tex"))


def default_at(model) -> dict:
    """Values for recovery at chosen values: each smooth term's 10th, 50th and 90th
    percentiles in the cohort."""
    out = {}
    for t in model.smooth:
        x = model.cohort.covariates[t].to_numpy(float)
        out[t] = [float(v) for v in np.quantile(x, [0.1, 0.5, 0.9])]
    return out


def smooth_analysis(model, *, at: Mapping[str, Sequence[float]] | None = None,
                    compare: bool = True, interval: float = 0.95,
                    random_seed: int | None = None) -> SmoothAnalysis:
    """Everything the report says about a model's smooth terms.

    Parameters
    ----------
    model : RecoveryModel
        A fitted model with smooth terms.
    at : mapping, optional
        Values per numeric covariate for recovery by g-computation (default
        :func:`default_at`).
    compare : bool
        Refit with each smooth term linear and compare by PSIS-LOO
        (:func:`~footdrop_bayes.summaries.smooth_compare.smooth_comparison`).
    interval : float
    random_seed : int, optional
        Seed of the refits.
    """
    at = default_at(model) if at is None else {k: list(v) for k, v in at.items()}
    failed = []

    def guarded(name, compute, empty):
        try:
            return compute()
        except Exception as exc:      # a late failure must not lose the fit
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
            warnings.warn(f"smooth terms: {name} failed and is left out: "
                          f"{type(exc).__name__}: {exc}", stacklevel=3)
            return empty

    terms = guarded("terms table", lambda: ss.smooth_terms_table(model, interval),
                    pd.DataFrame())
    partial = guarded("partial effects", lambda: ss.partial_effects(model, interval=interval),
                      pd.DataFrame(columns=ss.PARTIAL_COLUMNS))
    recovery = guarded("recovery at values",
                       lambda: ss.recovery_at(model, at, interval=interval), pd.DataFrame())
    comparison = None
    if compare:
        seed = None if random_seed is None else int(random_seed) + 101
        comparison = guarded("LOO smooth vs linear",
                             lambda: smooth_comparison(model, random_seed=seed), None)
    return SmoothAnalysis(terms, partial, recovery, comparison, at, failed)
