"""Numbers that come in (moments of a video, page numbers): finite and in range, or refused
with a message a person can act on. One home for the rule, used by forms, pages and the API.

``float("inf")``, ``float("nan")`` and JSON's ``Infinity``/``NaN`` all parse as numbers; stored,
they break every page that shows them, so nothing non-finite gets past here.
"""

from __future__ import annotations

import math

from flask import request
from werkzeug.routing import IntegerConverter
from wtforms import ValidationError

MAX_SECONDS = 24 * 3600  # no video is a day long: a moment past that is a typo or an attack
MAX_PAGE = 10_000
MAX_ROW_ID = 2**31 - 1  # an INTEGER primary key on PostgreSQL; SQLite's is wider


class OutOfRange(ValueError):
    """A number that cannot be used; the message says which and why (answered 422)."""


def seconds(value: object, name: str = "Time") -> float:
    """``value`` as a moment of a video, in seconds: a finite number from 0 to a day.
    ``name`` starts the message; empty, it reads "Must be ...", for a field's own error."""
    if isinstance(value, bool):
        raise OutOfRange(_must(name, "a number of seconds."))
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OutOfRange(_must(name, "a number of seconds.")) from None
    if not math.isfinite(number) or not 0 <= number <= MAX_SECONDS:
        raise OutOfRange(_must(name, f"a number of seconds from 0 to {MAX_SECONDS}."))
    return number


def _must(name: str, what: str) -> str:
    return f"{name} must be {what}" if name else f"Must be {what}"


def page_arg(name: str = "page") -> int:
    """The page number in the query string: 1 when absent, else a whole number in range."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return 1
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or not 1 <= int(raw) <= MAX_PAGE:
        raise OutOfRange(f"The page must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)


class Seconds:
    """WTForms validator: the field holds a moment of a video (see ``seconds``)."""

    def __call__(self, form: object, field: object) -> None:
        if field.data is None:  # type: ignore[attr-defined]
            return
        try:
            seconds(field.data)  # type: ignore[attr-defined]
        except OutOfRange as error:
            raise ValidationError(str(error)) from None


class RowId(IntegerConverter):
    """``<id:name>`` in a route: a row's integer id, 1 to what the column holds. A longer
    number matches no route (404), never reaching the database as an overflow (500)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, min=1, max=MAX_ROW_ID)
