"""The JSON API for API clients, with personal tokens. The views live in ``routes``."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
