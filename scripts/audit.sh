#!/usr/bin/env bash
# Audits the whole locked environment (requirements-dev.lock: runtime and test tools, indirect
# dependencies included, hashed) for known vulnerabilities with pip-audit and PyPI's
# vulnerability data, and says honestly what it could check (scripts/audit_report.py):
#   a known vulnerability            -> lists it, exit 1
#   packages it could not look up    -> "NOT CHECKED" (offline, no data), exit 0; AUDIT_STRICT=1: exit 2
#   every package checked, none hit  -> "no known vulnerabilities", exit 0
# AUDIT_SERVICE picks pip-audit's service (pypi, default; osv). SKIP_BOOTSTRAP=1 skips the install.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_BOOTSTRAP:-0}" != 1 ]; then
  bash scripts/bootstrap.sh requirements-dev.txt
fi
out="$(mktemp)"
err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT
status=0
.venv/bin/pip-audit --require-hashes --disable-pip --vulnerability-service "${AUDIT_SERVICE:-pypi}" \
  --progress-spinner off --format json -r requirements-dev.lock >"$out" 2>"$err" || status=$?
exec .venv/bin/python scripts/audit_report.py "$out" "$status" "$err"
