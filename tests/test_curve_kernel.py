"""The numba loop of weighted_curves (model/_curve_kernel.py) against the numpy formula."""

from __future__ import annotations

import numpy as np
import pytest

from footdrop_bayes.model._curve_kernel import accumulate_threads


@pytest.mark.parametrize("n_lab", [1, 2])
def test_kernel_equals_numpy_and_does_not_depend_on_threads(n_lab):
    rng = np.random.default_rng(0)
    n_draw, n_prof, n_shift, n_time = 37, 23, 3, 5
    h0 = np.cumsum(rng.uniform(0, 0.4, (n_draw, n_time)), axis=1)
    rel = np.exp(rng.normal(0, 0.7, (n_draw, n_prof)))
    factor = np.exp(rng.normal(0, 0.3, (n_draw, n_shift)))
    w = rng.integers(1, 5, n_prof).astype(float)
    labels = rng.integers(0, n_lab, n_prof)
    p = -np.expm1(-h0[:, None, None, :] * (rel[:, None, :] * factor[:, :, None])[..., None])
    expected = np.zeros((n_draw, n_shift, n_lab, n_time))
    for lab in range(n_lab):
        m = labels == lab
        expected[:, :, lab] = np.einsum("dspt,p->dst", p[:, :, m], w[m])
    outs = []
    for threads in (1, 2, 3):
        out = np.zeros_like(expected)
        accumulate_threads(h0, rel, factor, w, labels, out, threads)
        outs.append(out)
    np.testing.assert_allclose(outs[0], expected, rtol=1e-13, atol=1e-14)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


def test_vectorised_exp_matches_numpy_to_a_few_ulp():
    from footdrop_bayes.model._curve_kernel import exp_scaled

    rng = np.random.default_rng(1)
    x = np.concatenate([-rng.exponential(3.0, 5000), -rng.uniform(0, 1e-6, 500),
                        [0.0, -0.5 * np.log(2), -np.log(2), -700.0, -745.0, -1e308]])
    out, work = np.empty_like(x), np.empty_like(x)
    exp_scaled(-1.0, -x, out, work)
    ref = np.exp(np.maximum(x, -700.0))
    assert out[x == 0.0][0] == 1.0
    np.testing.assert_allclose(out, ref, rtol=4 * np.finfo(float).eps, atol=0)
    # the probabilities 1 - exp(-x) it gives are exact to 1e-16 absolute
    assert np.max(np.abs((1 - out) - -np.expm1(np.maximum(x, -700.0)))) <= np.finfo(float).eps
