"""AI Phone 360 developer platform settings.

One module for every environment: each value is read from the environment through a typed
django-environ call with a safe default. Test overrides live in pyproject's pytest section.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local `.env` (`make run` writes one: config/local_env.py) fills in what the environment leaves unset.
# ENV_FILE names another file, or none when empty: pytest sets it empty, so a checkout's `.env` never
# reaches the tests or the settings they start in subprocesses.
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE:
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Redoc for the API reference page, served by whitenoise (no CDN)
    "django_htmx",
    "template_partials.apps.SimpleAppConfig",
    # Dashboard sign-in: allauth's login, password reset, re-authentication, TOTP with recovery codes, sessions.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "core",
    "accounts",
    "billing",
    "developer",
    "phone",
    "webhooks",
    "agents",
    "demo",
]

MIDDLEWARE = [
    "developer.public_api.middleware.RequestIdMiddleware",
    "developer.public_api.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.headers.SecurityHeadersMiddleware",  # Content-Security-Policy, Permissions-Policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "developer.dashboard.FormInputMiddleware",  # NUL, lone surrogates and oversized forms: a 4xx, not a 500
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.StaffTwoFactorMiddleware",  # /admin/ only with TOTP (after messages and htmx: it uses both)
]

ROOT_URLCONF = env.str("ROOT_URLCONF", default="config.urls")
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "developer.nav.dashboard_context",
                "developer.context_processors.access_banner",
            ],
            "builtins": ["template_partials.templatetags.partials", "django_htmx.templatetags.django_htmx"],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ],
                )
            ],
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite: wait for writers instead of failing with "database is locked" while the worker runs.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Lets psycopg prepare the statements of core.sql.prepared_cursor (the hot paths' fixed ones); Django's
    # own cursors bind on the client and never prepare. Django's default, None, turns preparing off.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
elif env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache("CACHE_URL")}
else:
    # Shared by the web server and the worker on one machine, so an invalidation in one process
    # (a revoked key, a funded wallet) is seen by the other at once.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("FILE_CACHE_DIR", default=str(VAR_DIR / "cache")),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ],
)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "developer:home"
LOGOUT_REDIRECT_URL = "account_login"

# Dashboard sign-in (django-allauth with its MFA module). allauth's backend signs in by e-mail; Django's
# own stays for management commands and the test client. Organisations are provisioned, so there is no
# sign-up (accounts/adapter.py). Limits, timeouts and the second factor: README "Signing in".
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_AUTHENTICATED_LOGIN_REDIRECTS = False  # a signed-in user without access may sign in as someone else
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[AI Phone 360] "
# A reset asked for an unknown address sends nothing (the page answers the same either way).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# Failed sign-ins, counted in the default cache (Redis, or the file cache shared by the processes of one
# machine): per client IP and per account ("key" is the e-mail typed). allauth's syntax: count/period/scope.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("SIGNIN_FAILED_RATE_LIMIT", default="20/15m/ip,5/15m/key"),
    "login": env.str("SIGNIN_RATE_LIMIT", default="60/m/ip"),
    "reset_password": env.str("PASSWORD_RESET_RATE_LIMIT", default="20/m/ip,3/15m/key"),
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
# The "sudo" window: revealing a webhook secret, creating or rotating a live key, changing roles or the
# organisation's two-factor requirement need a
# sign-in or a password (or TOTP) confirmation this recent.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("SIGNIN_SUDO_SECONDS", default=300)
# allauth's own account changes (e-mail addresses, which a password reset is sent to) follow the same window.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "AI Phone 360"
# The sessions list records each sign-in (IP, browser); tracking "last seen" would write a row on every page
# and every poll, so it is off.
USERSESSIONS_TRACK_ACTIVITY = False
# Staff need TOTP to use /admin/ (accounts/middleware.py). Off only in the test settings, so the admin tests
# that are not about sign-in need no authenticator; tests/accounts turns it back on.
ADMIN_REQUIRE_TWO_FACTOR = env.bool("ADMIN_REQUIRE_TWO_FACTOR", default=True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str("STATICFILES_BACKEND", default="whitenoise.storage.CompressedManifestStaticFilesStorage")
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Behind a TLS-terminating proxy in production.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Security headers on every response: these three from Django's middleware, the Content-Security-Policy
# and Permissions-Policy from core/headers.py.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["developer.public_api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "developer.public_api.permissions.AccessGate",
        "developer.public_api.permissions.HasScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["developer.public_api.throttling.KeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["developer.public_api.renderers.EnvelopeRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "developer.public_api.renderers.JsonOnlyNegotiation",
    "DEFAULT_PARSER_CLASSES": ["developer.public_api.parsers.LimitedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "developer.public_api.pagination.KeysetPagination",
    "EXCEPTION_HANDLER": "developer.public_api.exceptions.envelope_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "DEFAULT_SCHEMA_CLASS": "developer.public_api.openapi.PublicAutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "AI Phone 360 public API",
    "DESCRIPTION": "Calls, transcripts, recordings, contacts, SMS, AI config, webhooks, API keys, custom tools, "
    "AI agents and usage. Every response uses the `{success, data, message}` envelope.",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",  # for `webhooks`: the event payloads the platform sends
    "SERVERS": [{"url": "https://api.aiphone360.com/api/public/v1"}],
    "SCHEMA_PATH_PREFIX": "/api/public/v1",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["developer.public_api.openapi.public_endpoints_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "developer.public_api.openapi.postprocess_envelopes",
    ],
    # Several bodies have a field named "type"; each choice set gets its own enum name.
    "ENUM_NAME_OVERRIDES": {
        "ToolAuthTypeEnum": "agents.models.CustomTool.AuthType",
        "DataFieldTypeEnum": "agents.models.DataCollectionField.FieldType",
        "CallStatusEnum": "phone.models.Call.Status",
        "MessageStatusEnum": "phone.models.Message.Status",
        "AppointmentStatusEnum": "phone.models.Appointment.Status",
        "DeliveryStatusEnum": "webhooks.models.Delivery.Status",
        "WebhookEventTypeEnum": "webhooks.api.EVENT_TYPE_CHOICES",
        "GracePeriodEnum": "core.rotation.WINDOWS",  # key rotation gracePeriod = webhook secret overlap
        "ApiKeyStatusEnum": ["active", "expiring", "expired", "revoked"],
        "ModeEnum": ["live", "test"],  # a key's mode, an endpoint's modes, usage by mode
    },
    # One entry per webhook event type (tests/openapi checks that none is missing).
    "WEBHOOKS": [
        *(
            f"phone.api.{name}"
            for name in (
                "call_started",
                "call_completed",
                "transcript_ready",
                "sms_received",
                "sms_sent",
                "voicemail_created",
                "contact_created",
                "contact_updated",
                "appointment_booked",
                "sms_status_updated",
                "contact_deleted",
            )
        ),
        "webhooks.api.webhook_test",
    ],
}

# Public API policy.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=60)
ACCESS_STATE_CACHE_SECONDS = env.int("ACCESS_STATE_CACHE_SECONDS", default=60)
API_KEY_LAST_USED_RESOLUTION = timedelta(minutes=1)
# Requests that fail authentication are limited per client IP so key guessing is cut off.
UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE = env.int("UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE", default=30)
# Hostile-input limits (developer/public_api/parsers.py): a larger body is a 413 PAYLOAD_TOO_LARGE before it is
# parsed; deeper nesting of JSON arrays and objects is a 400 VALIDATION_ERROR.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=64)
if API_MAX_BODY_BYTES < 1 or not 1 <= API_MAX_JSON_DEPTH <= 500:
    raise ImproperlyConfigured("API_MAX_BODY_BYTES must be positive and API_MAX_JSON_DEPTH between 1 and 500.")
# Number of proxies in front of the app whose X-Forwarded-For entries are trusted.
NUM_TRUSTED_PROXIES = env.int("NUM_TRUSTED_PROXIES", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = NUM_TRUSTED_PROXIES  # the client IP that sign-in limits count per

# Request logs (developer/public_api/request_log.py): buffered per process or in Redis, inserted in batches.
# REQUEST_LOG_FLUSH_SECONDS=0 turns the per-process flusher thread off (tests flush explicitly).
REQUEST_LOG_ENABLED = env.bool("REQUEST_LOG_ENABLED", default=True)
REQUEST_LOG_FLUSH_SECONDS = env.float("REQUEST_LOG_FLUSH_SECONDS", default=2.0)
REQUEST_LOG_BATCH_SIZE = env.int("REQUEST_LOG_BATCH_SIZE", default=500)
REQUEST_LOG_MAX_BUFFER = env.int("REQUEST_LOG_MAX_BUFFER", default=100_000)
REQUEST_LOG_REDIS_KEY = env.str("REQUEST_LOG_REDIS_KEY", default="developer:request-log")
# "memory" (default): each process buffers and flushes itself — no Redis round trip on the request path;
# "redis": one shared list, which survives a SIGKILLed process at the cost of a round trip per request.
REQUEST_LOG_BUFFER = env.str("REQUEST_LOG_BUFFER", default="memory")
if REQUEST_LOG_BUFFER not in ("memory", "redis"):
    raise ImproperlyConfigured("REQUEST_LOG_BUFFER must be 'memory' or 'redis'.")

# Outbound HTTP (webhooks, tools): loopback receivers are allowed only in tests and the demo.
OUTBOUND_ALLOW_LOOPBACK = env.bool("OUTBOUND_ALLOW_LOOPBACK", default=False)
# The ports https receivers may use (comma-separated); read on every request, so defined here rather
# than left to a getattr default, which costs a raised AttributeError each time.
OUTBOUND_ALLOWED_PORTS = env.list("OUTBOUND_ALLOWED_PORTS", cast=int, default=[443])
if not all(1 <= port <= 65535 for port in OUTBOUND_ALLOWED_PORTS):
    raise ImproperlyConfigured("OUTBOUND_ALLOWED_PORTS must list ports between 1 and 65535.")

# Every secret at rest (webhook signing secrets, custom-tool credentials, tool-call signing secrets)
# is Fernet-encrypted by core/crypto.py under this key: a Fernet key or any passphrase (stretched with
# HKDF-SHA256). It is independent of SECRET_KEY, so rotating SECRET_KEY never makes a secret unreadable.
# Required when DEBUG is off; with DEBUG on and nothing set it is derived from SECRET_KEY. Retired keys
# that must still decrypt go in FIELD_ENCRYPTION_OLD_KEYS (comma-separated); see `reencrypt_secrets`.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be set when DEBUG is off: it encrypts webhook and tool secrets at rest. "
            "Generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    FIELD_ENCRYPTION_KEY = SECRET_KEY
FIELD_ENCRYPTION_OLD_KEYS = env.list("FIELD_ENCRYPTION_OLD_KEYS", default=[])

# SMS (phone/backends): chosen like EMAIL_BACKEND. The local backend records and marks texts sent;
# phone.backends.twilio.TwilioBackend speaks Twilio's Messages API at TWILIO_API_BASE. The auth
# token also verifies X-Twilio-Signature on the inbound webhook (/hooks/sms/inbound), whose public
# URL must be set in SMS_WEBHOOK_BASE_URL when a proxy rewrites the host. With it set, the Twilio
# backend asks for delivery reports at SMS_WEBHOOK_BASE_URL/hooks/sms/status (StatusCallback).
SMS_BACKEND = env.str("SMS_BACKEND", default="phone.backends.local.LocalBackend")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")
SMS_WEBHOOK_BASE_URL = env.str("SMS_WEBHOOK_BASE_URL", default="")
# Call recordings are stored under MEDIA_ROOT and served only through signed URLs valid this long.
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
RECORDING_URL_TTL_SECONDS = env.int("RECORDING_URL_TTL_SECONDS", default=3600)
if RECORDING_URL_TTL_SECONDS <= 0:
    raise ImproperlyConfigured("RECORDING_URL_TTL_SECONDS must be positive.")

# Metering (billing/metering.py): API requests are counted in Redis, or without Redis buffered per
# process and flushed by that process every so many seconds (0: no timer thread; tests flush
# explicitly) or requests. METERING_ENABLED is off only for benchmarks.
METERING_ENABLED = env.bool("METERING_ENABLED", default=True)
METERING_LOCAL_FLUSH_SECONDS = env.float("METERING_LOCAL_FLUSH_SECONDS", default=10.0)
METERING_LOCAL_FLUSH_SIZE = env.int("METERING_LOCAL_FLUSH_SIZE", default=1000)

# Retention of the tables no partition drops (README "Retention"); pruned in chunks on the maintenance queue.
# Every report reads the hourly usage rollups, written in the same transaction as each raw usage record, so
# dropping raw records changes no figure. A raw record's unique reference is what makes re-recording the same
# unit a no-op; the same unit is only ever recorded again within minutes (an answer recorded twice inside one
# attempt's lease), so keeping raw records a week or more keeps that guarantee with a wide margin.
# Test-mode usage records (never billed): kept this many days.
TEST_USAGE_RETENTION_DAYS = env.int("TEST_USAGE_RETENTION_DAYS", default=30)
# Live usage records: kept until their month is settled, this many days after the month (UTC) ends.
# The month closes at its end; the grace covers late flushes dated into it, staff review and disputes.
USAGE_RECORD_RETENTION_DAYS = env.int("USAGE_RECORD_RETENTION_DAYS", default=35)
# Audit entries: kept this many days (the dashboard's audit page says so).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
for _name, _floor in (
    ("TEST_USAGE_RETENTION_DAYS", 7),
    ("USAGE_RECORD_RETENTION_DAYS", 7),
    ("AUDIT_RETENTION_DAYS", 30),
):
    if globals()[_name] < _floor:
        raise ImproperlyConfigured(f"{_name} must be at least {_floor} days.")

# Celery: the database is the source of truth; the broker only carries ids.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # The filesystem broker needs its folders before a worker starts.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fix-up otherwise closes the database connection before and after every task, so
# each task would pay for a new PostgreSQL connection (a forked backend). Reused, it is still
# recycled every 2 × this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=500)
# How long a webhook fan-out task waits before it runs, gathering the organisation's next events
# into the same batches (see webhooks/dispatch.py). Adds at most this much to delivery latency.
WEBHOOK_FANOUT_GATHER_SECONDS = env.float("WEBHOOK_FANOUT_GATHER_SECONDS", default=0.1)
# Requests one webhook endpoint may have in flight at once (webhooks/delivery.py); the rest wait their turn.
WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = env.int("WEBHOOK_ENDPOINT_MAX_IN_FLIGHT", default=40)
if not 1 <= WEBHOOK_ENDPOINT_MAX_IN_FLIGHT <= 1000:
    raise ImproperlyConfigured("WEBHOOK_ENDPOINT_MAX_IN_FLIGHT must be between 1 and 1000.")
# GET /events?after=…&wait=…: long polls one web process may hold at once (each holds a gunicorn thread;
# the Procfile runs 4 threads per process). Past it, a long poll is answered at once with Retry-After: 1.
EVENTS_MAX_LONG_POLLS = env.int("EVENTS_MAX_LONG_POLLS", default=2)
if not 1 <= EVENTS_MAX_LONG_POLLS <= 1000:
    raise ImproperlyConfigured("EVENTS_MAX_LONG_POLLS must be between 1 and 1000.")
# The queue the Procfile's worker consumes (Celery's own default would be "celery", which no one reads).
CELERY_TASK_DEFAULT_QUEUE = "default"
# Upkeep (prunes, request-log and metering flushes, expiring stale tool calls) has its own queue and
# worker line in the Procfile, so a long prune never sits in front of a webhook delivery.
MAINTENANCE_QUEUE = "maintenance"
MAINTENANCE_TASKS = (
    "developer.flush_request_logs",
    "developer.prune_request_logs",
    "developer.flush_api_usage",
    "billing.prune_flush_batches",
    "billing.prune_usage_records",
    "accounts.prune_audit_entries",
    "webhooks.prune",
    "agents.expire_invocations",
    "agents.prune_invocations",
    "phone.prune_idempotency_keys",
    "core.refresh_table_statistics",
)
CELERY_TASK_ROUTES = {name: {"queue": MAINTENANCE_QUEUE} for name in MAINTENANCE_TASKS}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["developer-flush-request-logs"] = {
    "task": "developer.flush_request_logs",
    "schedule": timedelta(seconds=10),
}
CELERY_BEAT_SCHEDULE["developer-prune-request-logs"] = {
    "task": "developer.prune_request_logs",
    "schedule": crontab(minute=17, hour="*/6"),
}
CELERY_BEAT_SCHEDULE["developer-flush-api-usage"] = {
    "task": "developer.flush_api_usage",
    "schedule": timedelta(seconds=30),
}
CELERY_BEAT_SCHEDULE["billing-prune-flush-batches"] = {
    "task": "billing.prune_flush_batches",
    "schedule": crontab(minute=41, hour=3),
}
# Retention of raw usage records and audit entries (the settings above), nightly.
CELERY_BEAT_SCHEDULE["billing-prune-usage-records"] = {
    "task": "billing.prune_usage_records",
    "schedule": crontab(minute=47, hour=3),
}
CELERY_BEAT_SCHEDULE["accounts-prune-audit-entries"] = {
    "task": "accounts.prune_audit_entries",
    "schedule": crontab(minute=53, hour=3),
}
# Webhooks: re-send due/lost deliveries, expire and release holds; prune logs past 30 days.
# The sweep frees dead workers' leases and wakes organisations whose turn was lost: every 5 s, so
# pending work resumes within seconds of a crash (it reads only pending and claimed rows).
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {"task": "webhooks.sweep", "schedule": timedelta(seconds=5)}
CELERY_BEAT_SCHEDULE["webhooks-prune"] = {"task": "webhooks.prune", "schedule": crontab(minute=23)}
# Custom tools: fail invocations no tools worker picked up (or whose worker died); prune old logs.
CELERY_BEAT_SCHEDULE["agents-expire-invocations"] = {
    "task": "agents.expire_invocations",
    "schedule": timedelta(seconds=30),
}
CELERY_BEAT_SCHEDULE["agents-prune-invocations"] = {"task": "agents.prune_invocations", "schedule": crontab(minute=37)}
# Planner statistics of partitions (and, where the server's autovacuum is off, vacuum): core/statistics.py.
CELERY_BEAT_SCHEDULE["core-refresh-table-statistics"] = {
    "task": "core.refresh_table_statistics",
    "schedule": timedelta(seconds=60),
}
# Idempotency-Key records live 24 hours (developer/public_api/idempotency.py); expired ones are deleted hourly.
CELERY_BEAT_SCHEDULE["prune-idempotency-keys"] = {
    "task": "phone.prune_idempotency_keys",
    "schedule": crontab(minute=37),
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
if env.str("EMAIL_URL", default=""):
    # e.g. smtp+tls://user:password@smtp.example.com:587 (django-environ): the password-reset mail's server.
    globals().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI Phone 360 <no-reply@aiphone360.com>")
# Staff e-mailed when a business requests the Developer Platform add-on (comma-separated; empty: nobody).
ACCESS_REQUEST_NOTIFY_EMAILS = env.list("ACCESS_REQUEST_NOTIFY_EMAILS", default=[])

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "developer.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# Operations (ops/, README "Operating"): health probes and /metrics answered by the outermost middleware,
# the log context bound after the request id, business alerts evaluated by beat, optional Sentry.
INSTALLED_APPS += ["ops"]
MIDDLEWARE.insert(0, "ops.middleware.OpsMiddleware")
MIDDLEWARE.insert(
    MIDDLEWARE.index("developer.public_api.middleware.RequestIdMiddleware") + 1, "ops.logs.LogContextMiddleware"
)
# Probes speak plain HTTP inside the network (they are answered before the redirect anyway).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Bearer token of the Prometheus scraper; empty: /metrics answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'plain' or 'json'.")
LOGGING["filters"]["log_context"] = {"()": "ops.logs.ContextFilter"}
LOGGING["formatters"]["json"] = {"()": "ops.logs.JsonFormatter"}
LOGGING["handlers"]["console"]["filters"] = ["redact_secrets", "log_context"]
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
CELERY_BEAT_SCHEDULE["ops-beat-heartbeat"] = {"task": "ops.beat_heartbeat", "schedule": timedelta(seconds=30)}
# Business alerts (ops/alerts.py): failing endpoints, wallet, unused keys; e-mailed once per condition.
CELERY_BEAT_SCHEDULE["ops-evaluate-alerts"] = {"task": "ops.evaluate_alerts", "schedule": timedelta(minutes=5)}
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from ops.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
