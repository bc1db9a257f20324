"""nutpie's numba compilation with a log-density wrapper numba can cache on disk.

``nutpie.compile_pymc_model(backend="numba")`` spends most of its time (23-28 s of CPU on
the bundled cohort, in every new process) compiling one ``numba.cfunc``: the C wrapper
through which nutpie's Rust sampler calls pytensor's log density and gradient. Pytensor's
own numba function is already cached on disk (``~/.pytensor``, 0.1-0.2 s to load); the
wrapper is not, because nutpie builds it from closures numba calls "dynamic globals", and
its ``literal_unroll`` over the data arrays makes it slow to compile.

:func:`compile_numba` builds the same :class:`nutpie.compile_pymc.CompiledPyMCModel`
(same data record, so ``with_data`` works unchanged; same initial points, expand function
and return codes) with a wrapper generated as plain source: one ``numba.carray`` per data
array, then pytensor's function. Registered with pytensor's numba cache locator under a
key made of pytensor's own key for the log-density graph, the wrapper's source and the
library versions, it is compiled once per model structure and machine (about 8 s) and
loaded in a fraction of a second afterwards. Evaluations are identical to nutpie's wrapper
(``tests/test_cached_wrapper.py``).

The manifest also holds the sampler's initial point as data (:func:`initial_point_plan`:
each variable's transformed support point and which of the seed's spawned generators
draws its U(-1, 1) jitter), checked at writing to reproduce PyMC's compiled function
exactly, so a process that loads the manifest compiles no initial-point function
(0.4-0.7 s) and gives the same initial points, hence the same draws, for the same seed.

It relies on nutpie internals (``_make_functions``, ``make_user_data``, ...): when they are
missing, or pytensor gives the graph no cache key, :func:`compile_numba` returns ``None`` and
the caller uses ``nutpie.compile_pymc_model``.
"""

from __future__ import annotations

import functools
import hashlib

#: bump when the generated source's meaning changes (a new key, a new cache entry)
WRAPPER_VERSION = "1"

#: how the last :func:`compile_numba` call went: each wrapper ``"cached"`` (loaded from
#: disk), ``"compiled"`` (compiled and stored) or ``"nutpie"`` (fell back); the functions
#: ``"manifest"`` (read from disk) or ``"rewritten"`` (pytensor's rewriting ran); the
#: initial point ``"plan"`` (from the manifest, :func:`initial_point_plan`) or
#: ``"compiled"`` (PyMC's function)
LAST = {"logp": None, "expand": None, "functions": None, "initial_point": None}

#: the nutpie internals used here (nutpie's numba path); without one, nutpie compiles
_NUTPIE_NEEDS = ("_make_functions", "make_user_data", "_prepare_dims_and_coords",
                 "_wrap_with_lock", "_rv_dict_to_flat_array_wrapper", "CompiledPyMCModel",
                 "address_as_void_pointer")


@functools.cache
def _versions() -> str:
    import numba
    import nutpie
    import pytensor

    return f"{WRAPPER_VERSION}|{numba.__version__}|{pytensor.__version__}|{nutpie.__version__}"


