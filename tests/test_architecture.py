"""The import graph: the ECG library on the ground floor, the apps above it (issue 16)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = {"accounts", "api", "classifier", "ecgsite", "pages", "recordings", "reports"}


def imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_library_imports_no_django_and_no_app():
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_top_levels(path) & (APPS | {"django"}))
        for path in (ROOT / "ecg").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_the_public_api_pulls_in_neither_django_nor_tensorflow():
    code = (
        "import sys, ecg\n"
        "[getattr(ecg, name) for name in ecg.__all__]\n"
        "print(sorted(m for m in ('django', 'tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
