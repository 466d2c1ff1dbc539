"""``flask admin`` commands for people: set-role, deactivate, metrics checked against the
data, and the beta's invitations."""

from __future__ import annotations

import click
import sqlalchemy as sa

from practika.accounts.models import (
    BetaInvitation,
    Profile,
    RoleName,
    User,
    UserMetrics,
    normalize_email,
)
from practika.accounts.services import AccountError
from practika.accounts.services.invitations import INVITATION_DAYS, invite, revoke, state
from practika.accounts.services.users import find_by_login, get_role
from practika.extensions import db


def _user(login: str) -> User:
    user = find_by_login(login)
    if user is None:
        raise click.ClickException(f"no user with email or username {login!r}")
    return user


@click.command("set-role")
@click.argument("login", metavar="EMAIL_OR_USERNAME")
@click.argument("role", type=click.Choice([r.value for r in RoleName], case_sensitive=False))
def set_role(login: str, role: str) -> None:
    """Make a user a student or a teacher, and mark their onboarding done (so they are not
    asked to choose again)."""
    user = _user(login)
    old = user.role or "no role"
    if user.profile is None:  # create_user always makes one; older rows may lack it
        user.profile = Profile(metrics=UserMetrics())
    user.profile.role = get_role(role.lower())
    user.profile.onboarding_completed = True
    db.session.commit()
    click.echo(f"{user.username}: {old} -> {user.role}.")


@click.command("deactivate")
@click.argument("login", metavar="EMAIL_OR_USERNAME")
@click.option("--reactivate", is_flag=True, help="Let a deactivated user log in again.")
def deactivate(login: str, reactivate: bool) -> None:
    """Stop a user from logging in; their sessions end on their next request and their data
    stays. Refuses to deactivate the last active staff user. --reactivate undoes it."""
    user = _user(login)
    if reactivate:
        if user.is_active:
            click.echo(f"{user.username} is already active; nothing changed.")
            return
        user.is_active = True
        db.session.commit()
        click.echo(f"Reactivated {user.username} <{user.email}>: they can log in again.")
        return
    if not user.is_active:
        click.echo(f"{user.username} is already deactivated; nothing changed.")
        return
    if user.is_staff:
        # Lock the active staff rows (PostgreSQL), so two admins deactivating each other at
        # once cannot both pass this check.
        active_staff = db.session.scalars(
            sa.select(User.id).where(User.is_staff, User.is_active).with_for_update()
        ).all()
        if len(active_staff) <= 1:
            raise click.ClickException(
                f"{user.username} is the last active staff user; make another staff user first"
            )
    user.is_active = False
    db.session.commit()
    click.echo(f"Deactivated {user.username} <{user.email}>: they can no longer log in.")


@click.command("invite")
@click.argument("email")
@click.option("--days", default=INVITATION_DAYS, show_default=True, help="Days the link works.")
def invite_command(email: str, days: int) -> None:
    """Invite EMAIL to the beta: mail the sign-up link (through the worker) and print it.
    Inviting again renews the link; the old one stops working."""
    try:
        link = invite(email, invited_by=None, days=days)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Invited {normalize_email(email)}; the link works for {days} days:")
    click.echo(link)


@click.command("invitations")
def invitations_command() -> None:
    """List the invitations with their state (pending, accepted, revoked, expired)."""
    rows = db.session.scalars(
        sa.select(BetaInvitation).order_by(BetaInvitation.created_at.desc())
    ).all()
    for invitation in rows:
        by = invitation.invited_by.username if invitation.invited_by else "cli"
        click.echo(
            f"{invitation.email:<40} {state(invitation):<9} by {by:<16} "
            f"expires {invitation.expires_at:%Y-%m-%d %H:%M}"
        )
    click.echo(f"{len(rows)} invitation(s).")


@click.command("revoke-invitation")
@click.argument("email")
def revoke_invitation_command(email: str) -> None:
    """Withdraw the invitation for EMAIL: its link stops working."""
    try:
        invitation = revoke(email)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Revoked the invitation for {invitation.email}.")
