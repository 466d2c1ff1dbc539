"""Errors as RFC 9457 problem details: ``application/problem+json`` with type, title, status,
detail and, for a form that did not validate, the errors per field."""

from __future__ import annotations

from http import HTTPStatus

from flask import Response, json


def problem(status: int, detail: str | None = None, errors: dict | None = None) -> Response:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {"type": "about:blank", "title": phrase, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="practika"'
    return response
