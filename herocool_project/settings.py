"""Herocool settings, read from the environment.

Defaults make a development install that needs nothing: SQLite and a generated secret
under the data directory, Redis on localhost, the `local` target. Production
(HEROCOOL_PRODUCTION=True) refuses to start without its secrets.
"""
import ipaddress
import os
import re
import socket
from pathlib import Path

from . import pulumi_backend
from .env import (database_from_url, envbool, envint, envsecret, physical_memory_mb,
                  private_dir, redis_url)
from .logcontext import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = private_dir(Path(os.environ.get("HEROCOOL_DATA_DIR", BASE_DIR / "data")).resolve())

PRODUCTION = envbool("HEROCOOL_PRODUCTION", "False")
DEBUG = envbool("DEBUG", "False")  # only when asked for: debug pages show settings
SECRET_KEY = envsecret("SECRET_KEY", keep_in=DATA_DIR / "secret_key", required=PRODUCTION)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "accounts",
    "stacks",
    "sites",
    "vms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "herocool_project.middleware.content_security_policy",
    "herocool_project.middleware.DatabaseUnavailable",
]

ROOT_URLCONF = "herocool_project.urls"
WSGI_APPLICATION = "herocool_project.wsgi.application"

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
    "default": database_from_url(
        os.environ.get("DATABASE_URL"), sqlite_default=DATA_DIR / "herocool.sqlite3"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts-login"
LOGIN_REDIRECT_URL = "accounts-dashboard"
LOGOUT_REDIRECT_URL = "accounts-login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

# --- security ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- queue ---------------------------------------------------------------------------
# Redis needs a password: REDIS_URL carries it, else it is built for the Redis that
# `make run` starts (password from REDIS_PASSWORD(_FILE) or generated into the data dir).
REDIS_URL = redis_url(DATA_DIR)
# RQ kills a job's process group at its timeout, leaving a locked stack behind:
# deployments get a long one, and recover_stuck unlocks what a killed job left.
DEPLOYMENT_JOB_TIMEOUT = envint("HEROCOOL_DEPLOYMENT_TIMEOUT", 3600)
# JSON, never pickle: loading a pickle runs code, and a job put in Redis by anyone who
# reaches it must not be able to carry any.
RQ_SERIALIZER = "rq.serializers.JSONSerializer"
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": DEPLOYMENT_JOB_TIMEOUT,
                "SERIALIZER": RQ_SERIALIZER},
    # The sweep and the release of cancelled jobs, never stuck behind deployments.
    "maintenance": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600, "SERIALIZER": RQ_SERIALIZER},
}
# Recovery with no operator (stacks/sweep.py, run by the scheduler every SWEEP_SECONDS):
# a busy worker heartbeats every WORKER_HEARTBEAT seconds and is taken for dead after
# three silent ones; a queued deployment is requeued once its job has been missing from
# Redis for SWEEP_GRACE_SECONDS.
SWEEP_SECONDS = envint("HEROCOOL_SWEEP_SECONDS", 60)
WORKER_HEARTBEAT = envint("HEROCOOL_WORKER_HEARTBEAT", 10)
WORKER_DEAD_AFTER = 3 * WORKER_HEARTBEAT
SWEEP_GRACE_SECONDS = envint("HEROCOOL_SWEEP_GRACE_SECONDS", 30)

# --- host: queue auth, static files, processes ---------------------------------------
# The worker runs only these functions (stacks/rqworker.py refuses and logs any other).
HEROCOOL_JOB_FUNCTIONS = ("stacks.jobs.run_deployment", "stacks.jobs.release_stack",
                          "stacks.sweep.sweep")
RQ = {
    "WORKER_CLASS": "stacks.rqworker.HerocoolWorker",
    # Jobs are enqueued when our code says (services enqueue on commit themselves), not
    # deferred by django-rq to a commit the caller may not be in.
    "COMMIT_MODE": "auto",
}
# Hashed, compressed static files served by whitenoise from the web process.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "herocool_project.storage.StaticFilesStorage",
                    # Django chmods what it stores to 0644 unless told: private like the rest.
                    "OPTIONS": {"file_permissions_mode": 0o600,
                                "directory_permissions_mode": 0o700}},
}
FILE_UPLOAD_PERMISSIONS, FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o600, 0o700
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "whitenoise.middleware.WhiteNoiseMiddleware")

