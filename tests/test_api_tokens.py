"""Personal API tokens: made and revoked on the profile, shown once, stored hashed, expiring;
the API takes them and nothing else (no login cookie), and limits each one."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from practika.accounts.models import ApiToken
from practika.extensions import db
from practika.model_base import utcnow

HTMX = {"HX-Request": "true"}
SECRET = re.compile(r'id="new-token" class="token-secret" value="(pk_[^"]+)"')


def make_token(client, name="Script", expires="90") -> str:
    html = client.post(
        "/accounts/tokens", data={"name": name, "expires": expires}, headers=HTMX
    ).get_data(as_text=True)
    return SECRET.search(html)[1]


def api(client, token: str | None, path: str = "/api/v1/me"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def test_a_token_is_shown_once_stored_hashed_and_works(teacher_client, teacher):
    secret = make_token(teacher_client)
    stored = db.session.scalar(sa.select(ApiToken))
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(db.session.execute(sa.select(ApiToken.__table__)).all())
    page = teacher_client.get("/accounts/profile").get_data(as_text=True)
    assert secret not in page and stored.prefix in page  # only the prefix, afterwards
    response = api(teacher_client, secret)
    assert response.status_code == 200 and response.json["username"] == teacher.username
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).last_used_at is not None


def test_with_htmx_the_new_secret_is_swapped_into_the_panel(teacher_client):
    response = teacher_client.post(
        "/accounts/tokens", data={"name": "LMS", "expires": "30"}, headers=HTMX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and html.lstrip().startswith('<section id="api-tokens"')
    assert api(teacher_client, SECRET.search(html)[1]).status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and "HX-Request" in response.vary


def test_without_javascript_the_new_secret_is_shown_on_a_page(teacher_client):
    """A plain form post gets a page that shows the secret once, not a redirect that loses it."""
    response = teacher_client.post("/accounts/tokens", data={"name": "LMS", "expires": "30"})
    html = response.get_data(as_text=True)
    assert response.status_code == 201 and "<h1>Your API tokens</h1>" in html
    assert api(teacher_client, SECRET.search(html)[1]).status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    refused = teacher_client.post("/accounts/tokens", data={"name": "", "expires": "30"})
    assert refused.status_code == 422 and "Give the token a name" in refused.get_data(as_text=True)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    revoked = teacher_client.post(f"/accounts/tokens/{token_id}/revoke")  # nothing to show
    assert revoked.status_code == 303 and revoked.location.endswith("/accounts/profile#api-tokens")


def test_a_revoked_or_expired_token_is_refused(teacher_client):
    secret = make_token(teacher_client)
    token = db.session.scalar(sa.select(ApiToken))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = api(teacher_client, secret)
    assert expired.status_code == 401 and expired.mimetype == "application/problem+json"
    assert expired.json["status"] == 401 and "Bearer" in expired.headers["WWW-Authenticate"]
    fresh = make_token(teacher_client, "Second")
    second = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "Second"))
    teacher_client.post(f"/accounts/tokens/{second.id}/revoke", headers=HTMX)
    assert api(teacher_client, fresh).status_code == 401


def test_the_login_cookie_is_not_accepted_by_the_api(teacher_client):
    response = api(teacher_client, None)  # logged in by cookie, no bearer token
    assert response.status_code == 401
    assert api(teacher_client, "pk_not-a-real-token").status_code == 401


def test_only_the_owner_revokes_a_token_on_the_profile(client, teacher, student):
    from tests.conftest import log_in

    log_in(client, teacher.email)
    make_token(client)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    client.post("/accounts/logout")
    log_in(client, student.email)
    assert client.post(f"/accounts/tokens/{token_id}/revoke", headers=HTMX).status_code == 404
    assert db.session.get(ApiToken, token_id).revoked_at is None


def test_a_token_needs_a_name(teacher_client):
    response = teacher_client.post(
        "/accounts/tokens", data={"name": " ", "expires": "30"}, headers=HTMX
    )
    assert response.status_code == 422 and "Give the token a name" in response.get_data(
        as_text=True
    )


def test_admins_list_and_revoke_any_token(runner, teacher_client):
    secret = make_token(teacher_client, "LMS")
    listed = runner.invoke(args=["admin", "tokens"])
    assert "LMS" in listed.output and secret not in listed.output and "1 token(s)" in listed.output
    token_id = db.session.scalar(sa.select(ApiToken.id))
    revoked = runner.invoke(args=["admin", "tokens", "--revoke", str(token_id)])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert api(teacher_client, secret).status_code == 401


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_token_is_rate_limited(app, teacher_client):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    first, second = make_token(teacher_client, "A"), make_token(teacher_client, "B")
    statuses = [api(teacher_client, first).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert api(teacher_client, first).json["status"] == 429  # problem details
    assert api(teacher_client, second).status_code == 200  # another token, its own count


def test_unknown_api_paths_answer_problem_details(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["title"] == "Not Found"


def test_admins_make_a_token_for_scripts(runner, client, teacher):
    made = runner.invoke(args=["admin", "tokens", "--create", teacher.email, "--name", "curl"])
    secret = made.output.strip()
    assert made.exit_code == 0 and secret.startswith("pk_") and "\n" not in secret
    assert api(client, secret).json["username"] == teacher.username
    missing = runner.invoke(args=["admin", "tokens", "--create", "nobody@example.com"])
    assert missing.exit_code != 0 and "no user" in missing.output
