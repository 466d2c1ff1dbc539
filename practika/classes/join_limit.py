"""Guessing join codes is rate limited: JOIN_RATE_LIMIT refused codes per account (per
network address before anyone has logged in), one count shared by the typed code, the link
and the API, so trying by another door buys no more guesses. A code that works costs nothing."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request

from practika.accounts.models import User
from practika.extensions import limiter


def _refused(response: Response) -> bool:
    return response.status_code >= 400


def limit_joins(joiner: Callable[[], User | None]):
    """The decorator for a view that joins by a code; ``joiner`` gives the person asking,
    or None for a visitor."""

    def key() -> str:
        user = joiner()
        return f"join:{user.id}" if user is not None else f"join-address:{request.remote_addr}"

    return limiter.shared_limit(
        lambda: current_app.config["JOIN_RATE_LIMIT"],
        scope="join-code",
        key_func=key,
        deduct_when=_refused,
        override_defaults=False,  # the API's own per-token limit still applies
    )
