"""A fit with divergent transitions is sampled again at ``retry_target_accept`` (issue 13).

The sampler is replaced by one that returns the shared fit's draws (divergent on the
first call), so no model is compiled here; the measurements behind the default are in
docs/validation_model.md#multi-centre-grid.
"""

from __future__ import annotations

import numpy as np
import pytest

import footdrop_bayes as fb
from footdrop_bayes.model import recovery_model
from footdrop_bayes.model.diagnostics import advice, retry_sentence
from footdrop_bayes.report_text import diagnostics_md


@pytest.fixture
def fake_sampler(fitted_model, monkeypatch):
    """Record (target_accept, seed) of each call; the first call's draws diverge 3 times
    (or every call's, with ``always``)."""
    calls = []
    state = {"always": False}

    def fake(model, cfg, seed, compiled):
        calls.append((float(cfg["target_accept"]), seed))
        idata = fitted_model.idata.copy()
        div = np.zeros(idata.sample_stats["diverging"].shape, dtype=bool)
        if len(calls) == 1 or state["always"]:
            div[0, :3] = True
        idata.sample_stats["diverging"] = idata.sample_stats["diverging"].copy(data=div)
        return idata, float(len(calls)), None

    monkeypatch.setattr(recovery_model, "run_sampler", fake)
    return calls, state


def _model(fitted_model, **sampler):
    # sampler "pymc": nothing is compiled before the (replaced) sampler runs
    return fb.RecoveryModel(fitted_model.cohort, sampler_config={
        "sampler": "pymc", "chains": 2, "draws": 200, "tune": 200,
        "on_convergence_failure": "ignore", **sampler})


def test_divergent_draws_are_sampled_again_with_the_same_seed(fitted_model, fake_sampler,
                                                               tmp_path):
    calls, _ = fake_sampler
    m = _model(fitted_model).fit(random_seed=7)
    assert calls == [(0.95, 7), (0.99, 7)]
    d = m.diagnostics()
    assert d["divergences"] == 0
    first = dict(d["retry"])
    block = first.pop("block")
    assert block is None or block in {r["block"] for r in d["by_block"]}
    assert first == {"target_accept": 0.95, "divergences": 3, "sampling_time": 1.0,
                     "retried_at": 0.99}
    named = d | {"retry": first | {"block": "clinic"}}
    assert "3 divergent transition(s) (in block 'clinic')" in retry_sentence(named)
    assert m.idata.posterior.attrs["target_accept"] == 0.99
    assert m.idata.posterior.attrs["sampling_time"] == 2.0
    # the advice never repeats what is in force: 0.99 was used
    assert d["settings"]["target_accept"] == 0.99
    assert "target_accept" not in advice(d | {"divergences": 1})
    text = retry_sentence(d)
    assert "3 divergent transition(s)" in text and "at 0.99" in text
    assert "--retry-target-accept" in text and text in diagnostics_md(d)
    # the report also says how each block was written
    f = m.factors[0]
    assert f"{f} {m.parameterization[f]}" in diagnostics_md(d)
    assert f"baseline {m.parameterization['baseline']}" in diagnostics_md(d)
    # saved and loaded, the fit still says so
    m.save(tmp_path / "fit.nc")
    loaded = fb.RecoveryModel.load(tmp_path / "fit.nc").diagnostics()["retry"]
    assert loaded == m.diagnostics()["retry"] and loaded["divergences"] == 3


def test_no_retry_when_off_clean_or_already_higher(fitted_model, fake_sampler):
    calls, _ = fake_sampler
    off = _model(fitted_model, retry_target_accept=None).fit(random_seed=7)
    assert calls == [(0.95, 7)]
    assert off.diagnostics()["divergences"] == 3 and off.diagnostics()["retry"] is None
    assert off.idata.posterior.attrs["target_accept"] == 0.95
    assert "raise target_accept from 0.95 to 0.99" in advice(off.diagnostics())
    calls.clear()
    high = _model(fitted_model, target_accept=0.99).fit(random_seed=7)
    assert calls == [(0.99, 7)] and high.diagnostics()["retry"] is None


def test_a_retry_that_still_diverges_warns_and_says_both(fitted_model, fake_sampler):
    calls, state = fake_sampler
    state["always"] = True
    with pytest.warns(fb.ConvergenceWarning, match="sampled again with the same seed at 0.99"):
        m = _model(fitted_model, on_convergence_failure="warn").fit(random_seed=2)
    assert calls == [(0.95, 2), (0.99, 2)]
    assert m.diagnostics()["divergences"] == 3


def test_retry_target_accept_is_checked():
    with pytest.raises(ValueError, match="retry_target_accept"):
        fb.model.priors.sampler_config({"retry_target_accept": 1.5})
