"""Writes a request can do without: a view counter, a "last used" or "last active" stamp.

Each runs as one small UPDATE in a commit of its own. When the database is locked (SQLite
while another process holds a long write), it waits only a moment and is then skipped, with
a warning: a count or a stamp is not worth a failed page, and nothing else depends on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Executable

from practika.extensions import db

log = logging.getLogger(__name__)
QUICK_BUSY_MS = 250  # how long a stamp waits for a locked SQLite database


@contextmanager
def _quick_wait() -> Iterator[None]:
    """Within the block, the session's SQLite connection waits QUICK_BUSY_MS for a lock.
    Its own wait is restored as the block ends, while the session still holds the
    connection: once a commit has handed it back, the pool may close it or lend it out."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        yield  # PostgreSQL locks rows, not the database: a stamp does not wait for others
        return
    raw = connection.connection.dbapi_connection
    (usual,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute(f"PRAGMA busy_timeout={QUICK_BUSY_MS}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout={usual}")


def record_quietly(statement: Executable, what: str) -> bool:
    """Execute and commit ``statement``; False (logged, rolled back) if the database was
    too busy to take it. Call it after the request's own commit: it commits."""
    try:
        with _quick_wait():
            db.session.execute(statement)  # takes the write lock, or gives up quickly
        db.session.commit()  # in WAL mode a commit waits for no one
    except OperationalError as error:
        db.session.rollback()
        log.warning("skipped %s: the database is busy (%s)", what, error.orig)
        return False
    return True
