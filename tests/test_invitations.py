"""The closed beta: invitations by CLI, hashed expiring tokens, one account per invitation."""

import hashlib
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from practika.accounts.models import BetaInvitation, User
from practika.accounts.services import AccountError
from practika.accounts.services.invitations import find_pending, invite
from practika.accounts.services.users import sign_up
from practika.extensions import db
from practika.model_base import utcnow
from tests.conftest import count_rows
from tests.test_signup import NEW, sent_mail


@pytest.fixture
def invite_only(app):
    app.config["BETA_INVITE_ONLY"] = True
    return app


def invite_link(runner, email="new@example.com") -> str:
    result = runner.invoke(args=["admin", "invite", email])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1].removeprefix(current_app.config["BASE_URL"])


def test_invite_mails_a_link_and_stores_only_its_hash(runner):
    link = invite_link(runner)
    token = link.split("invitation=")[1]
    invitation = db.session.scalar(sa.select(BetaInvitation))
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert invitation.expires_at > utcnow() + timedelta(days=13)
    [mail] = sent_mail()
    assert mail["To"] == "new@example.com" and token in mail.get_body(("plain",)).get_content()


def test_sign_up_needs_an_invitation_when_invite_only(client, invite_only):
    response = client.get("/accounts/signup")
    assert response.status_code == 403 and "by invitation" in response.get_data(as_text=True)
    assert client.post("/accounts/signup", data=NEW).status_code == 403
    assert count_rows(User) == 0


def test_an_invitation_signs_up_once(client, runner, invite_only):
    link = invite_link(runner)
    page = client.get(link).get_data(as_text=True)
    assert 'value="new@example.com"' in page  # the invited address, filled in
    assert client.post(link, data=NEW).status_code == 200
    assert count_rows(User) == 1
    assert db.session.scalar(sa.select(BetaInvitation)).accepted_at is not None
    replay = client.post(link, data={**NEW, "username": "someone.else"})
    assert replay.status_code == 403 and "has been used" in replay.get_data(as_text=True)
    assert count_rows(User) == 1


def test_an_invitation_is_for_its_own_address(client, runner, invite_only):
    link = invite_link(runner)
    response = client.post(link, data={**NEW, "email": "other@example.com"})
    assert response.status_code == 422
    assert "This invitation is for new@example.com." in response.get_data(as_text=True)


@pytest.mark.parametrize("change", ["expired", "revoked", "renewed"])
def test_expired_revoked_or_replaced_links_are_refused(client, runner, invite_only, change):
    link = invite_link(runner)
    if change == "expired":
        db.session.execute(sa.update(BetaInvitation).values(expires_at=utcnow()))
        db.session.commit()
    elif change == "revoked":
        assert runner.invoke(args=["admin", "revoke-invitation", "NEW@example.com"]).exit_code == 0
    else:
        invite_link(runner)  # a new link replaces the old one
    assert client.get(link).status_code == 403


def test_two_simultaneous_accepts_make_one_account(app, runner):
    token = invite_link(runner).split("invitation=")[1]
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def accept(username: str) -> None:
        with app.test_request_context():
            invitation = find_pending(token)
            start.wait()
            try:
                user = sign_up(
                    username=username,
                    email="new@example.com",
                    password="a sound passphrase",
                    invitation=invitation,
                )
                # None: the first was done before the second looked, which then mailed a
                # note to the address's owner instead of making an account.
                outcomes.append("account" if user is not None else "refused")
            except (AccountError, sa.exc.IntegrityError, sa.exc.OperationalError):
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["account", "refused"]
    db.session.expire_all()
    assert count_rows(User) == 1


def test_invitations_list_and_errors(runner, teacher):
    invite_link(runner, "a@example.com")
    invite_link(runner, "b@example.com")
    runner.invoke(args=["admin", "revoke-invitation", "b@example.com"])
    listing = runner.invoke(args=["admin", "invitations"]).output
    assert "a@example.com" in listing and "pending" in listing and "revoked" in listing
    assert "2 invitation(s)." in listing
    taken = runner.invoke(args=["admin", "invite", teacher.email])
    assert taken.exit_code == 1 and "already has an account" in taken.output
    missing = runner.invoke(args=["admin", "revoke-invitation", "zed@example.com"])
    assert missing.exit_code == 1 and "no invitation for zed@example.com" in missing.output
    with pytest.raises(AccountError, match="not an email"):
        invite("nope", invited_by=None)
