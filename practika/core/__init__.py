from flask import Blueprint

bp = Blueprint("core", __name__)

from practika.core import routes  # noqa: E402, F401
