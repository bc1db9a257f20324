"""The command line: outputs, and every error path as one line with a non-zero exit."""

import json

import pandas as pd
import pytest

from footdrop_bayes.cli import main


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    assert main(["--quiet", "simulate", "--patients", "60", "--seed", "4", "--out",
                 str(out)]) == 0
    return out


def run(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr()


def test_simulate_writes_tables_and_truth(simulated):
    visits = pd.read_csv(simulated / "visits.csv")
    patients = pd.read_csv(simulated / "patients.csv")
    truth = json.loads((simulated / "truth.json").read_text())
    assert patients["patient_id"].nunique() == 60
    assert set(visits["patient_id"]) <= set(patients["patient_id"])
    assert set(truth["effects"]) >= {"cause", "site", "age"}


def test_describe_prints_counts_and_table1(simulated, capsys):
    code, out = run(capsys, "describe", "--visits", str(simulated / "visits.csv"),
                    "--patients", str(simulated / "patients.csv"))
    assert code == 0
    assert "60 patients" in out.out and "cause" in out.out
    assert "inferred factors: sex, site" in out.err


def error_of(capsys, *argv):
    code, out = run(capsys, *argv)
    lines = [ln for ln in out.err.splitlines() if ln.startswith("footdrop-bayes: error:")]
    assert code == 2
    assert len(lines) == 1 and "Traceback" not in out.err
    return lines[0]


def test_missing_file(simulated, capsys):
    line = error_of(capsys, "describe", "--visits", str(simulated / "nope.csv"),
                    "--patients", str(simulated / "patients.csv"))
    assert "nope.csv: no such file" in line


def test_misnamed_column_names_file_and_column(simulated, capsys):
    line = error_of(capsys, "describe", "--visits", str(simulated / "visits.csv"),
                    "--patients", str(simulated / "patients.csv"), "--time-col", "week")
    assert "visits.csv: missing column(s) 'week'" in line


def test_bad_rows_name_patients(simulated, tmp_path, capsys):
    visits = pd.read_csv(simulated / "visits.csv")
    visits.loc[3, "month"] = -2
    bad = tmp_path / "bad_visits.csv"
    visits.to_csv(bad, index=False)
    line = error_of(capsys, "describe", "--visits", str(bad), "--patients",
                    str(simulated / "patients.csv"))
    assert "bad_visits.csv: column 'month' has negative" in line
    assert repr(visits.loc[3, "patient_id"]) in line


def test_unknown_format(simulated, tmp_path, capsys):
    p = tmp_path / "visits.json"
    p.write_text("{}")
    line = error_of(capsys, "describe", "--visits", str(p), "--patients",
                    str(simulated / "patients.csv"))
    assert "unknown table format '.json'" in line


def test_debug_shows_the_traceback(simulated):
    from footdrop_bayes import DataError
    with pytest.raises(DataError):
        main(["--debug", "describe", "--visits", "missing.csv", "--patients",
              str(simulated / "patients.csv")])


def fit_args(sim, out, *extra):
    return ["fit", "--visits", str(sim / "visits.csv"), "--patients",
            str(sim / "patients.csv"), "--out", str(out), *extra]


def test_fit_end_to_end_writes_the_contract(simulated, tmp_path, capsys):
    from test_report import CHECKER

    out = tmp_path / "results"
    code, res = run(capsys, "--quiet", *fit_args(simulated, out, "--factors", "cause,sex",
                                                "--covariates", "age", "--draws", "100",
                                                "--tune", "150", "--chains", "2",
                                                "--seed", "3"))
    assert code == 0, res.err
    ranking = pd.read_csv(out / "factor_ranking.csv")
    assert set(ranking["term"]) == {"cause", "sex", "age"}
    assert "Traceback" not in res.err
    if CHECKER.exists():
        import subprocess
        import sys
        check = subprocess.run([sys.executable, str(CHECKER), str(out)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout


@pytest.mark.parametrize("extra,message", [
    (("--factors", "cause,colour"), "missing column(s) 'colour'"),
    (("--recovered-when", "about 4"), "recovered_when='about 4'"),
    (("--follow-up", "-3"), "follow_up must be a positive time"),
    (("--group", "clinic"), "patients.csv: missing column(s) 'clinic'"),
])
def test_fit_bad_options_fail_before_fitting(simulated, tmp_path, capsys, extra, message):
    line = error_of(capsys, *fit_args(simulated, tmp_path / "o", *extra))
    assert message in line
    assert not (tmp_path / "o").exists()


def test_fit_refuses_to_overwrite_an_earlier_run(simulated, tmp_path, capsys):
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "report.md").write_text("keep me")
    line = error_of(capsys, *fit_args(simulated, out))
    assert "not empty" in line and "--overwrite" in line
    assert (out / "report.md").read_text() == "keep me"


@pytest.mark.parametrize("option,value", [("--interval", "95"), ("--draws", "0"),
                                          ("--chains", "two")])
def test_bad_sampler_options_are_usage_errors(option, value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--out", "unused", option, value])
    assert exc.value.code == 2
    assert f"argument {option}: must be" in capsys.readouterr().err


def test_quiet_and_debug_work_after_the_subcommand(simulated, capsys):
    code, out = run(capsys, "describe", "--visits", str(simulated / "visits.csv"),
                    "--patients", str(simulated / "patients.csv"), "--quiet")
    assert code == 0 and "inferred factors" not in out.err
    from footdrop_bayes import DataError
    with pytest.raises(DataError):
        main(["describe", "--visits", "missing.csv", "--patients", "p.csv", "--debug"])


def _console(*argv):
    """The installed command's entry point, ``cli.console``, in a fresh interpreter."""
    import subprocess
    import sys

    code = f"import sys\nsys.argv = ['footdrop-bayes', *{list(argv)!r}]\n" \
           "from footdrop_bayes.cli import console\nconsole()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)


def test_console_keeps_main_status_and_flushes_output(simulated, capsys):
    argv = ("describe", "--visits", str(simulated / "visits.csv"),
            "--patients", str(simulated / "patients.csv"))
    ok = _console(*argv)
    assert ok.returncode == 0
    assert ok.stdout == run(capsys, *argv)[1].out          # every line, flushed
    bad = _console("describe", "--visits", str(simulated / "nope.csv"),
                   "--patients", str(simulated / "patients.csv"))
    assert bad.returncode == 2 and "nope.csv: no such file" in bad.stderr
    assert "Traceback" not in bad.stderr
    usage = _console("fit", "--chains", "zero")
    assert usage.returncode == 2 and "usage:" in usage.stderr
    helped = _console("--help")
    assert helped.returncode == 0 and "usage:" in helped.stdout


def test_sigterm_stops_the_run_like_ctrl_c(simulated, tmp_path):
    """``kill`` (or a scheduler's time limit) during the model: one line, exit 143, no
    traceback and no temporary figure folder left behind."""
    import os
    import signal
    import subprocess
    import sys

    temp = tmp_path / "temp"
    temp.mkdir()
    argv = fit_args(simulated, tmp_path / "results", "--draws", "300", "--tune", "300",
                    "--chains", "2", "--seed", "3")
    code = f"import sys\nsys.argv = ['footdrop-bayes', *{argv!r}]\n" \
           "from footdrop_bayes.cli import console\nconsole()\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"TMPDIR": str(temp), "PYTHONUNBUFFERED": "1"})
    seen = []
    try:
        for line in proc.stderr:                   # the CLI's messages go to stderr
            seen.append(line)
            if "Bayesian model" in line:
                break
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert any("Bayesian model" in line for line in seen), "".join(seen)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "footdrop-bayes: terminated" in err and "Traceback" not in err
    assert not list(temp.glob("footdrop-bayes-figures-*"))