def _word_offsets(user_data, names: list[str]) -> dict[str, tuple[int, int, list[int]]]:
    """Offsets, in 8-byte words, of each array's pointer, size and shape in nutpie's record."""
    dtype = user_data.dtype
    rec = dtype["shared"]
    base = dtype.fields["shared"][1]
    out = {}
    for name in names:
        ptr = base + rec.fields["data"][1] + rec["data"].fields[name][1]
        size = base + rec.fields["size"][1] + rec["size"].fields[name][1]
        shape_dtype, shape_off = rec["shape"].fields[name][:2]
        shape = base + rec.fields["shape"][1] + shape_off
        ndim = shape_dtype.shape[0] if shape_dtype.shape else 0
        if any(o % 8 for o in (ptr, size, shape)) or dtype.itemsize % 8:
            raise ValueError("nutpie's data record is not made of 8-byte words")
        out[name] = (ptr // 8, size // 8, [shape // 8 + k for k in range(ndim)])
    return out


def _array_lines(names: list[str], offsets: dict) -> tuple[list[str], list[str]]:
    """Lines making one ``numba.carray`` per data array from nutpie's record ``w``."""
    lines, args = [], []
    for i, name in enumerate(names):
        ptr, _size, shape = offsets[name]
        dims = "".join(f"np.intp(w[{k}]), " for k in shape)
        lines.append(f"    a{i} = numba.carray(address(w[{ptr}]), ({dims}), dtype{i})")
        args.append(f"a{i}")
    return lines, args


def wrapper_source(kind: str, n_dim: int, names: list[str], offsets: dict, n_words: int,
                   n_expanded: int = 0) -> str:
    """Source of a C wrapper with nutpie's signature and return codes.

    ``kind="logp"``: ``0`` success, ``-1`` wrong dimension, ``1`` an exception in the log
    density, ``3`` a non-finite gradient, ``4`` a non-finite log density.
    ``kind="expand"``: ``0`` success, ``-1`` wrong dimensions, ``-2`` an exception.
    As nutpie's own wrappers. The ``try`` covers pytensor's function only (around the
    ``carray`` lines too, numba took minutes to compile the logp wrapper, measured), and
    results are copied element by element (numba's slice assignment compiles its
    shape-mismatch error path, about 6 s).
    """
    arrays, args = _array_lines(names, offsets)
    call = ", ".join(["x", *args])
    if kind == "logp":
        head = ["def logp_numba(dim, x_, out_, logp_, user_data_):",
                f"    if dim != {n_dim}:",
                "        return -1",
                f"    out = numba.carray(out_, ({n_dim},))",
                "    logp = numba.carray(logp_, ())"]
        body = ["    try:",
                f"        logp_val, grad = fn({call})",
                "    except Exception:  # noqa: BLE001",
                "        return 1",
                f"    if grad.shape[0] != {n_dim}:",
                "        return 1",
                "    finite = True",
                f"    for i in range({n_dim}):",
                "        out[i] = grad[i]",
                "        finite = finite and np.isfinite(grad[i])",
                "    logp[()] = logp_val",
                "    if not finite:",
                "        return 3",
                "    if not np.isfinite(logp_val):",
                "        return 4",
                "    return 0"]
    else:
        head = ["def expand_numba(dim, expanded, x_, out_, user_data_):",
                f"    if dim != {n_dim} or expanded != {n_expanded}:",
                "        return -1",
                f"    out = numba.carray(out_, ({n_expanded},))"]
        body = ["    try:",
                f"        (values,) = fn({call})",
                "    except Exception:  # noqa: BLE001",
                "        return -2",
                f"    if values.shape[0] != {n_expanded}:",
                "        return -2",
                f"    for i in range({n_expanded}):",
                "        out[i] = values[i]",
                "    return 0"]
    common = [f"    w = numba.carray(user_data_, ({n_words},), np.uint64)",
              f"    x = numba.carray(x_, ({n_dim},))"]
    return "\n".join(head + common + arrays + body) + "\n"


def _signature(kind: str):
    import numba

    double_p = numba.types.CPointer(numba.types.double)
    if kind == "logp":
        return numba.types.int64(numba.types.uint64, double_p, double_p, double_p,
                                 numba.types.voidptr)
    return numba.types.int64(numba.types.uint64, numba.types.uint64, double_p, double_p,
                             numba.types.voidptr)


def _python_function(kind: str, src: str, key: str, dtypes: list, fn):
    """The wrapper's Python function, registered with pytensor's numba cache locator."""
    import numba
    import numpy as np
    import nutpie.compile_pymc as ncp
    from pytensor.link.numba.cache import compile_numba_function_src

    env = {"__name__": __name__, "numba": numba, "np": np, "fn": fn,
           "address": ncp.address_as_void_pointer}
    env.update({f"dtype{i}": np.dtype(d) for i, d in enumerate(dtypes)})
    return compile_numba_function_src(src, f"{kind}_numba", global_env=env,
                                      cache_key=f"footdrop_{kind}_{key}")


def cached_cfunc(kind: str, fn_pt, n_dim: int, user_data, shared_data,
                 n_expanded: int = 0):
    """A disk-cached ``numba.cfunc`` around pytensor's compiled ``fn_pt``.

    Parameters
    ----------
    kind : {"logp", "expand"}
    fn_pt : pytensor.compile.function.types.Function
        nutpie's log density (and gradient) or expand function, numba mode.
    n_dim, n_expanded : int
        Unconstrained and stored dimensions.
    user_data : numpy.ndarray
        nutpie's data record (``make_user_data``).
    shared_data : dict
        The data arrays by name.

    Returns
    -------
    (numba.core.ccallback.CFunc, dict) or None
        The wrapper and what reloads it (source, key, data names); ``None``
        when pytensor gives the graph no cache key.
    """
    import numba
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    jit_fn = fn_pt.vm.jit_fn
    graph_key = CACHED_SRC_FUNCTIONS.get(getattr(jit_fn, "py_func", None))
    if graph_key is None:
        return None
    names = [var.name for var in fn_pt.get_shared()]
    offsets = _word_offsets(user_data, names)
    src = wrapper_source(kind, n_dim, names, offsets, user_data.dtype.itemsize // 8,
                         n_expanded)
    dtypes = [shared_data[n].dtype.str for n in names]
    layout = "|".join(f"{n}:{shared_data[n].dtype.str}:{shared_data[n].ndim}" for n in names)
    key = hashlib.sha256(f"{graph_key}|{layout}|{_versions()}|{src}".encode()).hexdigest()
    py_fn = _python_function(kind, src, key, dtypes, jit_fn)
    cfunc = numba.cfunc(_signature(kind), cache=True)(py_fn)
    LAST[kind] = "cached" if cfunc.cache_hits else "compiled"
    return cfunc, {"source": src, "key": key, "names": names}


def _load_cfunc(kind: str, record: dict, dtypes: list):
    """The wrapper of ``record`` from numba's disk cache, or ``None`` if it is not there.

    Nothing is compiled: the Python function's ``fn`` (pytensor's function) is ``None``,
    so on a cache miss numba's typing fails at once and the caller compiles the model.
    """
    import numba
    from numba.core.errors import NumbaError

    py_fn = _python_function(kind, record["source"], record["key"], dtypes, None)
    try:
        return numba.cfunc(_signature(kind), cache=True)(py_fn)
    except NumbaError:
        return None


# --- the model's manifest: what _make_functions would give, for a known structure ------

@functools.cache
def _source_stamp() -> str:
    """Hash of the package's model-building source (a changed model, a new manifest);
    read once per process."""
    from pathlib import Path

    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def manifest_path(disk_key: str):
    """Where the manifest of a model structure is kept (beside pytensor's numba cache)."""
    from pathlib import Path

    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    name = hashlib.sha256(f"{disk_key}|{_versions()}|{_source_stamp()}".encode()).hexdigest()
    return Path(NUMBA_CACHE_PATH) / "footdrop_bayes" / f"{name}.json"


def _write_manifest(path, manifest: dict) -> None:
    import json
    import os

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(manifest))
        os.replace(tmp, path)                         # atomic: readers see all or nothing
    except OSError:                                   # read-only cache: compile next time
        pass


