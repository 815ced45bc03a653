"""Production server settings: ``gunicorn -c gunicorn.conf.py`` (see README, "Production").

Each worker is one app process (about 200 MB with the models in LiteRT). Models are loaded
right after a worker starts, so the first upload does not pay for it.
"""

import os

wsgi_app = "ecgsite.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
max_requests = 2000  # recycle workers now and then (bounded memory growth)
max_requests_jitter = 200
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    from classifier.model_service import get_model_service

    try:
        loaded = get_model_service().warm_up()
        worker.log.info("models loaded: %s", ", ".join(loaded) or "none installed")
    except Exception:  # the site must still come up; the upload page answers 503
        worker.log.exception("could not load the models")
