"""Sign-up, login, email links, invitations, roles, the profile and API tokens.
The views live in ``routes``."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
