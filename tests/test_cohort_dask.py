"""The Dask engine against the pandas engine: same intervals, counts, warnings and errors.

Simulated cohorts are written to several Parquet / CSV files with the rows shuffled and
each patient's visits spread over different files; both engines read the same glob.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import footdrop_bayes as fb
from footdrop_bayes.errors import DataError

pytest.importorskip("dask.dataframe")

FACTORS = ["sex", "site", "cause", "treatment"]


def _split(df, folder, n_files, kind, rng):
    """Write ``df`` shuffled into ``n_files`` files (rows dealt at random)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = df.sample(frac=1.0, random_state=rng.integers(1 << 31)).reset_index(drop=True)
    part = rng.integers(0, n_files, len(rows))
    for k in range(n_files):
        chunk = rows[part == k]
        if kind == "parquet":
            chunk.to_parquet(folder / f"part{k}.parquet", index=False)
        else:
            chunk.to_csv(folder / f"part{k}.csv", index=False)
    return str(folder / f"*.{kind}")


def _messy_tables(n=400, seed=7):
    """Simulated tables with an identical duplicate visit, a relapse, late visits and a
    patient without visits: every warning path of both engines."""
    visits, patients, _ = fb.simulate_cohort(n, random_seed=seed)
    ids = patients["patient_id"].tolist()
    extra = pd.DataFrame({"patient_id": [ids[3], ids[5], ids[8]],
                          "month": [1.0, 7.0, 8.0], "recovered": [False, False, True]})
    # a duplicate of an existing row, a visit after the end for two patients
    dup = visits[visits["patient_id"] == ids[3]].head(1)
    visits = pd.concat([visits, dup, extra.iloc[1:]], ignore_index=True)
    # a relapse: a patient recorded recovered, then not, then recovered again
    rec = visits[visits["recovered"]].drop_duplicates("patient_id").iloc[0]
    visits = pd.concat([visits, pd.DataFrame({"patient_id": [rec["patient_id"]],
                                              "month": [rec["month"] + 0.5],
                                              "recovered": [False]})], ignore_index=True)
    # a patient with no visits at all
    visits = visits[visits["patient_id"] != ids[10]]
    return visits, patients


