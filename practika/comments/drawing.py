"""Drawings on a paused frame of a take: arrows, lines, circles, free hand and angles, kept
with a feedback comment as vectors in the frame's own coordinates.

A point is ``[x, y]`` with 0 <= x, y <= 1 across the upright picture as it is stored, the
origin at its top left: not the screen, so a drawing lands on the same spot of the frame
whatever the screen's size, the letterboxing around the video, or a viewer's mirroring
(static/js/drawing.js maps it each way). The shapes and their points:

- ``arrow``, ``line``: from, to;
- ``circle``: the centre, then a point on the rim (a circle on the picture, whatever its
  shape, where a radius in frame units would draw an ellipse);
- ``angle``: the end of one arm, the vertex, the end of the other (shown with its degrees);
- ``free``: the hand's path, 2 to MAX_FREE_POINTS points.

What the browser sends is checked here, and refused whole with a reason: known shapes and
colours, finite numbers inside the frame, and caps on shapes and points.
"""

from __future__ import annotations

import json
import math
from typing import Any

SHAPE_POINTS = {"arrow": (2, 2), "line": (2, 2), "circle": (2, 2), "angle": (3, 3)}
MAX_FREE_POINTS = 500
COLOURS = ("red", "yellow", "green", "blue", "white")
MAX_SHAPES = 30
MAX_POINTS = 2000  # in all the shapes: free hand is thinned by the browser to stay under it
MAX_BYTES = 64 * 2**10  # the JSON a page sends; far over what MAX_POINTS takes
PLACES = 4  # a ten-thousandth of the frame: under half a pixel at 4K

Shape = dict[str, Any]
TOO_LARGE = "This drawing is too large: draw fewer or simpler shapes."


class DrawingRefused(ValueError):
    """A drawing that cannot be kept, with a reason for whoever sent it."""


def drawing_from_form(raw: str | None) -> list[Shape] | None:
    """The drawing a page's form sends as JSON text; None when there is none."""
    if raw is None or not raw.strip():
        return None
    if len(raw.encode()) > MAX_BYTES:
        raise DrawingRefused(TOO_LARGE)
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise DrawingRefused("This drawing could not be read. Draw it again.") from None
    return checked_drawing(data)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a coordinate")


def checked_drawing(data: object) -> list[Shape] | None:
    """``data`` (parsed JSON, from a form or the API) as the shapes to keep, their points
    rounded to PLACES; None for an empty drawing. Raises DrawingRefused."""
    if data is None:
        return None
    if not isinstance(data, list):
        raise DrawingRefused("A drawing is a list of shapes.")
    if len(data) > MAX_SHAPES:
        raise DrawingRefused(f"A drawing may have at most {MAX_SHAPES} shapes.")
    shapes = [_shape(item, number) for number, item in enumerate(data, start=1)]
    if sum(len(shape["points"]) for shape in shapes) > MAX_POINTS:
        raise DrawingRefused(f"A drawing may have at most {MAX_POINTS} points in all.")
    return shapes or None


def _shape(item: object, number: int) -> Shape:
    if not isinstance(item, dict) or set(item) != {"shape", "colour", "points"}:
        raise DrawingRefused(f"Shape {number} must have a shape, a colour and points, only.")
    kind, colour, points = item["shape"], item["colour"], item["points"]
    least, most = SHAPE_POINTS.get(kind, (2, MAX_FREE_POINTS) if kind == "free" else (0, -1))
    if most < 0:
        known = ", ".join([*SHAPE_POINTS, "free"])
        raise DrawingRefused(f"Shape {number} is not one we draw (we draw {known}).")
    if colour not in COLOURS:
        raise DrawingRefused(f"Shape {number}'s colour must be one of {', '.join(COLOURS)}.")
    if not isinstance(points, list) or not least <= len(points) <= most:
        count = str(least) if least == most else f"{least} to {most}"
        raise DrawingRefused(f"Shape {number} ({kind}) needs {count} points.")
    return {"shape": kind, "colour": colour, "points": [_point(p, number) for p in points]}


def _point(point: object, number: int) -> list[float]:
    if not isinstance(point, list) or len(point) != 2:
        raise DrawingRefused(f"Shape {number} has a point that is not [x, y].")
    for value in point:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not 0 <= value <= 1:
            raise DrawingRefused(f"Shape {number} has a point outside the frame (0 to 1).")
    return [round(float(value), PLACES) for value in point]
