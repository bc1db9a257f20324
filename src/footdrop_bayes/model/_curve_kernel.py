"""The inner loop of :func:`~.profiles.weighted_curves` compiled with numba (cached on disk).

``out[draw, s, label, t] += w_p * (1 - exp(-H0[draw, t] * rel[draw, p] * f[draw, s]))``
summed over profiles ``p``: about ``draws x profiles x levels x times`` exponentials
(1.3e9 for the summaries of 5,000 patients with continuous covariates), evaluated without
the (draw x profile x time) temporaries of the numpy form. :func:`accumulate_threads`
splits the draws over Python threads (the kernel releases the GIL; numba's own parallel
layer is not used because its OpenMP runtime aborts forked processes, such as the
report's figure workers). Each draw's sum runs in one thread in profile order, so the
result does not depend on the number of threads (same seed, same numbers). Imported
only when first needed (numba).
"""

from __future__ import annotations

import itertools
import os

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def accumulate(h0, rel, factor, w, labels, out):  # pragma: no cover - compiled
    """Add one block of profiles into ``out``.

    Shapes: ``h0`` (draws, T), ``rel`` (draws, B), ``factor`` (draws, S), ``w`` and
    ``labels`` (B,), ``out`` (draws, S, n_labels, T); float64 (``labels`` int64).
    """
    n_draw, n_time = h0.shape
    n_prof = rel.shape[1]
    n_shift = factor.shape[1]
    for i in range(n_draw):
        for p in range(n_prof):
            wp = w[p]
            lab = labels[p]
            r0 = rel[i, p]
            for s in range(n_shift):
                r = r0 * factor[i, s]
                for t in range(n_time):
                    out[i, s, lab, t] += wp * -np.expm1(-h0[i, t] * r)


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
