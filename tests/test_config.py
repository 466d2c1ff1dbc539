"""The factory under each config, and production refusing to start without its secrets."""

import pytest

from practika import create_app
from practika.config import Config, ConfigError, ProductionConfig, config_from_env, parse_bool

PRODUCTION_ENV = {
    "PRACTIKA_ENV": "production",
    "SECRET_KEY": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "DATABASE_URL": "postgresql://practika@db.internal/practika",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "STORAGE_URL": "/srv/practika/media",
    "BASE_URL": "https://practika.example.com",
}
REQUIRED = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STORAGE_URL", "BASE_URL"]


def test_embedded_defaults_need_no_configuration(tmp_path):
    config = Config({"INSTANCE_PATH": str(tmp_path)})
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'practika.db'}"
    assert config.REDIS_URL == f"unix://{tmp_path / 'redis.sock'}"
    assert config.STORAGE_URL == str(tmp_path / "media")
    assert config.MAIL_BACKEND == "outbox"
    assert config.SESSION_COOKIE_SECURE is False
    # A development secret is made once and kept, so sessions survive a restart.
    assert len(config.SECRET_KEY) == 64
    assert Config({"INSTANCE_PATH": str(tmp_path)}).SECRET_KEY == config.SECRET_KEY


def test_development_app_builds_from_defaults(tmp_path):
    app = create_app(config_from_env({"INSTANCE_PATH": str(tmp_path)}))
    assert app.config["ENV_NAME"] == "development"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert {"core", "accounts", "exercises", "comments"} <= set(app.blueprints)
    assert "admin" in app.cli.commands


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without_a_required_setting(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        config_from_env(env)


def test_production_names_every_missing_setting_at_once():
    with pytest.raises(ConfigError) as error:
        config_from_env({"PRACTIKA_ENV": "production"})
    message = str(error.value)
    for name in REQUIRED:
        assert name in message


def test_production_app_is_hardened():
    config = config_from_env(PRODUCTION_ENV)
    assert isinstance(config, ProductionConfig)
    # Plain postgres URLs are pointed at psycopg 3, the driver we ship.
    assert config.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/accounts/login")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


@pytest.mark.parametrize(
    "weak", ["x", "s" * 64, "changeme" * 8, "0123456789abcdef", "correct horse battery"]
)
def test_production_refuses_a_weak_secret_key(weak):
    with pytest.raises(ConfigError, match="SECRET_KEY is too weak"):
        config_from_env({**PRODUCTION_ENV, "SECRET_KEY": weak})


def test_production_answers_only_its_own_host_names():
    app = create_app(config_from_env(PRODUCTION_ENV))
    client = app.test_client()
    own = client.get("/accounts/login", base_url="https://practika.example.com")
    assert own.status_code == 200
    foreign = client.get("/accounts/login", base_url="https://attacker.example")
    assert foreign.status_code == 400
    # The load balancer and the container probe by address: liveness answers any Host.
    assert client.get("/core/health/", base_url="http://10.0.3.7:8000").status_code != 400


def test_production_never_trusts_x_forwarded_host():
    app = create_app(config_from_env({**PRODUCTION_ENV, "PROXY_HOPS": "2"}))
    answer = app.test_client().get(
        "/accounts/login",
        base_url="https://practika.example.com",
        headers={"X-Forwarded-Host": "attacker.example, attacker.example"},
    )
    assert answer.status_code == 200
    assert "attacker" not in answer.get_data(as_text=True)


def test_allowed_hosts_can_name_several(tmp_path):
    env = {**PRODUCTION_ENV, "ALLOWED_HOSTS": "practika.example.com, www.practika.example.com"}
    app = create_app(config_from_env(env))
    answer = app.test_client().get("/accounts/login", base_url="https://www.practika.example.com")
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "url", ["practika.example.com", "ftp://x.example", "https://x.example/?a=1"]
)
def test_a_base_url_that_is_not_one_is_refused(tmp_path, url):
    with pytest.raises(ConfigError, match="BASE_URL"):
        Config({"BASE_URL": url, "INSTANCE_PATH": str(tmp_path)})


def test_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError, match="PRACTIKA_ENV"):
        config_from_env({"PRACTIKA_ENV": "staging-ish"})


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", True)]
)
def test_booleans_are_parsed_explicitly(raw, expected):
    assert parse_bool("X", raw, default=True) is expected


def test_a_bool_that_is_not_one_is_an_error():
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        Config({"SESSION_COOKIE_SECURE": "maybe", "SECRET_KEY": "x", "INSTANCE_PATH": "/tmp"})


def test_a_number_that_is_not_one_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="MAX_UPLOAD_MB"):
        Config({"MAX_UPLOAD_MB": "lots", "INSTANCE_PATH": str(tmp_path)})


def test_comment_mail_waits_three_minutes_unless_told_otherwise(tmp_path):
    assert Config({"INSTANCE_PATH": str(tmp_path)}).MAIL_BATCH_SECONDS == 180
    assert (
        Config({"MAIL_BATCH_SECONDS": "0", "INSTANCE_PATH": str(tmp_path)}).MAIL_BATCH_SECONDS == 0
    )
    with pytest.raises(ConfigError, match="MAIL_BATCH_SECONDS must be at least 0"):
        Config({"MAIL_BATCH_SECONDS": "-1", "INSTANCE_PATH": str(tmp_path)})


def test_an_unknown_mail_backend_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MAIL_BACKEND must be outbox, smtp or ses"):
        Config({"MAIL_BACKEND": "pigeon", "INSTANCE_PATH": str(tmp_path)})


def test_smtp_starttls_is_parsed_not_truthy(tmp_path):
    config = Config({"SMTP_STARTTLS": "false", "INSTANCE_PATH": str(tmp_path)})
    assert config.SMTP_STARTTLS is False
