"""Practika: a video practice platform. ``create_app`` builds the Flask application.

The factory imports the web side (Flask, the extensions, every blueprint) when it is called,
not when ``practika`` is imported, so ``practika.media`` and the other Flask-free wings can
be used and tested alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from practika.config import Config


def create_app(config: Config | None = None) -> Flask:
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from practika import models, permissions
    from practika.accounts.services.preferences import PLAYBACK_SPEEDS
    from practika.cli import admin
    from practika.config import BASE_DIR, config_from_env
    from practika.errors import init_error_handlers
    from practika.extensions import csrf, db, limiter, login_manager, migrate
    from practika.metrics import init_metrics
    from practika.numbers import RowId
    from practika.queue import init_queue
    from practika.security import init_body_limits, init_host_check, init_security_headers
    from practika.storage import init_storage
    from practika.text import clock, linkify, moment
    from practika.weblog import configure_logging, init_request_logging

    config = config or config_from_env()
    app = Flask(
        __name__,
        instance_path=str(config.INSTANCE_PATH),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(config)
    app.config["ENV_NAME"] = config.ENV_NAME
    if config.PROXY_HOPS:
        # X-Forwarded-Host is never trusted: no proxy of ours sets it, so it is the client's.
        hops = config.PROXY_HOPS
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)

    if not app.testing:
        configure_logging(app.config["LOG_LEVEL"])
    init_request_logging(app)
    init_metrics(app)

    models.load_all()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    init_queue(app)
    init_storage(app)

    app.url_map.converters["id"] = RowId  # before the routes that use it
    register_blueprints(app)
    app.cli.add_command(admin)

    app.add_template_filter(linkify)
    app.add_template_filter(clock)
    app.add_template_filter(moment)
    app.jinja_env.globals.update(
        may_edit_comment=permissions.may_edit_comment,
        may_delete_comment=permissions.may_delete_comment,
        may_retry_video=permissions.may_retry_video,
        playback_speeds=list(PLAYBACK_SPEEDS),
    )
    init_error_handlers(app)
    init_security_headers(app)
    init_body_limits(app)
    init_host_check(app)
    return app


def register_blueprints(app: Flask) -> None:
    """Each blueprint's ``routes`` registers its views on its ``bp`` when imported."""
    from practika.accounts import routes as accounts
    from practika.api import routes as api
    from practika.classes import routes as classes
    from practika.comments import routes as comments
    from practika.core import routes as core
    from practika.exercises import routes as exercises
    from practika.webhooks import routes as webhooks

    for routes in (core, accounts, classes, exercises, comments, api, webhooks):
        app.register_blueprint(routes.bp)
