"""The JSON API under /api/v1/, for API clients: personal tokens only (``Authorization:
Bearer``). A login cookie is not accepted, which is also why the API needs no CSRF token: a
browser never sends a bearer token on its own. Rate limited per token."""

from __future__ import annotations

import hashlib

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import Unauthorized

from practika.accounts.services.api_tokens import bearer_token, user_for
from practika.api import bp
from practika.extensions import csrf, limiter

csrf.exempt(bp)


def _token_key() -> str:
    """Counted per token (by its hash, so the limit is checked before any database work);
    a request without one counts against its address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "api-token:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "api-anonymous:" + (request.remote_addr or "")


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_token_key)(bp)


PUBLIC = {"api.openapi"}


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC:
        return
    found = user_for(bearer_token())
    if found is None:
        raise Unauthorized("Send a valid API token: Authorization: Bearer <token>.")
    g.api_user, g.api_token = found


@bp.get("/me")
def me():
    user = g.api_user
    return jsonify(
        id=user.id,
        username=user.username,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        display_name=user.display_name,
        role=user.role,
        is_staff=user.is_staff,
    )
