"""lifelines' Stanford heart transplant data as visit records with a time-varying transplant.

Crowley & Hu (1977): 103 patients accepted into the Stanford heart transplant program,
followed in days for death (the event); ``transplant`` switches from 0 to 1 on the day of
the transplant, ``age`` (years - 48), ``year`` (of acceptance, since 1 Nov 1967) and
``surgery`` (prior bypass surgery, 0/1) are baseline covariates. lifelines ships it in
the long (start, stop] format (``load_stanford_heart_transplants``).

Written as visit records: a visit at day 0 (transplant 0), a visit on the day of the
transplant recording ``transplant = 1``, a visit the day before death (not yet dead) and
one on the day of death (or at censoring). A death on day *t* then lies in ``(t - 1, t]``
on the day grid, and the transplant acts from its day on — the grouped-time view of the
same data. One transplant time is not a whole day (patient 38, day 4.5, died day 5): it
is placed at day 4, so the transplant acts on the day of death as in lifelines' rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Baseline covariates of the Stanford data (all numeric; ``surgery`` 0/1).
STANFORD_COVARIATES = ["age", "year", "surgery"]


def load_stanford_visits() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Stanford heart transplant data as ``(visits, patients)`` tables.

    Returns
    -------
    visits : DataFrame
        ``patient_id, day, recovered`` (here: died), ``transplant`` (0/1, acting from the
        visit on).
    patients : DataFrame
        ``patient_id`` (lifelines' ``id``), ``age``, ``year``, ``surgery`` and
        ``transplant`` (0 at acceptance).
    """
    from lifelines.datasets import load_stanford_heart_transplants

    d = load_stanford_heart_transplants().sort_values(["id", "start"])
    rows, patients = [], []
    for pid, g in d.groupby("id", sort=True):
        first = g.iloc[0]
        patients.append({"patient_id": int(pid), "age": first["age"], "year": first["year"],
                         "surgery": int(first["surgery"]), "transplant": 0})
        visits = {0.0: (False, 0)}
        tx = g.loc[g["transplant"] == 1, "start"]
        if len(tx):
            visits[float(np.floor(tx.iloc[0]))] = (False, 1)
        last = g.iloc[-1]
        end, died, current = float(last["stop"]), bool(last["event"]), int(last["transplant"])
        if died and end - 1 > max(visits):
            visits[end - 1] = (False, current)
        visits[end] = (died, current)
        rows += [(int(pid), t, s, v) for t, (s, v) in sorted(visits.items())]
    visits = pd.DataFrame(rows, columns=["patient_id", "day", "recovered", "transplant"])
    return visits, pd.DataFrame(patients)
