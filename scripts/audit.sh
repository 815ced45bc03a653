#!/usr/bin/env bash
# Audits the pinned requirements (runtime and dev) for known vulnerabilities with pip-audit,
# using PyPI's vulnerability data. Fails on any known vulnerability. Packages the service cannot
# look up (e.g. a registry mirror without PyPI's per-release JSON) are listed as not audited;
# AUDIT_STRICT=1 makes those fail too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements-dev.txt
strict=()
[ "${AUDIT_STRICT:-0}" = 1 ] && strict=(--strict)
# Fully pinned files: audit the pins themselves, no resolver run (that would install TensorFlow).
for req in requirements.txt requirements-dev.txt; do
  echo "--- pip-audit $req"
  grep -vE '^\s*(#|-r )' "$req" | sed '/^\s*$/d' > ".audit-$req"
  .venv/bin/pip-audit --no-deps --disable-pip --vulnerability-service pypi --progress-spinner off \
    -r ".audit-$req" "${strict[@]}" 2>&1 | grep -v -e '--no-deps is supported' -e 'pip-compile' \
    || status=$?
  rm -f ".audit-$req"
  if [ "${status:-0}" != 0 ]; then exit "$status"; fi
done
