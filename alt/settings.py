"""Agent Lead Tracker settings: one module, every value from the environment.

Production is the default. DEBUG is on only with DJANGO_DEBUG=1 (make run sets it). Every variable
is listed in .env.example and the README's configuration table.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from alt.lib.env import (
    celery_broker_from_redis_url,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-only-secret-key" if DEBUG else None)
if not DEBUG and SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("SECRET_KEY must be set to a real secret in production.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = "Agent Lead Tracker"
SUPPORT_EMAIL = env_str("SUPPORT_EMAIL", "support@agentleadtracker.com")
# Shown as a badge in the header when the integrations talk to the local emulators.
SANDBOX = env_bool("ALT_SANDBOX", False)

INSTALLED_APPS = [
    # django.contrib.admin, with a staff site that only opens after allauth login and 2FA.
    "alt.admin_site.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "alt.accounts",
    "contacts",
    "appointments",
    "integrations",
    "integrations.resend_email",
    "integrations.google_calendar",
    "integrations.instagram",
    "integrations.twilio_sms",
    "ai",
    "privacy",
]

MIDDLEWARE = [
    "alt.lib.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "alt.lib.middleware.ContentSecurityPolicyMiddleware",
    # Webhook views answer here, without the page middleware below (alt/lib/middleware.py).
    "alt.lib.middleware.MachineEndpointMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "alt.lib.middleware.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "alt.accounts.middleware.WorkspaceMiddleware",
]

ROOT_URLCONF = "alt.urls"
WSGI_APPLICATION = "alt.wsgi.application"

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
                "alt.accounts.context_processors.shell",
                "alt.accounts.context_processors.banners",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------------
# Database and cache
# ---------------------------------------------------------------------------------------------
DATABASES = {"default": database_from_url(env_str("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "alt.lib.redis_cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "alt"),
    }
}
# Read from Redis, written through to PostgreSQL: no session query on a page load, and a flushed
# Redis loses no session.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# ---------------------------------------------------------------------------------------------
# Celery (periodic tasks are declared here and nowhere else)
# ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = celery_broker_from_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "alt")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Email each task's reminder at its due time (claimed by a conditional UPDATE, sent once).
    "contacts-task-reminders": {
        "task": "contacts.tasks.reminders.task_reminders_send",
        "schedule": 60.0,
    },
    # Email agents who asked for it before each of their appointments (claimed by a conditional
    # UPDATE, sent once; re-armed when the appointment moves).
    "appointment-reminders": {
        "task": "appointments.tasks.appointment_reminders_send",
        "schedule": 60.0,
    },
    # Text clients before their appointments, at the workspace's lead time (each start claimed
    # once by a unique (appointment, starts_at) row; quiet hours decide when the text goes out).
    "sms-appointment-reminders": {
        "task": "integrations.twilio_sms.reminders.sms_reminders_send",
        "schedule": 120.0,
    },
    # Erase contacts whose delete was not undone within the undo window.
    "contacts-purge-deleted": {
        "task": "contacts.tasks.purge.contacts_purge_deleted",
        "schedule": 3600.0,
    },
    # Re-send bulk actions whose broker message was lost; stop (for a person to retry) those
    # whose worker stopped sending heartbeats.
    "contacts-bulk-jobs-sweep": {
        "task": "contacts.tasks.bulk_jobs_sweep",
        "schedule": 60.0,
    },
    # Re-queue (or fail, with a message) CSV imports whose worker stopped beating: a worker
    # killed mid-import must not leave a job "importing" forever.
    "contacts-imports-sweep-stale": {
        "task": "contacts.tasks.imports.contacts_imports_sweep_stale",
        "schedule": 60.0,
    },
    # Re-send Google Calendar pushes still pending after a minute (a lost broker message delays
    # a sync, never loses it).
    "google-calendar-sync-sweep": {
        "task": "integrations.google_calendar.tasks.calendar_sync_sweep",
        "schedule": 60.0,
    },
    # Forget the inbox's unsend tombstones and early edits/reactions/reads once no provider can
    # still retry the delivery they wait for (Meta: 36 hours; kept 7 days).
    "inbox-message-changes-purge": {
        "task": "contacts.tasks.inbox_message_changes_purge",
        "schedule": 86400.0,
    },
    # Send the inbox's held messages (quiet hours, appointment reminders) once due; the time is in
    # the row, so a worker restart delays them by a minute at most (contacts/inbox/sending.py).
    "inbox-scheduled-sends": {
        "task": "contacts.tasks.inbox_scheduled_sends",
        "schedule": 60.0,
    },
    # Re-send webhook deliveries stored but still unprocessed after two minutes (a lost job).
    "webhook-inbound-events-sweep": {
        "task": "integrations.tasks.inbound_events_sweep",
        "schedule": 60.0,
    },
    # Refresh Instagram's 60-day tokens once a week old or within 20 days of expiry (each account
    # claimed by a conditional UPDATE); a refused or expired token marks it needs-reconnect.
    "instagram-tokens-refresh": {
        "task": "integrations.instagram.tasks.instagram_tokens_refresh",
        "schedule": 3600.0,
    },
    # Re-send Instagram publishing steps overdue by two minutes (a lost broker message would
    # leave a post "publishing" forever).
    "instagram-posts-sweep": {
        "task": "integrations.instagram.tasks.instagram_posts_sweep",
        "schedule": 60.0,
    },
    # Refresh each connected account's insights once a day: the hourly run claims the accounts
    # last refreshed over 24 hours ago, so a missed run or a restart delays by an hour at most.
    "instagram-insights-refresh": {
        "task": "integrations.instagram.tasks.instagram_insights_refresh_due",
        "schedule": 3600.0,
    },
}
# How long a deleted contact can be restored before it is erased for good.
CONTACT_UNDO_HOURS = env_int("CONTACT_UNDO_HOURS", 24)
# A bulk action on "all N matching" runs in the request up to this many contacts, beyond it in
# the worker with a progress bar.
CONTACT_BULK_INLINE_MAX = env_int("CONTACT_BULK_INLINE_MAX", 500)
# Largest CSV a person may upload; bigger files are refused with a clear message.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)

# ---------------------------------------------------------------------------------------------
# Accounts (django-allauth): email login, mandatory verification, optional TOTP
# ---------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's, each reading a session's user with their memberships in one query.
AUTHENTICATION_BACKENDS = [
    "alt.accounts.backends.ModelBackend",
    "alt.accounts.backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    # ACC-1: salted, slow hashes only. PBKDF2-SHA256 with Django's iteration count.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_ADAPTER = "alt.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_SIGNUP_FORM_CLASS = "alt.accounts.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[ALT] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
# Security notices (ACC-3): password, email and two-factor changes; see templates/account/email.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Login throttling (SEC-4): allauth's cache-backed limits, tightened for failed logins.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/h/ip",
    "reset_password": "5/h/ip,3/h/key",
    "confirm_email": "3/10m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
MFA_ADAPTER = "alt.accounts.mfa.MFAAdapter"  # TOTP secrets encrypted at rest (SEC-2)
INVITE_EXPIRY_DAYS = env_int("INVITE_EXPIRY_DAYS", 7)
# Invites are email sent in our name: at most this many per sender per hour, per workspace per day.
INVITE_LIMIT_PER_SENDER_PER_HOUR = env_int("INVITE_LIMIT_PER_SENDER_PER_HOUR", 20)
INVITE_LIMIT_PER_WORKSPACE_PER_DAY = env_int("INVITE_LIMIT_PER_WORKSPACE_PER_DAY", 50)

# ---------------------------------------------------------------------------------------------
# Email (transactional only, ACC-3): Resend when a key is set, the console otherwise
# ---------------------------------------------------------------------------------------------
RESEND_API_KEY = env_str("RESEND_API_KEY", "")
RESEND_API_URL = env_str("RESEND_API_URL", "https://api.resend.com").rstrip("/")
DEFAULT_FROM_EMAIL = env_str(
    "DEFAULT_FROM_EMAIL", "Agent Lead Tracker <no-reply@agentleadtracker.com>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "integrations.resend_email.backend.ResendEmailBackend"
    if RESEND_API_KEY
    else "django.core.mail.backends.console.EmailBackend",
)

# ---------------------------------------------------------------------------------------------
# Google Calendar sync (GC-1..GC-10): one-way push of appointments. Empty GOOGLE_CLIENT_ID turns
# the feature off; `make run` points every URL at the sandbox GoogleEmulator.
# ---------------------------------------------------------------------------------------------
GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET", "")
GOOGLE_OAUTH_AUTH_URL = env_str(
    "GOOGLE_OAUTH_AUTH_URL", "https://accounts.google.com/o/oauth2/auth"
)
GOOGLE_OAUTH_TOKEN_URL = env_str("GOOGLE_OAUTH_TOKEN_URL", "https://oauth2.googleapis.com/token")
GOOGLE_OAUTH_REVOKE_URL = env_str("GOOGLE_OAUTH_REVOKE_URL", "https://oauth2.googleapis.com/revoke")
GOOGLE_CALENDAR_API_URL = (
    env_str("GOOGLE_CALENDAR_API_URL", "https://www.googleapis.com/calendar/v3/").rstrip("/") + "/"
)
# Must match an authorised redirect URI of the OAuth client in Google Cloud Console.
GOOGLE_OAUTH_REDIRECT_URL = env_str(
    "GOOGLE_OAUTH_REDIRECT_URL", f"{SITE_URL}/settings/calendar/callback/"
)
# Seconds a single Google call may take before it counts as a transient failure.
GOOGLE_HTTP_TIMEOUT_SECONDS = env_int("GOOGLE_HTTP_TIMEOUT_SECONDS", 15)

# ---------------------------------------------------------------------------------------------
# Instagram (IG-1..IG-8): Meta's "Instagram API with Instagram Login" (EXTERNAL_APIS.md §3). Empty
# INSTAGRAM_APP_ID turns the feature off; `make run` points every URL at the sandbox emulator.
# ---------------------------------------------------------------------------------------------
INSTAGRAM_APP_ID = env_str("INSTAGRAM_APP_ID", "")
# Signs webhooks and Meta's signed_request callbacks, and pays for the token exchanges.
INSTAGRAM_APP_SECRET = env_str("INSTAGRAM_APP_SECRET", "")
# Some apps see deliveries signed with the Meta (Facebook) app secret instead (§3.5): also accepted.
META_APP_SECRET = env_str("META_APP_SECRET", "")
# What Meta sends back as hub.verify_token when the webhook is subscribed (§3.5).
INSTAGRAM_WEBHOOK_VERIFY_TOKEN = env_str("INSTAGRAM_WEBHOOK_VERIFY_TOKEN", "")
INSTAGRAM_OAUTH_AUTHORIZE_URL = env_str(
    "INSTAGRAM_OAUTH_AUTHORIZE_URL", "https://www.instagram.com/oauth/authorize"
)
INSTAGRAM_OAUTH_TOKEN_URL = env_str(
    "INSTAGRAM_OAUTH_TOKEN_URL", "https://api.instagram.com/oauth/access_token"
)
# graph.instagram.com: the unversioned token exchange and refresh live at its root, the rest under
# INSTAGRAM_GRAPH_API_VERSION.
INSTAGRAM_GRAPH_API_URL = env_str("INSTAGRAM_GRAPH_API_URL", "https://graph.instagram.com/")
INSTAGRAM_GRAPH_API_VERSION = env_str("INSTAGRAM_GRAPH_API_VERSION", "v23.0")
# Must be listed as a valid OAuth redirect URI in the app's Instagram Login settings.
INSTAGRAM_OAUTH_REDIRECT_URL = env_str(
    "INSTAGRAM_OAUTH_REDIRECT_URL", f"{SITE_URL}/settings/social/instagram/callback/"
)
INSTAGRAM_HTTP_TIMEOUT_SECONDS = env_int("INSTAGRAM_HTTP_TIMEOUT_SECONDS", 15)

# ---------------------------------------------------------------------------------------------
# SMS through Twilio (EXTERNAL_APIS.md §4). Each workspace enters its own Account SID, auth token
# and number in Settings -> SMS; these settings say where Twilio is and how it reaches us.
# ---------------------------------------------------------------------------------------------
# The REST API the official client calls (`client.api.base_url`); `make run` points it at the
# sandbox emulator.
TWILIO_API_URL = env_str("TWILIO_API_URL", "https://api.twilio.com").rstrip("/")
# The public https base URL Twilio calls our webhooks at. Twilio signs the exact URL it requested
# (§4.5), so behind a proxy or a tunnel this must be the outside address, not the one Django sees.
TWILIO_PUBLIC_BASE_URL = env_str("TWILIO_PUBLIC_BASE_URL", SITE_URL).rstrip("/")
TWILIO_HTTP_TIMEOUT_SECONDS = env_int("TWILIO_HTTP_TIMEOUT_SECONDS", 15)
# Inbound MMS media is fetched only from these hosts (no SSRF), and only up to this size.
TWILIO_MEDIA_HOSTS = env_list("TWILIO_MEDIA_HOSTS", "api.twilio.com")
TWILIO_MEDIA_MAX_BYTES = env_int("TWILIO_MEDIA_MAX_BYTES", 5 * 1024 * 1024)
# Where a media URL may redirect to (Twilio answers with a short-lived URL on its CDN:
# mms.twiliocdn.com, or s3-external-1.amazonaws.com for media stored before HTTP auth was
# enforced, per Twilio's support article 223183748). Credentials are never sent there.
TWILIO_MEDIA_REDIRECT_HOSTS = env_list(
    "TWILIO_MEDIA_REDIRECT_HOSTS", "mms.twiliocdn.com,s3-external-1.amazonaws.com"
)
# The sandbox's Twilio account, offered on Settings -> SMS when `make run` has no real one.
TWILIO_SANDBOX_ACCOUNT_SID = env_str("TWILIO_SANDBOX_ACCOUNT_SID", "")
TWILIO_SANDBOX_AUTH_TOKEN = env_str("TWILIO_SANDBOX_AUTH_TOKEN", "")
TWILIO_SANDBOX_NUMBER = env_str("TWILIO_SANDBOX_NUMBER", "")

# ---------------------------------------------------------------------------------------------
# Encrypted secrets (SEC-2): "keyid:base64-32-bytes" pairs, comma-separated, newest first.
# ---------------------------------------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
if not DEBUG and not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS must be set: ALT refuses to store secrets in plain text."
    )

# ---------------------------------------------------------------------------------------------
# Security (SEC-1, SEC-4). ALT_HTTPS=0 only for plain-http local servers and tests.
# ---------------------------------------------------------------------------------------------
HTTPS = env_bool("ALT_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
# Load balancers probe the health check over plain http, on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere: every script is a file under static/.
CONTENT_SECURITY_POLICY = (
    # Images of Instagram DMs come from Meta's CDN (contacts/inbox/threads.py IMAGE_HOSTS).
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
    "https://lookaside.fbsbx.com https://*.cdninstagram.com https://*.fbcdn.net; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)

# ---------------------------------------------------------------------------------------------
# Static files and i18n
# ---------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need `collectstatic` first; DEBUG servers and tests serve from static/.
        "BACKEND": env_str(
            "STATICFILES_BACKEND",
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Logging: JSON lines in production, readable lines with DEBUG; secrets redacted everywhere.
# ---------------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "alt.lib.logging.RedactSecretsFilter"},
        "request_id": {"()": "alt.lib.logging.RequestIdFilter"},
    },
    "formatters": {
        "json": {"()": "alt.lib.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "redact"],
            "formatter": "plain" if env_bool("LOG_PLAIN", DEBUG) else "json",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}
