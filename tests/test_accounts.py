"""Login, logout, safe ?next=, role-only views and login throttling."""

from datetime import UTC, datetime, timedelta

import pytest
from flask import Blueprint

from practika.accounts.guards import is_safe_next, staff_required, teacher_required
from practika.accounts.services.api_tokens import issue_token
from practika.accounts.services.signed_links import Purpose, make_token
from practika.extensions import db
from tests.conftest import PASSWORD, create_test_app, log_in, make_config


def test_login_page_renders_labelled_fields(client):
    html = client.get("/accounts/login").get_data(as_text=True)
    assert '<label for="email">' in html and 'name="email"' in html
    assert '<label for="password">' in html and 'name="password"' in html


@pytest.mark.parametrize("login", ["tess@example.com", "TESS@Example.com ", "tess"])
def test_log_in_with_email_any_case_or_username(client, teacher, login):
    response = log_in(client, login)
    assert response.status_code == 303
    assert response.location == "/exercises/"
    page = client.get("/exercises/").get_data(as_text=True)
    assert "tess" in page and "teacher" in page  # who is logged in, and their role


def test_login_records_the_time(client, teacher, app):
    log_in(client, teacher.email)
    from practika.accounts.models import User
    from practika.extensions import db

    db.session.expire_all()
    user = db.session.get(User, teacher.id)
    assert user.last_login is not None
    assert user.profile.first_login_at is not None


