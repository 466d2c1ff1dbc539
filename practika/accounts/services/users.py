"""Account verbs shared by the views and the admin CLI."""

from __future__ import annotations

import secrets
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from practika.accounts.models import (
    BetaInvitation,
    Profile,
    Role,
    User,
    UserMetrics,
    new_session_token,
    normalize_email,
)
from practika.accounts.services import AccountError
from practika.accounts.services.api_tokens import revoke_all_tokens
from practika.accounts.services.invitations import claim
from practika.accounts.services.passwords import password_problem
from practika.accounts.services.signed_links import (
    Purpose,
    TokenError,
    make_token,
    read_email_change,
    read_token,
)
from practika.extensions import db
from practika.mail import absolute_url, send_mail
from practika.model_base import utcnow


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
    if problem := password_problem(password, personal=(username, email)):
        raise AccountError(problem)
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


def sign_up(
    *, username: str, email: str, password: str, invitation: BetaInvitation | None = None
) -> User | None:
    """A new account without a role yet (the person chooses one after verifying), with a
    verification mail queued; or, when the email already has an account, a note to its owner
    instead. Both look the same to whoever signed up (the caller shows one page), so the
    form tells nobody which addresses have accounts. Raises AccountError for a taken
    username (usernames are public)."""
    email = normalize_email(email)
    if db.session.scalar(sa.select(User.id).where(User.username == username.strip())):
        raise AccountError("That username is taken; try another.")
    existing = db.session.scalar(sa.select(User).where(User.email == email))
    if existing is not None:
        check_password_hash(_unknown_user_hash(), password)  # the same work as a new account
        send_mail(
            "account_exists",
            existing.email,
            "Your Practika account",
            name=existing.display_name,
            login_link=absolute_url("accounts.login"),
            reset_link=absolute_url("accounts.reset_request"),
        )
        return None
    user = create_user(email=email, username=username, password=password, role=None)
    if invitation is not None and not claim(invitation):
        db.session.rollback()
        raise AccountError("This invitation has just been used. Ask for a new one.")
    db.session.commit()
    send_verification(user)
    return user


def send_verification(user: User) -> None:
    link = absolute_url("accounts.verify", token=make_token(user, Purpose.VERIFY_EMAIL))
    subject = "Confirm your email for Practika"
    send_mail("verify_email", user.email, subject, name=user.display_name, link=link)


def verify_email(token: str) -> User:
    """Mark the token's email verified (raises TokenError for a bad, used or old link)."""
    user = read_token(token, Purpose.VERIFY_EMAIL)
    if user.profile.email_verified_at is not None:
        raise TokenError("This email address is already confirmed. You can log in.")
    user.profile.email_verified_at = utcnow()
    return user


def send_password_reset(email: str) -> None:
    """Mail a reset link if an active account uses ``email``; the caller answers the same
    either way (the mail goes out from the worker, so the timing barely differs)."""
    user = find_by_login(email) if "@" in email else None
    if user is None or not user.is_active:
        return
    link = absolute_url("accounts.reset_password", token=make_token(user, Purpose.RESET_PASSWORD))
    subject = "Choose a new Practika password"
    send_mail("reset_password", user.email, subject, name=user.display_name, link=link)


def choose_role(user: User, role: str) -> None:
    """Once only: a user who has a role cannot pick another (that is the admin's job)."""
    if user.profile.role is not None:
        raise AccountError("Your role is already chosen. An administrator can change it.")
    user.profile.role = get_role(role)
    user.profile.onboarding_completed = True


def change_password(user: User, password: str) -> None:
    """A new password ends every login and every API token made under the old one: whoever
    knew it (or stole a session with it) is out. The caller commits."""
    user.set_password(password)
    revoke_all_tokens(user)


def end_every_session(user: User) -> None:
    """Log out everywhere: every login cookie and every API token stops working."""
    user.session_token = new_session_token()
    revoke_all_tokens(user)


def request_email_change(user: User, email: str) -> None:
    """Ask the new address to confirm itself and tell the old one. The account keeps writing
    to the old address until the link is opened, so a stolen session cannot take it over."""
    link = absolute_url(
        "accounts.confirm_email", token=make_token(user, Purpose.CHANGE_EMAIL, email=email)
    )
    send_mail(
        "confirm_email_change",
        email,
        "Confirm your new email for Practika",
        name=user.display_name,
        link=link,
    )
    send_mail(
        "email_change_requested",
        user.email,
        "Your Practika email is being changed",
        name=user.display_name,
        new_email=email,
        reset_link=absolute_url("accounts.reset_request"),
    )


def confirm_email_change(token: str) -> User:
    """Move the account to the address the link confirms (raises TokenError)."""
    user, email = read_email_change(token)
    user.email = email
    user.profile.email_verified_at = utcnow()
    try:
        db.session.flush()  # the unique index decides, even against a sign-up this instant
    except IntegrityError:
        db.session.rollback()
        raise TokenError("That address is now used by another account.") from None
    return user
