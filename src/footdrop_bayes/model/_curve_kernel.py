"""The inner loop of :func:`~.profiles.weighted_curves` compiled with numba (cached on disk).

``out[draw, s, label, t] += w_p * (1 - exp(-H0[draw, t] * rel[draw, p] * f[draw, s]))``
summed over profiles ``p``: about ``draws x profiles x levels x times`` exponentials
(1.7e9 for the summaries of 5,000 patients with continuous covariates), evaluated without
the (draw x profile x time) temporaries of the numpy form.

The exponentials are the cost. libm's ``expm1`` (18 ns each here) and ``exp`` (10 ns)
are scalar calls that the compiler cannot vectorise, so :func:`exp_scaled` computes
``exp`` over a row of profiles with the textbook method in plain arithmetic that LLVM
vectorises: ``x = k ln 2 + r`` with ``|r| <= ln 2 / 2`` (``k`` rounded by the
``1.5 * 2**52`` shifter, ``ln 2`` split in two so ``r`` is exact), ``exp(r)`` by its
Taylor polynomial of degree 12 (truncation below 2e-16 relative) and ``2**k`` built from
its bits: 3 ns per value, within 3 ulp of ``numpy.exp`` (test). Arguments below -700 are
clamped (``exp(-700)`` is 1e-304: the probability is 1 to the last bit). The probability
is ``1 - exp(-x)``, exact to 1e-16 *absolute*, which is what a weighted average of
probabilities needs.

:func:`accumulate_threads` splits the draws over Python threads (the kernel releases the
GIL; numba's own parallel layer is not used because its OpenMP runtime aborts forked
processes, such as the report's figure workers). Each draw's sum runs in one thread in
a fixed order over the profiles, so the result does not depend on the number of threads
(same seed, same numbers). Imported only when first needed (numba).
"""

from __future__ import annotations

import itertools
import math
import os

import numba
import numpy as np

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01      # fdlibm's split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_SHIFTER = 6755399441055744.0             # 1.5 * 2**52: t = y + shifter rounds y
_SHIFTER_BITS = np.int64(0x4338000000000000)
_C = tuple(1.0 / math.factorial(k) for k in range(13))
(_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12) = _C


@numba.njit(cache=True, nogil=True)
def exp_scaled(c, r, out, work):  # pragma: no cover - compiled
    """``out[:] = exp(c * r)`` where ``c * r <= 0`` (1-d float64; ``work`` is scratch of
    the same length), vectorised (see the module docstring)."""
    n = r.shape[0]
    for p in range(n):
        v = max(c * r[p], -700.0)
        t = v * _LOG2E + _SHIFTER
        k = t - _SHIFTER
        y = (v - k * _LN2_HI) - k * _LN2_LO
        q = _C12
        q = q * y + _C11
        q = q * y + _C10
        q = q * y + _C9
        q = q * y + _C8
        q = q * y + _C7
        q = q * y + _C6
        q = q * y + _C5
        q = q * y + _C4
        q = q * y + _C3
        q = q * y + _C2
        q = q * y + _C1
        q = q * y + _C0
        out[p] = q
        work[p] = t
    bits = work.view(np.int64)              # the low bits of t hold k
    for p in range(n):
        bits[p] = (bits[p] - _SHIFTER_BITS + 1023) << 52
    for p in range(n):                      # work now holds 2**k
        out[p] = out[p] * work[p]


@numba.njit(cache=True, nogil=True)
def _weighted_sum(w, e):  # pragma: no cover - compiled
    """``sum_p w[p] * (1 - e[p])`` with four running sums (no chain of dependent adds)."""
    n = w.shape[0]
    m = n - n % 4
    a0 = a1 = a2 = a3 = 0.0
    for p in range(0, m, 4):
        a0 += w[p] * (1.0 - e[p])
        a1 += w[p + 1] * (1.0 - e[p + 1])
        a2 += w[p + 2] * (1.0 - e[p + 2])
        a3 += w[p + 3] * (1.0 - e[p + 3])
    for p in range(m, n):
        a0 += w[p] * (1.0 - e[p])
    return (a0 + a1) + (a2 + a3)


@numba.njit(cache=True, nogil=True)
def accumulate(h0, rel, factor, w, labels, out):  # pragma: no cover - compiled
    """Add one block of profiles into ``out``.

    Shapes: ``h0`` (draws, T), ``rel`` (draws, B), ``factor`` (draws, S), ``w`` and
    ``labels`` (B,), ``out`` (draws, S, n_labels, T); float64 (``labels`` int64).
    """
    n_draw, n_time = h0.shape
    n_prof = rel.shape[1]
    n_shift = factor.shape[1]
    one_label = out.shape[2] == 1
    e = np.empty(n_prof)
    work = np.empty(n_prof)
    for i in range(n_draw):
        for s in range(n_shift):
            for t in range(n_time):
                exp_scaled(-h0[i, t] * factor[i, s], rel[i], e, work)
                if one_label:
                    out[i, s, 0, t] += _weighted_sum(w, e)
                else:
                    for p in range(n_prof):
                        out[i, s, labels[p], t] += w[p] * (1.0 - e[p])


#: Most threads :func:`accumulate_threads` uses.
MAX_THREADS = 4


def n_threads() -> int:
    """Cores this process may use, at most :data:`MAX_THREADS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:                              # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_THREADS))


def accumulate_threads(h0, rel, factor, w, labels, out, threads: int | None = None) -> None:
    """:func:`accumulate` with the draws split over ``threads`` threads (default
    :func:`n_threads`); the same numbers whatever the number of threads."""
    threads = n_threads() if threads is None else max(1, int(threads))
    n = h0.shape[0]
    if threads == 1 or n < 2 * threads:
        accumulate(h0, rel, factor, w, labels, out)
        return
    from concurrent.futures import ThreadPoolExecutor

    edges = np.linspace(0, n, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(accumulate, h0[a:b], rel[a:b], factor[a:b], w, labels, out[a:b])
                  for a, b in itertools.pairwise(edges)]:
            f.result()
