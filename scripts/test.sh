#!/usr/bin/env bash
# One command to set up and run the whole test suite (lint, migrations check, pytest):
#   bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements-dev.txt
export DJANGO_ENV=test
.venv/bin/ruff check .
.venv/bin/python manage.py makemigrations --check --dry-run
.venv/bin/python -m pytest "$@"
