#!/usr/bin/env bash
# One command to set up and run the web app on http://127.0.0.1:8000 with the shipped models:
#   bash scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements.txt
.venv/bin/python manage.py migrate --noinput
# Convert the shipped models for low-memory serving (skips up-to-date ones; Keras otherwise).
.venv/bin/python manage.py export_lite_models || echo "warning: models will be served by Keras"
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"
