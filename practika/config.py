"""Every setting Practika reads from the environment, parsed in one place.

A config is an object built from a mapping (``os.environ`` by default), so tests can build
one from a plain dict. ``Config`` is the embedded default that needs no configuration at all;
``ProductionConfig`` refuses to exist without the settings production cannot guess.
"""

from __future__ import annotations

import os
import secrets
import zlib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from practika.media.validate import Limits

BASE_DIR = Path(__file__).resolve().parent.parent
MEDIA = Limits()  # the media limits' defaults have one home: media.validate

load_dotenv(BASE_DIR / ".env")


class ConfigError(RuntimeError):
    """A setting is missing or cannot be parsed."""


def parse_bool(name: str, value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def parse_int(name: str, value: str | None, default: int, *, minimum: int | None = None) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value!r}")
    return number


def parse_base_url(value: str) -> str:
    """The site's public address (links in mail are built on it): http(s), a host, no query."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"BASE_URL must look like https://practika.example.com, not {value!r}")
    return value.strip().rstrip("/")


def parse_hosts(value: str | None) -> list[str]:
    """``ALLOWED_HOSTS``: host names (with a port where the site has one), comma-separated."""
    return [host.strip().lower() for host in (value or "").split(",") if host.strip()]


def is_weak_secret(key: str) -> bool:
    """A key no one should sign sessions with: short, of few characters, or a pattern
    repeated (it compresses to less than half). A heuristic: it catches placeholders and
    typing, and lets any generated key (32+ random hex or base64 characters) through."""
    packed = len(zlib.compress(key.encode(), 9)) - 6  # zlib's header and checksum
    return len(key) < 32 or len(set(key)) < 10 or packed < len(key) / 2


def _dev_secret_key(instance: Path) -> str:
    """A random key kept under instance/, so development sessions survive a restart."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Embedded defaults: SQLite, local media, outbox mail and a private Redis under instance/."""

    ENV_NAME = "development"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.INSTANCE_PATH = Path(env.get("INSTANCE_PATH") or BASE_DIR / "instance").resolve()
        instance = self.INSTANCE_PATH

        self.SECRET_KEY = env.get("SECRET_KEY") or self.default_secret_key(instance)
        self.SQLALCHEMY_DATABASE_URI = self.database_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance / 'practika.db'}"
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = env.get("REDIS_URL") or f"unix://{instance / 'redis.sock'}"
        self.STORAGE_URL = env.get("STORAGE_URL") or str(instance / "media")
        self.S3_ENDPOINT_URL = env.get("S3_ENDPOINT_URL") or None
        self.AWS_REGION = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.S3_PRESIGN_SECONDS = parse_int(
            "S3_PRESIGN_SECONDS", env.get("S3_PRESIGN_SECONDS"), 300
        )
        self.STORAGE_ACCEL_PREFIX = env.get("STORAGE_ACCEL_PREFIX") or None
        self.MAIL_BACKEND = env.get("MAIL_BACKEND") or "outbox"
        self.MAIL_OUTBOX = Path(env.get("MAIL_OUTBOX") or instance / "outbox")
        # Links in mail are built on BASE_URL, never on a request's Host (a client sets it).
        self.BASE_URL = parse_base_url(env.get("BASE_URL") or "http://127.0.0.1:8000")
        # Host names the site answers to; empty answers any (development, a phone on the LAN).
        # Production defaults it to BASE_URL's host.
        self.ALLOWED_HOSTS = parse_hosts(env.get("ALLOWED_HOSTS"))
        self.MAIL_FROM = env.get("MAIL_FROM") or "Practika <no-reply@practika.test>"
        # A comment mail waits this long from the thread's first comment, and lists every
        # comment written there for the same reader meanwhile (0: each is mailed at once).
        self.MAIL_BATCH_SECONDS = parse_int(
            "MAIL_BATCH_SECONDS", env.get("MAIL_BATCH_SECONDS"), 180, minimum=0
        )
        if self.MAIL_BACKEND not in ("outbox", "smtp", "ses"):
            raise ConfigError(
                f"MAIL_BACKEND must be outbox, smtp or ses, not {self.MAIL_BACKEND!r}"
            )
        self.SMTP_HOST = env.get("SMTP_HOST") or "localhost"
        self.SMTP_PORT = parse_int("SMTP_PORT", env.get("SMTP_PORT"), 25)
        self.SMTP_USERNAME = env.get("SMTP_USERNAME") or None
        self.SMTP_PASSWORD = env.get("SMTP_PASSWORD") or None
        self.SMTP_STARTTLS = parse_bool("SMTP_STARTTLS", env.get("SMTP_STARTTLS"), False)
        self.SMTP_TIMEOUT = parse_int("SMTP_TIMEOUT", env.get("SMTP_TIMEOUT"), 10)
        self.SES_ENDPOINT_URL = env.get("SES_ENDPOINT_URL") or None
        self.FFMPEG_BINARY = env.get("FFMPEG_BINARY") or "ffmpeg"
        self.FFPROBE_BINARY = env.get("FFPROBE_BINARY") or "ffprobe"

        self.VIDEO_MAX_SECONDS = parse_int("VIDEO_MAX_SECONDS", env.get("VIDEO_MAX_SECONDS"), 600)
        # A voice comment is a remark at a moment, not a lecture.
        self.VOICE_MAX_SECONDS = parse_int("VOICE_MAX_SECONDS", env.get("VOICE_MAX_SECONDS"), 300)
        # What a video may cost, on what the file really holds (see media.validate.Limits).
        self.VIDEO_MAX_SIDE = parse_int(
            "VIDEO_MAX_SIDE", env.get("VIDEO_MAX_SIDE"), MEDIA.max_width
        )
        self.VIDEO_MAX_PIXELS = parse_int(
            "VIDEO_MAX_PIXELS", env.get("VIDEO_MAX_PIXELS"), MEDIA.max_pixels
        )
        self.VIDEO_MAX_FPS = parse_int(
            "VIDEO_MAX_FPS", env.get("VIDEO_MAX_FPS"), MEDIA.max_frame_rate
        )
        self.VIDEO_MAX_PIXEL_RATE = parse_int(
            "VIDEO_MAX_PIXEL_RATE", env.get("VIDEO_MAX_PIXEL_RATE"), MEDIA.max_pixel_rate
        )
        self.VIDEO_MAX_ATTEMPTS = parse_int("VIDEO_MAX_ATTEMPTS", env.get("VIDEO_MAX_ATTEMPTS"), 3)
        self.VIDEO_JOB_TIMEOUT = parse_int("VIDEO_JOB_TIMEOUT", env.get("VIDEO_JOB_TIMEOUT"), 3600)
        self.SWEEP_INTERVAL_SECONDS = parse_int(
            "SWEEP_INTERVAL_SECONDS", env.get("SWEEP_INTERVAL_SECONDS"), 60
        )
        # A running video or clip job stamps its row this often; the sweep takes a row whose
        # stamp is older than JOB_DEAD_AFTER_SECONDS for a dead worker's and retries it.
        self.JOB_HEARTBEAT_SECONDS = parse_int(
            "JOB_HEARTBEAT_SECONDS", env.get("JOB_HEARTBEAT_SECONDS"), 10
        )
        self.JOB_DEAD_AFTER_SECONDS = parse_int(
            "JOB_DEAD_AFTER_SECONDS", env.get("JOB_DEAD_AFTER_SECONDS"), 60
        )
        self.MAX_UPLOAD_BYTES = parse_int("MAX_UPLOAD_MB", env.get("MAX_UPLOAD_MB"), 1024) * 2**20
        self.MAX_CONTENT_LENGTH = self.MAX_UPLOAD_BYTES + 2**20  # room for a form around it
        self.UPLOAD_QUOTA_BYTES = (
            parse_int("UPLOAD_QUOTA_MB", env.get("UPLOAD_QUOTA_MB"), 10 * 1024) * 2**20
        )
        # Fairness: one person cannot hold the disk with announced uploads nor fill the
        # media queue for everyone. A resumable upload untouched this long is deleted.
        self.UPLOADS_IN_PROGRESS_MAX = parse_int(
            "UPLOADS_IN_PROGRESS_MAX", env.get("UPLOADS_IN_PROGRESS_MAX"), 5
        )
        self.VIDEOS_WAITING_MAX = parse_int("VIDEOS_WAITING_MAX", env.get("VIDEOS_WAITING_MAX"), 10)
        self.UPLOAD_EXPIRY_HOURS = parse_int(
            "UPLOAD_EXPIRY_HOURS", env.get("UPLOAD_EXPIRY_HOURS"), 24
        )
        # A video nothing uses (no exercise, attempt or comment) is due for cleanup this many
        # days after its upload: its owner gets a notice, and the sweep removes it once the
        # notice has run this many days, unless it is used or kept by then. Never 0: a video
        # just uploaded for a form not yet sent is used by nothing either.
        self.VIDEO_CLEANUP_AFTER_DAYS = parse_int(
            "VIDEO_CLEANUP_AFTER_DAYS", env.get("VIDEO_CLEANUP_AFTER_DAYS"), 14, minimum=1
        )
        self.VIDEO_CLEANUP_NOTICE_DAYS = parse_int(
            "VIDEO_CLEANUP_NOTICE_DAYS", env.get("VIDEO_CLEANUP_NOTICE_DAYS"), 7, minimum=1
        )
        # How many proxies (nginx, the load balancer) stand in front and set X-Forwarded-*;
        # the client address that rate limits count is only trusted from that many hops.
        self.PROXY_HOPS = parse_int("PROXY_HOPS", env.get("PROXY_HOPS"), 0)
        self.LOG_LEVEL = (env.get("LOG_LEVEL") or "INFO").upper()
        self.METRICS_TOKEN = env.get("METRICS_TOKEN") or ""  # unset: no /core/metrics
        self.API_RATE_LIMIT = env.get("API_RATE_LIMIT") or "120 per minute"
        self.CLOUDWATCH_NAMESPACE = env.get("CLOUDWATCH_NAMESPACE") or ""  # unset: no publishing
        self.CLOUDWATCH_ENDPOINT_URL = env.get("CLOUDWATCH_ENDPOINT_URL") or None
        self.LOGIN_RATE_LIMIT = env.get("LOGIN_RATE_LIMIT") or "10 per minute"
        self.BETA_INVITE_ONLY = parse_bool(
            "BETA_INVITE_ONLY", env.get("BETA_INVITE_ONLY"), self.ENV_NAME == "production"
        )
        self.MAIL_RATE_LIMIT = env.get("MAIL_RATE_LIMIT") or "5 per hour"
        # Wrong class codes, per account (per address before login): guessing one of 25**8.
        # Accepted sign-ups per network address: a class of 40 behind one school address
        # never reaches it (each email address also has MAIL_RATE_LIMIT).
        self.SIGNUP_RATE_LIMIT = env.get("SIGNUP_RATE_LIMIT") or "60 per hour"
        self.JOIN_RATE_LIMIT = env.get("JOIN_RATE_LIMIT") or "20 per hour"
        # A person's last activity is written at most this often (seconds), not on every request.
        self.PROFILE_ACTIVITY_INTERVAL = 300
        # Webhooks go to public addresses only, unless this allows private ones (a receiver
        # on the same network); each attempt waits this long to connect and for each read.
        self.WEBHOOK_ALLOW_PRIVATE = parse_bool(
            "WEBHOOK_ALLOW_PRIVATE", env.get("WEBHOOK_ALLOW_PRIVATE"), False
        )
        self.WEBHOOK_TIMEOUT = parse_int("WEBHOOK_TIMEOUT", env.get("WEBHOOK_TIMEOUT"), 5)
        self.WEBHOOK_RETRY_INTERVALS = [10, 60, 300]  # seconds before each retry of a delivery

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = parse_bool(
            "SESSION_COOKIE_SECURE", env.get("SESSION_COOKIE_SECURE"), self.ENV_NAME == "production"
        )
        # "Keep me logged in": a month, then the password again. A lost phone is logged in
        # for at most that long (or until "Log out everywhere").
        self.REMEMBER_COOKIE_NAME = "remember_token"
        self.REMEMBER_COOKIE_DURATION = timedelta(days=30)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.HSTS = self.ENV_NAME == "production"
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL.replace("unix://", "redis+unix://", 1)
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_HEADERS_ENABLED = True

    def default_secret_key(self, instance: Path) -> str:
        return _dev_secret_key(instance)

    @staticmethod
    def database_url(url: str) -> str:
        """Point plain postgres URLs at psycopg 3, the driver we install."""
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url