# --- Pulumi --------------------------------------------------------------------------
HEROCOOL_TARGET = os.environ.get("HEROCOOL_TARGET", "local")
if HEROCOOL_TARGET not in ("local", "aws"):
    raise ValueError(f"HEROCOOL_TARGET must be local or aws, not {HEROCOOL_TARGET!r}")
AWS_REGION = os.environ.get("AWS_REGION", "")
# Pulumi state (pgstate): PULUMI_BACKEND_URL as given; else, with PostgreSQL as the
# platform's database, the CLI's postgres:// backend in the same server, table
# HEROCOOL_PULUMI_TABLE, as HEROCOOL_PULUMI_DATABASE_URL's role if given (else
# DATABASE_URL's); else file:// under the data directory. Shown only through
# pulumi_backend.masked(): the URL may carry a password.
PULUMI_STATE_TABLE = os.environ.get("HEROCOOL_PULUMI_TABLE", "herocool_pulumi_state")
PULUMI_BACKEND_URL = pulumi_backend.backend_url(
    os.environ, table=PULUMI_STATE_TABLE, file_dir=DATA_DIR / "pulumi-state")
PULUMI_HOME = os.environ.get("PULUMI_HOME", str(DATA_DIR / "pulumi-home"))
# The CLI's work directories (stacks/workdirs.py): private, and those a killed job left
# are removed by the host tick.
WORK_DIR = DATA_DIR / "work"
PULUMI_CONFIG_PASSPHRASE = envsecret(
    "PULUMI_CONFIG_PASSPHRASE", keep_in=DATA_DIR / "pulumi_passphrase", required=PRODUCTION
)
# Where scripts/setup_pulumi.sh puts the CLI (empty: a `pulumi` on PATH).
PULUMI_ROOT = os.environ.get("HEROCOOL_PULUMI_ROOT", "")

# --- the local target ----------------------------------------------------------------
# User sites are served by `manage.py serve_sites` on an origin of their own, one host
# name per site, never the platform's: user HTML must not run beside our cookies.
SITES_ROOT = Path(os.environ.get("HEROCOOL_SITES_ROOT", DATA_DIR / "sites"))
SITES_PORT = envint("HEROCOOL_SITES_PORT", 8001)
SITES_URL_TEMPLATE = os.environ.get(
    "HEROCOOL_SITES_URL_TEMPLATE", "http://{host}.localhost:%d/" % SITES_PORT
)
VMS_ROOT = Path(os.environ.get("HEROCOOL_VMS_ROOT", DATA_DIR / "vms"))

