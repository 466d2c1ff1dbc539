"""Sign-up, role choice, email verification and password reset, with the mail they send."""

import re
import time
import uuid

import pytest
from flask import current_app

from practika.accounts.models import User
from practika.accounts.services.users import create_user
from practika.extensions import db
from practika.mail import parse_message
from practika.mail_outbox import OutgoingMail
from practika.queue import get_queue
from tests.conftest import PASSWORD, count_rows, log_in

NEW = {"username": "new.student", "email": "New@Example.com", "password": "a sound passphrase"}


def sent_mail() -> list:
    """The messages queued on the mail queue (the worker would deliver them)."""
    return [
        parse_message(db.session.get(OutgoingMail, uuid.UUID(job.args[0])).message)
        for job in get_queue("mail").get_jobs()
    ]


def link_in(message, path: str) -> str:
    body = message.get_body(("plain",)).get_content()
    base = re.escape(current_app.config["BASE_URL"])  # mail links are on BASE_URL, always
    return re.search(rf"{base}(/accounts/{path}/[^\s]+)", body).group(1)


def sign_up(client, **changes):
    return client.post("/accounts/signup", data={**NEW, **changes})


def test_sign_up_then_verify_then_log_in_then_choose_a_role(client):
    page = sign_up(client)
    assert page.status_code == 200 and "Check your email" in page.get_data(as_text=True)
    user = db.session.scalar(db.select(User))
    assert user.email == "new@example.com" and user.role is None
    assert user.profile.email_verified_at is None
    [mail] = sent_mail()
    assert mail["To"] == "new@example.com"
    verified = client.get(link_in(mail, "verify"))
    assert verified.location == "/accounts/login"
    db.session.expire_all()
    assert user.profile.email_verified_at is not None
    log_in(client, "new.student", NEW["password"])
    assert client.get("/exercises/").location == "/accounts/onboarding"  # the gate
    chosen = client.post("/accounts/onboarding", data={"role": "teacher"})
    assert chosen.status_code == 303
    db.session.expire_all()
    assert user.role == "teacher" and user.profile.onboarding_completed


def test_a_known_email_gets_the_same_page_and_its_owner_a_note(client, teacher):
    page = sign_up(client, email="TESS@example.com")
    assert page.status_code == 200 and "Check your email" in page.get_data(as_text=True)
    assert count_rows(User) == 1
    [mail] = sent_mail()
    assert mail["To"] == "tess@example.com" and mail["Subject"] == "Your Practika account"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "x"}, "3 to 30 letters"),
        ({"username": "has space"}, "3 to 30 letters"),
        ({"email": "not-an-email"}, "like name@example.com"),
        ({"password": "short"}, "at least 10 characters"),
        ({"password": "aaaaaaaaaaaa"}, "more than a few different"),
        ({"password": "new.student-2026"}, "your username or email"),
    ],
)
def test_sign_up_errors_are_shown_by_their_field(client, changes, message):
    response = sign_up(client, **changes)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_rows(User) == 0


def test_rules_are_shown_before_anyone_fails_them(client):
    html = client.get("/accounts/signup").get_data(as_text=True)
    assert "At least 10 characters" in html and "3 to 30 letters" in html
    for name in ("username", "email", "password"):
        assert f'<label for="{name}">' in html and f'name="{name}"' in html


def test_a_taken_username_is_said(client, teacher):
    response = sign_up(client, username="tess")
    assert response.status_code == 422 and "That username is taken" in response.get_data(
        as_text=True
    )


def test_a_role_cannot_be_chosen_twice_or_slipped_in(client, student):
    log_in(client, student.email)
    response = client.post("/accounts/onboarding", data={"role": "teacher"})
    assert response.location == "/"  # already has a role: nothing to choose
    sign_up(client)  # logged in: sign-up just sends home; and no form takes a role field
    db.session.expire_all()
    assert student.role == "student"


def test_the_signup_form_ignores_a_role_field(client):
    sign_up(client, role="teacher", is_staff="y")
    user = db.session.scalar(db.select(User))
    assert user.role is None and not user.is_staff


def test_verification_links_work_once_and_only_for_their_purpose(client, app):
    sign_up(client)
    [mail] = sent_mail()
    link = link_in(mail, "verify")
    assert client.get(link).status_code == 302
    replay = client.get(link)
    assert replay.status_code == 400 and "already confirmed" in replay.get_data(as_text=True)
    token = link.rsplit("/", 1)[1]
    as_reset = client.get(f"/accounts/reset/{token}")  # a verify token is no reset token
    assert as_reset.status_code == 400 and "not valid" in as_reset.get_data(as_text=True)
    tampered = client.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    assert tampered.status_code == 400


