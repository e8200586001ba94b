"""Settings, read from the environment (see the configuration table in README.md)."""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from aadsync.microsoft.clouds import CLOUDS  # a plain table (no Django models): which hosts go together
from cmportal.keys import key_from_file, new_fernet_key, new_secret_key, private_file

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CMPORTAL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# DEBUG is off unless DJANGO_DEBUG says on (bin/run does, for the developer's own machine).
DEBUG = env_bool("DJANGO_DEBUG", False)
# DJANGO_DEBUG set to off (bin/prod and docs/DEPLOY.md: DJANGO_DEBUG=0) declares a production deployment: its keys
# must come from the environment, and HTTPS-only cookies, HSTS, the SSL redirect and hashed static files switch
# on. Unset, the portal is a local install: DEBUG still off, keys generated under var/ (below).
PRODUCTION = os.environ.get("DJANGO_DEBUG", "").strip() != "" and not DEBUG

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
# Fernet keys for secrets at rest, comma-separated, newest first (older keys still decrypt).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY")
if PRODUCTION:
    for variable, value in (("DJANGO_SECRET_KEY", SECRET_KEY), ("FIELD_ENCRYPTION_KEY", FIELD_ENCRYPTION_KEYS)):
        if not value:
            raise ImproperlyConfigured(f"{variable} must be set when DJANGO_DEBUG is off (production).")
# A local install makes its own random keys on first start (var/, mode 0600) and keeps them: never a constant
# published in the code. Keep var/ with the database: the database's client secrets need var/field_encryption_key.
if not SECRET_KEY:
    SECRET_KEY = key_from_file(VAR_DIR / "secret_key", new_secret_key)
if not FIELD_ENCRYPTION_KEYS:
    FIELD_ENCRYPTION_KEYS = [key_from_file(VAR_DIR / "field_encryption_key", new_fernet_key)]

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
# Reverse proxies (IP addresses or CIDR networks, comma-separated) whose X-Forwarded-For is believed: the sign-in
# throttle then counts the right-most address in that header that is not itself a trusted proxy
# (cmportal/client_address.py). Empty: REMOTE_ADDR is the client, whatever the header says.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

# Sign-in throttle (directory/throttle.py): failed sign-ins per account (portal ID or admin username) and per
# client address within a window of LOGIN_THROTTLE_WINDOW seconds.
LOGIN_THROTTLE_ACCOUNT_LIMIT = int(os.environ.get("LOGIN_THROTTLE_ACCOUNT_LIMIT", "10"))
LOGIN_THROTTLE_ADDRESS_LIMIT = int(os.environ.get("LOGIN_THROTTLE_ADDRESS_LIMIT", "50"))
LOGIN_THROTTLE_WINDOW = int(os.environ.get("LOGIN_THROTTLE_WINDOW", "900"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "directory",
    "aadsync",
    "aadlogin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "cmportal.security.ContentSecurityPolicyMiddleware",
    "cmportal.security.RejectNulInQueryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cmportal.urls"
WSGI_APPLICATION = "cmportal.wsgi.application"

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
                "aadlogin.remembered.remembered_company_context",
                "cmportal.context_processors.demo",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'cmportal.sqlite3'}",
        # Production keeps each thread's connection for a minute: a new PostgreSQL connection per request cost
        # more than the page itself under load (bench/load_test.py). Checked before reuse after a restart.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60" if PRODUCTION else "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The database holds password hashes and encrypted client secrets: readable by this account only.
    if str(DATABASES["default"]["NAME"]) not in ("", ":memory:"):
        private_file(Path(DATABASES["default"]["NAME"]))
    # WAL lets the web server read while a sync writes; wait rather than fail on a busy database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "directory.Person"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "aad-settings"
LOGOUT_REDIRECT_URL = "login"

# NIST SP 800-63B (directory/passwords.py): 8 to 128 characters, not spaces only, not close to the portal ID,
# name or e-mail, not on Django's common-password list; no composition rules.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "directory.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "directory.passwords.NotOnlyWhitespaceValidator"},
    {"NAME": "directory.passwords.PersonalInformationValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Cache: shared across processes (sync progress, login throttling). Redis in production.
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("CMPORTAL_CACHE_DIR") or str(VAR_DIR / "cache"),
        }
    }

