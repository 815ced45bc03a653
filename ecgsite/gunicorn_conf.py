"""gunicorn settings for ``scripts/serve.sh`` (every value can be overridden from the environment).

Sync workers: a prediction is CPU-bound TensorFlow work, so one request per process is the honest
model; scale with WEB_CONCURRENCY (about one worker per core) and more machines, not threads.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak in a native library cannot grow for ever.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# No runtime control socket: one fixed path in $HOME would clash between instances.
control_socket_disable = True
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Behind a TLS-terminating proxy: trust its X-Forwarded-* headers (set FORWARDED_ALLOW_IPS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

_json = os.environ.get("LOG_FORMAT", "json") == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "ecgsite.json_logging.json_formatter"},
        "access_json": {"()": "ecgsite.json_logging.AccessJsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _json else "plain",
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access_json" if _json else "plain",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["error"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}


def post_worker_init(worker) -> None:  # noqa: ANN001 -- gunicorn's hook signature
    """Load the models in each worker before it takes traffic: no slow first request."""
    try:
        from ecgsite.model_registry import get_model_registry

        names = get_model_registry().warm_up()
        worker.log.info("models loaded: %s", ", ".join(names) or "none installed")
    except Exception:  # a broken model must not stop the worker: uploads answer 503 instead
        worker.log.exception("model warm-up failed")
