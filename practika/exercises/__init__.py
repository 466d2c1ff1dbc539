from flask import Blueprint

bp = Blueprint("exercises", __name__)
