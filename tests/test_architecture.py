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


# The apps' floors. An app imports from the library, from ``ecgsite``'s shared helpers and from
# apps on lower floors -- never from an app beside or above it (issue 16). The history page,
# which shows images and recordings together, therefore lives in ``pages``, above both.
APP_FLOORS = {
    "accounts": 1,
    "classifier": 1,
    "recordings": 1,
    "reports": 2,  # heat maps and PDFs of predictions and recordings
    "api": 3,
    "pages": 3,  # the site's own pages: home, class pages, the combined history
}
# ecgsite's wiring modules see every app; its other modules (errors, middleware, storage,
# private files...) are helpers on floor 0 that the apps import.
ECGSITE_WIRING = {"settings", "urls", "wsgi", "asgi", "health", "gunicorn_conf"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def floor_of(module: str) -> int | None:
    """The floor of a module of the project (None for the library and third-party code)."""
    package, _, rest = module.partition(".")
    if package == "ecgsite":
        return 4 if rest.split(".")[0] in ECGSITE_WIRING else 0
    return APP_FLOORS.get(package)


def _is_at_or_above(module: str, floor: int) -> bool:
    other = floor_of(module)
    return other is not None and other >= floor


def test_apps_import_only_downwards():
    offenders = {}
    for package in (*APP_FLOORS, "ecgsite"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            floor = floor_of(module)
            upward = sorted(
                name
                for name in imported_modules(path)
                if name.split(".")[0] != package and _is_at_or_above(name, floor)
            )
            if upward:
                offenders[module] = upward
    assert offenders == {}


def test_the_floors_name_every_app():
    assert set(APP_FLOORS) | {"ecgsite"} == APPS


LONG_MODULE_LINES = 400


def test_a_long_module_says_why_at_its_top():
    packages = (*APP_FLOORS, "ecgsite", "ecg", "benchmarks", "experiments")
    unexplained = [
        str(path.relative_to(ROOT))
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and len(path.read_text().splitlines()) > LONG_MODULE_LINES
        and "Long on purpose:" not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert unexplained == []
