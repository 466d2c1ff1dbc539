"""People: users, their role and profile, beta invitations and usage metrics."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from practika.extensions import db
from practika.model_base import utcnow
from practika.text import single_line


class RoleName(StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"


def new_session_token() -> str:
    return secrets.token_hex(16)


def normalize_email(email: str) -> str:
    """One spelling per address, so uniqueness is case-insensitive on every database."""
    return email.strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(150), unique=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    is_active: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    is_staff: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    is_superuser: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    date_joined: so.Mapped[datetime] = so.mapped_column(
        default=utcnow, server_default=sa.func.now()
    )
    last_login: so.Mapped[datetime | None]
    first_name: so.Mapped[str] = so.mapped_column(sa.String(150), default="", server_default="")
    last_name: so.Mapped[str] = so.mapped_column(sa.String(150), default="", server_default="")
    # Part of the login cookie: a new one (on a password change) logs out every session.
    session_token: so.Mapped[str] = so.mapped_column(
        sa.String(32), default=new_session_token, server_default=""
    )

    profile: so.Mapped[Profile] = so.relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="joined"
    )

    @so.validates("email")
    def _normalize_email(self, _key: str, email: str) -> str:
        return normalize_email(email)

    @so.validates("first_name", "last_name")
    def _one_line(self, _key: str, value: str | None) -> str | None:
        return single_line(value)  # names reach mail subjects and logs: never a line break

    def set_password(self, password: str) -> None:
        """Set the password and end every session that used the old one."""
        self.password_hash = generate_password_hash(password)
        self.session_token = new_session_token()

    def get_id(self) -> str:
        """What the login cookie holds: the id and the current session token."""
        return f"{self.id}:{self.session_token}"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def role(self) -> str | None:
        return self.profile.role.name if self.profile and self.profile.role else None

    @property
    def is_teacher(self) -> bool:
        return self.role == RoleName.TEACHER

    @property
    def needs_a_role(self) -> bool:
        """A new account chooses student or teacher before anything else (staff need not)."""
        return self.profile.role is None and not self.is_staff

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.username

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class Role(db.Model):
    __tablename__ = "roles"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class Profile(db.Model):
    __tablename__ = "profiles"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    role_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("roles.id", ondelete="RESTRICT"), index=True
    )
    email_verified_at: so.Mapped[datetime | None]
    onboarding_completed: so.Mapped[bool] = so.mapped_column(
        default=False, server_default=sa.false()
    )
    first_login_at: so.Mapped[datetime | None]
    last_activity_at: so.Mapped[datetime | None]
    preferences: so.Mapped[dict[str, Any]] = so.mapped_column(
        sa.JSON, default=dict, server_default="{}"
    )

    user: so.Mapped[User] = so.relationship(back_populates="profile")
    role: so.Mapped[Role | None] = so.relationship(lazy="joined")
    metrics: so.Mapped[UserMetrics] = so.relationship(
        back_populates="profile", cascade="all, delete-orphan"
    )


class BetaInvitation(db.Model):
    __tablename__ = "beta_invitations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    accepted_at: so.Mapped[datetime | None]
    revoked_at: so.Mapped[datetime | None]
    invited_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    expires_at: so.Mapped[datetime]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, server_default=sa.func.now())

    invited_by: so.Mapped[User | None] = so.relationship()

    @so.validates("email")
    def _normalize_email(self, _key: str, email: str) -> str:
        return normalize_email(email)


class UserMetrics(db.Model):
    __tablename__ = "user_metrics"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    profile_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("profiles.id", ondelete="CASCADE"), unique=True
    )
    exercises_created: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    comments_made: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    total_video_time: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    profile: so.Mapped[Profile] = so.relationship(back_populates="metrics")


class ApiToken(db.Model):
    """A personal API token: a name, a hash of the secret (never the secret), an optional expiry."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    prefix: so.Mapped[str] = so.mapped_column(sa.String(12))  # shown, to tell tokens apart
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, server_default=sa.func.now())
    expires_at: so.Mapped[datetime | None]
    last_used_at: so.Mapped[datetime | None]
    revoked_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship()

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix}… {self.name!r}>"
