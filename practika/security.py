"""Security headers on every response, the Host names a request may use, and how large a
body a request may send."""

from flask import Flask, Response, abort, request
from flask_login import current_user
from werkzeug.sansio.utils import host_is_trusted

from practika.accounts.services import api_tokens
from practika.core.youtube import EMBED_ORIGIN as YOUTUBE_EMBED_ORIGIN


def content_security_policy(storage_origin: str | None = None) -> str:
    """Our own scripts and styles only, and frames from YouTube's embed. With media in a
    bucket, the pages also play its videos, show its images and send it their uploads
    (presigned URLs, redirected to or signed for them): that origin, and only it."""
    bucket = f" {storage_origin}" if storage_origin else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{bucket}",
            f"media-src 'self' blob:{bucket}",
            f"connect-src 'self'{bucket}",
            f"frame-src {YOUTUBE_EMBED_ORIGIN}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_security_headers(app: Flask) -> None:
    hsts = app.config["HSTS"]
    policy = content_security_policy(app.extensions["storage"].browser_origin())

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
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


# The endpoints that take a video in their body: resumable (tus) pieces, and the forms and
# API routes that post a `video` file in one request. Only these, and only for a logged-in
# user (or an API client with a token), may send up to MAX_CONTENT_LENGTH.
VIDEO_BODY_ENDPOINTS = {
    "core.upload_create",
    "core.upload_resume",
    "exercises.create",
    "exercises.edit",
    "comments.submit",
    "comments.comment_on_exercise",
    "comments.reply",
    "api.upload_video",
    "api.upload_create",
    "api.upload_resume",
}
# Every other body is a form or a JSON document: the longest field is a 5,000-character
# text, so 1 MiB leaves room for any of them and keeps an anonymous client from making the
# app read (and parse) a large body before CSRF or a login check turns it away.
SMALL_BODY_BYTES = 2**20
# Any one non-file field, held in memory while parsing (Werkzeug also holds each 64 KiB
# read of a multipart body to this bound, files included, so it must stay well above that).
FORM_FIELD_BYTES = 256 * 2**10
FORM_PARTS = 100  # our largest form has a few dozen fields


def _may_send_video() -> bool:
    """Checked before the body is read: the login comes from the session cookie; the API's
    bearer token only by its shape here, because the API blueprint checks the token itself
    before any of its views reads the body (and it takes no CSRF token that would)."""
    if request.blueprint == "api":
        return api_tokens.bearer_token().startswith(api_tokens.PREFIX)
    return current_user.is_authenticated


def _urlencoded() -> bool:
    """A urlencoded form never carries a video, and Werkzeug reads it whole into memory
    (FORM_FIELD_BYTES bounds a multipart form's fields only): it is a small body wherever
    it is sent."""
    return request.mimetype == "application/x-www-form-urlencoded"


def init_body_limits(app: Flask) -> None:
    """A small body limit on every request, raised to MAX_CONTENT_LENGTH for video uploads
    by someone logged in. A body past its limit is refused (413) before it is read."""

    def _limit_body() -> None:
        request.max_form_memory_size = FORM_FIELD_BYTES
        request.max_form_parts = FORM_PARTS
        if request.endpoint in VIDEO_BODY_ENDPOINTS and not _urlencoded() and _may_send_video():
            return  # MAX_CONTENT_LENGTH, the app's setting, applies
        limit = min(SMALL_BODY_BYTES, app.config["MAX_CONTENT_LENGTH"] or SMALL_BODY_BYTES)
        request.max_content_length = limit
        if (request.content_length or 0) > limit:
            abort(413)
        # A small form is parsed here, so a form past the limits above is a 413 from this
        # hook. Parsed first by the rate limiter's key function, the 413 would be taken by
        # Flask-Limiter for a storage outage (it falls back to counting in memory).
        _ = request.form

    # Before every other hook but the Host check: Flask-WTF's CSRF check and the rate
    # limiter's key functions read the form, and would parse whatever body came first.
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_body)
