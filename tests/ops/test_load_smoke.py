"""A short run of benchmarks/load_test.py (the figures come from the full 60-second run; this
proves, on every CI run, that concurrent uploads through gunicorn lose or orphan nothing)."""

import json
import os

import pytest

from benchmarks import load_test

pytestmark = pytest.mark.slow


def test_short_load_run_loses_and_orphans_nothing(tmp_path):
    database_url = os.environ.get("DATABASE_URL", "")
    args = [
        "--users",
        "4",
        "--duration",
        "6",
        "--tiny-models",
        "--output",
        str(tmp_path / "r.json"),
    ]
    if database_url.startswith("postgres"):
        args += ["--database-url", database_url]
    assert load_test.main(args) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    integrity = result["integrity"]
    assert result["errors"] == 0, result["error_kinds"]
    assert integrity["accepted_uploads"] > 0
    assert integrity["rows"] == integrity["files_in_media"] == integrity["accepted_uploads"]
    for problem in ("lost_uploads", "extra_rows", "missing_files", "orphaned_files"):
        assert integrity[problem] == 0, problem
    assert result["latency"]["history"]["count"] > 0
