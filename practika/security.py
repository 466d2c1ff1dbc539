"""Security headers on every response."""

from flask import Flask, Response

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
