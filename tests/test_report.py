"""The output folder: the documented file contract, report.md, safe overwriting."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.report import write_report

CHECKER = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check-output-folder"


@pytest.fixture(scope="session")
def out_folder(analysis, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "results"
    write_report(analysis, out, say=lambda m: None)
    return out


@pytest.mark.skipif(not CHECKER.exists(), reason="shared/tools is not beside this checkout")
def test_folder_passes_the_contract_checker(out_folder):
    res = subprocess.run([sys.executable, str(CHECKER), str(out_folder)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


def test_contract_columns_and_terms(out_folder, analysis):
    ranking = pd.read_csv(out_folder / "factor_ranking.csv")
    assert list(ranking.columns) == ["term", "importance_median", "importance_low",
                                     "importance_high", "p_rank1", "expected_rank"]
    assert set(ranking["term"]) == {"sex", "site", "lesion_type", "cause", "treatment",
                                    "age", "delay"}
    bayes = pd.read_csv(out_folder / "hazard_ratios.csv", keep_default_na=False)
    cox = pd.read_csv(out_folder / "cox_hazard_ratios.csv", keep_default_na=False)
    assert list(cox.columns) == ["term", "level", "reference", "hr", "hr_low", "hr_high",
                                 "p_value", "estimable"]
    assert set(cox["estimable"].astype(str)) <= {"True", "False"}
    key = ["term", "level", "reference"]
    assert (set(map(tuple, bayes[key].to_numpy())) == set(map(tuple, cox[key].to_numpy())))
    age = bayes[bayes["term"] == "age"].iloc[0]
    assert age["level"] == "" and age["reference"] == ""


def test_diagnostics_json_matches_the_model(out_folder, fitted_model):
    def no_constant(name):
        raise ValueError(f"{name} is not JSON")

    diag = json.loads((out_folder / "diagnostics.json").read_text(),
                      parse_constant=no_constant)               # NaN, Infinity: refused
    assert diag["divergences"] == fitted_model.diagnostics()["divergences"]
    assert isinstance(diag["converged"], bool)
    assert diag["max_rhat"] == pytest.approx(fitted_model.diagnostics()["max_rhat"])


def test_strict_json_writes_null_for_nan_and_infinity():
    import numpy as np

    from footdrop_bayes.report import strict_json

    value = {"a": float("nan"), "b": [np.float64(1.5), np.inf, np.int64(3)],
             "c": {"d": True, "e": None, "f": "x"}, "g": np.bool_(False)}
    assert strict_json(value) == {"a": None, "b": [1.5, None, 3],
                                  "c": {"d": True, "e": None, "f": "x"}, "g": False}
    json.dumps(strict_json(value), allow_nan=False)


def test_posterior_reloads_to_the_same_draws(out_folder, fitted_model):
    loaded = fb.RecoveryModel.load(out_folder / "posterior.nc")
    a = loaded.idata.posterior["beta"].to_numpy()
    b = fitted_model.idata.posterior["beta"].to_numpy()
    assert (a == b).all()


def test_report_has_every_section_and_embeds_existing_figures(out_folder):
    text = (out_folder / "report.md").read_text()
    for heading in ("## Patients", "## Classical analysis", "### Diagnostics",
                    "### Which factors predict recovery", "### Hazard ratios"):
        assert heading in text
    embedded = [ln.split("](")[1].rstrip(")") for ln in text.splitlines()
                if ln.startswith("![")]
    assert embedded, "no figure embedded"
    for rel in embedded:
        assert (out_folder / rel).is_file(), rel
    assert "withdrawn censored" in text and "withdrawn excluded" in text


def test_earlier_results_are_never_half_overwritten(analysis, out_folder, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.md").write_text("earlier run")
    with pytest.raises(FileExistsError, match="not empty"):
        write_report(analysis, out, figures=False, say=lambda m: None)
    assert (out / "report.md").read_text() == "earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]   # no staging left over
    write_report(analysis, out, figures=False, overwrite=True, say=lambda m: None)
    assert (out / "report.md").read_text().startswith("# Recovery analysis")
    assert (out / "factor_ranking.csv").is_file()


def test_failed_folder_swap_leaves_no_half_folder(analysis, tmp_path, monkeypatch):
    """A failure outside the guarded steps (here the posterior itself) leaves no trace."""
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(analysis.model), "save", boom)
    with pytest.raises(OSError, match="disk full"):
        write_report(analysis, tmp_path / "out", figures=False, say=lambda m: None)
    assert list(tmp_path.iterdir()) == []
