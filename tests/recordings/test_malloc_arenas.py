"""The analysis worker caps glibc's malloc arenas (its peak RSS; ``limit_malloc_arenas``)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt's arena cap is glibc's")
def test_the_arena_cap_is_accepted_by_glibc():
    # In a child process: the cap is process-wide and cannot be undone.
    code = "from ecg.recording_analysis import limit_malloc_arenas as f; print(f(), f(1))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert done.stdout.split() == ["True", "True"]


def test_the_analysis_task_caps_the_arenas_before_analysing(monkeypatch):
    import recordings.tasks as tasks

    calls: list[str] = []
    monkeypatch.setattr(tasks, "limit_malloc_arenas", lambda: calls.append("cap") or True)
    monkeypatch.setattr(tasks, "recordings_reclaim_abandoned", lambda: 0)
    monkeypatch.setattr(tasks, "recording_analyse", lambda **kw: calls.append("analyse") or "ok")
    assert tasks.recording_analyse_task(7) == "ok"
    assert calls == ["cap", "analyse"]
