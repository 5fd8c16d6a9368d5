"""FoodieFast settings: the only settings module.

Every value comes from the environment through one django-environ ``Env``. With
``DJANGO_DEBUG`` off (the default: production, the test harness) the secrets and
backing services are required and a missing one stops start-up with a message that
names it. With ``DJANGO_DEBUG`` on and nothing else set, the app runs on embedded
defaults: SQLite, a local-memory cache, Celery tasks run eagerly, the demo payment
gateway.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _required(name: str, *, embedded: str | None = None) -> str:
    """A variable production cannot run without; in debug, ``embedded`` stands in."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG and embedded is not None:
        return embedded
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DJANGO_DEBUG is off; see .env.example for what it means."
    )


SECRET_KEY = _required("DJANGO_SECRET_KEY", embedded="insecure-development-key-only-for-debug-mode")
ALLOWED_HOSTS = [
    h.strip() for h in _required("DJANGO_ALLOWED_HOSTS", embedded="localhost,127.0.0.1,[::1]").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------

INSTALLED_APPS = [
    "apps.accounts.admin_config.FoodieFastAdminConfig",  # django.contrib.admin; chefs log in by role
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "foodiefast",
    "apps.accounts",
    "apps.chefs",
    "apps.menus",
    "apps.orders",
    "apps.demo",
    "apps.payments",
    "apps.tracking",
]

MIDDLEWARE = [
    "foodiefast.middleware.RequestIdMiddleware",
    "apps.menus.browse.middleware.BrowseAnswerMiddleware",
    "foodiefast.errors.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "foodiefast.json_input.JsonBodyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the admin and of the API's error ``detail``: the request's
    # Accept-Language among LANGUAGES (error codes never change).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "foodiefast.middleware.CsrfViewMiddleware",  # Django's, plus a browser on loopback
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "foodiefast.middleware.AdminLocalTimeMiddleware",  # the admin shows Paris time; rows stay UTC
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The web entry (config/asgi.py). Stream routes: (path pattern, dotted path of an async
# handler taking the pattern's groups); edge handlers, tried in order before Django,
# answer a request themselves or pass (foodiefast/asgi.py).
ASGI_STREAM_ROUTES: list[tuple[str, str]] = [
    (
        r"^/api/v1/orders/(?P<order_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/tracking/stream$",
        "apps.orders.stream.serve",
    ),
    (r"^/t/(?P<token>[A-Za-z0-9_-]{22,64})/stream$", "apps.orders.stream.serve_shared"),
]
ASGI_EDGE_HANDLERS = [
    "foodiefast.health.serve_probe",  # probes never wait for a web thread
    "foodiefast.metrics.serve_metrics",  # scrapers need no allowed host name nor HTTPS
    "apps.menus.browse.edge.serve_stored",
    "apps.tracking.api.edge.serve_location",  # couriers' pings that Redis alone can take
]
# Threads per web process running Django (WSGI): each keeps one database connection.
WEB_THREADS = env.int("WEB_THREADS", default=8)

# Django's W003 looks for its CSRF middleware by name; ours is a subclass, checked by
# foodiefast.W003 instead (foodiefast/checks.py).
SILENCED_SYSTEM_CHECKS = ["security.W003"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# ---------------------------------------------------------------------------
# Database: PostgreSQL through DATABASE_URL; SQLite only as the debug default.
# ---------------------------------------------------------------------------

DATABASE_URL = _required("DATABASE_URL", embedded=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend plus a client-side deadline and a breaker in the web process
    # (foodiefast/postgresql/base.py): a frozen server answers 503 within seconds, not a hang.
    DATABASES["default"]["ENGINE"] = "foodiefast.postgresql"
    # Persistent connections: one per worker thread, bounded by threads x processes.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # libpq's floor is 2 s; a connection attempt to a frozen server ends then.
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2))
    # A vanished host (no RST ever comes) is noticed in seconds, not after the
    # kernel's two hours of keepalive or fifteen minutes of retransmissions.
    options.setdefault("keepalives", 1)
    options.setdefault("keepalives_idle", 10)
    options.setdefault("keepalives_interval", 5)
    options.setdefault("keepalives_count", 3)
    options.setdefault("tcp_user_timeout", 10_000)
# The longest a web request waits for one database round trip before it answers 503
# (0: no deadline). Only the web process keeps it: migrations and tasks are not cut.
DATABASE_QUERY_DEADLINE_SECONDS = env.float("DATABASE_QUERY_DEADLINE_SECONDS", default=2.5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Redis: cache, Celery broker and pub/sub. No REDIS_URL in debug: local memory.
# ---------------------------------------------------------------------------

REDIS_URL = _required("REDIS_URL", embedded="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "ff",
            "TIMEOUT": 300,
            "OPTIONS": {
                # A Redis outage degrades (cache misses, throttles fail open),
                # it does not turn every request into a 500.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "foodiefast.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "foodiefast"}}

# ---------------------------------------------------------------------------
# Celery (config/celery.py reads every CELERY_* name below)
# ---------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not (env.str("CELERY_BROKER_URL", default="") or REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
# Every broker call is bounded: a stopped or frozen Redis costs a publisher about a
# second (one retry), never a hung request; events wait in the outbox meanwhile.
_BROKER_SOCKET_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=0.5)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Above the longest hard limit and the longest retry countdown (a running or
    # waiting task is never handed out twice), so a task of a killed worker comes back
    # in minutes (docs/operations.md, "A worker killed mid-task").
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
    # Each worker looks for such tasks every 10 s (kombu's default scans on every
    # tenth look only: 100 s), one ZRANGE under a short Redis lock.
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": _BROKER_SOCKET_TIMEOUT,
    "socket_timeout": _BROKER_SOCKET_TIMEOUT,
    # Each poll takes from the first queue of the worker's -Q list that has a task
    # (Celery's default takes them in turn): see the queues below.
    "queue_order_strategy": "priority",
}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers wait out a broker outage however long it lasts (the default gives up after
# 100 attempts, about 50 minutes, and the process exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Queues by priority: the Procfile's worker drains them in this order, so a burst of
# mail never holds up a payment. `celery` (Celery's default queue) takes the rest:
# sweeps, housekeeping, and whatever a previous release queued there.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    # Mail, push: named notify_*_task in any app. First, so a payment receipt is mail too.
    "apps.*.tasks.notify_*": {"queue": "notifications"},
    "foodiefast.tasks.notify_*": {"queue": "notifications"},
    # Webhooks, syncs, voids and captures, reconcile.
    "apps.payments.tasks.*": {"queue": "payments"},
    # Order steps, dispatch, and event delivery (handlers move orders; the relay sends them).
    "apps.orders.tasks.*": {"queue": "orders"},
    "apps.tracking.tasks.*": {"queue": "orders"},
    "foodiefast.tasks.deliver_event_task": {"queue": "orders"},
    "foodiefast.tasks.outbox_relay_task": {"queue": "orders"},
    # Photos (decoding and resizing images: seconds of CPU each): their own queue,
    # drained last, so a batch of uploads never holds up an order or a payment.
    "apps.*.tasks.*_photo_process_task": {"queue": "media"},
}

# The event outbox (foodiefast/outbox.py): how often beat relays what the broker could
# not take, when a relayed but undelivered message counts as lost and is sent again,
# the first pause after a handler fails (doubling up to an hour), how long delivered
# messages are kept.
OUTBOX_RELAY_SECONDS = env.float("OUTBOX_RELAY_SECONDS", default=10.0)
OUTBOX_REDELIVER_AFTER_SECONDS = env.int("OUTBOX_REDELIVER_AFTER_SECONDS", default=600)
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", default=10)
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=3)

CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
# Inside the checkout (git-ignored), so two checkouts on one machine keep their own.
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default="") or str(
    BASE_DIR / "celerybeat-schedule"
)

# ---------------------------------------------------------------------------
# Auth, passwords
# ---------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (per account and per client IP, failed attempts only).
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=200)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
# How many proxies append to X-Forwarded-For; 0 means REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.int("DJANGO_TRUSTED_PROXIES", default=0)

# ---------------------------------------------------------------------------
# REST framework, JWT, OpenAPI
# ---------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["foodiefast.json_input.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "foodiefast.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "foodiefast.schema.AutoSchema",
    "EXCEPTION_HANDLER": "foodiefast.errors.exception_handler",
    "NUM_PROXIES": TRUSTED_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=10)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    # A token carries a digest of the password hash: erasing the account revokes it.
    "CHECK_REVOKE_TOKEN": True,
    "SIGNING_KEY": SECRET_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "FoodieFast API",
    "DESCRIPTION": (
        "Order meals cooked by independent local chefs, pay online, follow the courier live.\n\n"
        "Bodies are JSON (`application/json`; anything else is 415 `unsupported_media_type`) and typed strictly: "
        'a JSON string is not a number (`"100"` is not `100`), a number is not a boolean or a string (400 `invalid`, '
        "`fields` naming the field, `<field>.<index>` inside a list). Lists take `page` from 1 (else 400) and "
        "answer 404 past the last page. A photo is `null` when there is none."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "apps.orders.models.OrderStatus",
        "DeliveryStatusEnum": "apps.tracking.models.DeliveryStatus",
    },
}