def _from_manifest(model, var_names, disk_key: str):
    """The compiled model from a manifest and numba's cache, or ``None`` (compile)."""
    import json

    import nutpie.compile_pymc as ncp
    from pymc.initial_point import make_initial_point_fn

    try:
        manifest = json.loads(manifest_path(disk_key).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("var_names") != (None if var_names is None else list(var_names)):
        return None
    available = _shared_variables(model)
    layout = manifest["layout"]                        # name: [dtype, ndim], record order
    if any(name not in available for name in layout):
        return None
    shared_vars = {name: available[name] for name in layout}
    shared_data, user_data = _data_record(shared_vars)
    if any([value.dtype.str, value.ndim] != layout[name]
           for name, value in shared_data.items()):
        return None
    cfuncs = [_load_cfunc(kind, manifest[kind],
                          [layout[n][0] for n in manifest[kind]["names"]])
              for kind in ("logp", "expand")]
    if None in cfuncs:
        return None
    names = manifest["names"]
    shapes = [tuple(shape) for shape in manifest["shapes"]]
    shape_info = (names, [slice(a, b) for a, b in manifest["slices"]], shapes)
    joined = len(model.free_RVs)                       # nutpie: the free variables first
    plan = manifest.get("initial_point")
    if plan is not None:                               # no pytensor function to compile
        point_fn = planned_point_fn(plan, shapes[:joined])
    else:
        point_fn = ncp._rv_dict_to_flat_array_wrapper(
            _initial_point_fn(model, make_initial_point_fn, ncp),
            names=names[:joined], shapes=shapes[:joined])
    LAST.update(logp="cached", expand="cached", functions="manifest",
                initial_point="plan" if plan is not None else "compiled")
    return _compiled_model(model, manifest["n_dim"], manifest["n_expanded"], shape_info,
                           cfuncs, point_fn, shared_data, user_data)


def _data_record(shared_vars: dict):
    """``(shared_data, user_data)``: read-only C copies of the shared variables' values
    and nutpie's data record pointing at them (field order: ``shared_vars``')."""
    import numpy as np
    import nutpie.compile_pymc as ncp

    shared_data = {name: np.array(var.get_value(), order="C", copy=True)
                   for name, var in shared_vars.items()}
    for value in shared_data.values():
        value.flags.writeable = False
    return shared_data, ncp.make_user_data(shared_vars, shared_data)


def _compiled_model(model, n_dim, n_expanded, shape_info, cfuncs, point_fn, shared_data,
                    user_data, functions=(None, None)):
    """nutpie's ``CompiledPyMCModel`` from its parts (as nutpie's numba path builds it)."""
    import nutpie.compile_pymc as ncp

    names, _, shapes = shape_info
    dims, coords = ncp._prepare_dims_and_coords(model, shape_info)
    return ncp.CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, shape in zip(names, shapes, strict=True)},
        compiled_logp_func=cfuncs[0], compiled_expand_func=cfuncs[1],
        initial_point_func=point_fn, shared_data=shared_data, user_data=user_data,
        n_expanded=n_expanded, shape_info=shape_info, logp_func=functions[0],
        expand_func=functions[1])


