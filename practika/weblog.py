"""Structured logs: one JSON line per record, one record per request with its id and timing.
No secret reaches a line: the formatter redacts the secrets URLs carry, whoever logs them."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request, session

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# The secrets a URL carries: the last segment of a mailed link (password reset, email
# verification, email change; /accounts/verify/resend is a route of its own, not a token)
# and the value of an invitation link's query. Found in any text (a request's path, Flask's
# "Exception on <path>", gunicorn's errors), so the name of the place stays in the line.
SECRET_IN_URL = re.compile(
    r"(?P<keep>/accounts/(?:reset|verify|email)/)(?!resend(?:[/?#\s\"']|$))[^/?#\s\"']+"
    r"|(?P<key>[?&](?:invitation|token)=)[^&#\s\"']+"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return SECRET_IN_URL.sub(lambda m: (m["keep"] or m["key"]) + REDACTED, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(
            {k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}, default=str
        )


def configure_logging(level: str) -> None:
    """JSON lines on stderr for everything logged through the root logger (Practika, RQ)."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # we log requests ourselves


def init_request_logging(app: Flask) -> None:
    logger = logging.getLogger("practika.request")

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        # A request refused by an earlier hook (a foreign Host, a body too large) never
        # reached _start: it is logged all the same, without a duration.
        started = g.get("request_started")
        duration = None if started is None else round((time.perf_counter() - started) * 1000, 2)
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        # From the session, not current_user: logging must not load the user (a query)
        # on requests that never needed it, such as health polls and static files. The
        # login cookie's id is "<user id>:<session token>": only the user id is logged.
        user_id = str(session.get("_user_id") or "").partition(":")[0] or None
        logger.info(
            "request",
            extra={
                "request_id": request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": duration,
                "user_id": user_id,
                "htmx": request.headers.get("HX-Request") == "true",
            },
        )
        return response
