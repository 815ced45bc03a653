"""Reads pip-audit's JSON output and says what was checked, honestly (scripts/audit.sh).

    python scripts/audit_report.py OUTPUT.json PIP_AUDIT_EXIT_STATUS [STDERR_FILE]

Each package is vulnerable, checked clean, or not checked (pip-audit skipped it: the service
was unreachable or has no data for it). Exit status: 1 when a known vulnerability was found;
otherwise 0 (also when some or all packages were not checked: that is said, never reported as
a clean result), or 2 for "not checked" when AUDIT_STRICT=1.
Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def _not_checked(reason: str) -> int:
    print(f"dependency audit: NOT CHECKED: {reason}")
    return 2 if os.environ.get("AUDIT_STRICT") == "1" else 0


def audit_verdict(*, output: str, status: int, stderr: str = "") -> int:
    """Prints the verdict on one pip-audit run and returns the exit status for it."""
    try:
        dependencies = json.loads(output)["dependencies"]
    except (ValueError, KeyError, TypeError):
        # pip-audit failed before reporting (e.g. its service could not be reached at all).
        last = stderr.strip().splitlines()[-1:] or [f"exit status {status}, no report"]
        return _not_checked(f"pip-audit failed: {last[0]}")
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if "skip_reason" in dep]
    checked = len(dependencies) - len(skipped)
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "none"
            print(f"VULNERABLE: {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes})")
    for dep in skipped:
        print(f"not checked: {dep['name']}: {dep['skip_reason']}")
    if vulnerable:
        count = sum(len(dep["vulns"]) for dep in vulnerable)
        print(
            f"dependency audit: FAILED: {count} known vulnerabilities in "
            f"{len(vulnerable)} of {checked} checked packages"
            + (f"; {len(skipped)} packages not checked" if skipped else "")
        )
        return 1
    if checked == 0:
        return _not_checked(f"none of the {len(dependencies)} packages could be checked")
    if skipped:
        return _not_checked(
            f"no known vulnerabilities in {checked} checked packages, "
            f"but {len(skipped)} of {len(dependencies)} packages not checked"
        )
    print(f"dependency audit: no known vulnerabilities ({checked} packages checked)")
    return 0


def main(argv: list[str]) -> int:
    stderr = Path(argv[3]).read_text() if len(argv) > 3 else ""
    return audit_verdict(output=Path(argv[1]).read_text(), status=int(argv[2]), stderr=stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
