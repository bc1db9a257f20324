"""Progress on long work: timed stage messages and a light progress counter.

Sampling shows nutpie's own progress bar (``sampler_config["progressbar"]``); the steps
around it (classical analysis, summaries, tables, figures) report through a ``say``
callable. :func:`timed_say` prefixes each message with the wall time since the start, so
every stage's duration can be read off (the CLI uses it; ``--quiet`` silences it), and
:func:`progress_iter` reports a long loop (e.g. chunks of posterior draws) every tenth
of the way. Nothing is shown under pytest (:func:`progress_enabled`).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator

#: a message written by :func:`timed_say`: ``[   12.3 s] text``
TIMED_LINE = re.compile(r"^\[\s*(?P<seconds>\d+(?:\.\d+)?) s\] (?P<message>.*)$")


def progress_enabled(flag: bool | None = None) -> bool:
    """Whether to show progress: ``flag`` if given, else in interactive sessions only.

    Always False under pytest (``PYTEST_CURRENT_TEST`` set).
    """
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    if flag is not None:
        return bool(flag)
    if hasattr(sys, "ps1") or "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def timed_say(say: Callable[[str], None] | None = None, *,
              start: float | None = None) -> Callable[[str], None]:
    """A ``say`` that prefixes each message with the seconds since ``start``.

    Parameters
    ----------
    say : callable, optional
        Where the messages go (default: print to stderr).
    start : float, optional
        ``time.perf_counter()`` of the start (default: now).

    Examples
    --------
    >>> from footdrop_bayes.analysis import analyse
    >>> a = analyse(cohort, say=timed_say())          # doctest: +SKIP
    [    0.0 s] classical analysis: Kaplan–Meier, log-rank, Cox, study table
    [    1.9 s] Bayesian model: 4 chains x 1000 draws (1000 tuning), sampler nutpie, ...
    """
    out = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter() if start is None else start

    def timed(msg: str) -> None:
        out(f"[{time.perf_counter() - t0:7.1f} s] {msg}")

    return timed


def stage_times(lines: Iterable[str]) -> list[tuple[str, float]]:
    """Durations of the stages in :func:`timed_say` output: ``[(message, seconds)]``.

    A stage lasts from its message to the next timed message (the last one gets 0).
    """
    stamps = [(m["message"], float(m["seconds"]))
              for m in (TIMED_LINE.match(line.rstrip()) for line in lines) if m]
    out = []
    for (msg, t), nxt in zip(stamps, [*stamps[1:], None], strict=True):
        out.append((msg, round((nxt[1] if nxt else t) - t, 3)))
    return out


def progress_iter(iterable: Iterable, *, total: int | None = None, desc: str = "",
                  say: Callable[[str], None] | None = None,
                  enabled: bool | None = None) -> Iterator:
    """Yield from ``iterable``, reporting ``desc: k/total`` about every tenth of the way.

    Parameters
    ----------
    iterable : iterable
    total : int, optional
        Number of items (default ``len(iterable)`` when it has one).
    desc : str
        What is being done.
    say : callable, optional
        Where the messages go (default: stderr).
    enabled : bool, optional
        Show progress (default :func:`progress_enabled`; never under pytest).
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    show = progress_enabled(enabled) and total is not None and total > 1
    out = say or (lambda msg: print(msg, file=sys.stderr, flush=True))
    step = max(1, (total or 1) // 10)
    t0 = time.perf_counter()
    for k, item in enumerate(iterable, start=1):
        yield item
        if show and (k % step == 0 or k == total):
            out(f"{desc}: {k}/{total} ({time.perf_counter() - t0:.1f} s)")
