"""Webhooks: staff register endpoints; events go out signed, from an RQ job, with retries."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)
