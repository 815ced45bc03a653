"""The locked environment (requirements*.lock) and the honesty of scripts/audit.sh."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository


# --- scripts/audit.sh, fed a fake pip-audit ----------------------------------------------------

SKIPPED = {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited"}
CLEAN = {"name": "whitenoise", "version": "6.12.0", "vulns": []}
VULNERABLE = {
    "name": "pillow",
    "version": "13.0.0",
    "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["13.0.1"], "description": "..."}],
}


def run_audit(
    tmp_path: Path, report: dict | None, status: int = 0, stderr: str = "", **extra_env: str
):
    """Runs a copy of scripts/audit.sh whose .venv/bin/pip-audit prints `report` (or nothing)."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    for lock in ROOT.glob("requirements*"):
        shutil.copy(lock, repo / lock.name)
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    # a stamp newer than the requirements: an install step, if any, has nothing to do
    (repo / ".venv" / ".installed-requirements-dev.txt").touch()
    (tmp_path / "report.json").write_text(json.dumps(report) if report is not None else "")
    fake = bin_dir / "pip-audit"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/argv\n'
        f"cat {tmp_path}/report.json\n"
        f"echo {stderr!r} >&2\n"
        f"exit {status}\n"
    )
    fake.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SKIP_BOOTSTRAP": "1", **extra_env}
    result = subprocess.run(
        ["bash", "scripts/audit.sh"], cwd=repo, env=env, capture_output=True, text=True, timeout=60
    )
    argv = (tmp_path / "argv").read_text() if (tmp_path / "argv").exists() else ""
    return result, argv


def test_audit_of_nothing_checked_says_not_checked_and_passes(tmp_path):
    result, argv = run_audit(tmp_path, {"dependencies": [SKIPPED], "fixes": []})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NOT CHECKED" in result.stdout
    assert "no known vulnerabilities" not in result.stdout.lower()
    # the whole hashed lock, indirect dependencies included, is what gets audited
    assert "requirements-dev.lock" in argv and "--require-hashes" in argv


def test_audit_with_a_known_vulnerability_fails(tmp_path):
    report = {"dependencies": [CLEAN, VULNERABLE, SKIPPED], "fixes": []}
    result, _ = run_audit(tmp_path, report, status=1)
    assert result.returncode == 1
    assert "VULNERABLE: pillow 13.0.0: PYSEC-0000-1 (fixed in: 13.0.1)" in result.stdout
    assert "FAILED" in result.stdout


def test_audit_that_checked_everything_reports_a_clean_result(tmp_path):
    result, _ = run_audit(tmp_path, {"dependencies": [CLEAN], "fixes": []})
    assert result.returncode == 0
    assert "no known vulnerabilities (1 packages checked)" in result.stdout
    assert "NOT CHECKED" not in result.stdout


def test_partly_checked_audit_never_claims_a_clean_result(tmp_path):
    result, _ = run_audit(tmp_path, {"dependencies": [CLEAN, SKIPPED], "fixes": []})
    assert result.returncode == 0
    assert "NOT CHECKED" in result.stdout and "1 of 2 packages not checked" in result.stdout


def test_audit_whose_service_is_unreachable_says_not_checked(tmp_path):
    result, _ = run_audit(tmp_path, None, status=1, stderr="ConnectionError: api.osv.dev")
    assert result.returncode == 0
    assert "NOT CHECKED: pip-audit failed: ConnectionError: api.osv.dev" in result.stdout


def test_strict_audit_fails_when_something_was_not_checked(tmp_path):
    report = {"dependencies": [CLEAN, SKIPPED], "fixes": []}
    result, _ = run_audit(tmp_path, report, AUDIT_STRICT="1")
    assert result.returncode == 2 and "NOT CHECKED" in result.stdout


# --- the lock files ---------------------------------------------------------------------------

LOCKS = [
    ("requirements.txt", "requirements.lock"),
    ("requirements-dev.txt", "requirements-dev.lock"),
]


