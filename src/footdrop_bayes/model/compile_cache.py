"""Compile once per model structure: a process-level cache of nutpie-compiled models.

Compiling a model with numba costs 0.1-0.5 s in a process that finds the structure's
manifest and wrappers on disk (:mod:`.cached_wrapper`), 10-40 s for a structure new to the
machine and 30-100 s with pytensor's numba cache empty; sampling a small cohort takes a
few seconds. (The JAX backend compiles in seconds with the data frozen in, so it compiles
per fit and is not cached.) The data of :func:`~.build.build_model` are ``pm.Data`` of
dynamic length (:func:`~.build.data_arrays`), so a compiled model serves every cohort with the same
*structure*: the same factors with the same numbers of levels, covariates, group and
number of groups, grid length, follow-up, time unit, centred / non-centred choices, model
configuration and backend (:func:`structure_key`). A new cohort of that structure only
swaps the arrays (nutpie's ``compiled.with_data``): refits (``drop_term_comparison``
excepted, whose models differ), bootstraps, cross-validation, sensitivity analyses and
simulation studies pay the compilation once per process.

The initial point of the sampler does not depend on the data (every prior is centred on
a constant; the baseline on ``log(1 / follow_up)``, part of the key), so a reused model
gives the same draws as a fresh compilation with the same seed
(``tests/test_compile_cache.py``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import threading
import time
from collections import OrderedDict
from typing import NamedTuple

import pandas as pd

from .build import data_arrays, model_coords
from .likelihood import ModelData
from .smooth import smooth_key

#: compiled models kept per process (least recently used dropped first)
MAX_ENTRIES = 8

#: ``nutpie_backend="auto"`` uses JAX up to this many likelihood terms (when jax is
#: installed and the run is short, :data:`JAX_MAX_ITERATIONS`), numba otherwise.
JAX_MAX_TERMS = 2000

#: ... and up to this many NUTS iterations in all (chains x (draws + tune)). JAX compiles
#: in about 6 s but each gradient is called through Python, about 20 times slower than
#: numba's (bundled cohort, 8,000 iterations: JAX 6.0 s compile + 54.6 s sampling,
#: numba 2.4 s sampling). numba's compilation is under a second for a structure the machine
#: has compiled before (:mod:`.cached_wrapper`), 10-40 s for a new one and 30-100 s with
#: pytensor's cache empty, as on a fresh CI machine: JAX's 6 s bounds short runs (tests,
#: quick looks) wherever they run, and the choice never depends on the machine's cache
#: (same seed, same draws). Default-size fits use numba (docs/performance.md).
JAX_MAX_ITERATIONS = 2000

_CACHE: OrderedDict = OrderedDict()
_LOCK = threading.Lock()
_STATS = {"compiled": 0, "reused": 0}


class Compiled(NamedTuple):
    """What :func:`compiled_model` returns."""

    compiled: object
    seconds: float
    reused: bool
    backend: str


def jax_available() -> bool:
    """Whether jax can be imported (the ``[jax]`` extra)."""
    try:
        return importlib.util.find_spec("jax") is not None
    except (ImportError, ValueError):
        return False


def resolve_backend(backend: str, n_terms: int, iterations: int | None = None) -> str:
    """The nutpie backend to use: ``"auto"`` picks by model and run size, else ``backend``.

    ``"auto"``: ``"jax"`` when jax is installed, the model has at most
    :data:`JAX_MAX_TERMS` likelihood terms (collapsed patterns) and the run has at most
    :data:`JAX_MAX_ITERATIONS` NUTS iterations (``chains * (draws + tune)``; ``None``:
    not limited); ``"numba"`` otherwise.
    """
    if backend != "auto":
        return backend
    short = iterations is None or iterations <= JAX_MAX_ITERATIONS
    return "jax" if jax_available() and n_terms <= JAX_MAX_TERMS and short else "numba"


def structure_key(data: ModelData, config: dict, parameterization: dict,
                  backend: str, level_split: dict | None = None) -> tuple:
    """What a compiled model depends on besides its ``pm.Data`` arrays.

    Parameters
    ----------
    data : ModelData
    config : dict
        The model configuration (priors; ``collapse``).
    parameterization : dict
        Centred / non-centred choice per block (:func:`~.build.choose_parameterization`).
    backend : str
        nutpie backend (``"numba"`` or ``"jax"``).
    level_split : dict, optional
        Anchor, pinned and weak levels of each ``"mixed"`` block
        (:func:`~.build.level_splits`): a compiled model is never reused with another split.
    """
    levels = tuple((name, len(data.levels[name])) for name in data.factors)
    group = (data.group, len(data.levels[data.group])) if data.group else None
    return (levels, tuple(data.covariates), group, len(data.widths), data.time_unit,
            float(data.follow_up), json.dumps(parameterization, sort_keys=True),
            json.dumps(level_split or {}, sort_keys=True),
            json.dumps(config, sort_keys=True, default=str), backend, smooth_key(data)
            ) + _tv_key(data)


def _tv_key(data) -> tuple:
    from .tv_build import tv_structure

    return tv_structure(data)


def _compile(model, backend: str, disk_key: str | None = None):
    import nutpie

    from .expand import SAMPLER_VAR_NAMES
    from .temp_sources import contain

    contain()                        # pytensor's generated sources: removed at exit

    # var_names=[]: nutpie stores the unconstrained point only (no numba "expand"
    # wrapper of the derived variables to compile); expand.expand_posterior adds them

    if backend == "jax":
        # frozen (nutpie's default for JAX): the data are constants. Left as arguments,
        # some graphs need concrete shapes JAX cannot trace (measured: a ConcretizationTypeError
        # at 5,000 patients), so JAX models are compiled per fit (seconds), not reused.
        return nutpie.compile_pymc_model(model, backend="jax", gradient_backend="jax",
                                         var_names=SAMPLER_VAR_NAMES)
    if backend == "numba":
        from .cached_wrapper import compile_numba

        compiled = compile_numba(model, var_names=SAMPLER_VAR_NAMES, disk_key=disk_key)
        if compiled is not None:
            return compiled
    return nutpie.compile_pymc_model(model, backend=backend, var_names=SAMPLER_VAR_NAMES)


def _with_data(compiled, data: ModelData):
    """``compiled`` with ``data``'s arrays and coordinates (same structure)."""
    shared = getattr(compiled, "shared_data", None)
    if shared is None:
        shared = compiled._shared_data
    arrays = {k: v for k, v in data_arrays(data).items() if k in shared}
    new = compiled.with_data(**arrays)
    coords = dict(new._coords or {})
    coords.update({k: pd.Index(v) for k, v in model_coords(data).items()})
    return dataclasses.replace(new, _coords=coords)


