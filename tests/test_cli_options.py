"""CLI options reaching the model: parsing, plumbing, and errors before any fitting."""

import pytest

from footdrop_bayes import options
from footdrop_bayes.cli import main


@pytest.fixture(scope="module")
def multicentre(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim3")
    assert main(["--quiet", "simulate", "--patients", "80", "--clinics", "3", "--seed", "5",
                 "--out", str(out)]) == 0
    return out


def fit_args(sim, out, *extra):
    return ["fit", "--visits", str(sim / "visits.csv"), "--patients",
            str(sim / "patients.csv"), "--out", str(out), "--factors", "cause",
            "--covariates", "age", *extra]


@pytest.fixture
def captured(monkeypatch):
    """Replace run_analysis: record its keywords instead of fitting."""
    import footdrop_bayes.report as report

    calls = {}

    def fake(cohort, out, **kw):
        calls.update(kw, cohort=cohort)

    monkeypatch.setattr(report, "run_analysis", fake)
    return calls


def test_options_reach_run_analysis(multicentre, tmp_path, captured):
    code = main(["--quiet", *fit_args(
        multicentre, tmp_path / "o", "--group", "clinic", "--target-accept", "0.99",
        "--parameterization", "clinic=non-centred,baseline=centered",
        "--reference", "cause=trauma", "--per", "age=10", "--cox-clinic", "cluster",
        "--clinic-curves", "--tune", "300", "--draws", "250", "--chains", "3")])
    assert code == 0
    assert captured["target_accept"] == 0.99
    assert captured["parameterization"] == {"clinic": "non-centred", "baseline": "centred"}
    assert captured["reference"] == {"cause": "trauma"}
    assert captured["per"] == {"age": 10.0}
    assert captured["group_handling"] == "cluster" and captured["clinic_curves"] is True
    assert (captured["tune"], captured["draws"], captured["chains"]) == (300, 250, 3)


def test_defaults_leave_the_model_alone(multicentre, tmp_path, captured):
    assert main(["--quiet", *fit_args(multicentre, tmp_path / "o", "--group",
                                      "clinic")]) == 0
    assert captured["target_accept"] is None and captured["parameterization"] is None
    assert captured["reference"] is None and captured["per"] is None
    assert captured["group_handling"] == "strata" and captured["clinic_curves"] is False
    assert captured["retry_target_accept"] == options.RETRY_TARGET_ACCEPT == 0.99


@pytest.mark.parametrize("value,expected", [("off", None), ("0.995", 0.995)])
def test_retry_target_accept_reaches_run_analysis(multicentre, tmp_path, captured, value,
                                                  expected):
    assert main(["--quiet", *fit_args(multicentre, tmp_path / "o", "--retry-target-accept",
                                      value)]) == 0
    assert captured["retry_target_accept"] == expected


def test_single_parameterization_for_every_block(multicentre, tmp_path, captured):
    assert main(["--quiet", *fit_args(multicentre, tmp_path / "o", "--parameterization",
                                      "non-centred")]) == 0
    assert captured["parameterization"] == "non-centred"


def test_mixed_parameterization_is_accepted(multicentre, tmp_path, captured):
    assert main(["--quiet", *fit_args(multicentre, tmp_path / "o", "--group", "clinic",
                                      "--parameterization", "clinic=mixed")]) == 0
    assert captured["parameterization"] == {"clinic": "mixed"}


@pytest.mark.parametrize("option,value,message", [
    ("--target-accept", "1.5", "between 0 and 1"),
    ("--target-accept", "high", "between 0 and 1"),
    ("--retry-target-accept", "1.5", "between 0 and 1"),
    ("--parameterization", "clinic=sideways", "unknown parameterisation 'sideways'"),
    ("--parameterization", "clinic=", "expected NAME=VALUE"),
    ("--per", "age=-10", "positive number"),
    ("--per", "age=ten", "positive number"),
    ("--reference", "cause", "expected NAME=VALUE"),
    ("--reference", "cause=a,cause=b", "given twice"),
])
def test_malformed_options_are_usage_errors(option, value, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--out", "unused", option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: " in err and message in err


def error_of(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("footdrop-bayes: error:")]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("extra,message", [
    (("--group", "clinic", "--parameterization", "centre=centred"),
     "unknown block(s) ['centre']; this model's blocks are ['cause', 'clinic', 'baseline']"),
    (("--reference", "cause=flu"), "'flu' is not a level of 'cause'"),
    (("--reference", "colour=red"), "['colour'] are not factors"),
    (("--per", "height=10"), "['height'] are not numeric covariates"),
    (("--cox-clinic", "cluster"), "--cox-clinic need(s) --group"),
])
def test_unknown_names_fail_before_fitting(multicentre, tmp_path, capsys, extra, message):
    line = error_of(capsys, fit_args(multicentre, tmp_path / "o", *extra))
    assert message in line
    assert "--" in line.split("error:", 1)[1]      # names the CLI option
    assert not (tmp_path / "o").exists()


def test_reference_relevels_a_copy(multicentre):
    from footdrop_bayes.cli import build_parser, load_cohort

    args = build_parser().parse_args(fit_args(multicentre, "unused"))
    cohort = load_cohort(args, say=lambda m: None)
    new = options.apply_reference(cohort, {"cause": "trauma"})
    assert new.covariates["cause"].cat.categories[0] == "trauma"
    assert cohort.covariates["cause"].cat.categories[0] != "trauma"
    assert (new.covariates["cause"].astype(str) == cohort.covariates["cause"].astype(str)).all()


def test_per_unit_cox_table_is_a_power_of_the_hr():
    import pandas as pd

    t = pd.DataFrame({"term": ["age", "cause"], "level": ["", "trauma"],
                      "reference": ["", "x"], "hr": [1.02, 2.0], "hr_low": [1.01, 1.5],
                      "hr_high": [1.03, 2.5], "p_value": [0.01, 0.02]})
    out = options.per_unit_cox_table(t, {"age": 10})
    assert out.loc[0, "hr"] == pytest.approx(1.02 ** 10)
    assert out.loc[0, "hr_high"] == pytest.approx(1.03 ** 10)
    assert out.loc[0, "level"] == "per 10"
    assert out.loc[1].equals(t.loc[1])
