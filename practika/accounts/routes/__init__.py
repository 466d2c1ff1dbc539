"""The accounts blueprint's views; importing this package registers them on ``bp``."""

from practika.accounts import bp
from practika.accounts.routes import api_tokens, auth, invitations, profile

__all__ = ["api_tokens", "auth", "bp", "invitations", "profile"]