def _shared_variables(model) -> dict:
    """The model's shared variables by name: its ``pm.Data`` and the lengths of its
    mutable dimensions (e.g. a group's number of levels)."""
    from pytensor.compile.sharedvalue import SharedVariable

    shared = {var.name: var for var in model.data_vars}
    for length in model.dim_lengths.values():
        if isinstance(length, SharedVariable) and length.name not in shared:
            shared[length.name] = length
    return shared


def _initial_point_fn(model, make_initial_point_fn, ncp):
    """As ``nutpie.compile_pymc_model``'s defaults: support points, jittered."""
    return ncp._wrap_with_lock(_jittered_point_fn(model, make_initial_point_fn))


def _jittered_point_fn(model, make_initial_point_fn, jitter: bool = True):
    """PyMC's seeded initial-point function (transformed support points, U(-1, 1) jitter
    on every free variable unless ``jitter`` is False)."""
    return make_initial_point_fn(
        model=model, overrides=None, default_strategy="support_point",
        jitter_rvs=set(model.free_RVs) if jitter else set(), return_transformed=True)


def initial_point_plan(model, names: list[str], shapes: list, jittered=None
                       ) -> dict | None:
    """PyMC's jittered initial point as data: ``{"base", "rng", "n_rngs"}`` or ``None``.

    ``make_initial_point_fn`` compiles a pytensor function (0.4-0.7 s in every process)
    whose value for a seed is each variable's transformed support point (``base``) plus
    U(-1, 1) jitter drawn from the ``rng``-th of ``n_rngs`` generators spawned from the
    seed (``pymc.pytensorf.reseed_rngs``). The plan is found once per model structure,
    kept in the manifest, and used only when it reproduces the compiled function exactly
    for three seeds (:func:`planned_point_fn`); otherwise ``None`` (the function is
    compiled in each process, as before). ``jittered``: the compiled jittered function,
    if there is one already.
    """
    import numpy as np
    from pymc.initial_point import make_initial_point_fn
    from pymc.pytensorf import find_rng_nodes

    if jittered is None:
        jittered = _jittered_point_fn(model, make_initial_point_fn)
    inner = getattr(jittered, "__wrapped__", None)
    if inner is None or not hasattr(inner, "maker"):
        return None
    n_rngs = len(find_rng_nodes(inner.maker.fgraph.outputs))
    plain = _jittered_point_fn(model, make_initial_point_fn, jitter=False)(0)
    seeds = (1, 20240601, 2**40 + 7)
    values = [jittered(s) for s in seeds]
    rng_of = []
    for name, shape in zip(names, shapes, strict=True):
        base = np.asarray(plain[name], dtype="float64")
        if base.shape != tuple(shape):
            return None
        match = [j for j in range(n_rngs)
                 if all(np.array_equal(np.asarray(v[name], dtype="float64"),
                                       base + _uniform(s, j, n_rngs, tuple(shape)))
                        for s, v in zip(seeds, values, strict=True))]
        if len(match) != 1:
            return None
        rng_of.append(match[0])
    base = np.concatenate([np.ravel(np.asarray(plain[n], dtype="float64")) for n in names])
    return {"base": [float(x) for x in base], "rng": rng_of, "n_rngs": n_rngs}


def _uniform(seed, j: int, n_rngs: int, shape: tuple):
    import numpy as np

    child = np.random.SeedSequence(seed).spawn(n_rngs)[j]
    return np.random.Generator(np.random.PCG64(child)).uniform(-1, 1, size=shape)


