#!/usr/bin/env bash
# Compiles the lock files from the direct pins, with a hash for every file of every pinned
# version on PyPI (all platforms: Linux x86_64 and aarch64 for CPython 3.11 included):
#   requirements.txt      -> requirements.lock      (runtime)
#   requirements-dev.txt  -> requirements-dev.lock  (runtime + test tools, same runtime versions)
# Run after changing a requirements*.txt file; scripts/bootstrap.sh refuses a stale lock.
# Needs the network (PyPI) and uv (pinned in requirements-dev.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-.venv/bin/uv}"
# --universal: one file for every platform, with markers where dependencies differ (e.g.
# tensorflow-cpu on x86_64, tensorflow on aarch64). uv reads PyPI, not pip.conf's mirrors.
common=(--universal --python-version 3.11 --generate-hashes
  --custom-compile-command "bash scripts/lock.sh" --quiet)
"$UV" pip compile "${common[@]}" requirements.txt -o requirements.lock
# The runtime lock constrains the dev one, so both install the same runtime versions.
"$UV" pip compile "${common[@]}" requirements-dev.txt -c requirements.lock -o requirements-dev.lock
