"""Comments, attempts and time-coded feedback: its pages arrive with the exercises issue."""

from practika.comments import bp  # noqa: F401
