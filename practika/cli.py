"""``flask admin``: the admin's toolbox on the command line."""

from __future__ import annotations

import sys
from itertools import groupby

import click
from flask import current_app

from practika.accounts.commands import (
    deactivate,
    invitations_command,
    invite_command,
    revoke_invitation_command,
    set_role,
)
from practika.accounts.models import RoleName
from practika.accounts.services import AccountError
from practika.accounts.services.users import create_user
from practika.api.commands import tokens_command
from practika.classes.commands import classes_command
from practika.core.commands import (
    cleanup,
    import_video,
    queue_command,
    reprocess,
    validate_assets,
)
from practika.demo import DEMO_ACCOUNTS, seed_demo
from practika.extensions import db
from practika.mail import send_mail
from practika.recount import recompute_metrics
from practika.sweep import sweep


@click.group()
def admin() -> None:
    """Run the Practika platform: users, demo data and more."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("no password on standard input")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@admin.command("create-user")
@click.option("--email", required=True, help="The user's email address (their login).")
@click.option("--username", required=True, help="A unique public name.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in RoleName]),
    help="student or teacher; leave out for a staff-only account or to let the user choose.",
)
@click.option("--staff", is_flag=True, help="Make the user staff (an administrator).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of a prompt.",
)
def create_user_command(
    email: str, username: str, role: str | None, staff: bool, password_stdin: bool
) -> None:
    """Create a user. The password is prompted for (or read from stdin), never an argument."""
    password = _read_password(password_stdin)
    account = {"email": email, "username": username, "role": role, "is_staff": staff}
    try:
        user = create_user(**account, password=password, email_verified=True)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    kind = "staff" if staff else role or "no role yet"
    click.echo(f"Created {user.username} <{user.email}> ({kind}).")


@admin.command("seed-demo")
@click.option("--force", is_flag=True, help="Allow it in production (not recommended).")
def seed_demo_command(force: bool) -> None:
    """Create the demo accounts and exercise, once; running it again changes nothing."""
    if current_app.config["ENV_NAME"] == "production" and not force:
        raise click.ClickException("refusing to create demo accounts in production")
    created = seed_demo()
    for line in created:
        click.echo(f"Created {line}.")
    if not created:
        click.echo("Demo data is already there.")
    click.echo("Demo accounts (email / password):")
    for account in DEMO_ACCOUNTS:
        role = "staff" if account.is_staff else account.role
        click.echo(f"  {role:<8} {account.email} / {account.password}")


for command in (
    set_role,
    deactivate,
    invite_command,
    invitations_command,
    revoke_invitation_command,
    import_video,
    reprocess,
    queue_command,
    validate_assets,
    cleanup,
    tokens_command,
    classes_command,
):
    admin.add_command(command)


@admin.command("metrics")
@click.option("--fix", is_flag=True, help="Write the recomputed values where they differ.")
def metrics(fix: bool) -> None:
    """Recompute every user's exercises_created, comments_made and total_video_time from the
    exercises, comments and uploaded videos, and list each value that drifted (stored vs
    actual). Exits 1 on drift, unless --fix wrote the true values."""
    drifts = recompute_metrics(fix=fix)
    users = 0
    for username, theirs in groupby(drifts, key=lambda drift: drift.username):
        users += 1
        click.echo(
            f"{username}: "
            + "; ".join(
                f"{d.field} stored {'none' if d.stored is None else d.stored}, actual {d.actual}"
                for d in theirs
            )
        )
    if not drifts:
        click.echo("Every user's metrics match the data.")
        return
    if fix:
        db.session.commit()
        click.echo(f"Fixed {len(drifts)} value(s) for {users} user(s).")
        return
    click.echo(f"{len(drifts)} value(s) drifted for {users} user(s); --fix writes the true values.")
    raise click.exceptions.Exit(1)


@admin.command("sweep")
def sweep_command() -> None:
    """Enqueue the videos, clips, mail and webhook deliveries Redis lost, retry the jobs a
    dead worker left, and clean up unused videos after notice (the worker does this every
    minute by itself)."""
    done = sweep()
    click.echo(", ".join(f"{what}: {count}" for what, count in done.items()))


@admin.command("send-test-mail")
@click.argument("email")
def send_test_mail(email: str) -> None:
    """Queue a test message to EMAIL through the configured mail backend (the worker sends it)."""
    job_id = send_mail("test", email, "Practika test message")
    if job_id is None:
        raise click.ClickException(
            "Redis is not reachable: the message is kept, and the worker sends it once it is back"
        )
    click.echo(f"Queued {job_id} for {email} (backend: {current_app.config['MAIL_BACKEND']}).")
