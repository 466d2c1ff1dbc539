"""Cross-cutting protections: CSRF, security headers, cookies, error pages, request logs."""

import io
import json
import logging
import os
import re
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import url_for

from practika.core.models import VideoAsset
from practika.errors import MESSAGES
from practika.extensions import db
from practika.security import content_security_policy
from tests.conftest import PASSWORD, create_test_app, log_in, make_config


@pytest.fixture
def csrf_app(database_url, redis_server, tmp_path, app):
    """The app as deployed: CSRF on (the suite's default config turns it off for brevity)."""
    app = create_test_app(make_config(database_url, redis_server.url, tmp_path / "csrf"))
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_a_post_without_csrf_token_is_refused(csrf_app, teacher):
    client = csrf_app.test_client()
    response = client.post("/accounts/login", data={"email": teacher.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/exercises/").location.startswith("/accounts/login")  # still logged out


def test_a_post_with_the_csrf_token_works(csrf_app, teacher):
    client = csrf_app.test_client()
    token = _csrf_token(client.get("/accounts/login").get_data(as_text=True))
    data = {"email": teacher.email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/accounts/login", data=data).status_code == 303
    assert client.get("/exercises/").status_code == 200


def test_htmx_sends_the_csrf_token_as_a_header(csrf_app, teacher):
    """base.html puts the token in hx-headers; htmx requests carry it as X-CSRFToken."""
    client = csrf_app.test_client()
    page = client.get("/accounts/login").get_data(as_text=True)
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page).group(1)
    data = {"email": teacher.email, "password": PASSWORD}
    response = client.post(
        "/accounts/login", data=data, headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert response.headers["HX-Redirect"] == "/exercises/"


def test_logout_needs_a_csrf_token_too(csrf_app, teacher):
    client = csrf_app.test_client()
    token = _csrf_token(client.get("/accounts/login").get_data(as_text=True))
    client.post(
        "/accounts/login", data={"email": teacher.email, "password": PASSWORD, "csrf_token": token}
    )
    assert client.post("/accounts/logout").status_code == 400
    assert client.get("/exercises/").status_code == 200  # a forged logout did nothing


@pytest.mark.parametrize("path", ["/", "/accounts/login", "/core/health/", "/no-such-page"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert csp == content_security_policy()  # local storage: nothing from elsewhere
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers  # HSTS is for production (HTTPS) only


def test_session_cookie_is_httponly_and_samesite(client, teacher):
    response = client.post("/accounts/login", data={"email": teacher.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_not_found_is_a_page_for_browsers(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<html" in html and "Not found" in html


def test_not_found_is_a_fragment_in_the_flash_area_for_htmx(client):
    response = client.get("/no-such-page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Not found" in html
    assert response.headers["HX-Retarget"] == "#flashes"
    assert "HX-Request" in response.headers["Vary"]


def test_a_too_large_body_is_refused_with_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/accounts/login", data={"email": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)


def test_a_crash_shows_the_500_page_and_is_logged(app, client, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    app.testing = False  # let the error handler answer, as in production
    with caplog.at_level(logging.ERROR):
        response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert "kaboom" not in response.get_data(as_text=True)
    assert any("kaboom" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_each_request_is_logged_as_one_json_line_with_its_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="practika.request"):
        response = client.get("/accounts/login", headers={"X-Request-ID": "req-12345678"})
    assert response.headers["X-Request-ID"] == "req-12345678"
    from practika.weblog import JsonFormatter

    records = [r for r in caplog.records if r.name == "practika.request"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "req-12345678"
    assert line["method"] == "GET" and line["path"] == "/accounts/login"
    assert line["status"] == 200 and line["duration_ms"] >= 0


def test_an_unsafe_request_id_is_replaced(client):
    response = client.get("/accounts/login", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


@pytest.mark.parametrize("status", [400, 403, 404, 413, 429, 500])
@pytest.mark.parametrize("htmx", [False, True])
def test_error_pages_are_pages_or_fragments(app, client, status, htmx):
    from flask import abort

    app.add_url_rule(f"/fail-{status}", f"fail_{status}", lambda: abort(status))
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.get(f"/fail-{status}", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert ("<html" in html) is not htmx
    assert MESSAGES[status][0] in html
    if htmx:
        assert response.headers["HX-Retarget"] == "#flashes"


def test_error_page_still_answers_when_the_page_cannot_render(app, client, monkeypatch):
    """Say the database is down: base.html needs it to ask who is logged in."""
    import sqlalchemy as sa

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is down"))

    monkeypatch.setattr("practika.errors.render_template", broken)
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def _limited_logins(app, forwarded_for):
    """Eleven failed logins, each for another account, so only the per-address limit (10 a
    minute) can answer 429; the per-account limit has tests of its own."""
    client = app.test_client()
    return [
        client.post(
            "/accounts/login",
            data={"email": f"x{i}@example.com", "password": "wrong"},
            headers={"X-Forwarded-For": forwarded_for(i)},
        ).status_code
        for i in range(11)
    ]


def test_behind_a_proxy_each_client_has_its_own_login_limit(
    database_url, redis_server, tmp_path, app
):
    proxied = create_test_app(
        make_config(database_url, redis_server.url, tmp_path / "p", PROXY_HOPS="1")
    )
    assert 429 not in _limited_logins(proxied, lambda i: f"203.0.113.{i}")


def test_without_proxy_hops_a_forged_forwarded_for_is_ignored(app):
    assert _limited_logins(app, lambda i: f"203.0.113.{i}")[-1] == 429


def test_links_in_mail_never_follow_the_request_host(app):
    from practika.mail import absolute_url

    app.config["BASE_URL"] = "https://practika.example.com"
    with app.test_request_context("/", base_url="http://attacker.example"):
        link = absolute_url("accounts.reset_password", token="abc")
    assert link == "https://practika.example.com/accounts/reset/abc"


# ---- No secret in a log line ------------------------------------------------------------


@contextmanager
def json_log_lines():
    """The JSON lines the app writes in production (configure_logging's formatter on the
    root logger), as a list that fills while the block runs."""
    from practika.weblog import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    lines: list[str] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        lines.extend(stream.getvalue().splitlines())


def test_mailed_tokens_and_the_session_token_never_reach_a_log_line(app, client, teacher):
    from practika.accounts.services.signed_links import Purpose, make_token

    reset = make_token(teacher, Purpose.RESET_PASSWORD)
    verify = make_token(teacher, Purpose.VERIFY_EMAIL)
    change = make_token(teacher, Purpose.CHANGE_EMAIL, email="new@example.com")
    invitation = "inv-" + "s3cret" * 6
    with json_log_lines() as lines:
        client.get(f"/accounts/reset/{reset}")
        client.get(f"/accounts/verify/{verify}")
        client.get(f"/accounts/email/{change}")
        client.get(f"/accounts/signup?invitation={invitation}")
        db.session.refresh(teacher)  # the email link moved the account to its new address
        log_in(client, teacher.email)
        client.get("/exercises/")
        client.post("/accounts/verify/resend")
    logged = "\n".join(lines)
    for secret in (reset, verify, change, invitation, teacher.session_token):
        assert secret not in logged
    requests = [json.loads(line) for line in lines if '"logger": "practika.request"' in line]
    paths = [line["path"] for line in requests]
    assert "/accounts/reset/[redacted]" in paths and "/accounts/verify/[redacted]" in paths
    assert "/accounts/email/[redacted]" in paths
    assert "/accounts/verify/resend" in paths  # a route's own name is no secret
    assert requests[-1]["user_id"] == str(teacher.id)  # who it was, without their token


def test_a_crash_on_a_link_with_a_token_logs_the_place_not_the_token(app, client, monkeypatch):
    def crash(token, purpose):
        raise RuntimeError("database went away")

    monkeypatch.setattr("practika.accounts.routes.auth.read_token", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # logged and answered, as in production
    with json_log_lines() as lines:
        assert client.get("/accounts/reset/tok.en.secret").status_code == 500
    logged = "\n".join(lines)
    assert "tok.en.secret" not in logged
    assert "Exception on /accounts/reset/[redacted] [GET]" in logged


def test_every_route_that_takes_a_token_in_its_path_is_redacted(app):
    """The redaction names the routes' shapes; a new route with a <token> must join it."""
    from practika.weblog import redact

    rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert len(rules) >= 3
    with app.test_request_context():
        for rule in rules:
            path = url_for(rule.endpoint, token="s3cret.t0ken")
            assert "s3cret" not in redact(path), rule.rule


# ---- Large bodies only for uploads by someone logged in -----------------------------------


class Unread(io.RawIOBase):
    """A request body of ``size`` bytes that fails the test if the app reads any of it."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.position = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = offset + (0, self.position, self.size)[whence]
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")


FIVE_MB = 5 * 2**20


def post_unread(client, path: str, **headers: str):
    return client.post(
        path,
        input_stream=Unread(FIVE_MB),
        headers=headers,
        content_type="multipart/form-data; boundary=x",
    )


@pytest.mark.parametrize("path", ["/accounts/login", "/accounts/signup", "/core/uploads/"])
def test_an_anonymous_large_body_is_refused_before_it_is_read(csrf_app, path):
    """Before the fix the CSRF check parsed up to 1 GiB from anyone, upload routes included."""
    response = post_unread(csrf_app.test_client(), path)
    assert response.status_code == 413


def test_a_logged_in_user_sends_a_large_body_only_to_an_upload_route(teacher_client):
    assert post_unread(teacher_client, "/accounts/profile").status_code == 413
    big = os.urandom(3 * 2**20)
    response = teacher_client.post(
        "/core/uploads/",
        data={"video": (io.BytesIO(big), "long.mp4")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert db.session.scalar(sa.select(VideoAsset)).size_bytes == len(big)
    tus = {"Tus-Resumable": "1.0.0"}  # and a resumable upload's piece
    created = teacher_client.post("/core/uploads/", headers={**tus, "Upload-Length": str(len(big))})
    piece = teacher_client.patch(
        created.headers["Location"],
        data=big,
        headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert piece.status_code == 204 and piece.headers["Upload-Offset"] == str(len(big))


def test_a_urlencoded_body_stays_small_even_on_an_upload_route(teacher_client):
    """Werkzeug reads a urlencoded form whole into memory, and no video comes that way:
    before the fix, a logged-in user could make the app hold up to MAX_CONTENT_LENGTH."""
    for path, status in (("/exercises/new", 413), (f"/comments/{uuid.uuid4()}/replies", 422)):
        response = teacher_client.post(
            path, input_stream=Unread(FIVE_MB), content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == status, path  # a comment's is a refused drawing


def test_an_api_upload_needs_a_token_before_its_body_is_read(client, teacher):
    from practika.accounts.services.api_tokens import issue_token

    assert post_unread(client, "/api/v1/videos").status_code == 413
    forged = post_unread(client, "/api/v1/videos", Authorization="Bearer pk_" + "x" * 43)
    assert forged.status_code == 401  # the API checks the token before any view reads
    raw = issue_token(teacher, "uploads", None)[1]
    db.session.commit()
    big = os.urandom(3 * 2**20)
    response = client.post(
        "/api/v1/videos",
        data={"video": (io.BytesIO(big), "long.mp4")},
        headers={"Authorization": f"Bearer {raw}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201


def test_a_form_has_a_bounded_number_of_parts_and_field_size(client):
    from practika.security import FORM_FIELD_BYTES, FORM_PARTS

    many = {f"field{n}": "x" for n in range(FORM_PARTS + 1)}
    response = client.post("/accounts/login", data=many, content_type="multipart/form-data")
    assert response.status_code == 413
    huge = {"email": "x" * (FORM_FIELD_BYTES + 1), "password": "y"}
    response = client.post("/accounts/login", data=huge, content_type="multipart/form-data")
    assert response.status_code == 413


# ---- Names are one line -------------------------------------------------------------------

BROKEN = "Scales\r\nBcc: everyone@example.com\x00\t "
FOLDED = "Scales Bcc: everyone@example.com"


def test_names_posted_with_line_breaks_are_kept_to_one_line(teacher_client, teacher):
    from practika.accounts.models import User
    from practika.accounts.services.api_tokens import issue_token
    from practika.exercises.models import Exercise

    response = teacher_client.post("/exercises/new", data={"name": BROKEN, "description": "a\nb"})
    assert response.status_code == 303
    exercise = db.session.scalar(sa.select(Exercise))
    assert exercise.name == FOLDED and exercise.description == "a\nb"  # text keeps its lines
    teacher_client.post(
        "/accounts/profile",
        data={
            "first_name": "Tess\r\nX-Evil: 1",
            "last_name": "Ng\n",
            "email": teacher.email,
            "playback_speed": "1",
        },
    )
    db.session.expire_all()
    user = db.session.get(User, teacher.id)
    assert (user.first_name, user.last_name) == ("Tess X-Evil: 1", "Ng")
    raw = issue_token(teacher, "api", None)[1]
    db.session.commit()
    response = teacher_client.patch(
        f"/api/v1/exercises/{exercise.id}",
        json={"name": "Arpeggios\nfast"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200 and response.json["name"] == "Arpeggios fast"
    blank = teacher_client.post("/exercises/new", data={"name": "\r\n\t"})
    assert blank.status_code == 422 and "Give the exercise a name." in blank.get_data(as_text=True)


def test_a_webhook_description_is_one_line(app):
    from practika.webhooks.services import register_endpoint

    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    endpoint, _ = register_endpoint(
        "http://127.0.0.1:9/hook", ["attempt.submitted"], description=BROKEN
    )
    assert endpoint.description == FOLDED


@pytest.mark.parametrize(
    "url",
    [
        "/webhooks/99999999999999999999/toggle",
        "/accounts/tokens/99999999999999999999/revoke",
        "/accounts/invitations/99999999999999999999/resend",
        "/classes/00000000-0000-0000-0000-000000000000/members/99999999999999999999/remove",
        "/webhooks/0/toggle",
    ],
)
def test_an_id_too_long_for_its_column_is_a_404_not_a_500(client, staff_user, url):
    log_in(client, staff_user.email)
    assert client.post(url).status_code == 404


def test_the_api_takes_an_over_long_member_id_as_nobody(client, teacher):
    from practika.accounts.services.api_tokens import issue_token

    _, raw = issue_token(teacher, "t", None)
    db.session.commit()
    url = "/api/v1/classes/00000000-0000-0000-0000-000000000000/members/99999999999999999999"
    assert client.delete(url, headers={"Authorization": f"Bearer {raw}"}).status_code == 404
