"""Reading a JSON body: the fields a route takes, each checked, or 422 with every field's
problem at once (problem details' ``errors``)."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import HTTPException

from practika.api.problems import problem
from practika.json_body import json_object
from practika.numbers import OutOfRange, seconds


class Invalid(HTTPException):
    """A body that did not validate; rendered as problem details with the field errors."""

    code = 422

    def __init__(self, errors: dict[str, str], detail: str = "Some fields are not valid.") -> None:
        super().__init__(detail)
        self.errors = errors

    def get_response(self, environ=None, scope=None):
        return problem(422, self.description, self.errors)


def body() -> dict[str, Any]:
    data = json_object()
    if data is None:
        raise Invalid({"body": "Send a JSON object (Content-Type: application/json)."})
    return data


def text(
    data: dict, name: str, *, required: bool = False, max_length: int = 5000, errors: dict
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = "This field is required."
        return None
    if not isinstance(value, str):
        errors[name] = "Must be a string."
        return None
    value = value.replace("\x00", "")  # JSON allows it, no text column takes it (PostgreSQL)
    if required and not value.strip():
        errors[name] = "Must not be empty."
    elif len(value) > max_length:
        errors[name] = f"At most {max_length} characters."
    return value


def number(data: dict, name: str, *, required: bool = False, errors: dict) -> float | None:
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = "This field is required."
        return None
    if not isinstance(value, int | float):
        errors[name] = "Must be a number of seconds."
        return None
    try:
        return seconds(value, "")
    except OutOfRange as error:
        errors[name] = str(error)
        return None


def flag(data: dict, name: str, *, errors: dict) -> bool | None:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        errors[name] = "Must be true or false."
        return None
    return value
