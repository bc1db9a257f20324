"""Figures drawn while the analysis goes on, each as soon as its inputs exist.

Most of a small cohort's command-line run is single-threaded (the classical analysis,
building and loading the model, the summaries, writing the tables) while a second core
waits, and the figures came last: on the bundled cohort they were a third of the run
(docs/performance.md). :class:`EarlyFigures` is the ``on_stage`` hook of
:func:`~footdrop_bayes.analysis.analyse`:

- ``"classical"`` (the classical analysis is done): the Kaplan–Meier figure;
- ``"model"`` (the model is built): the prior predictive check;
- ``"sampled"`` (the posterior is final): the trace and energy plots.

Each is drawn in a forked process (a fork shares the analysis so far without copying or
pickling it) into a private temporary folder. :func:`~footdrop_bayes.report_figures.
render_figures` then takes each figure from there, waiting for it if need be, and records
a failure exactly as one of its own would be recorded. A figure is taken only if it was
drawn from the very objects the final analysis holds (same cohort, bands and log-rank
table; same model; same posterior), in the same formats and resolution; otherwise, and
if its process died, it is drawn again as before. Nothing here can fail the analysis: a
hook that cannot fork only leaves the figure to the report.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Scheduling priority added to the processes started before sampling, so that they take
#: the core the analysis leaves idle and little from compilation and sampling (measured
#: at the same priority, the bundled cohort's compilation and sampling took twice as
#: long; at this one a fresh-clone trial saw sampling 3.3-4.2 s -> 3.9-6.2 s).
#: After sampling the analysis is single-threaded, and the trace plot (the longest
#: figure) is drawn at normal priority: niced, it was starved by the report's own figure
#: workers and finished last, alone on one core.
NICE = 10

#: Most cores other processes may keep busy for the figures to be drawn ahead: they use
#: the core the analysis leaves idle, and when another process already uses it they
#: only competed with it and with the analysis (a fresh-clone trial measured the demo 5-7 s
#: slower with them under load, about 2 s faster without load).
BUSY_MAX = 0.5

@dataclass
class _Job:
    process: object
    conn: object
    inputs: dict
    results: dict | None = None


def _same(a: dict, b: dict) -> bool:
    """Same inputs: the same objects (``is``), or equal plain values."""
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if x is y:
            continue
        if isinstance(x, str | int | float | tuple | bool) and type(x) is type(y) and x == y:
            continue
        return False
    return True


class EarlyFigures:
    """Draw the report's early figures in forked processes while the analysis goes on.

    Parameters
    ----------
    formats : sequence of str
        Formats of each figure (those of :func:`~footdrop_bayes.report.write_report`).
    dpi : int
        Resolution of raster formats.
    random_seed : int
        Seed of the prior predictive simulation (that of ``render_figures``).

    Notes
    -----
    Use it as ``analyse(..., on_stage=early)`` and ``write_report(..., early=early)``,
    and call :meth:`close` at the end (it stops any process still drawing and removes
    the temporary folder); :func:`~footdrop_bayes.report.run_analysis` does all three.
    """

    def __init__(self, formats=("png", "pdf"), dpi: int = 300, random_seed: int = 0):
        self.formats, self.dpi, self.random_seed = tuple(formats), int(dpi), random_seed
        self.folder: Path | None = None
        self._jobs: dict[str, _Job] = {}

    @classmethod
    def when_useful(cls, **kwargs) -> EarlyFigures | None:
        """An instance where a second core can draw beside the analysis, else None.

        None without ``fork``, with a single usable core, when other processes kept
        more than :data:`BUSY_MAX` cores busy since the command started
        (:func:`~footdrop_bayes.report_workers.busy_elsewhere`), with the figures kept
        in one process (``FOOTDROP_BAYES_FIGURE_JOBS=1``) or with
        ``FOOTDROP_BAYES_EARLY_FIGURES=0``.
        """
        from . import report_workers as rw

        if (os.environ.get("FOOTDROP_BAYES_FIGURE_JOBS", "").strip() == "1"
                or os.environ.get("FOOTDROP_BAYES_EARLY_FIGURES", "").strip() == "0"
                or rw.default_jobs(2) < 2):
            return None
        others = rw.busy_elsewhere(since=rw.START)      # since the command started
        if others is not None and others > BUSY_MAX:
            return None
        return cls(**kwargs)

    # ------------------------------------------------------------------ the hook
    def __call__(self, stage: str, **inputs) -> None:
        """``analyse``'s hook: start the figures this stage makes possible."""
        try:
            work = self._work(stage, inputs)
            if work is not None:
                self._start(*work, nice=NICE if stage != "sampled" else 0)
        except Exception:       # a head start only: the report draws the figure anyway
            return

    def _work(self, stage: str, x: dict):
        from . import plots
        from . import report_figures as rf

        if stage == "classical":
            inputs = rf.km_inputs(x["cohort"], x["factors"], x["group"], x["bands"],
                                  x["logrank"], x["interval"])
            return {"kaplan_meier": lambda: rf.km_figure(
                inputs["cohort"], rf.kaplan_meiers(inputs["cohort"], inputs["terms"],
                                                   inputs["bands"], inputs["interval"]),
                inputs["logrank"], inputs["interval"])}, inputs
        if stage == "model":
            inputs = rf.prior_inputs(x["model"], x["cohort"], x["interval"],
                                     self.random_seed)
            return {"prior_predictive": lambda: rf.prior_figure(
                x["model"], x["cohort"], x["interval"], self.random_seed)}, inputs
        if stage == "sampled":
            idata = x["model"].idata
            return {"trace": lambda: plots.plot_trace(idata),
                    "energy": lambda: plots.plot_energy(idata)}, {"idata": idata}
        return None

    def _start(self, draws: dict, inputs: dict, nice: int = 0) -> None:
        from .report_figures import render_one
        from .report_workers import warm_up_drawing

        warm_up_drawing()                # loaded once here, shared by every fork
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="footdrop-bayes-figures-"))
        ctx = multiprocessing.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)
        folder, formats, dpi = self.folder, self.formats, self.dpi

        def child():
            signal.signal(signal.SIGINT, signal.SIG_IGN)    # the parent stops us
            signal.signal(signal.SIGTERM, signal.SIG_DFL)   # not the CLI's handler
            if nice:
                with contextlib.suppress(OSError):
                    os.nice(nice)         # idle cores only: the analysis goes first
            out = {}
            for stem, draw in draws.items():
                try:
                    render_one(draw, stem, folder, formats, dpi)
                    out[stem] = None
                except Exception as exc:
                    out[stem] = (type(exc).__name__, str(exc))
            send.send(out)
            send.close()

        for stream in (sys.stdout, sys.stderr):      # nothing buffered twice
            stream.flush()
        process = ctx.Process(target=child, daemon=True)
        process.start()
        send.close()
        job = _Job(process, recv, inputs)
        for stem in draws:
            self._jobs[stem] = job

    # ------------------------------------------------------------------ the report
    def started(self, stem: str, inputs: dict, formats, dpi) -> bool:
        """Whether ``stem`` is being drawn from exactly ``inputs``, formats and dpi."""
        job = self._jobs.get(stem)
        return (job is not None and tuple(formats) == self.formats
                and int(dpi) == self.dpi and _same(job.inputs, inputs))

    def running(self) -> int:
        """Processes still drawing."""
        jobs = {id(j): j for j in self._jobs.values()}.values()
        return sum(1 for j in jobs if j.results is None and j.process.is_alive())

    def take(self, stem: str, folder: Path):
        """Wait for ``stem``; move its files into ``folder``.

        Returns
        -------
        None, (type name, message) or False
            ``None``: drawn; a pair: it failed so (as :func:`~footdrop_bayes.
            report_workers.run_steps` reports); ``False``: its process died without a
            result (draw it again).
        """
        job = self._jobs.get(stem)
        if job is None:
            return False
        if job.results is None:
            try:
                job.results = job.conn.recv()
            except (EOFError, OSError):
                job.results = {}
            job.process.join()
        if stem not in job.results:
            return False
        if job.results[stem] is None:
            folder = Path(folder)
            folder.mkdir(parents=True, exist_ok=True)
            for fmt in self.formats:
                shutil.move(self.folder / f"{stem}.{fmt}", folder / f"{stem}.{fmt}")
        return job.results[stem]

    def close(self) -> None:
        """Stop any process still drawing; remove the temporary folder."""
        for job in {id(j): j for j in self._jobs.values()}.values():
            if job.process.is_alive():
                job.process.terminate()
            job.process.join()
            job.conn.close()
        self._jobs.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
