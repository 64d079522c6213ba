"""Postbode settings: every value comes from the environment, with defaults under which `make run` works.

Production differs only by environment variables; README.md lists them all.
"""

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("POSTBODE_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", "postbode-insecure-development-key-change-me-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_ID = 1
SITE_NAME = env("SITE_NAME", "Postbode")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")
# Support contact shown in every page's footer, on suspended accounts and the plans (which sell phone support).
SUPPORT_PHONE = env("SUPPORT_PHONE", "+31 20 123 4567")
SUPPORT_HOURS = env("SUPPORT_HOURS", "")  # empty: "Mon–Fri 9:00–17:00" in the reader's language
SUPPORT_EMAIL = env("SUPPORT_EMAIL", "support@postbode.localhost")
# Where security problems are reported (/.well-known/security.txt, RFC 9116): an address or an https:// URL.
SECURITY_CONTACT = env("SECURITY_CONTACT", SUPPORT_EMAIL)
# E-mail addresses must end in a real public suffix (the Public Suffix List). These reserved names are
# accepted as well in development and tests (the demo's postbode.localhost); empty in production.
EXTRA_MAIL_SUFFIXES = env_list("EXTRA_MAIL_SUFFIXES", "example,test,localhost" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.forms",  # its widget templates, for FORM_RENDERER
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_countries",  # its Dutch country names
    "tenants",
    "mailhosts",
    "mailaccounts",
    "relay",
    "spamfilter",
    "devices",
    "billing",
    "backups",
    "webmail",
    "postbode",
]

MIDDLEWARE = [
    "postbode.middleware.MailClientHostMiddleware",  # MTA-STS and autoconfig under the customers' names
    "django.middleware.security.SecurityMiddleware",
    "postbode.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files in production, compressed and cached
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.CustomerMiddleware",
    "mailaccounts.middleware.MailboxUserMiddleware",
    "tenants.middleware.SuspendedCustomerMiddleware",
    "tenants.middleware.TwoFactorRequiredMiddleware",
    "postbode.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "postbode.urls"
WSGI_APPLICATION = "postbode.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "postbode.context_processors.panel",
            ],
        },
    },
]

# Forms: one form template and one field template for the whole panel (postbode/forms.py).
FORM_RENDERER = "postbode.forms.PanelFormRenderer"

# Database: SQLite in var/ unless DATABASE_URL says otherwise (PostgreSQL in production and CI).
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'postbode.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
# A kept connection (Gunicorn's workers: deploy/gunicorn.conf.py) is checked before a request reuses it, so a
# restarted database costs one failed check, not one failed request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] > 0
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "panel.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    # a mailbox's own user: its address and the mailbox's password (mailaccounts.access.own_mailbox)
    "mailaccounts.auth.MailboxBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: e-mail login, mandatory verification, TOTP + recovery codes + passkeys, rate limits.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "mailaccounts.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Postbode] "
