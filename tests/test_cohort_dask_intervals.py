"""``Cohort.from_intervals`` with the Dask engine against the pandas engine.

An interval table (one row per patient) is written shuffled over several Parquet / CSV
files; both engines read the same glob and must give the same collapsed cohort, the same
notes and warnings, and the same DataError for every kind of bad input.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.errors import DataError
from test_cohort_dask import _cli
from test_cohort_dask import _split as split_files

pytest.importorskip("dask.dataframe")

FACTORS = ["sex", "site"]


def _table(n=600, seed=5):
    """Bounds of every kind: censored (inf and missing upper), events before the first
    look (lower 0), exact events (lower == upper), and events after the end."""
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, 7, n).astype(float)
    hi = lo + rng.integers(0, 3, n)
    hi[rng.random(n) < 0.3] = np.inf
    hi[rng.random(n) < 0.05] = np.nan
    hi[(lo == 0) & (hi == 0)] = 1.0
    return pd.DataFrame({"pid": [f"P{i:04d}" for i in rng.permutation(n)], "lo": lo,
                         "hi": hi, "sex": rng.choice(["f", "m"], n),
                         "site": rng.choice(["north", "south", "east"], n),
                         "age": rng.integers(20, 80, n).astype(float)})


def _split(df, folder, n_files, kind, seed=1):
    """``df`` shuffled and dealt at random over ``n_files`` files; the glob."""
    return split_files(df, folder, n_files, kind, np.random.default_rng(seed))


def _build(engine, source, **kw):
    kw = {"lower_col": "lo", "upper_col": "hi", "id_col": "pid", "factors": FACTORS,
          "covariates": ["age"], **kw}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cohort = fb.Cohort.from_intervals(source, engine=engine, **kw)
    return cohort, sorted(str(w.message) for w in caught
                          if issubclass(w.category, fb.DataWarning))


def _assert_same(dask_cohort, pandas_cohort):
    expected = pandas_cohort.collapse()
    assert dask_cohort.is_collapsed
    pd.testing.assert_frame_equal(dask_cohort.intervals, expected.intervals)
    pd.testing.assert_frame_equal(dask_cohort.covariates, expected.covariates)
    pd.testing.assert_series_equal(dask_cohort.weights, expected.weights)
    np.testing.assert_array_equal(dask_cohort.grid, pandas_cohort.grid)
    assert dask_cohort.follow_up == pandas_cohort.follow_up
    assert dask_cohort.notes == pandas_cohort.notes
    pd.testing.assert_frame_equal(dask_cohort.excluded, pandas_cohort.excluded)
    pd.testing.assert_series_equal(dask_cohort.counts(), pandas_cohort.counts())


@pytest.fixture(scope="module")
def globs(tmp_path_factory):
    root = tmp_path_factory.mktemp("intervals")
    df = _table()
    return df, _split(df, root / "pq", 4, "parquet"), _split(df, root / "csv", 3, "csv")


@pytest.mark.parametrize("kw", [{}, {"follow_up": 5.0}, {"grid": [0, 2, 4, 6]}],
                         ids=["exact grid", "late events", "rounded to a grid"])
def test_dask_intervals_equal_pandas_collapsed(globs, kw):
    _, pq, _ = globs
    pandas_cohort, pandas_msgs = _build("pandas", pq, **kw)
    dask_cohort, dask_msgs = _build("dask", pq, **kw)
    _assert_same(dask_cohort, pandas_cohort)
    assert dask_msgs == pandas_msgs
    if kw:      # every option here changes some rows, and says so
        assert dask_cohort.notes and "patients" in dask_cohort.notes[0]


def test_weights_are_a_brute_force_count_of_the_table(globs):
    """Each pattern's weight is the number of rows with those covariates and interval,
    counted in a plain loop: (lower, upper] for an event, (previous bound, t] for an exact
    one (lower == upper), lower for a censored row."""
    df, pq, _ = globs
    cohort, _ = _build("dask", pq)
    event = np.isfinite(df["hi"].to_numpy(float))
    bounds = np.union1d([0.0], np.concatenate([df["lo"], df["hi"][event]]))
    brute: dict = {}
    for row, ev in zip(df.itertuples(), event, strict=True):
        lower = bounds[bounds < row.hi].max() if ev and row.lo == row.hi else row.lo
        key = (row.sex, row.site, row.age, lower, row.hi if ev else -1.0, ev)
        brute[key] = brute.get(key, 0) + 1
    iv, cov = cohort.intervals, cohort.covariates
    got = {(str(cov["sex"][k]), str(cov["site"][k]), cov["age"][k],
            iv["last_unrecovered"][k], -1.0 if np.isnan(iv["first_recovered"][k])
            else iv["first_recovered"][k], bool(iv["event"][k])): w
           for k, w in cohort.weights.items()}
    assert got == brute
    assert cohort.n_patients == len(df)


@pytest.mark.slow
def test_csv_glob_and_dask_dataframe_give_the_parquet_cohort(globs):
    import dask.dataframe as dd

    df, pq, csv = globs
    from_pq, _ = _build("dask", pq)
    from_csv, _ = _build("dask", csv)
    pd.testing.assert_series_equal(from_csv.weights, from_pq.weights)
    pd.testing.assert_frame_equal(from_csv.intervals, from_pq.intervals)
    from_dd, _ = _build("dask", dd.from_pandas(df, npartitions=3))
    pd.testing.assert_frame_equal(from_dd.covariates, from_pq.covariates)


def test_without_an_id_column_patients_are_numbered_by_row(tmp_path):
    """Rows of the stacked files numbered 0, 1, ... by both engines: the patients
    excluded for a missing value are the same row numbers."""
    df = _table(n=300, seed=8).drop(columns="pid")
    df["sex"] = df["sex"].where(df.index % 97 != 3)       # rows 3, 100, 197, 294
    source = _split(df, tmp_path / "noid", 3, "parquet", seed=4)
    kw = {"id_col": None, "dropna": True}
    p_cohort, p_msgs = _build("pandas", source, **kw)
    d_cohort, d_msgs = _build("dask", source, **kw)
    _assert_same(d_cohort, p_cohort)
    assert d_msgs == p_msgs and len(p_cohort.excluded) == 4
    assert d_cohort.excluded["patient"].dtype.kind == "i"


def _corrupt(kind, df):
    d = df.copy().astype({"lo": object, "hi": object})
    if kind == "missing id":
        d.loc[d.index[[7]], "pid"] = None
    elif kind == "duplicate patient":
        d = pd.concat([d, d.iloc[[4, 9]]])
    elif kind == "missing column":
        d = d.rename(columns={"hi": "Hi"})
    elif kind == "non-numeric lower":
        d.loc[d.index[[3, 30]], "lo"] = "soon"
    elif kind == "missing lower":
        d.loc[d.index[[5, 50, 51]], "lo"] = None
    elif kind == "negative upper":
        d.loc[d.index[[8]], "hi"] = -2.0
    elif kind == "infinite lower":
        d.loc[d.index[[9]], "lo"] = np.inf
    elif kind == "lower above upper":
        d.loc[d.index[[2, 20]], ["lo", "hi"]] = [4.0, 3.0]
    elif kind == "event at 0":
        d.loc[d.index[[6]], ["lo", "hi"]] = [0.0, 0.0]
    elif kind == "missing covariate":
        d.loc[d.index[[1, 11]], "site"] = None
    elif kind == "non-numeric covariate":
        d["age"] = d["age"].astype(object)
        d.loc[d.index[[12]], "age"] = "old"
    elif kind == "unknown factor":
        d = d.drop(columns="site")
    return d.reset_index(drop=True)


KINDS = ["missing id", "duplicate patient", "missing column", "non-numeric lower",
         "missing lower", "negative upper", "infinite lower", "lower above upper",
         "event at 0", "missing covariate", "non-numeric covariate", "unknown factor"]


@pytest.mark.parametrize("kind", KINDS)
def test_same_data_error_from_both_engines(kind, tmp_path):
    bad = _corrupt(kind, _table(n=80, seed=2))
    source = _split(bad, tmp_path / "t", 2, "csv")
    messages = []
    for engine in ("pandas", "dask"):
        with pytest.raises(DataError) as err, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fb.Cohort.from_intervals(source, lower_col="lo", upper_col="hi", id_col="pid",
                                     factors=FACTORS, covariates=["age"], engine=engine)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert str(tmp_path) in messages[0]


def test_coarsen_and_pattern_budget_with_both_engines(globs):
    _, pq, _ = globs
    with pytest.raises(DataError, match=r"budget of 40 .*'age' \("):
        _build("dask", pq, max_patterns=40)
    d, _ = _build("dask", pq, coarsen={"age": 20})
    p, _ = _build("pandas", pq, coarsen={"age": 20})
    assert set(np.unique(d.covariates["age"])) <= {20.0, 40.0, 60.0, 80.0}
    pd.testing.assert_frame_equal(d.covariates, p.covariates)
    pd.testing.assert_series_equal(d.weights, p.weights)
    with pytest.raises(DataError, match="scheduler= needs engine='dask'"):
        _build("pandas", pq, scheduler="local")


def test_cli_intervals_with_the_dask_engine(globs, capsys, tmp_path):
    df, pq, _ = globs
    args = ["--quiet", "describe", "--intervals", pq, "--lower-col", "lo", "--upper-col",
            "hi", "--id-col", "pid", "--factors", "sex,site", "--covariates", "age"]
    code_p, out_p, _ = _cli(capsys, *args)
    code_d, out_d, _ = _cli(capsys, *args, "--engine", "dask")
    assert code_p == code_d == 0
    assert out_d == out_p and f"{len(df)} patients" in out_d
    bad = _corrupt("lower above upper", df)
    bad.to_parquet(tmp_path / "bad.parquet")
    code, _, err = _cli(capsys, "describe", "--intervals", str(tmp_path / "*.parquet"),
                        "--lower-col", "lo", "--upper-col", "hi", "--id-col", "pid",
                        "--engine", "dask", "--factors", "sex", "--covariates", "")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "is above upper bound" in err and str(tmp_path / "*.parquet") in err
