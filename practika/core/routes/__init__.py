"""The core blueprint's views; importing this package registers them on ``bp``."""

from practika.core import bp
from practika.core.routes import direct_uploads, media, site, uploads

__all__ = ["bp", "direct_uploads", "media", "site", "uploads"]
