"""Account verbs shared by the views and the admin CLI."""

from __future__ import annotations

import secrets
from functools import lru_cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from practika.accounts.models import Profile, Role, User, UserMetrics, normalize_email
from practika.extensions import db
from practika.models import utcnow


class AccountError(ValueError):
    """A request about an account that cannot be met, with a reason a person can read."""


def find_by_login(login: str) -> User | None:
    """The user whose email or username is ``login``."""
    login = login.strip()
    return db.session.scalar(
        sa.select(User).where(sa.or_(User.email == normalize_email(login), User.username == login))
    )


@lru_cache(maxsize=1)
def _unknown_user_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def authenticate(login: str, password: str) -> User | None:
    """The active user with these credentials, or None; unknown logins cost a hash too."""
    user = find_by_login(login)
    if user is None:
        check_password_hash(_unknown_user_hash(), password)  # same timing as a wrong password
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    return user


def record_login(user: User) -> None:
    now = utcnow()
    user.last_login = now
    if user.profile.first_login_at is None:
        user.profile.first_login_at = now
    user.profile.last_activity_at = now


def get_role(name: str) -> Role:
    role = db.session.scalar(sa.select(Role).where(Role.name == name))
    if role is None:
        raise AccountError(f"there is no role {name!r}; run the migrations")
    return role


def create_user(
    *,
    email: str,
    username: str,
    password: str,
    role: str | None,
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    """A user with profile and metrics, added to the session (the caller commits)."""
    email = normalize_email(email)
    if not username.strip():
        raise AccountError("a username is required")
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address")
    if len(password) < 8:
        raise AccountError("a password needs at least 8 characters")
    taken = db.session.scalar(
        sa.select(User).where(sa.or_(User.email == email, User.username == username))
    )
    if taken is not None:
        what = "email" if taken.email == email else "username"
        raise AccountError(f"that {what} is already taken")
    user = User(email=email, username=username.strip(), is_staff=is_staff, is_superuser=is_staff)
    user.set_password(password)
    user.profile = Profile(
        role=get_role(role) if role else None,
        onboarding_completed=role is not None,
        email_verified_at=utcnow() if email_verified else None,
        metrics=UserMetrics(),
    )
    db.session.add(user)
    return user
