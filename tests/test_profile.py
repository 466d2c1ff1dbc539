"""The profile page (name, email, preferences) and the throttled activity record."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from practika.accounts.models import Profile, User
from practika.accounts.routes.profile import EMAIL_TAKEN
from practika.accounts.services.users import create_user
from practika.extensions import db
from practika.model_base import utcnow
from tests.conftest import PASSWORD, sql_statements
from tests.test_signup import link_in, sent_mail

FORM = {
    "first_name": "Tess",
    "last_name": "Ng",
    "email": "tess@example.com",
    "email_notifications": "y",
    "playback_speed": "1",
}


def checkbox(html: str) -> str:
    return re.search(r'<input[^>]*name="email_notifications"[^>]*>', html).group(0)


def save(client, **changes):
    return client.post("/accounts/profile", data={**FORM, **changes})


def fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@contextmanager
def profile_updates():
    """The UPDATE statements on the profiles table run inside the block."""
    with sql_statements() as statements:
        updates: list[str] = []
        yield updates
    updates += [s for s in statements if s.lstrip().upper().startswith("UPDATE PROFILES")]


def idle(user: User, minutes: int = 10) -> None:
    """Pretend the person was last here ``minutes`` ago."""
    db.session.execute(
        sa.update(Profile)
        .where(Profile.user_id == user.id)
        .values(last_activity_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def test_the_page_shows_every_field_with_a_label(teacher_client, teacher):
    response = teacher_client.get("/accounts/profile")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for name, label in [
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("email", "Email"),
        ("email_notifications", "Email me about comments"),
        ("playback_speed", "Default playback speed"),
    ]:
        assert f'name="{name}"' in html and label in html
    assert 'value="tess@example.com"' in html
    assert "checked" in checkbox(html)  # notifications are on until turned off
    assert '<option selected value="1">' in html
    assert 'name="role"' not in html and 'name="is_staff"' not in html
    assert "Confirmed" in html and "Send the link again" not in html
    assert "First login" in html and "Last active" in html


def test_names_and_preferences_are_saved(teacher_client, teacher):
    names = {"first_name": " Tessa ", "last_name": "Ng"}
    response = save(teacher_client, **names, email_notifications="", playback_speed="0.75")
    assert response.status_code == 303 and response.location == "/accounts/profile"
    user = fresh(teacher)
    assert (user.first_name, user.last_name) == ("Tessa", "Ng")
    assert user.profile.preferences["playback_speed"] == 0.75
    assert user.profile.preferences["email_notifications"] is False
    page = teacher_client.get("/accounts/profile").get_data(as_text=True)
    assert "Your profile is saved." in page
    assert '<option selected value="0.75">' in page
    assert "checked" not in checkbox(page)
    assert sent_mail() == []  # the email did not change, so nothing to confirm


def test_the_email_is_checked_next_to_its_field(teacher_client, teacher):
    response = save(teacher_client, email="not-an-email", first_name="x" * 151)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html and "like name@example.com" in html
    assert 'id="first_name-error"' in html and "at most 150" in html
    assert fresh(teacher).email == "tess@example.com"


def test_a_new_email_needs_the_password_and_the_old_address_is_kept_until_confirmed(
    teacher_client, teacher
):
    stolen_session = save(teacher_client, email="thief@example.com")
    assert stolen_session.status_code == 422
    assert "current password to change your email" in stolen_session.get_data(as_text=True)
    assert fresh(teacher).email == "tess@example.com" and sent_mail() == []

    response = save(teacher_client, email="  Tess.New@Example.COM ", current_password=PASSWORD)
    assert response.status_code == 303
    user = fresh(teacher)
    assert user.email == "tess@example.com"  # until the new address confirms itself
    assert user.profile.email_verified_at is not None
    confirm, notice = sent_mail()
    assert confirm["To"] == "tess.new@example.com"
    assert notice["To"] == "tess@example.com"  # the old address is told
    assert "tess.new@example.com" in notice.get_body(("plain",)).get_content()
    page = teacher_client.get("/accounts/profile").get_data(as_text=True)
    assert "Open the link we sent to tess.new@example.com" in page

    link = link_in(confirm, "email")
    assert teacher_client.get(link).status_code == 302
    user = fresh(teacher)
    assert user.email == "tess.new@example.com" and user.profile.email_verified_at is not None
    again = teacher_client.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_an_email_change_link_for_an_address_taken_since_is_refused(
    teacher_client, teacher, student
):
    save(teacher_client, email="later@example.com", current_password=PASSWORD)
    confirm, _ = sent_mail()
    student.email = "later@example.com"
    db.session.commit()
    answer = teacher_client.get(link_in(confirm, "email"))
    assert answer.status_code == 400 and "used by another account" in answer.get_data(as_text=True)
    assert fresh(teacher).email == "tess@example.com"


def test_an_email_another_account_uses_is_refused(teacher_client, teacher, student):
    response = save(
        teacher_client, email="SAM@example.com", first_name="Changed", current_password=PASSWORD
    )
    assert response.status_code == 422
    assert EMAIL_TAKEN in response.get_data(as_text=True)
    user = fresh(teacher)
    assert user.email == "tess@example.com" and user.first_name == ""
    assert user.profile.email_verified_at is not None
    assert sent_mail() == []


def test_role_and_staff_cannot_be_posted(student_client, student):
    admin_only = {"role": "teacher", "is_staff": "y", "is_superuser": "y", "role_id": "1"}
    response = save(student_client, email="sam@example.com", **admin_only)
    assert response.status_code == 303
    user = fresh(student)
    assert user.role == "student"
    assert not user.is_staff and not user.is_superuser


def test_the_page_needs_a_login(client):
    assert client.get("/accounts/profile").location.startswith("/accounts/login")
    assert client.post("/accounts/profile", data=FORM).location.startswith("/accounts/login")


def test_a_page_view_records_activity_once_per_interval(teacher_client, teacher):
    idle(teacher)
    before = utcnow()
    with profile_updates() as updates:
        teacher_client.get("/accounts/profile")
    assert len(updates) == 1
    seen = fresh(teacher).profile.last_activity_at
    assert seen >= before - timedelta(seconds=1)
    with profile_updates() as updates:
        teacher_client.get("/accounts/profile")
        teacher_client.get("/exercises/")
    assert updates == []
    assert fresh(teacher).profile.last_activity_at == seen


def test_the_interval_is_a_setting(app, teacher_client, teacher):
    app.config["PROFILE_ACTIVITY_INTERVAL"] = 0
    with profile_updates() as updates:
        teacher_client.get("/accounts/profile")
        teacher_client.get("/accounts/profile")
    assert len(updates) == 2


def test_the_first_visit_sets_first_login_too(app, client):
    user = create_user(
        email="new@example.com",
        username="newbie",
        password=PASSWORD,
        role="student",
        email_verified=True,
    )
    db.session.commit()
    with client.session_transaction() as session:  # a remembered login: no login form
        session["_user_id"] = user.get_id()
        session["_fresh"] = False
    assert fresh(user).profile.first_login_at is None
    client.get("/accounts/profile")
    profile = fresh(user).profile
    assert profile.first_login_at is not None
    assert profile.first_login_at == profile.last_activity_at


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/app.css",
        "/core/health/",
        "/core/videos/00000000-0000-0000-0000-000000000000/status",
        "/core/clips/00000000-0000-0000-0000-000000000000/status",
        "/core/media/00000000-0000-0000-0000-000000000000/video",
    ],
)
def test_assets_health_and_polls_are_not_activity(teacher_client, teacher, path):
    idle(teacher)
    before = fresh(teacher).profile.last_activity_at
    with profile_updates() as updates:
        teacher_client.get(path)
    assert updates == []
    assert fresh(teacher).profile.last_activity_at == before


def test_email_changes_are_rate_limited_but_names_are_not(teacher_client, teacher):
    def change(email: str, **more) -> int:
        return save(teacher_client, email=email, current_password=PASSWORD, **more).status_code

    assert [change(f"tess{n}@example.com") for n in range(6)] == [303] * 5 + [429]
    assert change("tess@example.com", first_name="T") == 303
    assert len(sent_mail()) == 10  # each change: the new address and the old one
