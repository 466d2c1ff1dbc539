from flask import Blueprint

bp = Blueprint("core", __name__)

from practika.core import routes, upload_routes  # noqa: E402, F401
