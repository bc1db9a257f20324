"""Fast start: importing the package and ``--help`` load no PyMC, ArviZ or matplotlib.

Each check runs in a fresh interpreter (this test process has imported everything).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pymc", "pytensor", "arviz", "nutpie", "numba", "jax", "matplotlib", "lifelines",
         "dask")


def _loaded_after(code: str) -> list[str]:
    """Heavy top-level packages in ``sys.modules`` after running ``code`` fresh."""
    probe = (f"import sys\n{code}\nimport json\n"
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_package_loads_no_heavy_dependency():
    assert _loaded_after("import footdrop_bayes") == []


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["demo", "--help"],
                                  ["simulate", "--help"]])
def test_cli_help_loads_no_heavy_dependency(argv):
    code = ("from footdrop_bayes.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0\n")
    assert _loaded_after(code) == []


def test_cohort_and_simulation_load_no_model_or_plotting():
    code = ("import footdrop_bayes as fb\n"
            "sim = fb.simulate_cohort(30, random_seed=1)\n"
            "fb.Cohort.from_visits(sim.visits, sim.patients, follow_up=6)\n")
    loaded = _loaded_after(code)
    assert not {"pymc", "arviz", "matplotlib", "nutpie", "dask"} & set(loaded)


def test_dask_is_imported_only_when_the_dask_engine_is_asked_for():
    pandas_engine = ("import footdrop_bayes as fb\n"
                     "from footdrop_bayes.cohort_engines import read_input\n"
                     "read_input('x.parquet', 'visits', 'visits', 'dask')\n")
    assert "dask" not in _loaded_after(pandas_engine)
    asked = "from footdrop_bayes.cohort_dask import import_dask\nimport_dask()\n"
    assert "dask" in _loaded_after(asked)


def test_every_public_name_resolves_to_the_same_object():
    import footdrop_bayes as fb
    from footdrop_bayes import classical, model, summaries

    for name in fb.__all__:
        assert getattr(fb, name) is not None, name
    assert fb.RecoveryModel is model.RecoveryModel
    assert fb.cox is classical.cox
    assert fb.hazard_ratios is summaries.hazard_ratios
    assert callable(fb.plots.plot_hazard_ratios)
    assert callable(fb.summaries.drop_term_comparison)
    assert set(fb.__all__) <= set(dir(fb))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = fb.no_such_name
