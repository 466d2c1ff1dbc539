"""One import that loads every model, so ``db.metadata`` knows every table (for the factory,
Alembic and the shell). The shared model base is ``practika.model_base``."""


def load_all() -> None:
    """Import every model module so ``db.metadata`` knows every table."""
    from practika import mail_outbox as _mail_outbox  # noqa: F401
    from practika.accounts import models as _accounts  # noqa: F401
    from practika.classes import models as _classes  # noqa: F401
    from practika.comments import models as _comments  # noqa: F401
    from practika.core import models as _core  # noqa: F401
    from practika.exercises import models as _exercises  # noqa: F401
    from practika.webhooks import models as _webhooks  # noqa: F401
