"""Classes: a teacher's group of students, the unit of privacy. Students join by a code."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from practika.extensions import db
from practika.model_base import Timestamped, one_of, utcnow
from practika.text import single_line

if TYPE_CHECKING:
    from practika.accounts.models import User

# Read aloud and typed on a phone: no 0/O, 1/I/L, 2/Z, 5/S or 8/B to mistake for another.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 8  # 25**8, about 1.5e11 codes: guessing one is rate limited far below that


def new_join_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: str) -> str:
    """What a person typed, as a stored code: any case, spaces and dashes left out."""
    return "".join(ch for ch in typed.upper() if ch not in " -\t")


class MemberRole(StrEnum):
    TEACHER = "teacher"
    STUDENT = "student"


class Classroom(Timestamped, db.Model):
    __tablename__ = "classes"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=uuid.uuid4)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    join_code: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True, default=new_join_code)
    joining_open: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    archived_at: so.Mapped[datetime | None]
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    created_by: so.Mapped[User | None] = so.relationship()
    members: so.Mapped[list[ClassMember]] = so.relationship(
        back_populates="classroom", cascade="all, delete-orphan"
    )

    @so.validates("name")
    def _one_line(self, _key: str, value: str | None) -> str | None:
        return single_line(value)  # class names reach mail subjects

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def display_code(self) -> str:
        """The code as it is read out: two groups of four."""
        return f"{self.join_code[:4]}-{self.join_code[4:]}"

    def __repr__(self) -> str:
        return f"<Classroom {self.name!r}>"


class ClassMember(db.Model):
    __tablename__ = "class_members"
    __table_args__ = (
        one_of("role", MemberRole),
        sa.Index("ix_class_members_user_role", "user_id", "role"),
    )

    class_id: so.Mapped[uuid.UUID] = so.mapped_column(
        sa.ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(16))
    joined_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, server_default=sa.func.now())

    classroom: so.Mapped[Classroom] = so.relationship(back_populates="members")
    user: so.Mapped[User] = so.relationship()

    def __repr__(self) -> str:
        return f"<ClassMember {self.user_id} {self.role} of {self.class_id}>"
