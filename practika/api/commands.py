"""``flask admin tokens``: every personal API token, and revoking any of them."""

from __future__ import annotations

import click
import sqlalchemy as sa

from practika.accounts.models import ApiToken, User, normalize_email
from practika.accounts.services.api_tokens import issue_token, revoke_token
from practika.extensions import db


@click.command("tokens")
@click.option("--revoke", "revoke_id", type=int, help="Revoke the token with this id.")
@click.option(
    "--create",
    "owner",
    metavar="EMAIL_OR_USERNAME",
    help="Make a token for this user and print its secret (only this once).",
)
@click.option("--name", default="CLI", show_default=True, help="With --create: its name.")
@click.option("--days", type=int, help="With --create: days until it expires (default: never).")
def tokens_command(revoke_id: int | None, owner: str | None, name: str, days: int | None) -> None:
    """List API tokens (never their secrets), revoke one with --revoke ID, or make one with
    --create (the secret is printed alone on its line, for scripts)."""
    if owner is not None:
        login = sa.or_(User.email == normalize_email(owner), User.username == owner)
        user = db.session.scalar(sa.select(User).where(login))
        if user is None:
            raise click.ClickException(f"no user {owner!r}")
        _, secret = issue_token(user, name, days)
        db.session.commit()
        click.echo(secret)
        return
    if revoke_id is not None:
        token = db.session.get(ApiToken, revoke_id)
        if token is None:
            raise click.ClickException(f"no token with id {revoke_id}")
        revoke_token(token)
        click.echo(
            f"Revoked token {token.id} ({token.prefix}…, {token.name!r}) of {token.user.username}."
        )
        return
    tokens = db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)).all()
    for token in tokens:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(
            f"{token.id:>5}  {token.prefix}…  {token.state:<8} {token.user.username:<16} "
            f"last used {used:<16}  {token.name}"
        )
    click.echo(f"{len(tokens)} token(s).")
