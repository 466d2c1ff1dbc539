"""A new teacher's whole way in, in Chromium at desktop and phone size: the invitation from
the outbox, sign-up, the confirmation link from the outbox, choosing teacher, log out, a
password reset from the outbox, and logging in with the new password. The admin invites by
the real CLI; a real worker delivers every message to the outbox."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from playwright.sync_api import Page, expect

from practika.config import BASE_DIR
from practika.mail import parse_message
from tests.e2e.conftest import PROCESSED
from tests.e2e.test_smoke import log_in, open_menu
from tests.services import wait_for

PASSWORD = "a sound passphrase"
NEW_PASSWORD = "another sound passphrase"


def message_in(outbox: Path, to: str, subject: str) -> EmailMessage | None:
    """The newest message to ``to`` with ``subject`` in the outbox, if it has arrived."""
    for path in sorted(outbox.glob("*.eml"), reverse=True) if outbox.is_dir() else []:
        message = parse_message(path.read_bytes())
        if message["To"] == to and message["Subject"] == subject:
            return message
    return None


def link_from_outbox(outbox: Path, to: str, subject: str, base: str) -> str:
    """The link in that message, once the worker has delivered it."""
    wait_for(
        lambda: message_in(outbox, to, subject) is not None,
        timeout=PROCESSED / 1000,
        what=f"the message {subject!r} to {to} in {outbox}",
    )
    body = message_in(outbox, to, subject).get_body(("plain",)).get_content()
    return re.search(rf"{re.escape(base)}/\S+", body).group(0)


def test_invited_teacher_signs_up_verifies_resets_and_logs_in(
    page: Page, shoot, size, live_server, live_env, live_worker
) -> None:
    email, username = f"new.{size}@example.com", f"new-teacher-{size}"
    outbox = Path(live_env["INSTANCE_PATH"]) / "outbox"
    env = {**os.environ, **live_env, "FLASK_APP": "wsgi", "PRACTIKA_ENV": "development"}
    invited = subprocess.run(
        [sys.executable, "-m", "flask", "admin", "invite", email],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Invited {email}" in invited.stdout

    page.goto(link_from_outbox(outbox, email, "You are invited to Practika", live_server))
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    shoot("signup")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    page.goto(link_from_outbox(outbox, email, "Confirm your email for Practika", live_server))
    expect(page.get_by_text("Your email is confirmed.")).to_be_visible()
    log_in(page, username, PASSWORD)
    expect(page.get_by_role("heading", name="Welcome to Practika")).to_be_visible()
    shoot("onboarding")
    page.get_by_label("Teacher: I build exercises").check()
    page.get_by_role("button", name="Continue").click()
    expect(page).not_to_have_url(re.compile(r"/onboarding"))
    open_menu(page)
    expect(page.locator(".badge-teacher")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.get_by_role("link", name="Forgot your password?").click()
    # Wait for the reset page: until it is swapped in, "Email" also finds the login form's
    # "Email or username", and the reset form would go empty.
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(link_from_outbox(outbox, email, "Choose a new Practika password", live_server))
    page.get_by_label("Password").fill(NEW_PASSWORD)
    shoot("reset")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()

    log_in(page, email, NEW_PASSWORD)
    expect(page).not_to_have_url(re.compile(r"/accounts/login"))
    open_menu(page)
    expect(page.locator(".badge-teacher")).to_be_visible()
    expect(page.locator(".who-name")).to_have_text(username)
    shoot("teacher-home")
