"""The output folder of an analysis: tables, figures and ``report.md``.

Files (the contract checked by ``shared/tools/check-output-folder``):

- ``factor_ranking.csv``, ``hazard_ratios.csv``, ``cox_hazard_ratios.csv``,
  ``recovery_probabilities.csv``, ``median_recovery.csv``, ``study_table.csv``,
  ``logrank.csv``, ``table1.csv``;
- ``tables/``: the same tables formatted for a paper, as Markdown and LaTeX;
- ``diagnostics.json`` (``divergences, max_rhat, min_ess_bulk, min_ess_tail, converged``…);
- ``posterior.nc`` (:meth:`RecoveryModel.save`; reload with ``RecoveryModel.load``);
- ``figures/``: every figure as PNG (300 dpi) and PDF;
- ``report.md``: all of it in words, with the figures embedded;
- with the withdrawal sensitivity analysis: ``withdrawal_sensitivity.csv``,
  ``withdrawal_differences.csv``, ``withdrawal_tipping_points.csv`` and
  ``withdrawal_comparison.csv`` (delta written as ``-inf``, numbers, ``0``, ``inf``);
- with smooth terms: ``partial_effects.csv``, ``smooth_terms.csv``,
  ``smooth_recovery.csv``, ``smooth_comparison.csv`` and ``figures/partial_<term>.*``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from . import summaries
from .analysis import Analysis, analyse
from .classical.cox_output import cox_output_table
from .cohort import Cohort
from .model import DEFAULT_SAMPLER_CONFIG
from .output import check_output_folder, output_folder
from .report_early import EarlyFigures
from .report_figures import render_figures
from .report_guard import Problems, attempt, problems_md
from .report_text import report_markdown


def write_tables(a: Analysis, out: Path, problems: Problems | None = None) -> None:
    """Write every table as CSV in ``out`` and, formatted for papers, in ``out/tables``.

    ``diagnostics.json`` first; with ``problems`` a failing table is recorded and the
    others are still written (:mod:`.report_guard`).
    """
    (out / "diagnostics.json").write_text(
        json.dumps(strict_json(a.diagnostics), indent=1, allow_nan=False))
    tables = {
        "factor_ranking": lambda: a.ranking, "hazard_ratios": lambda: a.hazard_ratios,
        "cox_hazard_ratios": lambda: cox_output_table(a.cox),
        "recovery_probabilities": lambda: a.recovery, "median_recovery": lambda: a.medians,
    }
    for name, get in tables.items():
        def table(name=name, get=get):
            df = get()
            df.to_csv(out / f"{name}.csv", index=False)
            summaries.export_table(df, out / "tables" / name, formats=("md", "tex"),
                                   interval=a.interval)
        attempt(f"table {name!r}", table, problems)
    attempt("table 'study_table'",
            lambda: a.study_table.reset_index().to_csv(out / "study_table.csv", index=False),
            problems)
    attempt("table 'logrank'",
            lambda: a.logrank.to_csv(out / "logrank.csv",
                                     index=not isinstance(a.logrank.index, pd.RangeIndex)),
            problems)
    attempt("table 'table1'", lambda: a.cohort.table1().to_csv(out / "table1.csv"), problems)
    attempt("table 'cox_proportional_hazards'",
            lambda: a.cox.ph_verdict.to_csv(out / "cox_proportional_hazards.csv"), problems)
    if len(a.cohort.excluded):
        attempt("table 'excluded_patients'",
                lambda: a.cohort.excluded.to_csv(out / "excluded_patients.csv", index=False),
                problems)
    if a.clinic_effects is not None:
        attempt("clinic tables", lambda: write_clinic_tables(a, out), problems)
    if getattr(a, "withdrawal", None) is not None:
        attempt("withdrawal sensitivity tables", lambda: a.withdrawal.write(out), problems)
    if getattr(a, "time_varying", None) is not None:
        attempt("time-varying tables", lambda: a.time_varying.write(out), problems)
    if getattr(a, "smooth", None) is not None:
        attempt("smooth-term tables", lambda: a.smooth.write(out), problems)


def strict_json(value):
    """``value`` with NaN and infinities as ``None`` (JSON ``null``) and numpy scalars as
    Python numbers, recursively: ``diagnostics.json`` is then valid JSON for every reader
    (``NaN`` is not JSON; JavaScript's ``JSON.parse`` rejects it)."""
    import math

    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, int | float):
        value = value.item()                         # numpy scalar
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


def write_clinic_tables(a: Analysis, out: Path) -> None:
    """``clinic_effects.csv`` and ``clinic_variation.csv`` (and their ``tables/`` versions)."""
    for name, df in (("clinic_effects", a.clinic_effects),
                     ("clinic_variation", a.clinic_variation)):
        if df is None:
            continue
        df.to_csv(out / f"{name}.csv", index=False)
        summaries.export_table(df, out / "tables" / name, formats=("md", "tex"),
                               interval=a.interval)


