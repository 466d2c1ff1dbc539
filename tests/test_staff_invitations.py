"""Staff invite, resend and withdraw in the browser; nobody else sees the page."""

import sqlalchemy as sa

from practika.accounts.models import BetaInvitation
from practika.extensions import db
from tests.conftest import log_in
from tests.test_signup import sent_mail


def test_staff_invite_resend_and_withdraw(client, staff_user):
    log_in(client, staff_user.email)
    assert "No invitations yet" in client.get("/accounts/invitations").get_data(as_text=True)
    sent = client.post("/accounts/invitations", data={"email": "Friend@Example.com"})
    assert sent.status_code == 303
    invitation = db.session.scalar(sa.select(BetaInvitation))
    assert invitation.email == "friend@example.com" and invitation.invited_by_id == staff_user.id
    first_hash = invitation.token_hash
    page = client.get("/accounts/invitations").get_data(as_text=True)
    assert "friend@example.com" in page and "pending" in page
    client.post(f"/accounts/invitations/{invitation.id}/resend")
    db.session.expire_all()
    assert invitation.token_hash != first_hash and len(sent_mail()) == 2
    client.post(f"/accounts/invitations/{invitation.id}/revoke")
    db.session.expire_all()
    assert invitation.revoked_at is not None
    assert "revoked" in client.get("/accounts/invitations").get_data(as_text=True)


def test_inviting_a_member_says_why_not(client, staff_user, teacher):
    log_in(client, staff_user.email)
    response = client.post("/accounts/invitations", data={"email": teacher.email})
    assert response.status_code == 422 and "already has an account" in response.get_data(
        as_text=True
    )


def test_only_staff_see_invitations(client, teacher):
    log_in(client, teacher.email)
    assert client.get("/accounts/invitations").status_code == 404
    assert client.post("/accounts/invitations", data={"email": "x@example.com"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BetaInvitation)) == 0