# --- limits --------------------------------------------------------------------------
SITE_MAX_BYTES = envint("HEROCOOL_SITE_MAX_BYTES", 1024 * 1024)
SITE_FETCH_TIMEOUT = envint("HEROCOOL_SITE_FETCH_TIMEOUT", 10)
QUOTA_SITES = envint("HEROCOOL_QUOTA_SITES", 50)
QUOTA_VMS = envint("HEROCOOL_QUOTA_VMS", 3)
QUOTA_LIVE_DEPLOYMENTS = envint("HEROCOOL_QUOTA_LIVE_DEPLOYMENTS", 5)
# "count/seconds": POSTs that change resources, per user; login attempts, per username
# and address (see the web block below for the others).
RATE_LIMIT_CHANGES = os.environ.get("HEROCOOL_RATE_CHANGES", "30/60")
RATE_LIMIT_LOGIN = os.environ.get("HEROCOOL_RATE_LOGIN", "10/300")
# Sum of guest memory one user's local VMs may take on this host.
QUOTA_VM_MEMORY_MB = envint("HEROCOOL_QUOTA_VM_MEMORY_MB", 2048)
# Host-wide caps, whatever the number of accounts: guest memory of all local VMs
# (default: half of this machine's memory) and the number of sites.
HOST_VM_MEMORY_MB = envint("HEROCOOL_HOST_VM_MEMORY_MB", physical_memory_mb() // 2)
HOST_MAX_SITES = envint("HEROCOOL_HOST_MAX_SITES", 10000)

# --- Sites: whole folders and releases (issue #15) -------------------------------------
# An uploaded .zip / .tar.gz (sites/archive.py): its size as uploaded, then what it may
# unpack to: files, bytes in all and per file, and how many times its own size (past
# that it is a zip bomb). Each site keeps its newest SITES_KEEP_RELEASES releases (the
# live one always) to roll back to; older ones, their files and archives are removed.
SITE_ARCHIVE_MAX_BYTES = envint("HEROCOOL_SITE_ARCHIVE_MAX_BYTES", 25 * 1024 * 1024)
SITE_UNPACKED_MAX_BYTES = envint("HEROCOOL_SITE_UNPACKED_MAX_BYTES", 100 * 1024 * 1024)
SITE_MAX_FILES = envint("HEROCOOL_SITE_MAX_FILES", 5000)
SITE_FILE_MAX_BYTES = envint("HEROCOOL_SITE_FILE_MAX_BYTES", 25 * 1024 * 1024)
SITE_MAX_INFLATE_RATIO = envint("HEROCOOL_SITE_MAX_INFLATE_RATIO", 100)
SITES_KEEP_RELEASES = envint("HEROCOOL_SITES_KEEP_RELEASES", 10)
# The uploaded archives one user's sites may keep in the database (their releases').
QUOTA_SITE_ARCHIVE_BYTES = envint("HEROCOOL_QUOTA_SITE_ARCHIVE_BYTES", 500 * 1024 * 1024)

# --- Hosts (several machines; stacks/hosts.py) -----------------------------------------
# Each worker machine has a name and a queue of its own, `host:<name>`, served beside the
# shared ones by every worker that takes deployments (stacks/rqworker.py). A local-target
# resource records its host and its jobs go there; the two caps above are per host.
HEROCOOL_HOST = os.environ.get("HEROCOOL_HOST") or socket.gethostname()
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", HEROCOOL_HOST):
    raise ValueError(f"HEROCOOL_HOST must be letters, digits, '.', '_' or '-', not "
                     f"{HEROCOOL_HOST!r}")
HOST_QUEUE = f"host:{HEROCOOL_HOST}"
RQ_QUEUES[HOST_QUEUE] = {**RQ_QUEUES["default"]}
# Pages and placement reuse one reading of which hosts are live for this many seconds
# (a read of every RQ worker from Redis); a worker is called dead only after
# WORKER_DEAD_AFTER anyway. The sweep and drain_host always read afresh.
HOST_LIVENESS_CACHE_SECONDS = envint("HEROCOOL_HOST_LIVENESS_CACHE_SECONDS", 2)
HEROCOOL_JOB_FUNCTIONS = (*HEROCOOL_JOB_FUNCTIONS, "stacks.hosts.host_tick",
                          "stacks.drain.forget_here")

# --- web: request limits, proxies, logins --------------------------------------------
# Bodies past these are refused (413) by the first middleware before a byte is read.
# The site pages take a whole page of HTML: room for SITE_MAX_BYTES URL-encoded (up to
# three bytes each), so anything up to the cap reaches the form and its exact message.
REQUEST_MAX_BYTES = envint("HEROCOOL_REQUEST_MAX_BYTES", 64 * 1024)
REQUEST_MAX_BYTES_SITE_FORM = max(4 * SITE_MAX_BYTES, SITE_ARCHIVE_MAX_BYTES + 64 * 1024)
# What passes the front door is parsed in
# memory, never spooled to a temporary file, and never a bare RequestDataTooBig.
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES_SITE_FORM
FILE_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES_SITE_FORM
MIDDLEWARE = ["herocool_project.middleware.front_door", *MIDDLEWARE]
# Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated).
TRUSTED_PROXIES = [str(ipaddress.ip_network(p.strip(), strict=False)) for p in
                   os.environ.get("HEROCOOL_TRUSTED_PROXIES", "").split(",") if p.strip()]
# Logins: RATE_LIMIT_LOGIN (above) counts attempts per name and address; this one per
# address whatever the name; after LOGIN_BACKOFF_AFTER failures for a name, from
# anywhere, each try waits 1, 2, 4... seconds, at most LOGIN_BACKOFF_MAX (no lock-out).
RATE_LIMIT_LOGIN_ADDRESS = os.environ.get("HEROCOOL_RATE_LOGIN_ADDRESS", "30/300")
LOGIN_BACKOFF_AFTER = envint("HEROCOOL_LOGIN_BACKOFF_AFTER", 5)
LOGIN_BACKOFF_MAX = envint("HEROCOOL_LOGIN_BACKOFF_MAX", 16)

# The instance types users may choose. On aws they are EC2 types (price: on-demand
# us-east-1 Linux, a hint only); on local, QEMU gets `local_memory_mb` and `vcpus`.
VM_INSTANCE_TYPES = {
    "t3.micro": {"vcpus": 2, "memory_mb": 1024, "hourly_usd": 0.0104,
                 "local_memory_mb": 512, "local_vcpus": 1},
    "t3.small": {"vcpus": 2, "memory_mb": 2048, "hourly_usd": 0.0208,
                 "local_memory_mb": 768, "local_vcpus": 1},
    "t3.medium": {"vcpus": 2, "memory_mb": 4096, "hourly_usd": 0.0416,
                  "local_memory_mb": 1024, "local_vcpus": 2},
}
VM_DEFAULT_INSTANCE_TYPE = "t3.micro"
VM_IMAGE_CACHE = Path(os.environ.get("HEROCOOL_VM_IMAGE_CACHE", DATA_DIR / "vm-images"))

# --- observability ---------------------------------------------------------------------
# Log lines carry time, level, logger, request id, user and deployment; JSON with
# LOG_FORMAT=json. /healthz, /readyz and /metrics: see herocool_project/health.py.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = logging_config(LOG_FORMAT, os.environ.get("LOG_LEVEL", "INFO"))
# /metrics answers a bearer token equal to this (or a staff session); empty: staff only.
METRICS_TOKEN = (os.environ.get("HEROCOOL_METRICS_TOKEN")
                 or (Path(os.environ["HEROCOOL_METRICS_TOKEN_FILE"]).read_text().strip()
                     if os.environ.get("HEROCOOL_METRICS_TOKEN_FILE") else ""))
# Where gunicorn's processes share their metrics (herocool_project/multiprocess_dir.py).
METRICS_DIR = Path(os.environ.get("HEROCOOL_METRICS_DIR", DATA_DIR / "metrics"))
MIDDLEWARE = [
    # Outermost: time every request, give it an id, and answer load balancers' probes
    # before the host check (they send the backend's address as Host).
    "herocool_project.metrics.latency_middleware",
    "herocool_project.logcontext.request_id_middleware",
    "herocool_project.health.probe_middleware",
    *MIDDLEWARE,
]

# --- Notifications (issue #16) ---------------------------------------------------------
# Webhooks (stacks/notify.py): signed deliveries of deployment events, each attempt timed
# out after WEBHOOK_TIMEOUT seconds, retried WEBHOOK_BACKOFF seconds apart (then given
# up), by a retry pass the scheduler runs every WEBHOOK_RETRY_SECONDS. Sent from the
# NOTIFY_QUEUE, which every worker and the sweeper serve (Procfile).
WEBHOOK_TIMEOUT = envint("HEROCOOL_WEBHOOK_TIMEOUT", 10)
WEBHOOK_BACKOFF = (10, 60, 300, 1800, 7200)
WEBHOOK_RETRY_SECONDS = envint("HEROCOOL_WEBHOOK_RETRY_SECONDS", 10)
WEBHOOKS_PER_USER = envint("HEROCOOL_WEBHOOKS_PER_USER", 10)
NOTIFY_QUEUE = "maintenance"
# Tests only: lets deliveries reach a receiver on loopback. Never read from the
# environment; private and metadata addresses stay refused whatever it says.
HEROCOOL_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS = False
HEROCOOL_JOB_FUNCTIONS = (*HEROCOOL_JOB_FUNCTIONS, "stacks.notify.deliver_webhook",
                          "stacks.notify.retry_due", "stacks.notify.send_failure_email")
# Email on a failed deployment, to User.email: SMTP when EMAIL_HOST is set (production),
# else printed by the console backend (development). The password is never logged.
HEROCOOL_BASE_URL = os.environ.get("HEROCOOL_BASE_URL", "http://localhost:8000").rstrip("/")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = (os.environ.get("EMAIL_HOST_PASSWORD")
                       or (Path(os.environ["EMAIL_HOST_PASSWORD_FILE"]).read_text().strip()
                           if os.environ.get("EMAIL_HOST_PASSWORD_FILE") else ""))
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "True" if EMAIL_HOST else "False")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "herocool@localhost")