# ---------------------------------------------------------------------------
# Security: on by default with debug off. The router ends TLS.
# ---------------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Platform probes and metrics scrapers speak plain HTTP straight to the process.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
USE_X_FORWARDED_HOST = False

# ---------------------------------------------------------------------------
# I18N, static files
# ---------------------------------------------------------------------------

# The admin and the API's error ``detail`` speak the request's language: French for
# a French browser or app, English for an English one. A request that names neither
# (no Accept-Language: scripts, webhooks, curl) gets English, the language of the
# API's reference documents, so a machine client reads the same text the docs show.
# Browsers always send Accept-Language, so a French chef's admin is French.
LANGUAGE_CODE = "en"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
# The project's translations (`make messages` extracts and compiles them; the
# compiled .mo files are committed, since a git-push build only installs packages).
LOCALE_PATHS = [BASE_DIR / "locale"]
# Stored and computed in UTC; people see Europe/Paris (the admin activates it:
# foodiefast.middleware.AdminLocalTimeMiddleware; mails and the board format in it).
TIME_ZONE = "UTC"
LOCAL_TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Photos (foodiefast/photos.py): object storage through django-storages' S3 backend
# when a bucket is configured (its own variable names), else the file system under
# MEDIA_ROOT (git-ignored), where the app itself takes the uploads and serves the photos.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"
if AWS_STORAGE_BUCKET_NAME:
    from botocore.config import Config as _BotoConfig

    _MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            # A public (or CDN) base for the published photos, e.g. cdn.example.com.
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            # Published photos are public: plain URLs, no signature that expires.
            "querystring_auth": False,
            "file_overwrite": True,
            "signature_version": "s3v4",
            # Every call bounded: a frozen object store costs a worker seconds.
            "client_config": _BotoConfig(
                connect_timeout=3, read_timeout=15, retries={"max_attempts": 2, "mode": "standard"}
            ),
        },
    }
