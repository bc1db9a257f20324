"""lifelines' Rossi recidivism data as weekly visit records (an acceptance test dataset).

Rossi et al. (1980), as in Fox & Weisberg's *An R Companion to Applied Regression*:
432 prisoners followed for 52 weeks after release; ``arrest`` is the event, recorded in
whole weeks (``week``), with seven numeric covariates (``fin, age, race, wexp, mar, paro,
prio``; the yes/no ones coded 0/1). Written as a clinic would record it — one visit per
week from week 1 to the last week seen, ``recovered`` (here: arrested) true only at the
last visit of those arrested — the data go through :meth:`Cohort.from_visits` and the
command line exactly like a visit export. Each arrest in week *w* becomes the interval
``(w - 1, w]``, so the grouped-time model should reproduce R's ``coxph`` (Efron ties) on
these data: it does, within 0.15 Cox standard errors (docs/validation.md).
"""

from __future__ import annotations

import pandas as pd

#: The seven numeric covariates of the Rossi data.
ROSSI_COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


def load_rossi_visits() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rossi's data as ``(visits, patients)`` tables (needs lifelines' bundled copy).

    Returns
    -------
    visits : DataFrame
        ``patient_id, week, recovered``: one row per patient and week 1..``week``;
        ``recovered`` = ``arrest`` at the last week, False before.
    patients : DataFrame
        ``patient_id`` (``R001``... in lifelines' row order) and the seven covariates
        (:data:`ROSSI_COVARIATES`).
    """
    from lifelines.datasets import load_rossi

    r = load_rossi()
    ids = [f"R{i:03d}" for i in range(1, len(r) + 1)]
    patients = pd.DataFrame({"patient_id": ids, **{c: r[c].to_numpy()
                                                   for c in ROSSI_COVARIATES}})
    rows = [(pid, w, bool(arrest) and w == last)
            for pid, last, arrest in zip(ids, r["week"], r["arrest"], strict=True)
            for w in range(1, int(last) + 1)]
    visits = pd.DataFrame(rows, columns=["patient_id", "week", "recovered"])
    return visits, patients
