"""Comments, attempts and time-coded feedback on an exercise. The views live in ``routes``."""

from flask import Blueprint

bp = Blueprint("comments", __name__, url_prefix="/comments")