# --- API and tokens (issue #16) ---------------------------------------------------------
# /api/v1/: Django REST framework with personal access tokens (accounts/models.py) or the
# browser's session (with CSRF); errors as {"detail", "errors"}; lists by cursor.
INSTALLED_APPS += ["rest_framework", "drf_spectacular"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: its WWW-Authenticate header makes a missing credential a 401.
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["herocool_project.api.TokenScopes"],
    "DEFAULT_THROTTLE_CLASSES": ["herocool_project.api.ChangesThrottle"],
    "DEFAULT_PAGINATION_CLASS": "herocool_project.api.NewestFirst",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "herocool_project.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Herocool API",
    "DESCRIPTION": "Sites, virtual machines and their deployments. Authenticate with a "
                   "personal access token: `Authorization: Bearer hc_…`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ResourceStatusEnum": "stacks.models.Status",
        "DeploymentStatusEnum": "stacks.models.Deployment.State",
        "SiteSourceEnum": "sites.models.Site.Source",
        "SiteInputSourceEnum": [("html", "html"), ("url", "url"), ("archive", "archive")],
    },
}

# --- web UI (issue #14) ----------------------------------------------------------------
# Times in each user's time zone, from the `tz` cookie its browser sets (stacks/usertz.py).
MIDDLEWARE = [*MIDDLEWARE, "stacks.usertz.user_time_zone"]

