"""Observed (Kaplan–Meier) recovery proportions, shown next to the model's."""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter


def km_recovery(durations: pd.Series, events: pd.Series, times, interval: float = 0.95
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan–Meier proportion recovered by each time, with its confidence interval.

    Parameters
    ----------
    durations : Series
        Time of the first recovered visit, or of the last visit if never recovered.
    events : Series of bool
        Recovery observed.
    times : sequence of float
        Times at which to read the curve (a step function, right-continuous).
    interval : float
        Confidence level (lifelines' exponential Greenwood interval).

    Returns
    -------
    km, low, high : ndarray
        ``1 - S(t)`` and its interval at each time; NaN for an empty group.
    """
    times = np.asarray(times, dtype=float)
    if len(durations) == 0:
        nan = np.full(times.shape, np.nan)
        return nan, nan.copy(), nan.copy()
    kmf = KaplanMeierFitter(alpha=1 - interval)
    kmf.fit(np.asarray(durations, float), np.asarray(events, bool))
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    idx = np.searchsorted(sf.index.to_numpy(float), times, side="right") - 1
    idx = np.clip(idx, 0, None)
    s = sf.to_numpy()[idx]
    s_low = ci.iloc[:, 0].to_numpy()[idx]
    s_high = ci.iloc[:, 1].to_numpy()[idx]
    return 1 - s, 1 - s_high, 1 - s_low