def check_lock(requirements: Path, lock: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_lock.py"), str(requirements), str(lock)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("requirements", "lock"), LOCKS)
def test_lock_files_pin_every_package_with_hashes_and_match_the_requirements(requirements, lock):
    result = check_lock(ROOT / requirements, ROOT / lock)
    assert result.returncode == 0, result.stderr
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(entries) > 60  # the indirect dependencies are there too
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9][\w.-]*==\S+", entry), entry
        assert "--hash=sha256:" in entry, entry.splitlines()[0]
    # one lock for both Linux targets: tensorflow-cpu has no aarch64 wheels
    assert "tensorflow==2.21.0 ; platform_machine == 'aarch64'" in text
    assert "tensorflow-cpu==2.21.0 ; platform_machine != 'aarch64'" in text


def test_a_stale_lock_is_refused_with_the_command_that_fixes_it(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        (ROOT / "requirements.txt").read_text() + "\nsome-new-package==1.0\n"
    )
    result = check_lock(tmp_path / "requirements.txt", ROOT / "requirements.lock")
    assert result.returncode == 1
    assert "some-new-package==1.0" in result.stderr and "bash scripts/lock.sh" in result.stderr


# --- scripts/bootstrap.sh, with a fake interpreter that records what pip was asked -------------


PINNED_PIP = "26.3"  # scripts/pip.lock


def bootstrap_repo(tmp_path: Path, pip_version: str = PINNED_PIP) -> Path:
    """A copy of the scripts and requirements with a fake venv python that logs its pip calls
    and answers ``-m pip --version`` as pip ``pip_version``."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    for name in ROOT.glob("requirements*"):
        shutil.copy(name, repo / name.name)
    fake = repo / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$*" = "-m pip --version" ]; then echo "pip {pip_version} from x"; exit 0; fi\n'
        f'echo "$@" >> {tmp_path}/pip-calls\n'
    )
    fake.chmod(0o755)
    return repo


def bootstrap(repo: Path, requirements: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    calls_file = repo.parent / "pip-calls"
    calls_file.write_text("")
    result = subprocess.run(
        ["bash", "scripts/bootstrap.sh", requirements],
        cwd=repo,
        env={"PATH": os.environ["PATH"], "HOME": str(repo), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, calls_file.read_text().splitlines()


def test_bootstrap_installs_the_lock_with_hashes_once_and_again_when_it_changes(tmp_path):
    repo = bootstrap_repo(tmp_path)
    result, calls = bootstrap(repo, "requirements-dev.txt")
    assert result.returncode == 0, result.stderr
    assert calls == ["-m pip install --quiet --require-hashes -r requirements-dev.lock"]
    assert bootstrap(repo, "requirements-dev.txt")[1] == []  # nothing changed: nothing to do
    with (repo / "requirements-dev.lock").open("a") as lock:
        lock.write("# recompiled\n")
    assert len(bootstrap(repo, "requirements-dev.txt")[1]) == 1
    # the runtime lock has its own stamp
    result, calls = bootstrap(repo, "requirements.txt")
    assert calls == ["-m pip install --quiet --require-hashes -r requirements.lock"]


def test_bootstrap_installs_the_pinned_pip_before_the_lock_when_the_venv_has_another(tmp_path):
    """Python 3.11's bundled pip 23.2 rejects the hash-locked files (an extra of a locked
    package once a newer release is out): bootstrap first installs scripts/pip.lock's pip."""
    assert f"pip=={PINNED_PIP} " in (ROOT / "scripts" / "pip.lock").read_text()
    repo = bootstrap_repo(tmp_path, pip_version="23.2.1")
    result, calls = bootstrap(repo, "requirements-dev.txt")
    assert result.returncode == 0, result.stderr
    assert calls == [
        "-m pip install --quiet --require-hashes -r scripts/pip.lock",
        "-m pip install --quiet --require-hashes -r requirements-dev.lock",
    ]


def test_bootstrap_refuses_a_stale_lock_and_installs_nothing(tmp_path):
    repo = bootstrap_repo(tmp_path)
    with (repo / "requirements.txt").open("a") as requirements:
        requirements.write("\nsome-new-package==1.0\n")
    result, calls = bootstrap(repo, "requirements.txt")
    assert result.returncode != 0
    assert "bash scripts/lock.sh" in result.stderr
    assert calls == []