# --- Accounts (issue #18) ----------------------------------------------------------------
# Two-factor sign-in with django-otp (accounts/twofactor.py): a TOTP authenticator and
# one-time recovery codes. HEROCOOL_REQUIRE_2FA: "none", "staff" (staff and superusers)
# or "all": those it covers are sent to enrol before anything else (the admin too). API
# tokens are a factor of their own and are not asked for a code.
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
                  + 1, "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
                  "accounts.twofactor_middleware.second_factor_gate")
HEROCOOL_REQUIRE_2FA = os.environ.get("HEROCOOL_REQUIRE_2FA", "none")
if HEROCOOL_REQUIRE_2FA not in ("none", "staff", "all"):
    raise ValueError(f"HEROCOOL_REQUIRE_2FA must be none, staff or all, not "
                     f"{HEROCOOL_REQUIRE_2FA!r}")
OTP_TOTP_ISSUER = "Herocool"
# Operators see and delete users' devices in the admin (a lost phone), never their
# secrets, QR codes or recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Email: the link confirming an address lives this long; a password-reset link (Django's
# own token: it works once, since it hashes the password it replaces) one hour.
EMAIL_VERIFY_MAX_AGE = envint("HEROCOOL_EMAIL_VERIFY_MAX_AGE", 3 * 24 * 3600)
PASSWORD_RESET_TIMEOUT = envint("HEROCOOL_PASSWORD_RESET_TIMEOUT", 3600)
# Leaving: the scheduler moves departures on (destroys, then the data) every sweep.
HEROCOOL_JOB_FUNCTIONS = (*HEROCOOL_JOB_FUNCTIONS, "accounts.leaving.advance_departures")

# --- Cost, budgets, expiry (issue #17) ---------------------------------------------------
# Monthly estimates (stacks/cost.py; AWS figures in stacks/prices.json). Local capacity is
# priced by the operator, in USD a month; 0 (the default) makes local resources free.


def _usd(name, default):
    """An amount in USD from the environment (or "" where that is the default: none)."""
    value = os.environ.get(name, default).strip()
    if value == default == "" or re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    raise ValueError(f"{name} must be an amount in USD such as 12 or 4.50, not {value!r}")