def test_wrong_password_and_unknown_user_get_the_same_answer(client, teacher):
    wrong = log_in(client, teacher.email, "not the password")
    unknown = log_in(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 422
    message = "That email or username and password do not match."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_inactive_user_cannot_log_in(client, teacher, app):
    from practika.extensions import db

    teacher.is_active = False
    db.session.commit()
    assert log_in(client, teacher.email).status_code == 422


def test_empty_form_shows_errors_next_to_fields(client):
    html = client.post("/accounts/login", data={}).get_data(as_text=True)
    assert "Enter your email or username." in html
    assert "Enter your password." in html
    assert 'aria-invalid="true"' in html


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " https://evil.example/",
        "",
    ],
)
def test_next_may_not_leave_the_site(client, teacher, target):
    response = client.post(
        "/accounts/login",
        query_string={"next": target},
        data={"email": teacher.email, "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.location == "/exercises/"


def test_next_to_a_local_page_is_followed(client, teacher):
    response = client.post(
        "/accounts/login",
        query_string={"next": "/exercises/?q=scales"},
        data={"email": teacher.email, "password": PASSWORD},
    )
    assert response.location == "/exercises/?q=scales"


@pytest.mark.parametrize(
    ("target", "safe"),
    [("/a/b?c=d", True), ("/", True), ("//x", False), ("/\\x", False), ("/a\nb", False)],
)
def test_is_safe_next(target, safe):
    assert is_safe_next(target) is safe


def test_logged_out_visitor_is_sent_to_login_with_next(client):
    response = client.get("/exercises/")
    assert response.status_code == 303
    assert response.location == "/accounts/login?next=/exercises/"


def test_expired_session_on_htmx_request_gets_hx_redirect(client):
    response = client.get("/exercises/", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/accounts/login?next=/exercises/"
    assert response.get_data() == b""  # nothing for htmx to swap into a fragment


def test_logout_is_a_post_and_ends_the_session(teacher_client):
    assert teacher_client.get("/accounts/logout").status_code == 405
    response = teacher_client.post("/accounts/logout")
    assert response.status_code == 303
    assert response.location == "/accounts/login"
    assert teacher_client.get("/exercises/").status_code == 303


@pytest.fixture
def guarded(app):
    """Two throwaway views behind the role decorators."""
    bp = Blueprint("guarded", __name__)

    @bp.get("/teachers-only")
    @teacher_required
    def teachers_only():
        return "teacher area"

    @bp.get("/staff-only")
    @staff_required
    def staff_only():
        return "staff area"

    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        ("teacher", "/teachers-only", 200),
        ("student", "/teachers-only", 404),
        ("staff", "/teachers-only", 200),
        ("teacher", "/staff-only", 404),
        ("student", "/staff-only", 404),
        ("staff", "/staff-only", 200),
    ],
)
def test_role_decorators(guarded, client, request, who, path, status):
    user = request.getfixturevalue({"staff": "staff_user"}.get(who, who))
    log_in(client, user.email)
    assert client.get(path).status_code == status


def test_role_decorator_sends_visitors_to_login(guarded, client):
    assert client.get("/teachers-only").location.startswith("/accounts/login")


def test_brute_forcing_login_gets_429(client, app, teacher):
    statuses = [log_in(client, teacher.email, f"guess-{i}").status_code for i in range(12)]
    assert statuses[:10] == [422] * 10
    assert statuses[10:] == [429, 429]
    # Even the right password is refused until the window passes.
    assert log_in(client, teacher.email).status_code == 429


def test_login_throttling_does_not_fail_open_when_redis_is_down(
    database_url, own_redis, tmp_path, app, teacher
):
    app = create_test_app(make_config(database_url, own_redis.url, tmp_path / "own"))
    client = app.test_client()
    own_redis.stop()
    statuses = [log_in(client, teacher.email, f"guess-{i}").status_code for i in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429  # counted in memory while Redis is away
    with app.app_context():
        db.engine.dispose()


def test_visitor_sent_to_login_is_told_why(client):
    page = client.get("/exercises/", follow_redirects=True).get_data(as_text=True)
    assert "Please log in to see that page." in page


def test_a_copied_login_cookie_stops_working_after_logout(app, teacher):
    browser = app.test_client()
    log_in(browser, teacher.email)
    cookie = browser.get_cookie("session").value
    stolen = app.test_client()
    stolen.set_cookie("session", cookie)
    assert stolen.get("/exercises/").status_code == 200
    browser.post("/accounts/logout")
    assert stolen.get("/exercises/").status_code == 303  # sent to log in


def test_the_per_account_login_limit_counts_email_and_username_as_one(client, teacher):
    def guess(i: int) -> int:
        login = teacher.email if i % 2 else teacher.username  # both name one account
        return client.post(
            "/accounts/login",
            data={"email": login, "password": f"guess-{i}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},  # a new address every time
        ).status_code

    statuses = [guess(i) for i in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429


def test_remember_me_lasts_a_month_not_a_year(client, teacher):
    client.post(
        "/accounts/login", data={"email": teacher.email, "password": PASSWORD, "remember": "y"}
    )
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    lifetime = cookie.expires - datetime.now(UTC)
    assert timedelta(days=29) < lifetime <= timedelta(days=30)


def _api_works(client, raw: str) -> bool:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_changing_the_password_needs_the_old_one_and_ends_everything_else(app, teacher):
    here, elsewhere = app.test_client(), app.test_client()
    log_in(here, teacher.email)
    log_in(elsewhere, teacher.email)
    _, raw = issue_token(teacher, "script", None)
    db.session.commit()
    assert _api_works(here, raw)

    wrong = here.post(
        "/accounts/password",
        data={"current_password": "not it", "password": "a new long passphrase"},
    )
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    weak = here.post("/accounts/password", data={"current_password": PASSWORD, "password": "short"})
    assert weak.status_code == 422 and "at least 10" in weak.get_data(as_text=True)

    done = here.post(
        "/accounts/password",
        data={"current_password": PASSWORD, "password": "a new long passphrase"},
    )
    assert done.status_code == 303
    assert here.get("/exercises/").status_code == 200  # this device goes on
    assert elsewhere.get("/exercises/").status_code == 303  # every other one is out
    assert not _api_works(here, raw)  # and so is every API token
    assert log_in(app.test_client(), teacher.email, "a new long passphrase").status_code == 303


def test_a_password_reset_ends_the_api_tokens_too(client, app, teacher):
    _, raw = issue_token(teacher, "script", None)
    db.session.commit()
    token = make_token(teacher, Purpose.RESET_PASSWORD)
    assert (
        client.post(
            f"/accounts/reset/{token}", data={"password": "a brand new passphrase"}
        ).status_code
        == 303
    )
    assert not _api_works(client, raw)


def test_log_out_everywhere_ends_every_session_and_api_token(app, teacher):
    here, elsewhere = app.test_client(), app.test_client()
    log_in(here, teacher.email)
    log_in(elsewhere, teacher.email)
    _, raw = issue_token(teacher, "script", None)
    db.session.commit()
    assert here.post("/accounts/logout-everywhere").status_code == 303
    assert here.get("/exercises/").status_code == 303
    assert elsewhere.get("/exercises/").status_code == 303
    assert not _api_works(here, raw)
