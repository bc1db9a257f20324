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
  ``withdrawal_comparison.csv`` (delta written as ``-inf``, numbers, ``0``, ``inf``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from . import summaries
from .analysis import Analysis, analyse
from .cohort import Cohort
from .output import check_output_folder, output_folder
from .report_figures import render_figures
from .report_text import report_markdown


def write_tables(a: Analysis, out: Path) -> None:
    """Write every table as CSV in ``out`` and, formatted for papers, in ``out/tables``."""
    tables = {
        "factor_ranking": a.ranking, "hazard_ratios": a.hazard_ratios,
        "cox_hazard_ratios": a.cox.table, "recovery_probabilities": a.recovery,
        "median_recovery": a.medians,
    }
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
        summaries.export_table(df, out / "tables" / name, formats=("md", "tex"),
                               interval=a.interval)
    if a.clinic_effects is not None:
        write_clinic_tables(a, out)
    a.study_table.reset_index().to_csv(out / "study_table.csv", index=False)
    a.logrank.to_csv(out / "logrank.csv", index=not isinstance(a.logrank.index,
                                                             pd.RangeIndex))
    a.cohort.table1().to_csv(out / "table1.csv")
    a.cox.ph_verdict.to_csv(out / "cox_proportional_hazards.csv")
    diag = {k: (bool(v) if isinstance(v, bool) else v) for k, v in a.diagnostics.items()}
    (out / "diagnostics.json").write_text(json.dumps(diag, indent=1, default=float))
    if getattr(a, "withdrawal", None) is not None:
        a.withdrawal.write(out)


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
                 figures: bool = True, say: Callable[[str], None] = print) -> Path:
    """Write the output folder of an analysis (tables, posterior, figures, report.md).

    Parameters
    ----------
    a : Analysis
        Results of :func:`~footdrop_bayes.analysis.analyse`.
    out : path
        Output folder; written whole or not at all.
    overwrite : bool
        Replace a non-empty ``out`` (an earlier run's results).
    figures : bool
        Render the figures (PNG and PDF) and embed them.
    say : callable
        Where progress messages go.
    """
    out = Path(out)
    with output_folder(out, overwrite=overwrite) as stage:
        say(f"writing tables and posterior to {out}")
        write_tables(a, stage)
        a.model.save(stage / "posterior.nc")
        captions = {}
        if figures:
            say("rendering figures")
            captions = render_figures(a, stage / "figures")
        (stage / "report.md").write_text(report_markdown(a, captions))
    say(f"done: {out / 'report.md'}")
    return out


def run_analysis(cohort: Cohort, out: str | Path, *, group: str | None = None,
                 bands=None, units=None, draws: int = 1000, tune: int = 1000,
                 chains: int = 4,
                 seed: int = 20240601, sampler: str = "nutpie", interval: float = 0.95,
                 overwrite: bool = False, figures: bool = True, progressbar: bool = True,
                 say: Callable[[str], None] = print, target_accept: float | None = None,
                 parameterization=None, reference=None, per=None,
                 group_handling: str = "strata", clinic_curves: bool = False,
                 model_config: dict | None = None, withdrawal: bool = False,
                 deltas=None, delta_by: str | None = None) -> Analysis:
    """Analyse ``cohort`` and write the output folder ``out`` (see module docstring).

    The folder is checked before any fitting, so a clash costs no time. ``target_accept,
    parameterization, reference, per, group_handling, clinic_curves, model_config`` are
    passed to :func:`~footdrop_bayes.analysis.analyse` (checked before any fitting);
    ``withdrawal``, ``deltas`` and ``delta_by`` add the withdrawal sensitivity analysis.
    """
    out = check_output_folder(out, overwrite=overwrite)
    a = analyse(cohort, group=group, bands=bands, units=units, draws=draws, tune=tune,
                chains=chains, sampler=sampler, random_seed=seed, interval=interval,
                progressbar=progressbar, say=say, target_accept=target_accept,
                parameterization=parameterization, reference=reference, per=per,
                group_handling=group_handling, clinic_curves=clinic_curves,
                model_config=model_config, withdrawal=withdrawal, deltas=deltas,
                delta_by=delta_by)
    write_report(a, out, overwrite=overwrite, figures=figures, say=say)
    return a