def _build(engine, visits, patients, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cohort = fb.Cohort.from_visits(visits, patients, follow_up=6, factors=FACTORS,
                                       covariates=["age"], engine=engine, **kw)
    messages = sorted(str(w.message) for w in caught
                      if issubclass(w.category, fb.DataWarning))
    return cohort, messages


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The messy tables as 4 shuffled Parquet files and 3 CSV files, patients in 2."""
    rng = np.random.default_rng(11)
    root = tmp_path_factory.mktemp("registry")
    visits, patients = _messy_tables()
    return {
        "tables": (visits, patients),
        "parquet": (_split(visits, root / "vp", 4, "parquet", rng),
                    _split(patients, root / "pp", 2, "parquet", rng)),
        "csv": (_split(visits, root / "vc", 3, "csv", rng),
                _split(patients, root / "pc", 2, "csv", rng)),
    }


@pytest.fixture(scope="module")
def both(files):
    """(pandas cohort, its warnings, dask cohort, its warnings) from the Parquet glob."""
    v, p = files["parquet"]
    pandas_cohort, pandas_msgs = _build("pandas", v, p)
    dask_cohort, dask_msgs = _build("dask", v, p)
    return pandas_cohort, pandas_msgs, dask_cohort, dask_msgs


def test_files_really_spread_patients_and_shuffle_rows(files):
    import glob

    parts = [pd.read_parquet(f) for f in sorted(glob.glob(files["parquet"][0]))]
    spread = pd.concat([p.assign(file=k) for k, p in enumerate(parts)]).groupby(
        "patient_id")["file"].nunique()
    assert (spread > 1).mean() > 0.5
    assert not parts[0]["patient_id"].is_monotonic_increasing


def test_dask_engine_equals_pandas_engine_collapsed(both):
    pandas_cohort, _, dask_cohort, _ = both
    expected = pandas_cohort.collapse()
    assert dask_cohort.is_collapsed and not pandas_cohort.is_collapsed
    pd.testing.assert_frame_equal(dask_cohort.intervals, expected.intervals)
    pd.testing.assert_frame_equal(dask_cohort.covariates, expected.covariates)
    pd.testing.assert_series_equal(dask_cohort.weights, expected.weights)
    np.testing.assert_array_equal(dask_cohort.grid, pandas_cohort.grid)
    assert dask_cohort.follow_up == pandas_cohort.follow_up
    pd.testing.assert_series_equal(dask_cohort.counts(), pandas_cohort.counts())
    pd.testing.assert_frame_equal(dask_cohort.table1(), pandas_cohort.table1())
    pd.testing.assert_frame_equal(dask_cohort.excluded, pandas_cohort.excluded)
    assert dask_cohort.notes == pandas_cohort.notes


def test_collapsed_counts_match_a_brute_force_count(both):
    """The weights are the number of patients with each (covariates, interval) row."""
    pandas_cohort, _, dask_cohort, _ = both
    df = pandas_cohort.covariates.join(pandas_cohort.intervals).fillna(
        {"first_recovered": -1})
    keys = FACTORS + ["age", "last_unrecovered", "first_recovered", "event"]
    brute = df.groupby(keys, observed=True).size()
    got = dask_cohort.covariates.join(dask_cohort.intervals).fillna(
        {"first_recovered": -1}).assign(w=dask_cohort.weights).set_index(keys)["w"]
    assert got.sum() == pandas_cohort.n_patients == len(pandas_cohort.intervals)
    assert sorted(got.astype(int).tolist()) == sorted(brute.tolist())


def test_same_warnings_from_both_engines(both):
    _, pandas_msgs, _, dask_msgs = both
    assert dask_msgs == pandas_msgs
    joined = " ".join(pandas_msgs)
    for what in ("identical duplicate", "after the end of follow-up",
                 "not recovered after a recovery", "no visits"):
        assert what in joined


@pytest.mark.slow
def test_csv_glob_gives_the_parquet_glob_cohort(files, both):
    _, _, dask_cohort, _ = both
    v, p = files["csv"]
    from_csv, _ = _build("dask", v, p)
    pd.testing.assert_series_equal(from_csv.weights, dask_cohort.weights)
    pd.testing.assert_frame_equal(from_csv.intervals, dask_cohort.intervals)


@pytest.mark.slow
def test_dask_dataframe_input_gives_the_same_cohort(files, both):
    import dask.dataframe as dd

    _, _, dask_cohort, _ = both
    visits, patients = files["tables"]
    from_dd, _ = _build("dask", dd.from_pandas(visits, npartitions=3),
                        dd.from_pandas(patients, npartitions=2))
    pd.testing.assert_frame_equal(from_dd.covariates, dask_cohort.covariates)


def _corrupt(kind, visits, patients):
    v, p = visits.copy(), patients.copy()
    ids = p["patient_id"].tolist()
    v["month"] = v["month"].astype(object)
    if kind == "missing time":
        v.loc[v.index[[4, 40]], "month"] = None
    elif kind == "non-numeric time":
        v.loc[v.index[[7, 70, 90]], "month"] = "soon"
    elif kind == "negative time":
        v.loc[v.index[[3]], "month"] = -1.0
    elif kind == "missing status":
        v["recovered"] = v["recovered"].astype(object)
        v.loc[v.index[[2, 20]], "recovered"] = None
    elif kind == "bad status":
        v["recovered"] = v["recovered"].astype(object)
        v.loc[v.index[[5, 6]], "recovered"] = "maybe"
    elif kind == "grade":
        v["recovered"] = np.where(v["recovered"], 5, v.index % 4)
    elif kind == "conflict":
        row = v.iloc[[12]].copy()
        row["recovered"] = ~row["recovered"].astype(bool)
        v = pd.concat([v, row])
    elif kind == "unknown patient":
        v = pd.concat([v, pd.DataFrame({"patient_id": ["X1", "X2"], "month": [1.0, 2.0],
                                        "recovered": [False, True]})])
    elif kind == "recovery at 0":
        v.loc[(v["month"] == 0) & v["patient_id"].isin(ids[:3]), "recovered"] = True
    elif kind == "missing covariate":
        p.loc[p.index[[1, 9]], "cause"] = None
    elif kind == "duplicate patient":
        p = pd.concat([p, p.iloc[[4]]])
    elif kind == "missing id":
        v.loc[v.index[[8]], "patient_id"] = None
    elif kind == "missing column":
        v = v.rename(columns={"recovered": "Recovered"})
    return v.reset_index(drop=True), p.reset_index(drop=True)


@pytest.mark.parametrize("kind", ["missing time", "non-numeric time", "negative time",
                                  "missing status", "bad status", "grade", "conflict",
                                  "unknown patient", "recovery at 0", "missing covariate",
                                  "duplicate patient", "missing id", "missing column"])
def test_same_data_error_from_both_engines(kind, tmp_path):
    visits, patients, _ = fb.simulate_cohort(60, random_seed=2)
    v, p = _corrupt(kind, visits, patients)
    rng = np.random.default_rng(1)
    vg = _split(v, tmp_path / "v", 2, "csv", rng)
    pg = _split(p, tmp_path / "p", 1, "csv", rng)
    messages = _errors_from_both_engines(vg, pg, follow_up=6, factors=FACTORS,
                                         covariates=["age"])
    assert messages[0] == messages[1]
    assert str(tmp_path) in messages[0]     # names the file(s)


def test_dask_engine_refuses_what_it_does_not_do():
    visits, patients, _ = fb.simulate_cohort(30, random_seed=2)
    with pytest.raises(DataError, match="visit_window must be between 0 and half"):
        fb.Cohort.from_visits(visits, patients, engine="dask", visit_window=0.7)
    with pytest.raises(DataError, match="engine='spark' is not one of"):
        fb.Cohort.from_visits(visits, patients, engine="spark")
    with pytest.raises(DataError, match="no files match"):
        fb.Cohort.from_visits("/nonexistent/*.parquet", patients, engine="dask")


def _errors_from_both_engines(vg, pg, **kw) -> list[str]:
    """The DataError messages of the pandas and the Dask engine (both must raise)."""
    messages = []
    for engine in ("pandas", "dask"):
        with pytest.raises(DataError) as err, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fb.Cohort.from_visits(vg, pg, engine=engine, **kw)
        messages.append(str(err.value))
    return messages


def _cli(capsys, *argv):
    from footdrop_bayes.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_describe_gives_the_same_cohort_with_both_engines(files, capsys):
    v, p = files["parquet"]
    args = ["--quiet", "describe", "--visits", v, "--patients", p, "--follow-up", "6",
            "--factors", ",".join(FACTORS), "--covariates", "age"]
    code_p, out_p, _ = _cli(capsys, *args)
    code_d, out_d, _ = _cli(capsys, *args, "--engine", "dask")
    assert code_p == code_d == 0
    assert out_d == out_p
    assert "400 patients" in out_d or "399 patients" in out_d


def test_cli_bad_input_is_one_line_and_exit_2_with_dask(files, capsys, tmp_path):
    visits, _ = files["tables"]
    bad = visits.assign(month=visits["month"].where(visits.index != 5, -3.0))
    bad.to_parquet(tmp_path / "v.parquet")
    code, _, err = _cli(capsys, "describe", "--visits", str(tmp_path / "*.parquet"),
                        "--patients", files["parquet"][1], "--engine", "dask",
                        "--factors", "sex", "--covariates", "age")
    assert code == 2
    assert "negative or infinite times" in err and str(tmp_path / "*.parquet") in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, "describe", "--visits", files["parquet"][0], "--patients",
                        files["parquet"][1], "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and "--scheduler needs --engine dask" in err


def test_pattern_budget_names_the_columns_and_coarsen_fixes_it(files):
    v, p = files["parquet"]
    with pytest.raises(DataError, match=r"budget of 50 .*'age' \(") as err, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fb.Cohort.from_visits(v, p, follow_up=6, factors=["sex"], covariates=["age"],
                              engine="dask", max_patterns=50)
    assert "coarsen=" in str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = fb.Cohort.from_visits(v, p, follow_up=6, factors=["sex"], covariates=["age"],
                                  engine="dask", coarsen={"age": 10})
        c = fb.Cohort.from_visits(v, p, follow_up=6, factors=["sex"], covariates=["age"],
                                  coarsen={"age": 10})
    assert set(np.unique(d.covariates["age"])) <= set(np.arange(0, 130, 10.0))
    pd.testing.assert_frame_equal(d.covariates, c.covariates)
    pd.testing.assert_series_equal(d.weights, c.weights)
    with pytest.raises(DataError, match="budget of 20"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fb.Cohort.from_visits(v, p, follow_up=6, factors=["sex"], covariates=["age"],
                              max_patterns=20, coarsen={"age": 1})


def test_pandas_engine_reads_globs_of_interval_tables(tmp_path):
    df = pd.DataFrame({"lo": [0, 1, 2, 3, 1, 2], "hi": [1, 2, np.inf, 4, 3, np.inf],
                       "g": list("ababab")})
    df.iloc[:4].to_csv(tmp_path / "a.csv", index=False)
    df.iloc[4:].to_csv(tmp_path / "b.csv", index=False)
    from_glob = fb.Cohort.from_intervals(str(tmp_path / "*.csv"), lower_col="lo",
                                         upper_col="hi", factors=["g"], covariates=[])
    direct = fb.Cohort.from_intervals(df, lower_col="lo", upper_col="hi", factors=["g"],
                                      covariates=[])
    pd.testing.assert_frame_equal(from_glob.intervals.reset_index(drop=True),
                                  direct.intervals.reset_index(drop=True))
    with pytest.raises(DataError, match=r"b\*\.csv: no files match"):
        fb.Cohort.from_intervals(str(tmp_path / "b*.csv").replace("b*", "zz/b*"),
                                 lower_col="lo", upper_col="hi")


@pytest.mark.slow
def test_local_cluster_gives_the_same_cohort(files, both):
    """scheduler="local": a LocalCluster of worker processes, started and closed."""
    _, _, dask_cohort, _ = both
    v, p = files["parquet"]
    on_cluster, _ = _build("dask", v, p, scheduler="local")
    pd.testing.assert_frame_equal(on_cluster.intervals, dask_cohort.intervals)
    pd.testing.assert_series_equal(on_cluster.weights, dask_cohort.weights)


@pytest.mark.slow
def test_cli_fit_with_the_dask_engine_writes_the_report(files, tmp_path, capsys):
    checker = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / \
        "tools" / "check-output-folder"
    v, p = files["parquet"]
    out = tmp_path / "fit"
    code, _, err = _cli(capsys, "--quiet", "fit", "--visits", v, "--patients", p,
                        "--engine", "dask", "--factors", "cause,sex", "--covariates", "",
                        "--follow-up", "6", "--draws", "100", "--tune", "100", "--chains",
                        "2", "--out", str(out))
    assert code == 0, err
    report = (out / "report.md").read_text()
    assert "Concordance not computed (collapsed cohort)" in report
    import subprocess

    assert subprocess.run([str(checker), str(out)]).returncode == 0


@pytest.mark.parametrize("kw", [{"visit_window": 0.3, "follow_up": 6.0},
                                pytest.param({"visit_window": 0.5}, marks=pytest.mark.slow),
                                {"visit_window": 0.4, "exact_times": True, "follow_up": 6.0}],
                         ids=["window 0.3", "window 0.5 default end", "exact times"])
def test_visit_windows_same_cohort_and_notes_from_both_engines(kw, tmp_path):
    """Visits off schedule (jittered times), a collision with disagreeing statuses and
    visits just after the end: moved, kept, merged and ignored alike, with the same notes
    naming the same patients in the same order."""
    visits, patients, _ = fb.simulate_cohort(300, random_seed=4)
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.45, 0.45, len(visits)) * (visits["month"] > 0)
    visits = visits.assign(month=np.round(visits["month"] + jitter, 2))
    ids = patients["patient_id"].tolist()
    visits = pd.concat([visits, pd.DataFrame({"patient_id": ids[:3],
                                              "month": [2.2, 6.3, 6.05],
                                              "recovered": [True, False, True]})])
    vg = _split(visits, tmp_path / "v", 3, "parquet", rng)
    pg = _split(patients, tmp_path / "p", 1, "parquet", rng)
    pandas_cohort = _assert_engines_agree_on_scheduled_visits(vg, pg, kw)
    if not kw.get("exact_times"):   # jittered visits really are moved off the exact grid
        assert len(pandas_cohort.grid) < len(np.unique(visits["month"]))


def _assert_engines_agree_on_scheduled_visits(vg, pg, kw):
    """Both engines build the same (collapsed) cohort, notes and warnings from the globs,
    with off-schedule visits moved to their scheduled time; returns the pandas cohort."""
    built = []
    for engine in ("pandas", "dask"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cohort = fb.Cohort.from_visits(vg, pg, factors=["sex", "cause"], covariates=[],
                                           engine=engine, **kw)
        built.append((cohort, sorted(str(w.message) for w in caught)))
    (pandas_cohort, pandas_msgs), (dask_cohort, dask_msgs) = built
    expected = pandas_cohort.collapse()
    pd.testing.assert_frame_equal(dask_cohort.intervals, expected.intervals)
    pd.testing.assert_frame_equal(dask_cohort.covariates, expected.covariates)
    pd.testing.assert_series_equal(dask_cohort.weights, expected.weights)
    np.testing.assert_array_equal(dask_cohort.grid, pandas_cohort.grid)
    assert dask_cohort.follow_up == pandas_cohort.follow_up
    assert dask_cohort.notes == pandas_cohort.notes and dask_msgs == pandas_msgs
    assert "moved to their scheduled time" in " ".join(pandas_cohort.notes)
    return pandas_cohort


def _dated(n=300, seed=1):
    """Visits as dates (text), a few days off schedule, and referral dates."""
    visits, patients, _ = fb.simulate_cohort(n, random_seed=seed)
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    patients = patients.assign(referral=start.strftime("%Y-%m-%d"))
    origin = visits["patient_id"].map(pd.Series(start, index=patients["patient_id"].to_numpy()))
    days = visits["month"] * 30.4375 + rng.integers(-6, 7, len(visits)) * (visits["month"] > 0)
    dates = origin + pd.to_timedelta(np.round(days), unit="D")
    return visits.assign(month=dates.dt.strftime("%Y-%m-%d")), patients


@pytest.mark.parametrize("kw", [{}, {"origin_col": "referral", "visit_window": 0.2},
                                pytest.param({"exact_times": True, "follow_up": 6.0},
                                             marks=pytest.mark.slow)],
                         ids=["first visit", "origin column, window 0.2", "exact times"])
def test_dates_same_cohort_and_notes_from_both_engines(kw, tmp_path):
    """Dates (ISO text in CSV files, shuffled over files) become times since the origin
    in months and are moved to the schedule alike by both engines."""
    visits, patients = _dated()
    rng = np.random.default_rng(3)
    vg = _split(visits, tmp_path / "v", 3, "csv", rng)
    pg = _split(patients, tmp_path / "p", 2, "parquet", rng)
    _assert_engines_agree_on_scheduled_visits(vg, pg, kw)


def _bad_dates(kind, visits, patients):
    v, p = visits.copy(), patients.copy()
    if kind == "mixed":
        v.loc[v.index[[3, 30]], "month"] = "2.5"
    elif kind == "neither":
        v.loc[v.index[[4, 40]], "month"] = "soon"
    elif kind == "before origin":
        v.loc[v.index[[5]], "month"] = "2020-01-01"
    elif kind == "missing origin":
        p.loc[p.index[[2, 7]], "referral"] = None
    elif kind == "unparsable origin":
        p.loc[p.index[[6]], "referral"] = "last spring"
    elif kind == "unknown patient":
        v = pd.concat([v, pd.DataFrame({"patient_id": ["X1"], "month": ["2024-05-01"],
                                        "recovered": [False]})])
    elif kind == "no origin column":
        p = p.drop(columns="referral")
    elif kind == "numbers with origin_col":
        v, _, _ = fb.simulate_cohort(len(p), random_seed=1)
    return v.reset_index(drop=True), p


@pytest.mark.parametrize("kind", ["mixed", "neither", "before origin", "missing origin",
                                  "unparsable origin", "unknown patient", "no origin column",
                                  "numbers with origin_col"])
def test_same_date_error_from_both_engines(kind, tmp_path):
    visits, patients = _dated(n=60, seed=2)
    v, p = _bad_dates(kind, visits, patients)
    rng = np.random.default_rng(1)
    vg = _split(v, tmp_path / "v", 2, "csv", rng)
    pg = _split(p, tmp_path / "p", 1, "csv", rng)
    messages = _errors_from_both_engines(
        vg, pg, follow_up=6, factors=["sex"], covariates=[],
        origin_col=None if kind == "mixed" else "referral")
    assert messages[0] == messages[1]
    assert str(tmp_path) in messages[0]


def test_csv_types_are_read_from_every_file(tmp_path):
    """A column numeric in one file and text in another is text (so a bad value reaches
    the engines' common checks); whole numbers become floats, except the id column."""
    from footdrop_bayes.cohort_dask import csv_dtypes

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame({"id": [1, 2], "age": [30, 41], "dose": [1, 2],
                  "sex": ["f", "m"]}).to_csv(a, index=False)
    pd.DataFrame({"id": [3, 4], "age": [52, "old"], "dose": [0.5, 1.5],
                  "sex": ["m", "f"]}).to_csv(b, index=False)
    assert csv_dtypes([str(a)], ",", "id") == {"id": "int64", "age": "float64",
                                               "dose": "float64", "sex": "object"}
    assert csv_dtypes([str(a), str(b)], ",", "id") == {"id": "int64", "age": "object",
                                                       "dose": "float64", "sex": "object"}


def test_near_duplicate_levels_warn_with_the_dask_engine_too(tmp_path):
    """'trauma' / 'Trauma ' in a factor: both engines warn naming the spellings; the Dask
    engine counts the patients with the rarer spellings (it keeps no patient ids)."""
    visits, patients, _ = fb.simulate_cohort(80, random_seed=3)
    cause = patients["cause"].astype(str)
    first = cause.index[cause == cause.mode()[0]]
    patients.loc[first[:3], "cause"] = cause.mode()[0].title() + " "
    rng = np.random.default_rng(2)
    vg = _split(visits, tmp_path / "v", 2, "parquet", rng)
    pg = _split(patients, tmp_path / "p", 2, "parquet", rng)
    msgs = {}
    for engine in ("pandas", "dask"):
        with pytest.warns(fb.DataWarning) as rec:
            fb.Cohort.from_visits(vg, pg, factors=["cause"], covariates=[], follow_up=6,
                                  engine=engine)
        msgs[engine] = next(str(w.message) for w in rec if "differ only in case" in
                            str(w.message))
    head = msgs["pandas"].split("; the rarer")[0]
    assert msgs["dask"].startswith(head)                       # same spellings, same order
    assert "(3 patients)" in msgs["pandas"]
    assert "for 3 patients (counted in the collapsed table" in msgs["dask"]