def test_an_expired_link_says_so(client, teacher, monkeypatch):
    from practika.accounts.services.signed_links import Purpose, make_token

    two_hours_ago = time.time() - 7200  # a reset link lives one hour
    with monkeypatch.context() as past:
        past.setattr("itsdangerous.timed.time.time", lambda: two_hours_ago)
        token = make_token(teacher, Purpose.RESET_PASSWORD)
    response = client.get(f"/accounts/reset/{token}")
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_password_reset_works_once_and_ends_every_other_session(client, app, teacher):
    other_device = app.test_client()
    log_in(other_device, teacher.email)
    assert other_device.get("/exercises/").status_code == 200
    page = client.post("/accounts/reset", data={"email": "TESS@example.com"})
    assert "If an account uses" in page.get_data(as_text=True)
    [mail] = sent_mail()
    link = link_in(mail, "reset")
    done = client.post(link, data={"password": "a brand new passphrase"})
    assert done.status_code == 303 and done.location == "/accounts/login"
    assert other_device.get("/exercises/").status_code == 303  # logged out there
    assert log_in(client, teacher.email, PASSWORD).status_code == 422
    assert log_in(client, teacher.email, "a brand new passphrase").status_code == 303
    replay = client.post(link, data={"password": "yet another passphrase"})
    assert replay.status_code == 400 and "already been used" in replay.get_data(as_text=True)


def test_mail_links_are_on_base_url_whatever_host_the_request_names(client, app, teacher):
    app.config["BASE_URL"] = "https://practika.example.com"
    client.post(
        "/accounts/reset", data={"email": teacher.email}, base_url="http://attacker.example"
    )
    [mail] = sent_mail()
    body = mail.get_body(("plain",)).get_content()
    assert "attacker" not in body
    assert "https://practika.example.com/accounts/reset/" in body


def _without_csrf_tokens(html: str) -> str:
    """A page as the person sees it: each request signs its CSRF token anew (with the time)."""
    return re.sub(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]+', r"\1…", html)


def test_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client, teacher):
    known = client.post("/accounts/reset", data={"email": teacher.email}).get_data(as_text=True)
    unknown = client.post("/accounts/reset", data={"email": "nobody@example.com"})
    assert _without_csrf_tokens(unknown.get_data(as_text=True)) == _without_csrf_tokens(
        known.replace(teacher.email, "nobody@example.com")
    )
    assert len(sent_mail()) == 1


def test_mail_forms_are_rate_limited_per_account(client, teacher, app):
    def ask_from(address: str) -> int:
        return client.post(
            "/accounts/reset", data={"email": teacher.email}, environ_base={"REMOTE_ADDR": address}
        ).status_code

    statuses = [ask_from(f"10.0.0.{i}") for i in range(7)]  # a new address each time
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


def test_unverified_users_are_told_when_they_log_in(client, app):
    create_user(email="u@example.com", username="unverified", password=PASSWORD, role="student")
    db.session.commit()
    page = client.post(
        "/accounts/login",
        data={"email": "u@example.com", "password": PASSWORD},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Please confirm your email" in page


def _sign_up(client, n: int, address: str = "203.0.113.7"):
    return client.post(
        "/accounts/signup",
        data={"username": f"pupil{n}", "email": f"pupil{n}@example.com", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": address},
    )


def test_thirty_sign_ups_from_one_school_address_in_an_hour_all_succeed(client):
    statuses = [_sign_up(client, n).status_code for n in range(30)]
    assert statuses == [200] * 30


def test_only_accepted_sign_ups_count_and_the_limit_keeps_the_form(client, app):
    app.config["SIGNUP_RATE_LIMIT"] = "2 per hour"
    bad = {"username": "x", "email": "not-an-email", "password": "short"}
    for _ in range(5):  # refused forms do not count against the network
        assert client.post("/accounts/signup", data=bad).status_code == 422
    assert [_sign_up(client, n, "127.0.0.1").status_code for n in range(2)] == [200, 200]
    limited = _sign_up(client, 9, "127.0.0.1")
    assert limited.status_code == 429
    page = limited.get_data(as_text=True)
    assert "Too many new accounts from here just now. Try again in" in page
    assert 'value="pupil9@example.com"' in page  # what they typed is kept
    assert int(limited.headers["Retry-After"]) > 0


def test_the_login_limit_still_holds_beside_the_sign_up_limit(client, teacher):
    statuses = [
        client.post(
            "/accounts/login", data={"email": teacher.email, "password": "wrong"}
        ).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
