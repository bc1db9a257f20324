"""Analysis options given as text (the CLI) or keywords (Python), checked before any fit.

Each option has a command-line form and a keyword of :func:`~footdrop_bayes.analysis.
analyse` / :func:`~footdrop_bayes.report.run_analysis`; every message names both.

============================  ==========================================================
CLI                           Python
============================  ==========================================================
``--target-accept 0.99``      ``target_accept=0.99`` (``sampler_config["target_accept"]``)
``--retry-target-accept off`` ``retry_target_accept=None``
                              (``sampler_config["retry_target_accept"]``)
``--parameterization          ``parameterization={"clinic": "non-centred"}``
clinic=non-centred``          (``model_config["parameterization"]``)
``--reference cause=trauma``  ``reference={"cause": "trauma"}``
``--per age=10``              ``per={"age": 10}``
``--cox-clinic cluster``      ``group_handling="cluster"``
============================  ==========================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from .cohort import Cohort
from .errors import DataError

PARAMETERIZATIONS = ("auto", "centred", "non-centred", "mixed")
#: ``sampler_config["retry_target_accept"]``'s default, here for the CLI (no PyMC import)
RETRY_TARGET_ACCEPT = 0.99
_SPELLINGS = {"centered": "centred", "non-centered": "non-centred",
              "noncentred": "non-centred", "noncentered": "non-centred",
              "non_centred": "non-centred", "non_centered": "non-centred"}
GROUP_HANDLING = ("strata", "cluster", "ignore")


def parse_assignments(text: str, option: str) -> dict[str, str]:
    """``"a=1,b=2"`` -> ``{"a": "1", "b": "2"}``; ``ValueError`` naming ``option`` if not."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in str(text).split(",")):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"{option}: expected NAME=VALUE[,NAME=VALUE...], got {text!r}")
        if name in out:
            raise ValueError(f"{option}: {name!r} is given twice in {text!r}")
        out[name] = value
    return out


def _choice(value: str, option: str) -> str:
    v = _SPELLINGS.get(value.strip().lower(), value.strip().lower())
    if v not in PARAMETERIZATIONS:
        raise ValueError(f"{option}: unknown parameterisation {value!r}; choose one of "
                         f"{', '.join(PARAMETERIZATIONS)}")
    return v


def parse_parameterization(text: str) -> str | dict[str, str]:
    """``"non-centred"`` (every block) or ``"clinic=non-centred,baseline=centred"``."""
    if "=" not in text:
        return _choice(text, "--parameterization")
    return {k: _choice(v, "--parameterization")
            for k, v in parse_assignments(text, "--parameterization").items()}


def parse_per(text: str) -> dict[str, float]:
    """``"age=10,delay=0.5"`` -> ``{"age": 10.0, "delay": 0.5}`` (positive, finite)."""
    out = {}
    for k, v in parse_assignments(text, "--per").items():
        try:
            x = float(v)
        except ValueError:
            x = float("nan")
        if not math.isfinite(x) or x <= 0:
            raise ValueError(f"--per: {k}={v!r} must be a positive number of units")
        out[k] = x
    return out


def parse_fraction(text: str, example: str = "0.95") -> float:
    """A number strictly between 0 and 1 (``--interval``, ``--target-accept``)."""
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if not 0 < x < 1:
        raise ValueError(f"must be a number between 0 and 1 (e.g. {example}), got {text!r}")
    return x


def parse_interval(text: str) -> float:
    """The mass of a credible interval: a number strictly between 0 and 1."""
    return parse_fraction(text, "0.9")


def parse_target_accept(text: str) -> float:
    """NUTS' target acceptance rate: a number strictly between 0 and 1."""
    return parse_fraction(text, "0.99")


def parse_retry_target_accept(text: str) -> float | None:
    """The target_accept of a retry after divergences: a number in (0, 1), or ``off``."""
    if text.strip().lower() in ("off", "none", "no"):
        return None
    return parse_fraction(text, "0.99")


def check_retry_target_accept(retry) -> None:
    if retry is not None and not (isinstance(retry, (int, float)) and 0 < retry < 1):
        raise DataError("--retry-target-accept / retry_target_accept must lie strictly "
                        f"between 0 and 1 (or be off / None), got {retry!r}")


def model_blocks(factors, group: str | None) -> list[str]:
    """Names of the model's parameter blocks: each factor, the group, ``"baseline"``."""
    return [*factors, *([group] if group else []), "baseline"]


