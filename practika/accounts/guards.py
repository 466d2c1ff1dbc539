"""Who may do what: the loader Flask-Login needs, and decorators for role-only views."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import abort, flash, jsonify, request, url_for
from flask_login import current_user, login_required

from practika.accounts.models import User
from practika.extensions import db, login_manager
from practika.htmx import hx_redirect

P = ParamSpec("P")
R = TypeVar("R")

login_manager.login_view = "accounts.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    """The user a login cookie names, if its session token is still theirs and they are
    active; a password change gives a new token, so older cookies log nobody in."""
    user_id, _, token = cookie_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.is_active or not secrets.compare_digest(token, user.session_token):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    """Send to the login page; for htmx by ``HX-Redirect``, so no fragment shows a login form.
    A script that reads JSON (an upload straight to the bucket) is told in JSON instead."""
    if request.accept_mimetypes.best == "application/json":
        message = "You are logged out. Log in again, then send the same file: it goes on."
        return jsonify(error=message), 401
    flash(login_manager.login_message, login_manager.login_message_category)
    login_url = url_for("accounts.login", next=request.full_path.rstrip("?"))
    return hx_redirect(login_url)


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no ``//`` or ``\\`` tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def role_required(check: Callable[[User], bool]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Logged in, and ``check(user)`` true; anyone else learns nothing (404)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        @login_required
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not check(current_user):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


teacher_required = role_required(lambda user: user.is_teacher or user.is_staff)
staff_required = role_required(lambda user: user.is_staff)
