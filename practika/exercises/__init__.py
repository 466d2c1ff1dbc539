"""Exercises: the list and search, the detail page, create and edit, clips.
The views live in ``routes``."""

from flask import Blueprint

bp = Blueprint("exercises", __name__, url_prefix="/exercises")