def write_report(a: Analysis, out: str | Path, *, overwrite: bool = False,
                 figures: bool = True, say: Callable[[str], None] = print,
                 early=None) -> Path:
    """Write the output folder of an analysis (tables, posterior, figures, report.md).

    Parameters
    ----------
    a : Analysis
        Results of :func:`~footdrop_bayes.analysis.analyse`.
    out : path
        Output folder; written whole or not at all. The posterior, ``diagnostics.json``
        and the tables are written before any figure; a figure, table or report section
        that fails is named in ``report.md`` (and warned as
        :class:`~footdrop_bayes.errors.OutputWarning`) and everything else is kept.
    overwrite : bool
        Replace a non-empty ``out`` (an earlier run's results).
    figures : bool
        Render the figures (PNG and PDF) and embed them.
    say : callable
        Where progress messages go.
    early : report_early.EarlyFigures, optional
        Figures already drawn while the analysis ran (``analyse(..., on_stage=early)``);
        :func:`run_analysis` passes them.
    """
    out = Path(out)
    problems = Problems()
    with output_folder(out, overwrite=overwrite) as stage:
        say(f"writing posterior, diagnostics and tables to {out}")
        a.model.save(stage / "posterior.nc")          # the fit first: nothing later loses it
        write_tables(a, stage, problems)
        captions = {}
        if figures:
            say("rendering figures")
            captions = render_figures(a, stage / "figures", problems=problems,
                                      early=early)
        else:
            problems.note("figures: not rendered (figures=False)")
        (stage / "report.md").write_text(safe_report_markdown(a, captions, problems))
    say(f"done: {out / 'report.md'}")
    return out


def safe_report_markdown(a: Analysis, captions: dict, problems: Problems) -> str:
    """``report.md``, each section guarded; what failed or does not apply is named."""
    text = attempt("report.md", lambda: report_markdown(a, captions, problems=problems),
                   problems)
    if text is None:
        text = ("# Recovery analysis\n\nThe report could not be composed; the posterior "
                "(posterior.nc), diagnostics.json and the tables in this folder are "
                "complete.\n")
    extra = problems_md(problems)
    return text.rstrip("\n") + "\n\n" + extra if extra else text


def rescue_posterior(a: Analysis, out: Path, say: Callable[[str], None] = print, *,
                     interrupted: bool = False) -> Path | None:
    """Save the fit beside ``out`` (``<out>.posterior.nc``) when the folder failed, or
    when the run was ``interrupted`` (Ctrl-C, SIGTERM) before the folder was complete.

    Returns the file written, or None if even that failed.
    """
    out = Path(out)
    path = out.with_name(f"{out.name}.posterior.nc")
    try:
        if not path.exists():
            a.model.save(path)
    except Exception:            # the original error is the one to show
        return None
    why = ("the run was interrupted before the output folder was complete" if interrupted
           else "the output folder could not be written")
    say(f"{why}; the fitted posterior is saved in {path} "
        "(reload it with RecoveryModel.load and pass it to analyse(model=...))")
    return path


def run_analysis(cohort: Cohort, out: str | Path, *, group: str | None = None,
                 bands=None, units=None, draws: int = 1000, tune: int = 1000,
                 chains: int = 4,
                 seed: int = 20240601, sampler: str = "nutpie", interval: float = 0.95,
                 overwrite: bool = False, figures: bool = True, progressbar: bool = True,
                 say: Callable[[str], None] = print, target_accept: float | None = None,
                 retry_target_accept: float | None = DEFAULT_SAMPLER_CONFIG[
                     "retry_target_accept"],
                 parameterization=None, reference=None, per=None,
                 group_handling: str = "strata", clinic_curves: bool = False,
                 model_config: dict | None = None, withdrawal: bool = False,
                 deltas=None, delta_by: str | None = None, smooth=None, smooth_at=None,
                 smooth_comparison: bool = True) -> Analysis:
    """Analyse ``cohort`` and write the output folder ``out`` (see module docstring).

    The folder is checked before any fitting, so a clash costs no time.
    ``target_accept, retry_target_accept, parameterization, reference, per,
    group_handling, clinic_curves, model_config`` are passed to
    :func:`~footdrop_bayes.analysis.analyse` (checked before any fitting);
    ``withdrawal``, ``deltas`` and ``delta_by`` add the withdrawal sensitivity analysis;
    ``smooth``, ``smooth_at`` and ``smooth_comparison`` the smooth terms.
    If the folder cannot be written at all, the fit is saved beside it as
    ``<out>.posterior.nc`` (:func:`rescue_posterior`) before the error is raised.
    """
    out = check_output_folder(out, overwrite=overwrite)
    early = EarlyFigures.when_useful() if figures else None   # figures drawn ahead
    try:
        a = analyse(cohort, group=group, bands=bands, units=units, draws=draws, tune=tune,
                    chains=chains, sampler=sampler, random_seed=seed, interval=interval,
                    progressbar=progressbar, say=say, target_accept=target_accept,
                    retry_target_accept=retry_target_accept,
                    parameterization=parameterization, reference=reference, per=per,
                    group_handling=group_handling, clinic_curves=clinic_curves,
                    model_config=model_config, withdrawal=withdrawal, deltas=deltas,
                    delta_by=delta_by, smooth=smooth, smooth_at=smooth_at,
                    smooth_comparison=smooth_comparison, on_stage=early)
        try:
            write_report(a, out, overwrite=overwrite, figures=figures, say=say,
                         early=early)
        except BaseException as exc:
            rescue_posterior(a, out, say, interrupted=isinstance(exc, KeyboardInterrupt))
            raise
    finally:
        if early is not None:
            early.close()
    return a
