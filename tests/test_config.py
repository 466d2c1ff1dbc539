"""The factory under each config, and production refusing to start without its secrets."""

import pytest

from practika import create_app
from practika.config import Config, ConfigError, ProductionConfig, config_from_env, parse_bool

PRODUCTION_ENV = {
    "PRACTIKA_ENV": "production",
    "SECRET_KEY": "s" * 64,
    "DATABASE_URL": "postgresql://practika@db.internal/practika",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "STORAGE_URL": "/srv/practika/media",
}


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


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STORAGE_URL"])
def test_production_refuses_to_start_without_a_required_setting(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        config_from_env(env)


def test_production_names_every_missing_setting_at_once():
    with pytest.raises(ConfigError) as error:
        config_from_env({"PRACTIKA_ENV": "production"})
    message = str(error.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STORAGE_URL"):
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


def test_an_unknown_mail_backend_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MAIL_BACKEND must be outbox, smtp or ses"):
        Config({"MAIL_BACKEND": "pigeon", "INSTANCE_PATH": str(tmp_path)})


def test_smtp_starttls_is_parsed_not_truthy(tmp_path):
    config = Config({"SMTP_STARTTLS": "false", "INSTANCE_PATH": str(tmp_path)})
    assert config.SMTP_STARTTLS is False
