# The shared start of the production scripts (serve.sh, worker.sh); sourced, not run: refuse
# to start without the secrets, switch to production settings, install the pinned packages.
if [ -z "${SECRET_KEY:-}" ] || [ -z "${ALLOWED_HOSTS:-}" ]; then
  echo "$(basename "$0"): set SECRET_KEY and ALLOWED_HOSTS (see README, Production)" >&2
  exit 2
fi
export DJANGO_ENV=production
if [ "${SKIP_BOOTSTRAP:-0}" != 1 ]; then
  bash scripts/bootstrap.sh requirements.txt
fi
