from flask import Blueprint

bp = Blueprint("exercises", __name__)

from practika.exercises import routes  # noqa: E402, F401
