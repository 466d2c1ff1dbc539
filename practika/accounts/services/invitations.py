"""Invitations to the closed beta: random tokens stored only as hashes, an expiry, and an
accept that succeeds once even when two people press the button at the same moment."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from practika.accounts.models import BetaInvitation, User, normalize_email
from practika.accounts.services import AccountError
from practika.extensions import db
from practika.mail import absolute_url, send_mail
from practika.model_base import utcnow

INVITATION_DAYS = 14


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def state(invitation: BetaInvitation) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= utcnow():
        return "expired"
    return "pending"


def invite(email: str, *, invited_by: User | None, days: int = INVITATION_DAYS) -> str:
    """Create (or renew) the invitation for ``email`` and mail it; returns the link. A new
    token replaces any earlier one, so an old link stops working."""
    email = normalize_email(email)
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(f"{email} already has an account")
    invitation = db.session.scalar(sa.select(BetaInvitation).where(BetaInvitation.email == email))
    if invitation is None:
        invitation = BetaInvitation(email=email)
        db.session.add(invitation)
    elif invitation.accepted_at is not None:
        raise AccountError(f"{email} has already accepted an invitation")
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.expires_at = utcnow() + timedelta(days=days)
    invitation.revoked_at = None
    invitation.invited_by = invited_by
    db.session.commit()
    link = absolute_url("accounts.signup", invitation=token)
    inviter = invited_by.display_name if invited_by else "The Practika team"
    send_mail(
        "invitation", email, "You are invited to Practika", link=link, inviter=inviter, days=days
    )
    return link


def find_pending(token: str | None) -> BetaInvitation | None:
    """The pending invitation a link's token belongs to (not used, revoked or expired)."""
    if not token:
        return None
    invitation = db.session.scalar(
        sa.select(BetaInvitation).where(BetaInvitation.token_hash == hash_token(token))
    )
    return invitation if invitation is not None and state(invitation) == "pending" else None


def claim(invitation: BetaInvitation) -> bool:
    """Mark it accepted, in the caller's transaction, only if nobody else just did: one
    conditional UPDATE, so of two simultaneous accepts exactly one gets True."""
    result = db.session.execute(
        sa.update(BetaInvitation)
        .where(
            BetaInvitation.id == invitation.id,
            BetaInvitation.accepted_at.is_(None),
            BetaInvitation.revoked_at.is_(None),
            BetaInvitation.expires_at > utcnow(),
        )
        .values(accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def revoke(email: str) -> BetaInvitation:
    invitation = db.session.scalar(
        sa.select(BetaInvitation).where(BetaInvitation.email == normalize_email(email))
    )
    if invitation is None:
        raise AccountError(f"there is no invitation for {email}")
    if invitation.accepted_at is not None:
        raise AccountError(f"{invitation.email} has already accepted; deactivate the user instead")
    invitation.revoked_at = utcnow()
    db.session.commit()
    return invitation
