#!/usr/bin/env bash
# Production server: gunicorn (2 workers by default) + whitenoise static files, DJANGO_ENV=production.
#   SECRET_KEY=... ALLOWED_HOSTS=ecg.example.org bash scripts/serve.sh
# Environment: HOST (127.0.0.1), PORT (8000), WEB_CONCURRENCY (2), DATABASE_URL (SQLite file),
# SKIP_MIGRATE=1 when migrations (and createcachetable) run once as a release step (several app
# servers), CACHE_URL (a shared cache; default: a table in the database), LOG_FORMAT.
# Put a TLS-terminating proxy in front: it must set X-Forwarded-Proto (HSTS, secure cookies and
# the https redirect rely on it). See README, "Production".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/production_env.sh
PY=.venv/bin/python
"$PY" manage.py check --deploy --fail-level WARNING
if [ "${SKIP_MIGRATE:-0}" != 1 ]; then
  "$PY" manage.py migrate --noinput
  "$PY" manage.py createcachetable  # the shared throttle counts (settings.CACHES); idempotent
fi
"$PY" manage.py collectstatic --noinput --verbosity 0
# LiteRT conversions and Grad-CAM exports (skipped when up to date): without them every app
# process would import TensorFlow (about 600 MB) to predict or draw a heat map
"$PY" manage.py export_lite_models || echo "warning: a model will be served by Keras" >&2
exec "$PY" -m gunicorn ecgsite.wsgi:application --config ecgsite/gunicorn_conf.py