class ProductionConfig(Config):
    """Production: nothing may be guessed, so a missing setting stops start-up."""

    ENV_NAME = "production"
    REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STORAGE_URL", "BASE_URL")

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        missing = [name for name in self.REQUIRED if not env.get(name)]
        if missing:
            raise ConfigError(
                "PRACTIKA_ENV=production needs these settings, which are not set: "
                + ", ".join(missing)
                + ". See the configuration table in README.md."
            )
        super().__init__(env)
        if is_weak_secret(self.SECRET_KEY):
            raise ConfigError(
                "SECRET_KEY is too weak to sign sessions and reset links: use at least 32 random "
                "hex characters, e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        if not self.ALLOWED_HOSTS:
            self.ALLOWED_HOSTS = [urlsplit(self.BASE_URL).netloc.lower()]


class TestConfig(Config):
    """For the test suite: the fixtures pass in the services they started."""

    __test__ = False  # not a pytest test class
    ENV_NAME = "test"

    def __init__(self, environ: Mapping[str, str] | None = None, **overrides: object) -> None:
        super().__init__(environ if environ is not None else {})
        self.TESTING = True
        self.WTF_CSRF_ENABLED = False
        for name, value in overrides.items():
            setattr(self, name, value)

    def default_secret_key(self, instance: Path) -> str:
        return "test-secret-key"


CONFIGS: dict[str, type[Config]] = {
    "development": Config,
    "production": ProductionConfig,
}


def config_from_env(environ: Mapping[str, str] | None = None) -> Config:
    """The config that ``PRACTIKA_ENV`` names (development when unset)."""
    env = os.environ if environ is None else environ
    name = (env.get("PRACTIKA_ENV") or "development").strip().lower()
    if name not in CONFIGS:
        raise ConfigError(f"PRACTIKA_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name](env)
