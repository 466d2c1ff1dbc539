from flask import Blueprint

bp = Blueprint("accounts", __name__)

from practika.accounts import profile, routes, staff  # noqa: E402, F401