# Microsoft's cloud (aadsync/microsoft/clouds.py): global | usgov | dod | china. It picks the sign-in host, the Graph
# host and the scopes together; AAD_AUTHORITY_HOST and GRAPH_API_URL override the hosts only (the fake Microsoft in
# tests and the demo, a proxy), never the scopes.
AAD_CLOUD = os.environ.get("AAD_CLOUD", "global").strip().lower()
if AAD_CLOUD not in CLOUDS:
    raise ImproperlyConfigured(f"AAD_CLOUD must be one of {', '.join(CLOUDS)} (got {AAD_CLOUD!r}).")
AAD_AUTHORITY_HOST = os.environ.get("AAD_AUTHORITY_HOST", CLOUDS[AAD_CLOUD].authority_host).rstrip("/")
GRAPH_API_URL = os.environ.get("GRAPH_API_URL", CLOUDS[AAD_CLOUD].graph_url).rstrip("/")
# Demo mode (bin/run, unless --no-demo): Microsoft is the offline demo Microsoft that bin/run starts beside the
# portal (tests/fakems/demo.py) and whose address it exports in AAD_AUTHORITY_HOST and GRAPH_API_URL. Only its demo
# tenant can be configured (aadsync/forms.py), `manage.py demo` refuses other tenants, and pages say "Demo mode".
DEMO_MODE = env_bool("CMPORTAL_DEMO", False)
DEMO_TENANT_ID = os.environ.get("CMPORTAL_DEMO_TENANT_ID", "").strip().lower()
DEMO_ACCOUNT = os.environ.get("CMPORTAL_DEMO_ACCOUNT", "")  # the demo Microsoft account linked to the demo manager
DEMO_SIGNIN_ORIGIN = os.environ.get("CMPORTAL_DEMO_SIGNIN_ORIGIN", "")  # its sign-in pages for browsers (plain http)
if DEMO_MODE and (PRODUCTION or not DEMO_TENANT_ID):
    raise ImproperlyConfigured(
        "CMPORTAL_DEMO is bin/run's offline demo: never in production (DJANGO_DEBUG=0), and it needs "
        "CMPORTAL_DEMO_TENANT_ID (bin/run sets it). Unset CMPORTAL_DEMO to talk to Microsoft."
    )
# Sync engine bounds (aadsync/graph.py, aadsync/sync.py): retries of one Graph request, request timeouts
# (connect, read) and the share of synced entries one run may mark removed before it holds them back.
AAD_GRAPH_MAX_RETRIES = int(os.environ.get("AAD_GRAPH_MAX_RETRIES", "5"))
AAD_GRAPH_MAX_RETRY_SECONDS = float(os.environ.get("AAD_GRAPH_MAX_RETRY_SECONDS", "120"))
AAD_HTTP_TIMEOUT = (10.0, 60.0)
AAD_REMOVAL_HOLD_PERCENT = int(os.environ.get("AAD_REMOVAL_HOLD_PERCENT", "20"))
# Days each look-up's account lines (Sync History > a run's page) are kept; older ones are pruned by the dispatcher.
AAD_CHANGE_LOG_DAYS = int(os.environ.get("AAD_CHANGE_LOG_DAYS", "90"))

# Celery (see cmportal/celery.py). Unset broker: kombu's filesystem transport under var/.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.rstrip("/") == "filesystem:":
    # The folder transport ignores the host, but kombu warns "No hostname was supplied" on every connection without.
    CELERY_BROKER_URL = "filesystem://localhost//"
CELERY_BROKER_FOLDER = Path(os.environ.get("CELERY_BROKER_FOLDER") or VAR_DIR / "broker")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
        "polling_interval": 0.1,  # kombu polls the folder each second by default: too slow for a click
    }