def _backend_and_key(model, data: ModelData, config: dict, backend: str,
                     iterations: int | None) -> tuple[str, tuple]:
    """The backend a fit of ``model`` uses and its :func:`structure_key`."""
    backend = resolve_backend(backend, len(data.patterns["weight"]), iterations)
    return backend, structure_key(data, config, model.parameterization, backend,
                                  getattr(model, "level_split", None))


def compiled_model(model, data: ModelData, config: dict, backend: str = "auto",
                   iterations: int | None = None) -> Compiled:
    """A nutpie-compiled ``model``, compiled at most once per structure and process.

    Parameters
    ----------
    model : pymc.Model
        :func:`~.build.build_model`'s model of ``data`` (compiled on a cache miss).
    data : ModelData
    config : dict
        The model configuration it was built with.
    backend : str
        nutpie backend: ``"numba"``, ``"jax"`` or ``"auto"`` (:func:`resolve_backend`).
    iterations : int, optional
        NUTS iterations of the run (``chains * (draws + tune)``), for ``"auto"``.

    Returns
    -------
    Compiled
        ``(compiled, seconds, reused, backend)``: the nutpie model holding ``data``'s
        arrays, the wall time spent here (compilation on a miss, milliseconds on a hit),
        whether an earlier compilation was reused, and the backend used.
    """
    backend, key = _backend_and_key(model, data, config, backend, iterations)
    t0 = time.perf_counter()
    if backend == "jax":                      # frozen data: compiled per fit (seconds)
        compiled = _compile(model, backend)
        with _LOCK:
            _STATS["compiled"] += 1
        return Compiled(compiled, time.perf_counter() - t0, False, backend)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
    if cached is not None:
        compiled = _with_data(cached, data)
        with _LOCK:
            _STATS["reused"] += 1
        return Compiled(compiled, time.perf_counter() - t0, True, backend)
    compiled = _compile(model, backend, disk_key=repr(key))
    with _LOCK:
        _CACHE[key] = compiled
        _STATS["compiled"] += 1
        while len(_CACHE) > MAX_ENTRIES:
            _CACHE.popitem(last=False)
    return Compiled(compiled, time.perf_counter() - t0, False, backend)


def compile_outlook(model, data: ModelData, config: dict, backend: str = "auto",
                    iterations: int | None = None) -> str:
    """What :func:`compiled_model` will do for ``model``, without doing it.

    Parameters are :func:`compiled_model`'s.

    Returns
    -------
    str
        ``"reused"`` (compiled earlier in this process), ``"disk"`` (numba: the structure's
        manifest is on disk, 0.1-0.5 s), ``"jax"`` (compiled per fit, seconds), ``"new"``
        (numba: a structure new to this machine, 10-40 s) or ``"first"`` (numba with
        pytensor's numba cache empty, as after a fresh install: 30-60 s).
    """
    backend, key = _backend_and_key(model, data, config, backend, iterations)
    if backend == "jax":
        return "jax"
    with _LOCK:
        if key in _CACHE:
            return "reused"
    from pathlib import Path

    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    from .cached_wrapper import manifest_path

    if backend == "numba" and manifest_path(repr(key)).exists():
        return "disk"
    return "new" if any(Path(NUMBA_CACHE_PATH).glob("*.nbi")) else "first"


def cache_info() -> dict:
    """``{"compiled": n, "reused": n, "entries": n}`` for this process."""
    with _LOCK:
        return dict(_STATS, entries=len(_CACHE))


def clear_cache() -> None:
    """Forget every compiled model (the next fit of any structure compiles)."""
    with _LOCK:
        _CACHE.clear()