else:
    _MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Photos with more pixels than this are refused (decompression bombs included).
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", default=40_000_000)
STORAGES = {
    "default": _MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Without collectstatic (tests, a bare checkout) serve from the finders instead.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
WHITENOISE_MANIFEST_STRICT = False

# ---------------------------------------------------------------------------
# Email, monitoring, release
# ---------------------------------------------------------------------------

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FoodieFast <no-reply@foodiefast.example>")
# Seconds one SMTP round trip (connect, each reply) may take: a frozen mail server
# costs a worker this, then the message is retried (foodiefast/mail.py).
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
# Mail that could not be sent waits MAIL_RETRY_SECONDS, doubling up to
# MAIL_RETRY_MAX_SECONDS; beat looks for due mail every MAIL_RELAY_SECONDS; sent
# mail is remembered (and not sent twice) for MAIL_RETENTION_DAYS.
MAIL_RETRY_SECONDS = env.int("MAIL_RETRY_SECONDS", default=10)
MAIL_RETRY_MAX_SECONDS = env.int("MAIL_RETRY_MAX_SECONDS", default=900)
MAIL_RELAY_SECONDS = env.float("MAIL_RELAY_SECONDS", default=30.0)
MAIL_RETENTION_DAYS = env.int("MAIL_RETENTION_DAYS", default=30)

SENTRY_DSN = env.str("SENTRY_DSN", default="")
# GET /metrics (foodiefast/metrics.py) answers only `Authorization: Bearer <token>`;
# unset, it is 404 unless debug is on.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Figures read from the database or Redis when /metrics is scraped (each a function
# returning Prometheus metric families); the Celery queue depth is the kernel's own.
METRICS_COLLECTORS = [
    "apps.orders.metrics.order_families",
    "apps.payments.metrics.payment_failure_families",
    "apps.payments.metrics.webhook_lag_families",
]
# Seconds each process keeps its copy of the feature flag table (foodiefast/flags.py):
# an admin change reaches every process within this time.
FEATURE_FLAGS_PROCESS_SECONDS = env.float("FEATURE_FLAGS_PROCESS_SECONDS", default=2.0)
RELEASE_VERSION = (
    env.str("RELEASE_VERSION", default="")
    or env.str("HEROKU_SLUG_COMMIT", default="")
    or env.str("SOURCE_VERSION", default="")
)

# ---------------------------------------------------------------------------
# Payments (Stripe). Debug without a key, or PAYMENTS_DEMO=1, uses the demo gateway.
# ---------------------------------------------------------------------------

PAYMENTS_DEMO = env.bool("PAYMENTS_DEMO", default=False) or (DEBUG and not env.str("STRIPE_SECRET_KEY", default=""))
if PAYMENTS_DEMO:
    STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
    STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_demo")
    STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_demo")
else:
    STRIPE_SECRET_KEY = _required("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = _required("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = _required("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300

# ---------------------------------------------------------------------------
# Business knobs
# ---------------------------------------------------------------------------

CURRENCY = "EUR"
PLATFORM_FEE_PERCENT = env.int("PLATFORM_FEE_PERCENT", default=5)
# Order timers, in minutes; fractions are allowed (0.25 is 15 seconds, as the
# end-to-end tests use to watch beat expire orders).
PAYMENT_EXPIRY_MINUTES = env.float("PAYMENT_EXPIRY_MINUTES", default=15.0)
CHEF_ACCEPTANCE_TIMEOUT_MINUTES = env.float("CHEF_ACCEPTANCE_TIMEOUT_MINUTES", default=10.0)
COURIER_SPEED_KMH = env.int("COURIER_SPEED_KMH", default=15)
# The per-order event channel (apps/tracking/channel.py): its log is kept this long
# after its last event (an order's life plus a margin), and this long after the final
# one (delivered or cancelled), for clients reconnecting with Last-Event-ID.
TRACKING_CHANNEL_TTL_SECONDS = env.int("TRACKING_CHANNEL_TTL_SECONDS", default=24 * 60 * 60)
TRACKING_CHANNEL_ENDED_TTL_SECONDS = env.int("TRACKING_CHANNEL_ENDED_TTL_SECONDS", default=60 * 60)
# Couriers see deliveries whose kitchen lies within this distance of their position.
DISPATCH_RADIUS_KM = env.float("DISPATCH_RADIUS_KM", default=5.0)
# A delivery ready for pickup that nobody claimed for this long alerts staff (once).
UNCLAIMED_ALERT_MINUTES = env.int("UNCLAIMED_ALERT_MINUTES", default=5)
# Delivery trails (couriers' positions) are purged after this many days (GDPR).
LOCATION_RETENTION_DAYS = env.int("LOCATION_RETENTION_DAYS", default=30)
# The trail keeps at most one point per TRAIL_MIN_SECONDS per delivery, unless the
# courier moved TRAIL_MIN_METRES since the last kept point.
TRAIL_MIN_SECONDS = env.int("TRAIL_MIN_SECONDS", default=15)
TRAIL_MIN_METRES = env.int("TRAIL_MIN_METRES", default=100)
# The customer's tracking stream (apps/orders/stream.py): a comment heartbeat this
# often, an end with a `retry:` hint (of this many milliseconds, plus a random share
# of the jitter so that streams ended together do not reconnect together) after this
# long.
TRACKING_STREAM_HEARTBEAT_SECONDS = env.float("TRACKING_STREAM_HEARTBEAT_SECONDS", default=10.0)
TRACKING_STREAM_MAX_SECONDS = env.float("TRACKING_STREAM_MAX_SECONDS", default=30 * 60)
TRACKING_STREAM_RETRY_MILLISECONDS = env.int("TRACKING_STREAM_RETRY_MILLISECONDS", default=1000)
TRACKING_STREAM_RETRY_JITTER_MILLISECONDS = env.int("TRACKING_STREAM_RETRY_JITTER_MILLISECONDS", default=2000)
# Shared live links (apps/orders/sharing.py): the links' base (the request's own host
# when unset), how long a link lives after its order ended, the map tiles of the page
# and the requests per minute the share endpoints take (per user, per client address).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
SHARE_LINK_HOURS_AFTER_END = env.float("SHARE_LINK_HOURS_AFTER_END", default=1.0)
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
SHARE_REQUESTS_PER_MINUTE = env.int("SHARE_REQUESTS_PER_MINUTE", default=30)
SHARE_PAGE_REQUESTS_PER_MINUTE = env.int("SHARE_PAGE_REQUESTS_PER_MINUTE", default=120)
# How long a browse answer (menu, kitchens near a point) is served from the cache;
# edits invalidate it at once, this only bounds how stale `is_open` can be.
BROWSE_CACHE_SECONDS = env.int("BROWSE_CACHE_SECONDS", default=30)
# How long past its freshness a browse answer is kept: served while one request
# rebuilds it, and whenever a rebuild fails (the database unreachable: a stale menu
# beats none).
BROWSE_STALE_SECONDS = env.int("BROWSE_STALE_SECONDS", default=600)

# ---------------------------------------------------------------------------
# Logging: one JSON line per event on stdout.
# ---------------------------------------------------------------------------

LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "foodiefast.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "foodiefast.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # The request log line is ours (foodiefast.request); Django's own would repeat it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "gunicorn.access": {"level": "WARNING"},
        # stripe-python logs whole request and response bodies at DEBUG, client
        # secrets included; INFO keeps the method, path and status.
        "stripe": {"level": "INFO"},
    },
}

if SENTRY_DSN:  # pragma: no cover - needs a Sentry project
    import sentry_sdk

    sentry_sdk.init(dsn=SENTRY_DSN, release=RELEASE_VERSION or None, send_default_pii=False)