# Look-ups: a run is stopped after AAD_SYNC_TIME_LIMIT seconds, and a run whose worker died is marked failed
# once that time plus AAD_SYNC_REAP_GRACE has passed; a run still queued after AAD_SYNC_QUEUE_TIMEOUT is given up.
AAD_SYNC_TIME_LIMIT = int(os.environ.get("AAD_SYNC_TIME_LIMIT", "1800"))
AAD_SYNC_REAP_GRACE = int(os.environ.get("AAD_SYNC_REAP_GRACE", "60"))
AAD_SYNC_QUEUE_TIMEOUT = int(os.environ.get("AAD_SYNC_QUEUE_TIMEOUT", "3600"))
# A run still queued after this many seconds while the sync queue is empty lost its message (a broker restarted
# without persistence): the dispatcher sends it again.
AAD_SYNC_REQUEUE_AFTER = int(os.environ.get("AAD_SYNC_REQUEUE_AFTER", "120"))
AAD_DISPATCH_INTERVAL = float(os.environ.get("AAD_DISPATCH_INTERVAL", "30"))
# After this many failed scheduled look-ups in a row a company's schedule runs at most once a day until a look-up
# succeeds or its settings change (0: never).
AAD_QUARANTINE_AFTER = int(os.environ.get("AAD_QUARANTINE_AFTER", "5"))
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # With late acknowledgement Redis re-delivers a message unacknowledged this long: longer than a run
        # may wait for a worker slot plus run, so a healthy run is never delivered twice.
        "visibility_timeout": max(3600, 2 * AAD_SYNC_TIME_LIMIT + 600),
        # Lets deployments (and test sessions) share one Redis without seeing each other's queues.
        "global_keyprefix": os.environ.get("CELERY_REDIS_KEY_PREFIX", ""),
    }
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True  # outcomes live on SyncRun rows; no result backend
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TIME_LIMIT = 120  # the sync task sets its own limits from AAD_SYNC_TIME_LIMIT
CELERY_TASK_SOFT_TIME_LIMIT = 100
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks with late acknowledgement: take one at a time
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The dispatcher has its own queue so that it never waits behind thousands of queued look-ups;
# a worker started without -Q consumes both queues.
CELERY_TASK_DEFAULT_QUEUE = "cmportal"
# Alert e-mails and the secret-expiry read wait on SMTP servers and Microsoft: their own queue, so that neither the
# dispatcher nor the look-ups wait behind them (a worker started without -Q takes every queue).
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name)
                           for name in ("cmportal", "cmportal-sync", "cmportal-alerts"))
CELERY_TASK_ROUTES = {"aadsync.sync_run": {"queue": "cmportal-sync"},
                      "aadsync.alert*": {"queue": "cmportal-alerts"},
                      "aadsync.secret_expiry_refresh": {"queue": "cmportal-alerts"}}
# Beat's own bookkeeping (when each entry last ran) lives under var/, never in the repository.
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("CELERY_BEAT_SCHEDULE_FILE") or str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "aadsync-dispatch-due": {
        "task": "aadsync.dispatch_due",
        "schedule": AAD_DISPATCH_INTERVAL,
        # A dispatcher message that waited longer than one interval is dropped: the next one does its work.
        "options": {"expires": AAD_DISPATCH_INTERVAL},
    },
    # Secrets that expire in 30 or 7 days: each warning e-mail goes out once, so checking hourly is harmless.
    "aadsync-alerts-expiry": {
        "task": "aadsync.alerts_expiry_check",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}

# E-mail (alerts to managers, aadsync/alerts): SMTP when EMAIL_HOST is set, else printed on the console.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT") or (465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CM portal <cmportal@localhost>")
# Links in e-mails (e.g. https://cm.example.com); unset: AAD_REDIRECT_BASE_URL, else the first allowed host.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "").rstrip("/")

# Security headers; the production-only ones switch on with DJANGO_DEBUG=0.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "cmportal.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": os.environ.get("LOG_FORMAT", "plain")},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Through the root handler only: Django's own console handler on "django" printed every line twice.
        "django": {"level": os.environ.get("LOG_LEVEL", "INFO")},
        # Celery's routine lines (beat sending the dispatcher every 30 s, the worker receiving and finishing each
        # task); bin/run sets WARNING. A look-up's own line (aadsync) stays.
        **{name: {"level": os.environ.get("LOG_LEVEL_CELERY", "INFO")}
           for name in ("celery.beat", "celery.app.trace", "celery.worker.strategy")},
    },
}