def check_parameterization(parameterization, blocks) -> None:
    """Refuse unknown blocks or choices (``DataError`` naming both ways to set it)."""
    where = "--parameterization / model_config['parameterization']"
    if parameterization is None:
        return
    if isinstance(parameterization, str):
        _checked(parameterization, where)
        return
    if not isinstance(parameterization, Mapping):
        raise DataError(f"{where}: give one choice or a mapping block -> choice, got "
                        f"{parameterization!r}")
    unknown = [b for b in parameterization if b not in blocks]
    if unknown:
        raise DataError(f"{where}: unknown block(s) {unknown}; this model's blocks are "
                        f"{list(blocks)}")
    for v in parameterization.values():
        _checked(v, where)


def _checked(value, where: str) -> None:
    if value not in PARAMETERIZATIONS:
        raise DataError(f"{where}: unknown choice {value!r}; choose one of "
                        f"{', '.join(PARAMETERIZATIONS)}")


def check_target_accept(target_accept) -> None:
    if target_accept is not None and not 0 < float(target_accept) < 1:
        raise DataError(f"--target-accept / target_accept must lie strictly between 0 "
                        f"and 1, got {target_accept!r}")


def check_per(per, covariates) -> None:
    """Refuse ``per`` entries that are not numeric covariates of the model."""
    if not per:
        return
    unknown = [c for c in per if c not in covariates]
    if unknown:
        raise DataError(f"--per / per=: {unknown} are not numeric covariates of the model "
                        f"({list(covariates)})")
    bad = {c: u for c, u in per.items()
           if not isinstance(u, int | float) or not math.isfinite(u) or u <= 0}
    if bad:
        raise DataError(f"--per / per=: units must be positive numbers, got {bad}")


def check_group_handling(group_handling: str) -> None:
    if group_handling not in GROUP_HANDLING:
        raise DataError(f"--cox-clinic / group_handling={group_handling!r}: choose one of "
                        f"{', '.join(GROUP_HANDLING)}")


def apply_reference(cohort: Cohort, reference: Mapping | None) -> Cohort:
    """A cohort whose factors have the named reference levels (the cohort is not changed).

    Raises
    ------
    DataError
        For a column that is not a factor of the cohort or a level it does not have.
    """
    if not reference:
        return cohort
    unknown = [f for f in reference if f not in cohort.factors]
    if unknown:
        raise DataError(f"--reference / reference=: {unknown} are not factors of the cohort "
                        f"({list(cohort.factors)})")
    cov = cohort.covariates.copy()
    for f, level in reference.items():
        cats = list(cov[f].cat.categories)
        match = [c for c in cats if str(c) == str(level)]
        if not match:
            raise DataError(f"--reference / reference=: {level!r} is not a level of "
                            f"{f!r} (levels: {[str(c) for c in cats]})")
        order = match + [c for c in cats if c != match[0]]
        cov[f] = cov[f].cat.reorder_categories(order)
    return Cohort(cohort.intervals, cov, factors=cohort.factors, numeric=cohort.numeric,
                  grid=cohort.grid, follow_up=cohort.follow_up,
                  time_unit=cohort.time_unit, excluded=cohort.excluded)


def per_unit_cox_table(table: pd.DataFrame, per: Mapping | None) -> pd.DataFrame:
    """The Cox table with numeric covariates' hazard ratios per ``per[c]`` units.

    ``HR_u = HR_1 ** u`` (and the interval bounds likewise, ``u > 0``); ``level`` becomes
    ``"per <u>"`` as in :func:`~footdrop_bayes.summaries.hazard_ratios`; p-values are
    unchanged.
    """
    if not per:
        return table
    from .summaries.hazard_ratios import unit_label

    out = table.copy()
    out["level"] = out["level"].astype(object)
    for c, u in per.items():
        rows = out["term"] == c
        for col in ("hr", "hr_low", "hr_high"):
            out.loc[rows, col] = out.loc[rows, col].astype(float) ** float(u)
        lab = unit_label(float(u))
        out.loc[rows, "level"] = "" if not isinstance(lab, str) else lab
    return out


def per_phrase(per: Mapping | None) -> str:
    """How numeric covariates' hazard ratios are scaled, in words for captions."""
    if not per:
        return "per one unit as recorded"
    parts = [f"{c} per {u:g}" for c, u in per.items()]
    return "per one unit as recorded, except " + " and ".join(parts) + " units"
