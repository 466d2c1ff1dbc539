"""Security headers on every response, and the Host names a request may use."""

from flask import Flask, Response, abort, request
from werkzeug.sansio.utils import host_is_trusted

YOUTUBE_EMBED_ORIGIN = "https://www.youtube-nocookie.com"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        f"frame-src {YOUTUBE_EMBED_ORIGIN}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_security_headers(app: Flask) -> None:
    hsts = app.config["HSTS"]

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        # The camera and microphone are for recording attempts on our own pages only.
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


# Answered on any Host: the load balancer and the container probe by address, and none of
# these pages builds a link from the Host.
ANY_HOST_ENDPOINTS = {"core.live", "core.health", "core.metrics"}


def init_host_check(app: Flask) -> None:
    """Refuse (400) a request whose Host is not one of ALLOWED_HOSTS, when they are named."""
    allowed = app.config["ALLOWED_HOSTS"]
    if not allowed:
        return

    def _check_host() -> None:
        if request.endpoint not in ANY_HOST_ENDPOINTS and not host_is_trusted(
            request.host, allowed
        ):
            abort(400)

    # First of all hooks: nothing (CSRF, rate limits, sessions) runs for a foreign Host.
    app.before_request_funcs.setdefault(None, []).insert(0, _check_host)