def planned_point_fn(plan: dict, shapes: list):
    """The seeded flat initial point of :func:`initial_point_plan` (nutpie's interface)."""
    import numpy as np

    base = np.asarray(plan["base"], dtype="float64")
    shapes = [tuple(int(d) for d in shape) for shape in shapes]
    sizes = [int(np.prod(shape)) for shape in shapes]
    n_rngs = int(plan["n_rngs"])

    def point(seed=None):
        children = np.random.SeedSequence(seed).spawn(n_rngs)
        out = base.copy()
        start = 0
        for shape, size, j in zip(shapes, sizes, plan["rng"], strict=True):
            gen = np.random.Generator(np.random.PCG64(children[j]))
            out[start:start + size] += np.ravel(gen.uniform(-1, 1, size=shape))
            start += size
        return out

    return point


def compile_numba(model, var_names=None, disk_key: str | None = None):
    """``nutpie.compile_pymc_model(model, backend="numba", var_names=var_names)``, cached.

    Parameters
    ----------
    model : pymc.Model
    var_names : list of str, optional
        Variables nutpie stores (as in nutpie).
    disk_key : str, optional
        A key that determines the model's graph given its ``pm.Data`` (the package's
        :func:`~.compile_cache.structure_key`). With it, a manifest of the compiled
        functions (dimensions, variable names and shapes, data layout, wrapper sources)
        is kept on disk, and a later process with the same key skips pytensor's graph
        rewriting (``_make_functions``, 4-5 s) and loads both wrappers from numba's
        cache. The manifest's name also hashes the library versions and this package's
        model source, so a changed model never reads an old manifest.

    Returns
    -------
    nutpie.compile_pymc.CompiledPyMCModel or None
        The compiled model, or ``None`` when this nutpie or pytensor does not allow the
        cached wrapper (use ``nutpie.compile_pymc_model`` then).
    """
    try:
        import nutpie.compile_pymc as ncp
        from pymc.initial_point import make_initial_point_fn
    except ImportError:
        ncp = None
    if ncp is None or not all(hasattr(ncp, name) for name in _NUTPIE_NEEDS):
        LAST["logp"] = LAST["expand"] = "nutpie"
        return None
    if disk_key is not None:
        try:
            compiled = _from_manifest(model, var_names, disk_key)
        except (KeyError, TypeError, ValueError):     # a manifest of another layout
            compiled = None
        if compiled is not None:
            return compiled
    LAST.update(functions="rewritten", initial_point="compiled")
    jittered = _jittered_point_fn(model, make_initial_point_fn)
    initial_point_fn = ncp._wrap_with_lock(jittered)
    n_dim, n_expanded, logp_fn_pt, expand_fn_pt, point_fn, shape_info = ncp._make_functions(
        model, mode="NUMBA", compute_grad=True, join_expanded=True,
        pymc_initial_point_fn=initial_point_fn, var_names=var_names)
    shared_vars = {}
    for var in [*logp_fn_pt.get_shared(), *expand_fn_pt.get_shared()]:
        if shared_vars.setdefault(var.name, var) is not var:
            raise ValueError(f"Shared variables must have unique names: {var.name}")
    shared_data, user_data = _data_record(shared_vars)
    try:
        logp = cached_cfunc("logp", logp_fn_pt, n_dim, user_data, shared_data)
        expand = cached_cfunc("expand", expand_fn_pt, n_dim, user_data, shared_data,
                              n_expanded)
    except (ImportError, AttributeError, KeyError, ValueError):
        logp = expand = None
    if logp is None or expand is None:
        LAST["logp"] = LAST["expand"] = "nutpie"
        return None
    if disk_key is not None:
        names, slices, shapes = shape_info
        joined = len(model.free_RVs)
        try:
            plan = initial_point_plan(model, list(names[:joined]), list(shapes[:joined]),
                                      jittered)
        except Exception:                              # another PyMC's internals: compile
            plan = None
        _write_manifest(manifest_path(disk_key), {
            "initial_point": plan,
            "var_names": None if var_names is None else list(var_names),
            "n_dim": int(n_dim), "n_expanded": int(n_expanded), "names": list(names),
            "slices": [[int(sl.start), int(sl.stop)] for sl in slices],
            "shapes": [[int(d) for d in shape] for shape in shapes],
            "layout": {name: [value.dtype.str, int(value.ndim)]
                       for name, value in shared_data.items()},
            "logp": logp[1], "expand": expand[1]})
    return _compiled_model(model, n_dim, n_expanded, shape_info, (logp[0], expand[0]),
                           point_fn, shared_data, user_data, (logp_fn_pt, expand_fn_pt))
