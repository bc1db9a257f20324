"""Paper tables: CSV round trip, Markdown, LaTeX escaping and balance."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from footdrop_bayes.summaries import export_table, format_table, read_table


def hr_table():
    df = pd.DataFrame({
        "term": ["lesion_type", "cause", "age", "age"],
        "level": ["demyelinating", "trauma & falls", np.nan, "per 10"],
        "reference": ["axonal", "radiculopathy 100%", np.nan, np.nan],
        "hr_median": [3.14159, 1.0 / 3, 0.97531, 0.7777777],
        "hr_low": [1.2, 0.1, 0.95, 0.6],
        "hr_high": [8.5, 1.1, 1.001, 0.99],
        "p_direction": [0.9991, 0.123456, 0.02, 0.0],
    })
    df.attrs["interval"] = 0.9
    return df


def recovery_table():
    df = pd.DataFrame({
        "term": ["all", "site"], "level": ["all", "NA"], "time": [6.0, 6.0], "n": [105, 7],
        "median": [0.5123, 0.25], "low": [0.41, 0.05], "high": [0.6, 0.61],
        "km": [0.52, 0.2857142857], "km_low": [0.42, 0.05], "km_high": [0.61, 0.7],
    })
    df.attrs["interval"] = 0.95
    return df


@pytest.mark.parametrize("make", [hr_table, recovery_table])
def test_csv_round_trip(tmp_path, make):
    df = make()
    paths = export_table(df, tmp_path / "sub" / "table", formats=("csv",))
    back = read_table(paths["csv"])
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    # plain pandas reads the same numbers too
    plain = pd.read_csv(paths["csv"])
    np.testing.assert_array_equal(plain.select_dtypes("number").to_numpy(),
                                  df.select_dtypes("number").to_numpy())


def test_paper_formatting():
    t = format_table(hr_table())
    assert list(t.columns) == ["Term", "Level", "Reference", "HR (90% CrI)",
                               "P(HR > 1), %"]
    assert t.iloc[0, 3] == "3.14 (1.20 to 8.50)"
    assert t.iloc[1, 3] == "0.33 (0.10 to 1.10)"
    assert t.iloc[0, 4] == "99.9"
    assert t.iloc[2, 1] == "" and t.iloc[3, 1] == "per 10"
    r = format_table(recovery_table())
    assert "Recovered, % (95% CrI)" in r.columns
    assert "Observed (Kaplan–Meier), % (95% CI)" in r.columns
    assert r.loc[0, "Recovered, % (95% CrI)"] == "51.2 (41.0 to 60.0)"
    assert r.loc[1, "Observed (Kaplan–Meier), % (95% CI)"] == "28.6 (5.0 to 70.0)"


def _balanced(tex: str) -> bool:
    depth = 0
    for m in re.finditer(r"(?<!\\)[{}]", tex):
        depth += 1 if m.group() == "{" else -1
        if depth < 0:
            return False
    return depth == 0


def test_latex_escaped_and_balanced(tmp_path):
    paths = export_table(hr_table(), tmp_path / "hr", caption="Hazard ratios (90% CrI) & more",
                         label="tab:hr")
    tex = paths["tex"].read_text()
    assert _balanced(tex)
    for env in ("table", "tabular"):
        assert tex.count(rf"\begin{{{env}}}") == tex.count(rf"\end{{{env}}}") == 1
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"lesion\_type" in tex and "lesion_type" not in tex
    assert r"trauma \& falls" in tex and r"radiculopathy 100\%" in tex
    assert r"(90\% CrI)" in tex and r"P(HR $>$ 1)" in tex
    # no unescaped specials: every % & _ is preceded by a backslash
    assert not re.search(r"(?<!\\)[%&_#]", tex.replace(" & ", " "))
    # every row has as many cells as the header
    rows = [ln for ln in tex.splitlines() if ln.endswith(r"\\")]
    assert len(rows) == 1 + 4
    assert {len(re.split(r"(?<!\\)&", r)) for r in rows} == {5}


def test_markdown(tmp_path):
    paths = export_table(recovery_table(), tmp_path / "rec", formats=("md",))
    assert set(paths) == {"md"}
    lines = paths["md"].read_text().splitlines()
    assert len(lines) == 2 + 2
    assert {ln.count("|") for ln in lines} == {len(format_table(recovery_table()).columns) + 1}
    assert "| site | NA | 6 | 7 | 25.0 (5.0 to 61.0) |" in lines[3]


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        export_table(hr_table(), tmp_path / "x", formats=("xlsx",))


def test_cox_and_median_time_tables_format():
    cox = pd.DataFrame({"term": ["age"], "level": [np.nan], "reference": [np.nan],
                        "hr": [0.97], "hr_low": [0.951], "hr_high": [0.989],
                        "p_value": [0.0004]})
    cox.attrs["interval"] = 0.95
    t = format_table(cox)
    assert list(t.columns) == ["Term", "Level", "Reference", "HR (95% CI)", "p"]
    assert (t.iloc[0, 3], t.iloc[0, 4]) == ("0.97 (0.95 to 0.99)", "<0.001")
    times = pd.DataFrame({"term": ["cause"], "level": ["trauma"], "median": [np.nan],
                          "low": [4.2], "high": [np.nan], "p_reached": [0.3],
                          "text": ["not reached within 6 months"]})
    t = format_table(times, interval=0.9)
    assert list(t.columns) == ["Term", "Level", "Median time to recovery (90% CrI)",
                               "P(median reached), %"]
    assert t.iloc[0, 2] == "not reached within 6 months" and t.iloc[0, 3] == "30.0"
