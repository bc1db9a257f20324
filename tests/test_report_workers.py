"""Figure steps in worker processes: order, failures and dead workers (report_workers)."""

from __future__ import annotations

import os

import pytest

from footdrop_bayes.report_guard import Problems, attempt
from footdrop_bayes.report_workers import failure_exception, run_steps

pytestmark = pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="fork is not available")


def _writer(path, text):
    def step():
        path.write_text(text)
    return step


def _fails():
    raise ValueError("no such level: 'x'")


def test_steps_run_in_workers_write_their_files_in_order(tmp_path):
    steps = [_writer(tmp_path / f"{i}.txt", f"step {i}") for i in range(5)]
    steps.insert(2, _fails)
    results = run_steps(steps, jobs=2)
    assert len(results) == 6
    assert results[2] == ("ValueError", "no such level: 'x'")
    assert [r for i, r in enumerate(results) if i != 2] == [None] * 5
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == [f"step {i}"
                                                                 for i in range(5)]


def test_a_workers_failure_is_recorded_as_its_own_would_be():
    serial, parallel = Problems(), Problems()
    (failure,) = run_steps([_fails], jobs=2)
    with pytest.warns(Warning):
        attempt("figure 'forest'", _fails, serial)
    with pytest.warns(Warning):
        attempt("figure 'forest'", lambda: (_ for _ in ()).throw(failure_exception(failure)),
                parallel)
    assert parallel.failures == serial.failures == [
        "figure 'forest' could not be produced (ValueError: no such level: 'x')"]


def test_a_dead_worker_loses_no_step(tmp_path):
    parent = os.getpid()

    def dies_in_a_worker():
        if os.getpid() != parent:
            os._exit(3)                                  # killed, e.g. out of memory
        (tmp_path / "rerun.txt").write_text("here")

    steps = [dies_in_a_worker] + [_writer(tmp_path / f"{i}.txt", "ok") for i in range(3)]
    assert run_steps(steps, jobs=2) == [None] * 4
    assert (tmp_path / "rerun.txt").read_text() == "here"
    assert len(list(tmp_path.glob("?.txt"))) == 3


def test_one_job_runs_in_this_process():
    seen = []
    assert run_steps([lambda: seen.append(os.getpid())] * 2, jobs=1) == [None, None]
    assert seen == [os.getpid()] * 2


def test_idle_jobs_follow_the_free_cores(monkeypatch):
    from footdrop_bayes import report_workers

    monkeypatch.setattr(report_workers, "default_jobs", lambda n: min(2, n))
    monkeypatch.setattr(report_workers.os, "sched_getaffinity", lambda pid: {0, 1},
                        raising=False)
    for busy, steps, expected in [(0.0, 9, 2), (0.4, 9, 2), (0.6, 9, 1), (2.0, 9, 1),
                                  (0.0, 1, 1)]:
        monkeypatch.setattr(report_workers, "busy_elsewhere", lambda busy=busy: busy)
        assert report_workers.idle_jobs(steps) == expected, (busy, steps)
    monkeypatch.setattr(report_workers, "busy_elsewhere", lambda: None)   # not Linux
    for load, expected in [(1.0, 2), (1.6, 1), (6.0, 1)]:
        monkeypatch.setattr(report_workers.os, "getloadavg", lambda load=load: (load, 0, 0))
        assert report_workers.idle_jobs(9) == expected, load


def test_busy_elsewhere_counts_other_processes_not_this_one():
    import subprocess
    import sys
    import time

    from footdrop_bayes import report_workers

    if report_workers.busy_elsewhere(0.05) is None:
        pytest.skip("no /proc/stat")
    t0 = time.process_time()
    while time.process_time() - t0 < 0.3:                # this process busy: not counted
        pass
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        measured = report_workers.busy_elsewhere(0.5)
    finally:
        spinner.kill()
    assert measured >= 0.7                                # one core spinning elsewhere


def test_load_since_a_snapshot_needs_no_wait_and_counts_other_processes(monkeypatch):
    import subprocess
    import sys
    import time

    from footdrop_bayes import report_workers

    start = report_workers.cpu_snapshot()
    if start is None:
        pytest.skip("no /proc/stat")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    slept = []
    try:
        time.sleep(0.6)
        monkeypatch.setattr(time, "sleep", slept.append)
        measured = report_workers.busy_elsewhere(0.2, since=start)
    finally:
        monkeypatch.undo()
        spinner.kill()
    assert slept == []                                    # measured since the snapshot
    assert measured >= 0.5                                # one core spinning elsewhere


def test_no_figures_drawn_ahead_when_another_process_keeps_a_core_busy(monkeypatch):
    from footdrop_bayes import report_workers
    from footdrop_bayes.report_early import BUSY_MAX, EarlyFigures

    monkeypatch.delenv("FOOTDROP_BAYES_FIGURE_JOBS", raising=False)
    monkeypatch.delenv("FOOTDROP_BAYES_EARLY_FIGURES", raising=False)
    monkeypatch.setattr(report_workers, "default_jobs", lambda n: 2)
    monkeypatch.setattr(report_workers, "busy_elsewhere", lambda **kw: BUSY_MAX + 0.3)
    assert EarlyFigures.when_useful() is None
    monkeypatch.setattr(report_workers, "busy_elsewhere", lambda **kw: 0.1)
    assert isinstance(EarlyFigures.when_useful(), EarlyFigures)
    monkeypatch.setenv("FOOTDROP_BAYES_EARLY_FIGURES", "0")
    assert EarlyFigures.when_useful() is None
