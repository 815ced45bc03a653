"""Settings for the ECG arrhythmia classifier, read from the environment (12-factor).

Development (the default, ``DJANGO_ENV=development``) works with no variable set: SQLite in the
project folder, DEBUG on, a throw-away secret key. ``DJANGO_ENV=production`` turns DEBUG off and
refuses to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``.

Grouped by topic: core, database and cache, apps and middleware, templates, auth and security,
static files and media, uploads, models, recordings and the worker, API, e-mail, logging.

Long on purpose: Django reads its settings from one module; the topics are its sections.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core ---------------------------------------------------------------------------------------

ENVIRONMENT = env("DJANGO_ENV", default="development")
if ENVIRONMENT not in ("development", "production", "test"):
    raise ImproperlyConfigured("DJANGO_ENV must be development, production or test")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env.bool("DEBUG", default=not PRODUCTION)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

ROOT_URLCONF = "ecgsite.urls"
WSGI_APPLICATION = "ecgsite.wsgi.application"
ASGI_APPLICATION = "ecgsite.asgi.application"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Database and cache -------------------------------------------------------------------------

# SQLite file is the embedded default; production points DATABASE_URL at PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# SQLite shared by several gunicorn workers: take the write lock at BEGIN (a deferred transaction
# that must upgrade its lock fails at once with "database is locked"), wait for it up to 20 s,
# and use WAL so readers never block the writer. PostgreSQL needs none of this.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the throttles' and rate limits' counts. Every server process (gunicorn
# workers, machines) must see the same counts, or each keeps its own and the limit multiplies by
# their number: production uses a table in the main database (created by serve.sh:
# createcachetable) unless CACHE_URL names a shared engine (redis://host:6379/0 with the redis
# package installed); development and tests keep one process's memory.
CACHE_TABLE = "ecg_cache"
CACHES = {
    "default": env.cache_url(
        "CACHE_URL", default=f"dbcache://{CACHE_TABLE}" if PRODUCTION else "locmemcache://"
    )
}

# --- Apps and middleware ------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "pages",
    "accounts",
    "classifier",
    "django_q",
    "recordings",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "reports",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # right after SecurityMiddleware
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # runs before any process_view: the CSRF check reads (spools) a POST body before login checks
    "ecgsite.middleware.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "ecgsite.middleware.DatabaseUnavailableMiddleware",  # 503 page when the database is down
    "ecgsite.middleware.StorageUnavailableMiddleware",  # 503 when the media disk takes no write
    "ecgsite.middleware.ApplicationErrorMiddleware",  # an ApplicationError's page and status
    "axes.middleware.AxesMiddleware",  # must stay the last middleware
]

# --- Templates and forms ------------------------------------------------------------------------

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Authentication ------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "ecgsite.auth_backends.ThrottledLoginBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "classifier:upload"
LOGOUT_REDIRECT_URL = "pages:home"

# Lock a username *from one address* after 5 failures for 15 minutes: a typo-prone clinician on
# another machine is not locked out, and the answer is the same for existing and unknown names.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "ecgsite.client_ip.client_ip_get"
# Sign-up and password-reset attempts per client address (accounts.throttling); "" turns off.
SIGNUP_RATE = env("SIGNUP_RATE", default="10/hour")
PASSWORD_RESET_RATE = env("PASSWORD_RESET_RATE", default="5/hour")

# --- Security -----------------------------------------------------------------------------------

if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    if not SECURE_SSL_REDIRECT:
        # Set false on purpose (a proxy that redirects to HTTPS itself, docs "Operations"):
        # `check --deploy` in serve.sh must accept it; every other deploy warning still fails.
        SILENCED_SYSTEM_CHECKS = ["security.W008"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Load balancers probe over plain HTTP inside the network: no redirect to https for the probe.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
# Health data on shared workstations: sessions end after 12 hours by default.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind PROXY_COUNT trusted reverse proxies the client address is the PROXY_COUNT-th
# X-Forwarded-For entry from the right (0: the header is ignored, it could be forged).
PROXY_COUNT = env.int("PROXY_COUNT", default=0)

# Content Security Policy: only the app's own assets; inline <script>/<style> need the nonce
# ({{ request.csp_nonce }}); data: images for Bootstrap's inline SVG icons, blob: for previews.
# style="" attributes (the probability bars' widths) are allowed: they cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Static files and media ---------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Uploaded ECG images are health data: they live under MEDIA_ROOT but are never served from a
# public URL -- a login-protected view streams each file to its owner only.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

STORAGES = {
    # FileSystemStorage that leaves no partial file when the disk is full
    "default": {"BACKEND": "ecgsite.storage.AtomicFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Media on S3-compatible object storage (AWS S3, MinIO, Ceph...) when a bucket is named, so several
# stateless app servers share the uploads. Needs `pip install -r requirements-s3.txt`; credentials
# come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance role). Files stay private:
# the app streams each one to its owner, no public URL.
if env("AWS_STORAGE_BUCKET_NAME", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "location": env("AWS_LOCATION", default="media"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# --- Uploads ------------------------------------------------------------------------------------

UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)
UPLOAD_MAX_PIXELS = env.int("UPLOAD_MAX_PIXELS", default=25_000_000)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("UPLOAD_MAX_FILES", default=50)
# Uploaded files over this size are streamed to a temporary file while they arrive, not held in
# the request's memory (Django's default, stated because a 93 MB recording relies on it).
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) counts the other form fields only, never the files.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Whole recordings: 100 MB: a 24-hour two-lead 360 Hz Holter recording in WFDB format 212 is
# 93.3 MB with its header and annotations beside it (ecg.io.recording_io.DEFAULT_MAX_BYTES).
RECORDING_MAX_BYTES = env.int("RECORDING_MAX_BYTES", default=100_000_000)
RECORDING_MAX_HOURS = env.float("RECORDING_MAX_HOURS", default=24.0)
# Request bodies over this are refused from Content-Length before Django reads (and spools) them
# (ecgsite.middleware.RequestBodyLimitMiddleware): the largest upload plus 4 MB of form fields.
REQUEST_MAX_BYTES = env.int(
    "REQUEST_MAX_BYTES",
    default=max(UPLOAD_MAX_BYTES * DATA_UPLOAD_MAX_NUMBER_FILES, RECORDING_MAX_BYTES) + 4_194_304,
)
# Expensive pages per user and minute (ecgsite.ratelimit), counted in the shared cache.
RATE_LIMITS = {
    "export": env.int("EXPORT_RATE_PER_MINUTE", default=10),  # ZIP, CSV, PDF report
    "heatmap": env.int("HEATMAP_RATE_PER_MINUTE", default=60),  # one per beat looked at
}

# --- Models -------------------------------------------------------------------------------------

# Trained models (see models/*.json for what each expects)
MODELS_DIR = Path(env("MODELS_DIR", default=str(BASE_DIR / "models")))
# Which image model serves each kind when several are installed, e.g.
# IMAGE_MODELS="beat_image=<model name>,spectrogram=<model name>" (default: first by file name);
# "beat_image_unknown_amplitude=<name>" picks the scale-free model for beats digitised without a
# grid (ecg.models.registry.AMPLITUDES).
IMAGE_MODELS = env.dict("IMAGE_MODELS", default={})
# auto: LiteRT when `manage.py export_lite_models` converted the model (far less memory), else
# Keras; lite: LiteRT only; keras: always TensorFlow/Keras. See ecg/models/lite_runtime.py.
MODEL_RUNTIME = env("MODEL_RUNTIME", default="auto")
# Name or file stem; "" = first found. "recording_two_lead" serves the two-lead model (issue 17:
# both leads in one network call per beat), opt-in until its published figures are rerun
# (docs/mixed-training.md).
RECORDING_MODEL = env("RECORDING_MODEL", default="recording_mixed")
# One-thread LiteRT interpreters of the recording model side by side in a worker process (its
# 32-image chunks spread over them): one analysis at a time, so 2 uses both cores of a 2-core
# machine (same probabilities; set 1 with Q_WORKERS > 1 on such a machine).
RECORDING_MODEL_THREADS = env.int("RECORDING_MODEL_THREADS", default=2)
# int8: the recording model's int8 LiteRT conversion (weights quantised, about 45 % less CPU per
# beat; `manage.py export_lite_models` writes it), float32 without one; float32: never int8.
# int8 was chosen on validation data: benchmarks/quantised_serving.py, docs/performance.md.
RECORDING_MODEL_PRECISION = env("RECORDING_MODEL_PRECISION", default="int8")
if RECORDING_MODEL_PRECISION not in ("float32", "int8"):
    raise ImproperlyConfigured("RECORDING_MODEL_PRECISION must be float32 or int8")

# --- Recordings and the background worker -------------------------------------------------------

# Beat images per ZIP download (part): 5,000 take 3-6 s to draw (10 MB); a class with more is
# offered as several parts (?part=2 ...), so no request keeps a worker for half a minute.
RECORDING_ZIP_MAX_BEATS = env.int("RECORDING_ZIP_MAX_BEATS", default=5_000)
# True runs each analysis inside the request (tests, debugging); False queues it for the workers.
RECORDING_TASKS_SYNC = env.bool("RECORDING_TASKS_SYNC", default=False)
# A running analysis renews a lease on its recording with every progress update (twice a second
# while it works). A lease this old means its worker died (killed, out of memory): the recording
# is queued again, and after RECORDING_MAX_ATTEMPTS starts it fails with a message.
RECORDING_LEASE_S = env.int("RECORDING_LEASE_S", default=300)
RECORDING_MAX_ATTEMPTS = env.int("RECORDING_MAX_ATTEMPTS", default=2)
# django-q2 with its Django ORM broker: the database is the queue, so any number of
# `manage.py qcluster` processes on any number of machines sharing DATABASE_URL (PostgreSQL in
# production) pick analyses up. scripts/run.sh starts one beside the development server.
Q_CLUSTER = {
    "name": "ecg",
    "orm": "default",
    "workers": env.int("Q_WORKERS", default=1),
    "recycle": 50,
    "timeout": env.int("Q_TIMEOUT", default=1800),  # a 24-hour recording on one slow core
    "retry": env.int("Q_TIMEOUT", default=1800) + 300,  # must exceed the timeout
    "max_attempts": 1,  # a failed analysis is reported, not retried behind the user's back
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Background tasks",
}

# --- REST API -----------------------------------------------------------------------------------

# Token or session authentication, everything private by default, JSON errors, one throttle per
# user whose rate is configurable (counted in the shared cache above).
API_THROTTLE_RATE = env("API_THROTTLE_RATE", default="120/minute")
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=20)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.HashedTokenAuthentication",  # digests only, expiring
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerUserThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.json_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ECG arrhythmia classifier API",
    "DESCRIPTION": (
        "Classify ECG beat images and recordings. Authenticate with `Authorization: Token <key>` "
        "(create the key on the API access page). Decision support, not a diagnosis."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # A prediction's state (classified / uncertain) and a beat's (with unreadable) differ.
    "ENUM_NAME_OVERRIDES": {
        "PredictionStateEnum": "classifier.models.Prediction.State",
        "BeatStateEnum": "recordings.models.Beat.State",
        "EpisodeKindEnum": "ecg.features.episodes.EPISODE_KINDS",
        "EpisodeVerdictEnum": "recordings.models.EpisodeVerdict.Verdict",
        "EpisodeStateEnum": "api.episode_serializers.STATES",
    },
    # Swagger UI and Redoc from the sidecar package's static files: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- E-mail -------------------------------------------------------------------------------------

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.smtp.EmailBackend"
        if PRODUCTION
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
# SMTP server: one EMAIL_URL (e.g. smtp+tls://USER:PASSWORD@smtp.example.org:587, user and
# password URL-encoded), or the separate variables below; EMAIL_BACKEND, when set, still wins.
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # a hung mail server must not hold a worker
if env("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    if env("EMAIL_BACKEND", default=""):
        _email.pop("EMAIL_BACKEND")
    globals().update({key: value for key, value in _email.items() if key != "EMAIL_FILE_PATH"})
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="ecg-classifier@localhost")
CONTACT_EMAIL = env("CONTACT_EMAIL", default=DEFAULT_FROM_EMAIL)  # shown on the contact page

# --- Logging ------------------------------------------------------------------------------------

# One JSON object per log line in production (LOG_FORMAT=json|plain).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ecgsite.json_logging.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="json" if PRODUCTION else "plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