ACCOUNT_RATE_LIMITS = {
    # Wrong passwords: 5 per address *from one IP* ("key" is address + IP, see tenants.adapters), so a
    # stranger who knows an address cannot keep its owner out; 20 per IP over all addresses (credential
    # stuffing from one place), and every sign-in attempt at most 30 a minute per IP ("login").
    "login_failed": "20/5m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
# Behind the reverse proxy the client's IP is the last X-Forwarded-For entry the proxy added (1 proxy).
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
MFA_ADAPTER = "tenants.mfa.MfaAdapter"  # TOTP secrets and recovery-code seeds encrypted at rest
MFA_ENCRYPTION_KEY = env("MFA_ENCRYPTION_KEY", SECRET_KEY)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_TOTP_ISSUER = SITE_NAME

# Languages: Dutch is the default, English the alternative.
LANGUAGE_CODE = "nl"
# One date format and one money format everywhere: postbode/formats/<lang>/formats.py.
FORMAT_MODULE_PATH = ["postbode.formats"]
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Amsterdam"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves STATIC_ROOT (after `collectstatic`) with gzip variants made once at collect
# time; without a front server's help, Gunicorn serves the panel's static files efficiently.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Outgoing panel mail: console by default, SMTP when EMAIL_HOST is set.
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Postbode <noreply@postbode.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Cache: Redis when REDIS_URL is set (shared rate-limit counters across processes), else local memory.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Sessions read from Redis, written through to the database (kept across a Redis restart): every signed-in
    # request reads its session, so this takes one query off each page.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: eager (in-process) unless a broker is configured.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "reconcile-mailhosts": {
        "task": "mailhosts.tasks.reconcile_mailhosts",
        "schedule": timedelta(minutes=5),
    },
    "measure-usage": {"task": "mailaccounts.tasks.measure_usage", "schedule": timedelta(minutes=15)},
    "purge-deleted-mailboxes": {
        "task": "mailaccounts.tasks.purge_deleted_mailboxes",
        "schedule": crontab(minute=17),
    },
    "check-dns": {"task": "mailaccounts.tasks.check_dns_due", "schedule": timedelta(minutes=5)},
    "expire-unverified-domains": {
        "task": "mailaccounts.tasks.expire_unverified_domains",
        "schedule": crontab(minute=37),
    },
    "ingest-relay-logs": {"task": "relay.tasks.ingest_all_hosts", "schedule": timedelta(seconds=5)},
    "purge-relay-log": {"task": "relay.tasks.purge_relay_log", "schedule": crontab(hour=3, minute=41)},
    "ingest-spam-logs": {"task": "spamfilter.tasks.ingest_all_hosts", "schedule": timedelta(seconds=10)},
    "check-rspamd": {"task": "spamfilter.tasks.check_all_hosts", "schedule": timedelta(minutes=1)},
    "purge-spam-results": {"task": "spamfilter.tasks.purge_results", "schedule": crontab(hour=3, minute=53)},
    "generate-invoices": {
        "task": "billing.tasks.generate_monthly_invoices",
        "schedule": crontab(day_of_month=1, hour=2, minute=5),
    },
    "dump-database": {"task": "backups.tasks.dump_database", "schedule": crontab(hour=1, minute=45)},
    "backup-mailhosts": {"task": "backups.tasks.backup_all_hosts", "schedule": crontab(hour=2, minute=30)},
    "check-backup-health": {"task": "backups.tasks.check_backup_health", "schedule": crontab(minute=50)},
    "remind-overdue-invoices": {
        "task": "billing.tasks.remind_overdue_invoices",
        "schedule": crontab(hour=9, minute=0),
    },
    "collect-open-invoices": {
        "task": "billing.tasks.collect_open_invoices",
        "schedule": crontab(hour=6, minute=5),
    },
    "suspend-unpaid-customers": {
        "task": "billing.tasks.suspend_unpaid_customers",
        "schedule": crontab(hour=9, minute=30),
    },
    "advance-cancellations": {
        "task": "billing.tasks.advance_cancellations",
        "schedule": crontab(minute=23),
    },
}

# Mail hosts: the embedded default renders into var/mailhost/ and reloads nothing.
MAILHOST_DEFAULT_NAME = env("MAILHOST_DEFAULT_NAME", "mx1")
MAILHOST_DEFAULT_HOSTNAME = env("MAILHOST_DEFAULT_HOSTNAME", "mx1.postbode.localhost")
MAILHOST_DEFAULT_CONFIG_DIR = env("MAILHOST_DEFAULT_CONFIG_DIR", str(VAR_DIR / "mailhost"))
MAIL_UID = env_int("MAIL_UID", 5000)
MAIL_GID = env_int("MAIL_GID", 5000)
MAILBOX_RETENTION_DAYS = env_int("MAILBOX_RETENTION_DAYS", 30)
# The user OpenDKIM runs as, given the DKIM key files when the apply runs as root (production: opendkim).
MAILHOST_DKIM_KEY_OWNER = env("MAILHOST_DKIM_KEY_OWNER", "")
# The group Dovecot's auth process runs as, given the rendered passwd-files (mode 0640).
MAILHOST_AUTH_GROUP = env("MAILHOST_AUTH_GROUP", "dovecot")
# Each file the apply writes reaches the disk before it replaces the old one, so a crash leaves one or the other.
MAILHOST_FSYNC = True
# A whole host's apply renders the alias and sender-login maps, and fills Dovecot's table, in forked child
# processes beside the rest (on the machine's other core) when the host has at least this many mailboxes
# (`mailhosts/forking.py`); 0: always.
MAILHOST_FORK_MIN_ROWS = env_int("MAILHOST_FORK_MIN_ROWS", 20000)
# From this size on, an assembled Postfix hash map whose database `postmap -i` changes in place is changed in
# place as well (`mailhosts.apply.IndexedFile.patch`: a change costs its own size, not a copy of the map);
# smaller ones are written anew, in the order of their parts.
MAILHOST_PATCH_MIN_BYTES = env_int("MAILHOST_PATCH_MIN_BYTES", 4 * 1024 * 1024)
# The local mail stack (`manage.py mailstack`): its directory and the first of its 12 loopback ports.
MAILSTACK_DIR = Path(env("MAILSTACK_DIR", str(VAR_DIR / "mailstack")))
MAILSTACK_PORT_BASE = env_int("MAILSTACK_PORT_BASE", 20000)
# rspamd in the local mail stack: its Bayes statistics (Redis) and its compiled regex cache (kept across stacks).
MAILSTACK_RSPAMD_REDIS_URL = env("MAILSTACK_RSPAMD_REDIS_URL", "redis://127.0.0.1:6379/14")
# A login whose outgoing mail rspamd refused this many times within an hour is flagged (a stolen password).
SPAM_OUTBOUND_FLAG_AFTER = env_int("SPAM_OUTBOUND_FLAG_AFTER", 5)
RSPAMD_HS_CACHE_DIR = Path(env("RSPAMD_HS_CACHE_DIR", str(VAR_DIR / "rspamd-cache")))
# rspamd's controller (learning, status, reloads) asks for this password; rspamd's configuration holds only its
# hash (`rspamadm pw`), the mail user's learning scripts read it from a file only root and that user can read.
RSPAMD_CONTROLLER_PASSWORD = env(
    "RSPAMD_CONTROLLER_PASSWORD", hashlib.sha256(f"postbode-rspamd:{SECRET_KEY}".encode()).hexdigest()
)
# The DNS server rspamd in the local mail stack asks (host:port) for SPF, DKIM and DMARC; the integration tests
# point it at their own (tests/dns_server.py). Empty: those checks are off in the local stack, as it may have no
# DNS at all (production always checks them, through the host's own resolver: deploy/README.md).
MAILSTACK_RSPAMD_NAMESERVER = env("MAILSTACK_RSPAMD_NAMESERVER", "")