HEROCOOL_LOCAL_PRICE_PER_GB_RAM_MONTH = _usd("HEROCOOL_LOCAL_PRICE_PER_GB_RAM_MONTH", "0")
HEROCOOL_LOCAL_PRICE_PER_VCPU_MONTH = _usd("HEROCOOL_LOCAL_PRICE_PER_VCPU_MONTH", "0")
HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH = _usd("HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH", "0")
# Every user's monthly budget in USD unless an operator sets theirs in the admin; empty:
# no budget. A change is refused past it, and warned about from BUDGET_WARN_FRACTION on.
HEROCOOL_DEFAULT_BUDGET_USD = _usd("HEROCOOL_DEFAULT_BUDGET_USD", "")
HEROCOOL_BUDGET_WARN_FRACTION = float(os.environ.get("HEROCOOL_BUDGET_WARN_FRACTION", "0.8"))
# Expiry: the scheduler's pass (stacks/cron.py) every EXPIRY_SECONDS reminds owners by email
# EXPIRY_REMIND_BEFORE seconds ahead, then destroys what has expired. Operators can require
# an expiry for some instance types (comma-separated) or for every machine ("*").
HEROCOOL_EXPIRY_SECONDS = envint("HEROCOOL_EXPIRY_SECONDS", 60)
HEROCOOL_EXPIRY_REMIND_BEFORE = envint("HEROCOOL_EXPIRY_REMIND_BEFORE", 3600)
HEROCOOL_EXPIRY_REQUIRED_TYPES = [
    t.strip() for t in os.environ.get("HEROCOOL_EXPIRY_REQUIRED_TYPES", "").split(",")
    if t.strip()]
HEROCOOL_JOB_FUNCTIONS = (*HEROCOOL_JOB_FUNCTIONS, "stacks.expiry.expire_due",
                          "stacks.expiry.send_expiry_reminder")
# --- Sites: folders and domains (issue #15) -------------------------------------------
# A folder picked in the browser comes as one file per part: Django's default of 100
# files a request would refuse most sites with a bare 400 before the form could say why.
# A few more than a site may hold, so the form's own limit speaks first.
DATA_UPLOAD_MAX_NUMBER_FILES = SITE_MAX_FILES + 100
# "Check now" on a custom domain queues sites.domains.check_domain (a DNS query) on the
# default queue; each user may ask this often (count/seconds).
RATE_LIMIT_DOMAIN_CHECKS = os.environ.get("HEROCOOL_RATE_DOMAIN_CHECKS", "10/300")
HEROCOOL_JOB_FUNCTIONS = (*HEROCOOL_JOB_FUNCTIONS, "sites.domains.check_domain")
# aws target: the operator's Route 53 hosted zone (its id) for users' custom domains. Set,
# the site program validates each domain's certificate and points the domain at its
# distribution there; empty, the site page shows the user the records to add themselves.
SITES_AWS_HOSTED_ZONE_ID = os.environ.get("HEROCOOL_SITES_AWS_HOSTED_ZONE_ID", "").strip()

# Teams (issue #18) ------------------------------------------------------------------
# An invitation's link works once, for this long (seconds). A team is an owner like a
# user: its sites, machines and live deployments count against the same QUOTA_* numbers,
# and its budget is HEROCOOL_DEFAULT_BUDGET_USD (no per-team override yet).
TEAM_INVITATION_MAX_AGE = envint("HEROCOOL_TEAM_INVITATION_MAX_AGE", 7 * 24 * 3600)

# --- Performance (issues #11, #13) --------------------------------------------------------
# Django's database sessions, read with one plain SQL statement (herocool_project/sessions.py).
SESSION_ENGINE = "herocool_project.sessions"

# --- Machines (issue #19) ---------------------------------------------------------------
# Local guests reach out (apt, git) but never this host: QEMU drops root for this uid,
# and an nftables rule refuses the uid every packet to the host's own addresses
# (vms/localvm/guestnet.py). It must be a uid nothing else runs as. 0: guests get no
# network out at all. A worker that is not root uses HEROCOOL_VM_GUEST_GROUP instead.
VM_GUEST_UID = envint("HEROCOOL_VM_GUEST_UID", 64119)
# HEROCOOL_VM_GUEST_BLOCKED_NETWORKS (comma-separated CIDRs, read by guestnet in the
# worker's environment): other networks guests may not reach, e.g. the LAN where the
# installation's PostgreSQL and Redis run when they are on other machines.
# The console's last bytes shown on a machine's page, and the most kept per file.
VM_CONSOLE_SHOW_BYTES = envint("HEROCOOL_VM_CONSOLE_SHOW_BYTES", 32 * 1024)
VM_FIRST_BOOT_SCRIPT_MAX_BYTES = envint("HEROCOOL_VM_FIRST_BOOT_SCRIPT_MAX_BYTES", 16 * 1024)
