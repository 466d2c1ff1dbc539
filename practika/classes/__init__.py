"""Classes: create and run a class, its roster, join code and progress; joining by a code.
The views live in ``routes``."""

from flask import Blueprint

bp = Blueprint("classes", __name__, url_prefix="/classes")