# DNS: checks use these resolvers (comma-separated IPs) and port; empty means the system resolver.
DNS_RESOLVERS = env_list("DNS_RESOLVERS", "")
DNS_PORT = env_int("DNS_PORT", 53)
DNS_TIMEOUT = float(env("DNS_TIMEOUT", "3"))
DOMAIN_VERIFICATION_PREFIX = env("DOMAIN_VERIFICATION_PREFIX", "_postbode")
# A domain not verified this many days after it was added is removed (it claims nothing meanwhile).
UNVERIFIED_DOMAIN_DAYS = env_int("UNVERIFIED_DOMAIN_DAYS", 14)

# DKIM private keys are encrypted at rest with this key (any string; a Fernet key is derived from it).
DKIM_ENCRYPTION_KEY = env("DKIM_ENCRYPTION_KEY", SECRET_KEY)
# After rotation the old key's DNS record must stay published this long before it may be removed.
DKIM_RETIRE_GRACE_DAYS = env_int("DKIM_RETIRE_GRACE_DAYS", 7)
# TTL of the records customers are told to publish, and where mta-sts.<domain> should point (this panel).
DNS_RECORD_TTL = env_int("DNS_RECORD_TTL", 3600)
MTA_STS_POLICY_HOST = env("MTA_STS_POLICY_HOST", SITE_URL.split("://")[-1].split("/")[0].split(":")[0])
MTA_STS_MAX_AGE = env_int("MTA_STS_MAX_AGE", 604800)

# Device set-up (devices/). Mail programs find their settings on this panel: autoconfig.<domain> and
# autodiscover.<domain> point here (CNAME), as does the _autodiscover._tcp SRV record.
AUTOCONFIG_HOST = env("AUTOCONFIG_HOST", MTA_STS_POLICY_HOST)
# Apple configuration profiles are signed with this certificate (PEM, with its chain) and key; in production
# the panel's own TLS certificate, so iOS shows the profile as verified. Empty: a throw-away self-signed
# certificate in VAR_DIR (development; iOS then says "not verified").
DEVICE_PROFILE_SIGNING_CERT = env("DEVICE_PROFILE_SIGNING_CERT", "")
DEVICE_PROFILE_SIGNING_KEY = env("DEVICE_PROFILE_SIGNING_KEY", "")
# How long the one-time profile link behind the device page's QR code works.
DEVICE_PROFILE_LINK_MINUTES = env_int("DEVICE_PROFILE_LINK_MINUTES", 15)
# Autodiscover request bodies above this many bytes are refused (400) unread.
AUTODISCOVER_MAX_BYTES = env_int("AUTODISCOVER_MAX_BYTES", 16384)
# Radicale refuses larger request bodies (413); rendered into deploy/radicale/radicale.conf by the mail stack.
DAV_MAX_CONTENT_LENGTH = env_int("DAV_MAX_CONTENT_LENGTH", 10_000_000)

