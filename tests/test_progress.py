"""Progress messages: timed stages (parsed back exactly), counters, silence under pytest."""

from __future__ import annotations

import pytest

from footdrop_bayes import progress
from footdrop_bayes.cli import main


def test_timed_say_prefixes_elapsed_seconds_and_stage_times_reads_them(monkeypatch):
    clock = iter([100.0, 101.25, 104.0, 110.5])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    lines = []
    say = progress.timed_say(lines.append)          # start = 100.0
    say("classical analysis")
    say("Bayesian model")
    say("summaries")
    assert lines == ["[    1.2 s] classical analysis", "[    4.0 s] Bayesian model",
                     "[   10.5 s] summaries"]
    times = progress.stage_times([*lines, "an untimed line"])
    assert [m for m, _ in times] == ["classical analysis", "Bayesian model", "summaries"]
    assert [s for _, s in times] == pytest.approx([2.8, 6.5, 0.0])


def test_progress_iter_reports_every_tenth_and_yields_everything(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    said = []
    items = list(progress.progress_iter(range(25), desc="chunks", say=said.append,
                                        enabled=True))
    assert items == list(range(25))
    counts = [int(s.split(": ")[1].split("/")[0]) for s in said]
    assert counts == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25]
    assert all(s.startswith("chunks: ") and "/25 (" in s for s in said)


def test_nothing_is_shown_under_pytest():
    said = []
    assert list(progress.progress_iter(range(5), say=said.append, enabled=True)) == \
        list(range(5))
    assert said == []
    assert progress.progress_enabled(True) is False


def test_cli_messages_carry_elapsed_time_and_quiet_silences_them(tmp_path, capsys):
    assert main(["simulate", "--patients", "20", "--seed", "1", "--out",
                 str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and progress.TIMED_LINE.match(err[0])
    assert "wrote" in err[0]
    assert main(["--quiet", "simulate", "--patients", "20", "--seed", "1", "--out",
                 str(tmp_path / "b")]) == 0
    assert capsys.readouterr().err == ""
