"""Refuses a stale lock file: every direct pin of a requirements file must be in its lock.

    python scripts/check_lock.py requirements.txt requirements.lock

Standard library only: it runs before anything is installed (scripts/bootstrap.sh).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;\\]+)")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_pins(path: Path) -> set[tuple[str, str]]:
    """The `name==version` pins of a requirements file and of the files it includes (-r)."""
    pins: set[tuple[str, str]] = set()
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins |= direct_pins(path.parent / line[3:].strip())
            continue
        match = PIN.match(line)
        if match:
            pins.add((_normalise(match.group(1)), match.group(2)))
        elif line and not line.startswith("-"):
            # An unpinned or ranged requirement cannot be checked against the lock.
            raise SystemExit(f"{path}: pin it with ==: {line}")
    return pins


def locked_pins(path: Path) -> set[tuple[str, str]]:
    pins = set()
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins.add((_normalise(match.group(1)), match.group(2)))
    return pins


def main(argv: list[str]) -> int:
    requirements, lock = Path(argv[1]), Path(argv[2])
    missing = sorted(direct_pins(requirements) - locked_pins(lock))
    if missing:
        names = ", ".join(f"{name}=={version}" for name, version in missing)
        print(
            f"{lock} is out of date with {requirements} (not in the lock: {names}): "
            "run `bash scripts/lock.sh`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