# Webmail (Roundcube on the mail hosts, webmail/ and deploy/roundcube/). WEBMAIL_URL is the one address for
# every customer (webmail.<domain> may point to it by CNAME); the default is the local mail stack's Roundcube.
WEBMAIL_URL = env("WEBMAIL_URL", f"http://127.0.0.1:{MAILSTACK_PORT_BASE + 45}/")
# The secret the mail hosts' webmail shows the panel (single sign-on, password changes) and the key that
# encrypts its sessions, both rendered onto the mail hosts (webmail/roundcube.json); set them in production.
WEBMAIL_API_SECRET = env(
    "WEBMAIL_API_SECRET", hashlib.sha256(f"postbode-webmail-api:{SECRET_KEY}".encode()).hexdigest()
)
WEBMAIL_DES_KEY = env(
    "WEBMAIL_DES_KEY", hashlib.sha256(f"postbode-webmail-des:{SECRET_KEY}".encode()).hexdigest()[:24]
)
# A webmail session opened from the panel logs in to its mailbox's mail host with a credential for that one
# mailbox (webmail/credentials.py), which Dovecot checks itself: each host's key derives from this secret,
# and the credential works WEBMAIL_SESSION_SECONDS (the longest such webmail session), only from
# WEBMAIL_ALLOW_NETS (the webmail's addresses as the mail hosts see them).
WEBMAIL_CREDENTIAL_SECRET = env(
    "WEBMAIL_CREDENTIAL_SECRET",
    hashlib.sha256(f"postbode-webmail-credential:{SECRET_KEY}".encode()).hexdigest(),
)
WEBMAIL_SESSION_SECONDS = env_int("WEBMAIL_SESSION_SECONDS", 8 * 3600)
WEBMAIL_ALLOW_NETS = env_list("WEBMAIL_ALLOW_NETS", "127.0.0.1/32")
# The group of the PHP-FPM pool that runs Roundcube, given its files from the panel (mode 0640).
WEBMAIL_PHP_GROUP = env("WEBMAIL_PHP_GROUP", "www-data")
# How long an "Open webmail" link works (seconds, at most 60), and wrong current passwords allowed per
# mailbox in webmail's password form before it waits WEBMAIL_PASSWORD_FAILURE_SECONDS.
WEBMAIL_SSO_SECONDS = min(env_int("WEBMAIL_SSO_SECONDS", 60), 60)
WEBMAIL_PASSWORD_FAILURES = env_int("WEBMAIL_PASSWORD_FAILURES", 5)
WEBMAIL_PASSWORD_FAILURE_SECONDS = env_int("WEBMAIL_PASSWORD_FAILURE_SECONDS", 300)
# After a password change in webmail, how long the panel waits for the mail host to have the new password
# before it answers with the session's next credential (which works only from then on).
WEBMAIL_PASSWORD_APPLY_WAIT = float(env("WEBMAIL_PASSWORD_APPLY_WAIT", "5"))

# Relay log
RELAY_LOG_RETENTION_DAYS = env_int("RELAY_LOG_RETENTION_DAYS", 30)
# Time zone of syslog-style timestamps in the Postfix logs (they carry none; RFC 3339 ones carry their own):
# the mail host's local time, which is TIME_ZONE unless the host's system clock runs in another zone.
RELAY_LOG_TIMEZONE = env("RELAY_LOG_TIMEZONE", TIME_ZONE)
# The submission host name shown to customers with their relay credentials.
RELAY_SMTP_HOST = env("RELAY_SMTP_HOST", MAILHOST_DEFAULT_HOSTNAME)
# Redis for the relay policy service's hourly counters (database 0 of REDIS_URL's server by default).
RELAY_POLICY_REDIS_URL = env("RELAY_POLICY_REDIS_URL", REDIS_URL or "redis://127.0.0.1:6379/0")

