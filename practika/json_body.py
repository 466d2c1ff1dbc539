"""Reading a request's JSON body safely, for the API and the pages' JSON endpoints."""

from __future__ import annotations

from flask import request


def json_object() -> dict | None:
    """The request's JSON body when it is an object; None for anything else, including a
    body nested thousands deep, where the parser gives up (RecursionError) within the small
    body limit (practika.security)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return None
    return data if isinstance(data, dict) else None
