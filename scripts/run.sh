#!/usr/bin/env bash
# One command to set up and run the web app on http://127.0.0.1:8000 with the shipped models:
#   bash scripts/run.sh
# It also starts one background worker (django-q2 `qcluster`; the database is its queue) for
# whole-recording analyses, and stops it when the server stops. RUN_WORKER=0 skips it (e.g. when
# workers run elsewhere against the same DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh requirements.txt
.venv/bin/python manage.py migrate --noinput
# Convert the shipped models for low-memory serving, and export their Grad-CAM (LiteRT view +
# NumPy head) so heat maps need no TensorFlow either (skips up-to-date ones; Keras otherwise).
.venv/bin/python manage.py export_lite_models || echo "warning: models will be served by Keras"

server_pid=""
worker_pid=""
stop_all() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  if [ -n "$worker_pid" ]; then
    # SIGINT is qcluster's graceful stop (its sentinel ignores it and lets running tasks end);
    # after 10 s the worker's whole process group is killed.
    kill -INT "$worker_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$worker_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$worker_pid" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

if [ "${RUN_WORKER:-1}" != "0" ]; then
  # Own process group: Ctrl-C in the terminal reaches it only through stop_all.
  setsid .venv/bin/python manage.py qcluster &
  worker_pid=$!
fi
.venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}" &
server_pid=$!
wait "$server_pid"