# Backups (restic): one repository per mail host ("{host}" is its name), a local path, sftp:, s3:, rest:...
# The password encrypts the repositories: keep it stable and stored apart from them.
BACKUP_REPOSITORY = env("BACKUP_REPOSITORY", str(VAR_DIR / "backups" / "restic" / "{host}"))
BACKUP_PASSWORD = env("BACKUP_PASSWORD", hashlib.sha256(f"postbode-backup:{SECRET_KEY}".encode()).hexdigest())
BACKUP_CACHE_DIR = env("BACKUP_CACHE_DIR", str(VAR_DIR / "backups" / "cache"))
# Where a restore unpacks a snapshot before `doveadm import` (on the mail host; the mail user must enter it).
BACKUP_SCRATCH_DIR = env("BACKUP_SCRATCH_DIR", str(VAR_DIR / "backups" / "scratch"))
BACKUP_KEEP_DAILY = env_int("BACKUP_KEEP_DAILY", 30)
BACKUP_KEEP_WITHIN = env("BACKUP_KEEP_WITHIN", "1d")  # extra snapshots of the last day are kept too
BACKUP_MAX_AGE_HOURS = env_int("BACKUP_MAX_AGE_HOURS", 26)  # staff are alerted past this without a backup
# Mail a user deletes (an emptied trash included) stays restorable this long, outside the quota.
DELETED_MAIL_RETENTION_DAYS = env_int("DELETED_MAIL_RETENTION_DAYS", 30)
# The doveadm HTTP API key of the mail hosts (rendered into their config; the panel lists deleted mail).
DOVEADM_API_KEY = env(
    "DOVEADM_API_KEY", hashlib.sha256(f"postbode-doveadm:{SECRET_KEY}".encode()).hexdigest()
)
# Nightly pg_dump of the panel's own database (custom format), kept DB_BACKUP_KEEP_DAYS.
DB_BACKUP_ENABLED = env_bool("DB_BACKUP_ENABLED", True)
DB_BACKUP_DIR = env("DB_BACKUP_DIR", str(VAR_DIR / "backups" / "database"))
DB_BACKUP_KEEP_DAYS = env_int("DB_BACKUP_KEEP_DAYS", 30)

# Billing
VAT_RATE = env("VAT_RATE", "0.21")
INVOICE_PAYMENT_TERM_DAYS = env_int("INVOICE_PAYMENT_TERM_DAYS", 14)
COMPANY_NAME = env("COMPANY_NAME", "Postbode B.V.")
COMPANY_ADDRESS = env("COMPANY_ADDRESS", "Keizersgracht 1, 1015 CJ Amsterdam")
COMPANY_VAT_NUMBER = env("COMPANY_VAT_NUMBER", "NL000000000B01")
COMPANY_COC_NUMBER = env("COMPANY_COC_NUMBER", "00000000")  # KvK number, required on Dutch invoices
COMPANY_IBAN = env("COMPANY_IBAN", "NL00 BANK 0000 0000 00")  # where customers pay their invoices
COMPANY_COUNTRY = "NL"

# Behind the TLS reverse proxy (deploy/nginx/postbode-panel.conf), which sets X-Forwarded-Proto.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)  # the proxy example sends HSTS itself
# Online payment through Mollie. Without an API key (the default) invoices show bank-transfer instructions
# only. MOLLIE_API_ENDPOINT is empty in production (the client's own https://api.mollie.com); tests point it
# at a local server that answers like Mollie. Mollie calls the webhook at PAYMENT_WEBHOOK_BASE_URL (it must
# be reachable from the internet) and sends the customer back to PAYMENT_REDIRECT_BASE_URL.
MOLLIE_API_KEY = env("MOLLIE_API_KEY", "")
MOLLIE_API_ENDPOINT = env("MOLLIE_API_ENDPOINT", "")
PAYMENT_WEBHOOK_BASE_URL = env("PAYMENT_WEBHOOK_BASE_URL", SITE_URL)
PAYMENT_REDIRECT_BASE_URL = env("PAYMENT_REDIRECT_BASE_URL", SITE_URL)
# Days after the overdue reminder before an unpaid customer is suspended (lifted when paid).
PAYMENT_GRACE_DAYS = env_int("PAYMENT_GRACE_DAYS", 14)
# The money-back guarantee: cancelling within this many days of the first payment refunds everything.
MONEY_BACK_DAYS = env_int("MONEY_BACK_DAYS", 30)
# Days a closed account's data is kept (restorable by staff) before it is deleted for good.
CLOSED_ACCOUNT_RETENTION_DAYS = env_int("CLOSED_ACCOUNT_RETENTION_DAYS", 30)

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A form sent with a stale token (left open through a sign-out) gets our page in the user's language.
CSRF_FAILURE_VIEW = "postbode.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # fpdf2 subsets the invoice's fonts with fontTools, which reports each step at INFO: some 40 lines a PDF.
    "loggers": {"fontTools": {"level": "WARNING"}},
}
