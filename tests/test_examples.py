"""The example scripts run end to end (fast mode: tiny draws) and write their outputs.

Slow (each script starts a Python process and compiles a model): opt in with
``python -m pytest -m slow tests/test_examples.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: script -> files it must write into --out
OUTPUTS = {
    "01_study_reanalysis.py": ["comparison.csv", "hazard_ratios.csv", "factor_ranking.csv",
                               "km_cause.png", "recovery_at_6_months.png",
                               "hazard_ratios.png", "ranking.png"],
    "02_multicentre.py": ["clinic_effects.csv", "clinic_effects.png",
                          "pooling_comparison.csv", "pooling_comparison.png"],
    "03_graded_irregular.py": ["visits.csv", "intervals.csv", "hazard_ratios.csv",
                               "interval_widths.png"],
    "04_lifelines_dataset.py": ["bayes_vs_cox.csv", "hazard_ratios.png"],
    "05_notebook_flow.py": ["model.nc", "curves_by_cause.png", "ranking.png",
                            "new_patient.png", "report/report.md", "report/posterior.nc"],
    "06_interval_censored.py": ["log_hazard_ratios.csv", "curves.csv", "curves.png"],
    "07_withdrawal_sensitivity.py": ["withdrawal_sensitivity.csv", "withdrawal_comparison.csv",
                                     "withdrawal_tipping_points.csv", "truth_vs_bounds.csv",
                                     "surgery_only.csv", "withdrawal.png"],
    "08_rossi_weekly_visits_cli.py": ["visits.csv", "patients.csv", "report/report.md",
                                      "report/posterior.nc", "bayes_vs_coxph.csv"],
    "09_bootstrap_compile_once.py": ["fits.csv", "bootstrap_hazard_ratios.csv"],
    "10_registry_dask.py": ["patterns.csv", "hazard_ratios.csv", "factor_ranking.csv",
                            "recovery_probabilities.csv", "median_recovery.csv", "table1.csv"],
    "11_time_varying_treatment.py": ["truth_vs_estimates.csv", "regimes.csv", "swimmer.png",
                                     "regimes.png"],
    "12_smooth_age.py": ["partial_effects.csv", "hazard_ratios_by_age.csv",
                         "recovery_by_age.csv", "factor_ranking.csv",
                         "smooth_comparison.csv", "partial_age.png", "partial_delay.png"],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("[0-9]*.py")) == sorted(OUTPUTS)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(OUTPUTS))
def test_example_runs_in_fast_mode(script, tmp_path):
    env = {**os.environ, "FOOTDROP_EXAMPLE_FAST": "1", "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, str(EXAMPLES / script), "--out", str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    missing = [f for f in OUTPUTS[script] if not (tmp_path / f).is_file()]
    assert not missing, f"{script} did not write {missing}"
    assert "wrote" in run.stdout or "report written" in run.stdout
    # 03 also asserts inside that every true recovery time lies in its interval

