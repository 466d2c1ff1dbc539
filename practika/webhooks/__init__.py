"""Webhooks: staff register endpoints; events go out signed, from an RQ job, with retries.
The views live in ``routes``."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
