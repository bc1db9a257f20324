"""An interrupted or short sampling run is no fit: it is raised, never summarised."""

from __future__ import annotations

import numpy as np
import pytest

import footdrop_bayes.model.sampling as sampling
from footdrop_bayes.model import priors


class _Running:
    """A stand-in for nutpie's non-blocking sampler."""

    def __init__(self, result=None, interrupt=False):
        self.result, self.interrupt, self.cancelled = result, interrupt, False

    def wait(self):
        if self.interrupt:
            raise KeyboardInterrupt
        return self.result

    def cancel(self):
        self.cancelled = True


def _config(**kw):
    return priors.sampler_config({"chains": 2, "draws": 5, "tune": 5, "progressbar": False,
                                  **kw})


@pytest.fixture
def fake_nutpie(monkeypatch):
    import nutpie

    state = {}

    def sample(compiled, **kwargs):
        state["kwargs"] = kwargs
        return state["running"]
    monkeypatch.setattr(nutpie, "sample", sample)
    return state


def test_ctrl_c_stops_the_sampler_and_is_raised(fake_nutpie):
    fake_nutpie["running"] = running = _Running(interrupt=True)
    with pytest.raises(KeyboardInterrupt):
        sampling.run_sampler(None, _config(), 1, compiled=object())
    assert running.cancelled
    assert fake_nutpie["kwargs"]["blocking"] is False


@pytest.mark.parametrize("shape,nan_chain", [((2, 3), None), ((2, 5), 1)])
def test_draws_that_stopped_short_are_refused(fake_nutpie, shape, nan_chain):
    import arviz as az

    x = np.random.default_rng(0).normal(size=shape)
    if nan_chain is not None:
        x[nan_chain] = np.nan                      # nutpie's padding of an empty chain
    fake_nutpie["running"] = _Running(az.from_dict(posterior={"x": x}))
    with pytest.raises(RuntimeError, match="sampler stopped early: 2 chains x "
                       f"{shape[1]} draws of 2 x 5"):
        sampling.run_sampler(None, _config(), 1, compiled=object())
