#!/usr/bin/env bash
# Background worker for whole-recording analyses (django-q2; the database is the queue), with
# production settings. Run one or more per machine beside scripts/serve.sh, same environment:
#   SECRET_KEY=... ALLOWED_HOSTS=... DATABASE_URL=postgres://... bash scripts/worker.sh
# Q_WORKERS sets the analysis processes per worker (default 1). See README, "Scaling out".
# Stop it with SIGINT (qcluster's graceful stop); SIGTERM was seen to hang here for minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/production_env.sh
exec .venv/bin/python manage.py qcluster
