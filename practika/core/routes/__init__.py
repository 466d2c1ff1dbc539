"""The core blueprint's views; importing this package registers them on ``bp``."""

from practika.core import bp
from practika.core.routes import media, site, uploads

__all__ = ["bp", "media", "site", "uploads"]
