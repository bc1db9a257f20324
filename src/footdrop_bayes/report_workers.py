"""Run the report's figure steps in worker processes, results in their original order.

Rendering the figures of a report is a dozen independent, single-threaded steps (drawing,
then PNG at 300 dpi and PDF), and measured the second-largest part of a command-line fit
(docs/performance.md). On a machine with more than one core they are spread over forked
worker processes: a fork shares the finished analysis without copying or pickling it,
and each worker writes its own files. What each step returns is only its failure, if
any, as ``(exception type name, message)``, so the caller records it exactly as a failure
in its own process would be recorded (:func:`~footdrop_bayes.report_guard.attempt`).

A worker that dies (killed, out of memory) never loses the other figures: the steps it
had not finished are run again in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence

#: Most worker processes used by default (figures are few; memory is shared until written).
MAX_JOBS = 4

_STEPS: Sequence[Callable[[], object]] = ()
_WARM = {"done": False}


def warm_up_drawing() -> None:
    """Draw and write (PNG and PDF) one small figure in this process, once.

    Called before the first fork of figure processes: what matplotlib loads on first
    use (fonts and their TrueType subsetting for PDF, the PNG and PDF backends, text
    metrics) is then loaded once and shared by every fork. Measured on the bundled
    cohort's machine: a forked process's first small figure cost 1.2-1.5 s of CPU
    without it and 0.46 s with it (0.84 s once, here).
    """
    if _WARM["done"]:
        return
    _WARM["done"] = True
    import io

    import matplotlib.pyplot as plt

    from .plots.style import journal_style, new_figure

    with journal_style():
        fig = new_figure("single", 1.0)
        try:
            ax = fig.add_subplot()
            ax.plot([0, 1], [0, 1])
            ax.set_title("Recovery")
            ax.set_xlabel("Months")
            for fmt in ("png", "pdf"):
                fig.savefig(io.BytesIO(), format=fmt, dpi=300)
        finally:
            plt.close(fig)


def default_jobs(n_steps: int) -> int:
    """Worker processes for ``n_steps`` steps: the cores this process may use, at most
    :data:`MAX_JOBS` and ``n_steps``; 1 where ``fork`` is unavailable."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:                              # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_JOBS, n_steps))


def _busy_seconds() -> float:
    """CPU seconds every process on the machine has used (``/proc/stat``)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    idle = fields[3] + fields[4]                         # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot() -> tuple[float, float, float] | None:
    """``(own CPU s, machine CPU s, time)`` now, or None without ``/proc/stat``."""
    import time

    try:
        return sum(os.times()[:2]), _busy_seconds(), time.monotonic()
    except (OSError, ValueError, IndexError, AttributeError):
        return None


#: The machine's CPU when this module was first imported (a command's start): the load
#: of other processes is then measured over the whole run so far, without waiting.
START = cpu_snapshot()


def busy_elsewhere(window: float = 0.2, since=None) -> float | None:
    """Cores kept busy by other processes, or ``None``.

    Read from ``/proc/stat`` (CPU time of every process) minus this process's own CPU
    time (``os.times``) over ``window`` seconds from now, or since the snapshot ``since``
    (:func:`cpu_snapshot`, e.g. :data:`START`) when at least ``window`` seconds have
    passed since it, without waiting. This process's own recent work never counts (the
    1-minute load average still carries the sampler's threads for a minute after
    sampling: after a 25 s fit of 5,000 patients it read 1.4-2.5 on an idle 2-core
    machine, and the figures were drawn by one worker instead of two). ``None`` where
    ``/proc/stat`` cannot be read (not Linux).
    """
    import time

    first = since
    if first is None or time.monotonic() - first[2] < window:
        first = cpu_snapshot()
        if first is None:
            return None
        time.sleep(window)
    last = cpu_snapshot()
    if last is None:
        return None
    own, busy = last[0] - first[0], last[1] - first[1]
    return max(0.0, (busy - own) / max(last[2] - first[2], 1e-9))


def idle_jobs(n_steps: int) -> int:
    """Worker processes for ``n_steps`` steps on this machine now: :func:`default_jobs`,
    at most the cores not busy with other processes' work (:func:`busy_elsewhere`;
    without ``/proc/stat`` the 1-minute load average minus this process's running
    share). On an idle 2-core machine 2; with the other core busy 1, where measured a
    second worker only competed for the same core (docs/performance.md)."""
    jobs = default_jobs(n_steps)
    if jobs <= 1:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:                              # not Linux
        return 1
    others = busy_elsewhere()
    if others is None:
        try:
            others = max(0.0, os.getloadavg()[0] - 1.0)
        except OSError:
            return 1
    free = cores - others
    return max(1, min(jobs, int(free + 0.5)))


def _failure(exc: BaseException) -> tuple[str, str]:
    return type(exc).__name__, str(exc)


def _worker_init() -> None:
    """A forked worker ends at SIGTERM (the CLI's handler turns it into an exception)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run(index: int):
    try:
        _STEPS[index]()
    except Exception as exc:     # reported to the parent, which records it
        return _failure(exc)
    return None


def failure_exception(failure: tuple[str, str]) -> Exception:
    """An exception whose type name and message are those of ``failure``
    (``f"{type(e).__name__}: {e}"`` reads the same as the worker's original)."""
    name, message = failure
    return type(name, (Exception,), {})(message)


def run_steps(steps: Sequence[Callable[[], object]], jobs: int | None = None
              ) -> list[tuple[str, str] | None]:
    """Run every step; return, in order, ``None`` for a success or ``(type, message)``.

    Parameters
    ----------
    steps : sequence of callables
        Independent steps without arguments (their return values are discarded).
    jobs : int, optional
        Worker processes (forked); default :func:`default_jobs`. ``1`` runs every step
        in this process.
    """
    global _STEPS
    steps = list(steps)
    jobs = default_jobs(len(steps)) if jobs is None else max(1, int(jobs))
    results: list = [False] * len(steps)                 # False: not run yet
    if jobs > 1 and len(steps) > 1:
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        warm_up_drawing()
        for stream in (sys.stdout, sys.stderr):          # nothing buffered twice
            stream.flush()
        _STEPS = steps
        try:
            with ProcessPoolExecutor(max_workers=min(jobs, len(steps)),
                                     mp_context=multiprocessing.get_context("fork"),
                                     initializer=_worker_init) as ex:
                futures = [ex.submit(_run, i) for i in range(len(steps))]
                try:
                    for i, fut in enumerate(futures):
                        try:
                            results[i] = fut.result()
                        except BrokenProcessPool:        # rerun below, in this process
                            pass
                except BaseException:                    # interrupted: start no more
                    for fut in futures:
                        fut.cancel()
                    raise
        except (OSError, BrokenProcessPool):             # could not fork: run here
            pass
        finally:
            _STEPS = ()
    for i, step in enumerate(steps):
        if results[i] is False:
            try:
                step()
                results[i] = None
            except Exception as exc:     # recorded by the caller
                results[i] = _failure(exc)
    return results
