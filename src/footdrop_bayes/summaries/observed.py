"""Observed (Kaplan–Meier) recovery proportions, shown next to the model's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..classical.km import fit_km


def km_recovery(durations: pd.Series, events: pd.Series, times, interval: float = 0.95,
                weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan–Meier proportion recovered by each time, with its confidence interval.

    A thin reader of :func:`footdrop_bayes.classical.km.fit_km` (lifelines, log-log band).

    Parameters
    ----------
    durations : Series
        Time of the first recovered visit, or of the last visit if never recovered.
    events : Series of bool
        Recovery observed.
    times : sequence of float
        Times at which to read the curve (a step function, right-continuous).
    interval : float
        Confidence level.
    weights : array, optional
        Patients per row (a collapsed cohort); default one each.

    Returns
    -------
    km, low, high : ndarray
        ``1 - S(t)`` and its interval at each time; NaN for an empty group.
    """
    times = np.asarray(times, dtype=float)
    t = np.asarray(durations, float)
    grid = np.union1d(np.union1d(t, times), [0.0])
    km = fit_km(t, np.asarray(events, bool), grid, 1 - interval,
                weights=None if weights is None else np.asarray(weights, float)).loc[times]
    return (1 - km["survival"].to_numpy(), 1 - km["survival_high"].to_numpy(),
            1 - km["survival_low"].to_numpy())
