"""Derived posterior variables computed after sampling, not inside the sampler.

nutpie stores, besides the sampled (unconstrained) point, every derived quantity of the
model (constrained free variables such as a ``ZeroSumNormal``'s ``b_<f>``, and
Deterministics such as ``alpha``, ``sigma_<f>``, ``log_hr_<f>``, ``beta``) through an
"expand" function it compiles with numba: 4-6 s of every fresh compilation (18 s with a
cold cache; docs/performance.md). The sampler is therefore compiled with
``var_names=[]`` (:data:`SAMPLER_VAR_NAMES`; its expand function is then the identity)
and :func:`expand_posterior` computes the same variables afterwards from the stored
unconstrained draws: the graph vectorised over draws and evaluated once
(``vectorize_graph``; per draw with pytensor's C backend if an op has no batched
form). The draws are the sampler's; the derived values are
the same functions of them, so the posterior keeps its variable names and dims and the
same seed gives the same numbers.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: ``var_names`` given to ``nutpie.compile_pymc_model``: store no derived variable
#: (only the unconstrained point); :func:`expand_posterior` adds them.
SAMPLER_VAR_NAMES: list = []


def _dims_of(model, name: str, shape: tuple) -> list:
    dims = list(model.named_vars_to_dims.get(name, ()) or ())
    if len(dims) != len(shape):
        dims = [f"{name}_dim_{i}" for i in range(len(shape))]
    return dims


#: how the vectorised graph is compiled: pytensor's Python linker, no rewriting. The graph
#: is a few dozen small operations evaluated once; in a fresh process ``FAST_COMPILE``
#: spent 0.6-0.7 s rewriting it and loading C code (1,000-patient cohort), this 0.2 s,
#: with the same values (``tests/test_expand.py``)
EXPAND_MODE = {"linker": "py", "optimizer": None}


def _batched(inputs, outs, values) -> list:
    """All draws in one call: the graph vectorised over a leading draw axis
    (``vectorize_graph``), compiled without C code or rewriting (:data:`EXPAND_MODE`)."""
    import pytensor
    import pytensor.tensor as pt
    from pytensor.compile.mode import Mode
    from pytensor.graph.replace import vectorize_graph

    batched = [pt.tensor(dtype=v.dtype, shape=(None, *v.type.shape), name=v.name)
               for v in inputs]
    graph = vectorize_graph(outs, replace=dict(zip(inputs, batched, strict=True)))
    fn = pytensor.function(batched, graph, mode=Mode(**EXPAND_MODE),
                           on_unused_input="ignore")
    n = len(values[0]) if values else 0
    arrays = [np.asarray(a) for a in fn(*values)]
    for a in arrays:
        if a.shape[:1] != (n,):
            raise ValueError("a derived variable lost its draw axis")
    return arrays


def _per_draw(model, inputs, outs, values) -> list:
    """One call of the model's compiled function per draw (pytensor's C backend)."""
    fn = model.compile_fn(inputs=inputs, outs=outs, on_unused_input="ignore",
                          point_fn=False)
    first = fn(*[x[0] for x in values])
    arrays = [np.empty((len(values[0]), *np.shape(o)), dtype=np.asarray(o).dtype)
              for o in first]
    for i in range(len(values[0])):
        for a, o in zip(arrays, fn(*[x[i] for x in values]) if i else first, strict=True):
            a[i] = o
    return arrays


def expand_posterior(posterior: xr.Dataset, model) -> xr.Dataset:
    """``posterior`` with the model's derived variables added from its value variables.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws (``chain``, ``draw``) of every value variable of ``model`` (the names of
        ``model.value_vars``, e.g. ``z_site_zerosum__``), as nutpie stores them with
        ``var_names=[]``.
    model : pymc.Model
        The model sampled, holding the cohort's data (Deterministics such as ``beta``
        depend on ``pm.Data``).

    Returns
    -------
    xarray.Dataset
        ``posterior`` plus every variable of ``model.unobserved_value_vars`` not in it
        (constrained free variables and Deterministics), with the model's dims and
        coordinates. Variables already present are left as they are.
    """
    inputs = list(model.value_vars)
    outs = [v for v in model.unobserved_value_vars if v.name not in posterior.data_vars]
    if not outs:
        return posterior
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    values = [np.asarray(posterior[v.name].values, dtype=v.dtype).reshape(
        (n_chain * n_draw, *posterior[v.name].shape[2:])) for v in inputs]
    try:
        arrays = _batched(inputs, outs, values)
    except Exception:            # an op without a batched form: one call per draw
        arrays = _per_draw(model, inputs, outs, values)
    new = {}
    coords = {k: v for k, v in model.coords.items() if v is not None}
    for var, a in zip(outs, arrays, strict=True):
        shape = a.shape[1:]
        dims = _dims_of(model, var.name, shape)
        new[var.name] = xr.DataArray(
            a.reshape((n_chain, n_draw, *shape)), dims=["chain", "draw", *dims],
            coords={d: list(coords[d]) for d in dims if d in coords})
    return posterior.assign(new)
