"""Settings that only exist in some environments, read in a fresh interpreter each time."""

import json
import subprocess
import sys

import pytest

from tests.ops.server import ROOT

PRINT = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({k: getattr(s, k, None) for k in %r}, default=str))"
)


def settings_with(env: dict[str, str], *names: str) -> dict:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "ecgsite.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PRINT % (list(names),)],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


PRODUCTION = {"DJANGO_ENV": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "ecg.example"}


def test_production_cookies_are_secure_httponly_and_same_site():
    got = settings_with(
        PRODUCTION,
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
    )
    assert got == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
    }


def test_production_logs_are_json_and_development_logs_plain():
    prod = settings_with(PRODUCTION, "LOGGING")["LOGGING"]
    dev = settings_with({}, "LOGGING")["LOGGING"]
    assert prod["handlers"]["console"]["formatter"] == "json"
    assert dev["handlers"]["console"]["formatter"] == "plain"


def test_object_storage_for_media_when_a_bucket_is_named():
    env = {**PRODUCTION, "AWS_STORAGE_BUCKET_NAME": "ecg-media", "AWS_S3_ENDPOINT_URL": "http://s3"}
    default = settings_with(env, "STORAGES")["STORAGES"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"]["bucket_name"] == "ecg-media"
    assert default["OPTIONS"]["default_acl"] == "private"
    local = settings_with(PRODUCTION, "STORAGES")["STORAGES"]["default"]
    assert local["BACKEND"] == "ecgsite.storage.AtomicFileSystemStorage"  # no partial files


def test_postgresql_from_database_url():
    env = {**PRODUCTION, "DATABASE_URL": "postgres://ecg:pw@db.internal:5432/ecg"}
    db = settings_with(env, "DATABASES")["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"]) == ("db.internal", 5432, "ecg")


def test_suite_runs_on_the_database_that_database_url_names(db):
    # .ci/run runs the suite a second time with DATABASE_URL=postgres://...: prove it really does
    import os

    from django.db import connection

    url = os.environ.get("DATABASE_URL")
    if url is None:
        pytest.skip("DATABASE_URL is not set in the environment (a .env file may set it)")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected


def test_the_throttle_cache_is_shared_between_processes_in_production():
    """Per-process memory would give each gunicorn worker its own count of API requests."""
    prod = settings_with(PRODUCTION, "CACHES")["CACHES"]["default"]
    assert prod["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert prod["LOCATION"] == "ecg_cache"
    redis = settings_with({**PRODUCTION, "CACHE_URL": "redis://cache.internal:6379/0"}, "CACHES")
    assert redis["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    dev = settings_with({}, "CACHES")["CACHES"]["default"]
    assert dev["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
