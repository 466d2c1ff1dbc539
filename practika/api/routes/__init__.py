"""The API blueprint's views; importing this package registers them on ``bp``."""

from practika.api import bp
from practika.api.routes import auth, classes, direct, openapi, resources

__all__ = ["auth", "bp", "classes", "direct", "openapi", "resources"]
