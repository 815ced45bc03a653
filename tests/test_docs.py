"""The README's layout table matches the tree (issue 16: a README a newcomer can trust)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_paths() -> list[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Layout", 1)[1]
    return re.findall(r"^\| `([^`]+)`", table, flags=re.M) + re.findall(
        r"^\| `[^`]+`, `([^`]+)`", table, flags=re.M
    )


def test_every_path_in_the_layout_table_exists():
    missing = [p for p in layout_paths() if not (ROOT / p.rstrip("/")).exists()]
    assert missing == []


def test_every_top_level_folder_is_in_the_layout_table():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {path.split("/")[0] + "/" for path in tracked if "/" in path}
    listed = {p if p.endswith("/") else p + "/" for p in layout_paths()}
    assert sorted(folders - listed - {".ci/"}) == []
