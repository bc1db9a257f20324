"""The command line's cohort options: dates, origin, time unit, visit windows, intervals."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_diabetes

from footdrop_bayes.cli import main

CHECKER = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "tools" \
    / "check-output-folder"


@pytest.fixture(scope="module")
def dated(tmp_path_factory):
    """The simulated cohort's visits as calendar dates, a few days off schedule."""
    out = tmp_path_factory.mktemp("dated")
    assert main(["--quiet", "simulate", "--patients", "60", "--seed", "4", "--out",
                 str(out)]) == 0
    visits, patients = pd.read_csv(out / "visits.csv"), pd.read_csv(out / "patients.csv")
    rng = np.random.default_rng(1)
    referral = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 300, len(patients)), unit="D")
    patients["referral_date"] = referral.strftime("%Y-%m-%d")
    start = visits["patient_id"].map(dict(zip(patients["patient_id"], referral, strict=True)))
    jitter = np.where(visits["month"] > 0, rng.integers(-6, 7, len(visits)), 0)
    days = np.round(visits["month"] * 30.4375) + jitter
    visits["visit_date"] = (start + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
    visits.drop(columns="month").to_csv(out / "visits.csv", index=False)
    patients.to_csv(out / "patients.csv", index=False)
    d = load_diabetes()
    d.to_csv(out / "diabetes.csv", index=False)
    return out


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr()


def tables(d):
    return ["--visits", str(d / "visits.csv"), "--patients", str(d / "patients.csv")]


def error_line(capsys, *argv):
    code, out = run(capsys, *argv)
    lines = [ln for ln in out.err.splitlines() if ln.startswith("footdrop-bayes: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in out.err, out.err
    return lines[0]


def test_describe_dates_with_origin_and_window(dated, capsys):
    code, out = run(capsys, "describe", *tables(dated), "--time-col", "visit_date",
                    "--origin-col", "referral_date", "--follow-up", "6")
    assert code == 0, out.err
    assert "60 patients" in out.out and "(6 months)" in out.out
    assert "moved to their scheduled time (within ±0.5 month" in out.err
    assert "not used: referral_date (holds dates" in out.err     # never a factor
    assert "factor referral_date" not in out.out


def test_describe_numbers_in_weeks_and_exact_times(dated, capsys):
    code, out = run(capsys, "describe", *tables(dated), "--time-col", "visit_date",
                    "--time-unit", "week", "--exact-times", "--visit-window", "1",
                    "--visit-interval", "4")
    assert code == 0, out.err
    assert "weeks)" in out.out and "monthss" not in out.out


def test_describe_intervals(dated, capsys):
    code, out = run(capsys, "describe", "--intervals", str(dated / "diabetes.csv"),
                    "--lower-col", "left", "--upper-col", "right", "--time-unit", "year")
    assert code == 0, out.err
    assert "731 patients: 731 recovered" in out.out and "(44 years)" in out.out
    assert "numbered by row" in out.err and "inferred factors: gender" in out.err


@pytest.mark.parametrize("extra,message", [
    (("--intervals", "x.csv"), "give either --intervals or --visits/--patients"),
    (("--visit-window", "0.7"), "visit_window must be between 0 and half"),
    (("--time-unit", "fortnight"), "time_unit must be one of day, week, month, year"),
    (("--origin-col", "onset"), "missing origin column 'onset'"),
    (("--group", "cause", "--factors", "cause,sex"),
     "'cause' is given both as --group and in --factors"),
])
def test_bad_cohort_options_are_one_error_line(dated, capsys, extra, message, tmp_path):
    line = error_line(capsys, "fit", *tables(dated), "--time-col", "visit_date",
                      "--out", str(tmp_path / "o"), *extra)
    assert message in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv,message", [
    (("--intervals", "{d}/diabetes.csv", "--lower-col", "left"),
     "--intervals needs --lower-col and --upper-col"),
    (("--intervals", "{d}/diabetes.csv", "--lower-col", "left", "--upper-col", "right",
      "--visit-window", "0.5"), "--visit-window apply to --visits, not to --intervals"),
    (("--intervals", "{d}/diabetes.csv", "--lower-col", "right", "--upper-col", "left"),
     "lower bound 'right' is above upper bound 'left' for patients"),
    ((), "give --visits and --patients, or --intervals"),
])
def test_bad_interval_options_are_one_error_line(dated, capsys, argv, message):
    argv = [a.format(d=dated) for a in argv]
    assert message in error_line(capsys, "describe", *argv)


def _check(out):
    if CHECKER.exists():
        check = subprocess.run([sys.executable, str(CHECKER), str(out)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout


SMALL = ("--draws", "100", "--tune", "150", "--chains", "2", "--seed", "3")


def test_fit_dates_end_to_end(dated, tmp_path, capsys):
    out = tmp_path / "dates"
    code, res = run(capsys, "--quiet", "fit", *tables(dated), "--time-col", "visit_date",
                    "--origin-col", "referral_date", "--follow-up", "6", "--factors",
                    "cause", "--covariates", "age", "--out", str(out), *SMALL)
    assert code == 0, res.err
    assert set(pd.read_csv(out / "factor_ranking.csv")["term"]) == {"cause", "age"}
    _check(out)


@pytest.mark.slow
def test_fit_intervals_end_to_end(dated, tmp_path, capsys):
    out = tmp_path / "intervals"
    code, res = run(capsys, "--quiet", "fit", "--intervals", str(dated / "diabetes.csv"),
                    "--lower-col", "left", "--upper-col", "right", "--time-unit", "year",
                    "--out", str(out), *SMALL)
    assert code == 0, res.err
    assert set(pd.read_csv(out / "factor_ranking.csv")["term"]) == {"gender"}
    _check(out)
