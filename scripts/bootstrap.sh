#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the locked requirements; safe to run again.
# Usage: scripts/bootstrap.sh [requirements-file]
# requirements.txt / requirements-dev.txt are installed from their lock files (every package,
# indirect ones too, pinned with hashes: pip install --require-hashes), after checking that the
# lock is not stale (`bash scripts/lock.sh` recompiles it). A file without a lock (e.g.
# requirements-s3.txt) is installed as it is. Installs again whenever the file's content changes.
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
lock="${req%.txt}.lock"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ -f "$lock" ]; then
  "$PY" scripts/check_lock.py "$req" "$lock"
  src="$lock"
  args=(--require-hashes -r "$lock")
else
  src="$req"
  args=(-r "$req")
fi
# The stamp holds the content's digest, not a time: a checkout or merge sets file times at will.
digest="$(cat "$src" requirements.txt | sha256sum | cut -d' ' -f1)"
stamp=".venv/.installed-$(basename "$src")"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
  # The venv's own pip (Python 3.11 bundles 23.2) is replaced by the pinned one first: the old
  # one rejects the hash-locked files once a newer release of a locked package is published.
  pinned_pip="$(sed -n 's/^pip==\([^ ]*\).*/\1/p' scripts/pip.lock)"
  if [ "$(.venv/bin/python -m pip --version 2>/dev/null | cut -d' ' -f2)" != "$pinned_pip" ]; then
    .venv/bin/python -m pip install --quiet --require-hashes -r scripts/pip.lock
  fi
  .venv/bin/python -m pip install --quiet "${args[@]}"
  echo "$digest" > "$stamp"
fi
