"""Health, media serving (HTTP Range), uploads and the status fragment the page polls.
The views live in ``routes``."""

from flask import Blueprint

bp = Blueprint("core", __name__)
