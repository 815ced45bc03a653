#!/usr/bin/env bash
# One command to set up and run the whole test suite (lint, migrations check, docs build, pytest):
#   bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements-dev.txt
export DJANGO_ENV=test
.venv/bin/ruff check .
.venv/bin/python manage.py makemigrations --check --dry-run
# The docs build offline, every warning (a broken link, a page missing from nav) an error.
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet
.venv/bin/python -m pytest "$@"
