"""Who sees what: one table of role x resource x action, over every route and fragment.

The world: a teacher's exercise with a clip; a student's attempt on it, with the teacher's
feedback and the student's answer; a discussion comment (with a video) by another student,
and a reply. Each row names a route, the resource it is asked about, and the roles allowed;
every other logged-in role must get 404 (not 403: nothing says the thing exists), and a
visitor is sent to log in. A route that no row covers fails the test, so a new route cannot
skip the table.

GET rows run every role against one world. POST rows change things, so each (row, role)
gets a world of its own; they run on SQLite only, since the rules are the same Python on
both databases (the queries behind them are tested on PostgreSQL elsewhere).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from practika.accounts import models as account_models
from practika.accounts.models import BetaInvitation, RoleName
from practika.accounts.services.api_tokens import issue_token
from practika.accounts.services.users import create_user
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset, VideoClip
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.model_base import utcnow
from practika.storage import get_storage
from practika.webhooks.models import WebhookDelivery, WebhookEndpoint

ROLES = ("author", "other_teacher", "student", "other_student", "staff")
EVERYONE = set(ROLES)
THREAD = {"author", "student", "staff"}  # the attempt's thread: its student, the teacher, staff
EDITORS = {"author", "staff"}
TEACHING = {"author", "other_teacher", "staff"}
STUDENTS = {"student", "other_student"}
NOBODY: set[str] = set()

FAST_HASH = generate_password_hash("not used: sessions are set directly", "pbkdf2:sha256:1")


@dataclass
class World:
    users: dict[str, int]
    ids: dict[str, str]


def _ready_video(owner, name: str) -> VideoAsset:
    """A processed video whose stored files exist (a few bytes: nothing plays them here)."""
    asset = VideoAsset(
        owner=owner,
        orig_filename=f"{name}.mp4",
        processing_status="ready",
        progress_pct=100,
        duration_sec=10.0,
        width=640,
        height=360,
    )
    db.session.add(asset)
    db.session.flush()
    storage = get_storage()
    for key in (
        f"videos/{asset.id}/original",
        f"videos/{asset.id}/360p.mp4",
        f"videos/{asset.id}/poster.jpg",
    ):
        storage.save(key, io.BytesIO(b"\0" * 64))
    asset.storage_path = f"videos/{asset.id}/original"
    asset.poster_path = f"videos/{asset.id}/poster.jpg"
    asset.renditions = {"360p": {"path": f"videos/{asset.id}/360p.mp4", "height": 360}}
    return asset


def build_world(monkeypatch) -> World:
    monkeypatch.setattr(account_models, "generate_password_hash", lambda _: FAST_HASH)
    roles = {
        "author": RoleName.TEACHER,
        "other_teacher": RoleName.TEACHER,
        "student": RoleName.STUDENT,
        "other_student": RoleName.STUDENT,
        "staff": None,
    }
    users = {
        name: create_user(
            email=f"{name}@example.com",
            username=name,
            password="a fine passphrase",
            role=role,
            is_staff=name == "staff",
            email_verified=True,
        )
        for name, role in roles.items()
    }
    author, student, other = users["author"], users["student"], users["other_student"]
    model = _ready_video(author, "model")
    exercise = Exercise(name="Scales", description="", created_by=author, video_asset=model)
    db.session.add(exercise)
    clip = VideoClip(
        original_video=model,
        clip_hash="k" * 64,
        start_time=1,
        end_time=3,
        duration=2,
        processing_status="ready",
        storage_path="clips/k.mp4",
    )
    exercise.clips.append(clip)
    get_storage().save("clips/k.mp4", io.BytesIO(b"\0" * 64))
    attempt = VideoComment(
        exercise=exercise,
        author=student,
        kind=CommentKind.ATTEMPT,
        text="Try 1",
        video_asset=_ready_video(student, "attempt"),
    )
    feedback = VideoComment(
        exercise=exercise,
        author=author,
        parent=attempt,
        at_seconds=2.0,
        text="Lift the wrist",
        video_asset=_ready_video(author, "feedback"),
    )
    answer = VideoComment(exercise=exercise, author=student, parent=attempt, text="Ok")
    comment = VideoComment(
        exercise=exercise, author=other, text="How fast?", video_asset=_ready_video(other, "c")
    )
    reply = VideoComment(exercise=exercise, author=student, parent=comment, text="Slow")
    invitation = BetaInvitation(
        email="guest@example.com", token_hash="i" * 64, expires_at=utcnow() + timedelta(days=7)
    )
    token, _ = issue_token(student, "Script", None)
    webhook = WebhookEndpoint(
        url="https://93.184.215.14/hook", events=["video.ready"], secret="whsec_test"
    )
    delivery = WebhookDelivery(endpoint=webhook, event="video.ready", payload="{}", status="failed")
    db.session.add_all([clip, attempt, feedback, answer, comment, reply, invitation, delivery])
    db.session.commit()
    ids = {
        "exercise": exercise.id,
        "clip": clip.id,
        "model": model.id,
        "attempt": attempt.id,
        "attempt_video": attempt.video_asset_id,
        "feedback": feedback.id,
        "feedback_video": feedback.video_asset_id,
        "answer": answer.id,
        "comment": comment.id,
        "comment_video": comment.video_asset_id,
        "reply": reply.id,
        "invitation": invitation.id,
        "token": token.id,
        "webhook": webhook.id,
        "delivery": delivery.id,
    }
    return World(
        {name: user.id for name, user in users.items()},
        {key: str(value) for key, value in ids.items()},
    )


def act_as(client, world: World, role: str | None) -> None:
    """Log in by setting the session Flask-Login reads (the login form has its own tests)."""
    with client.session_transaction() as session:
        session.clear()
        if role is not None:
            user = db.session.get(account_models.User, world.users[role])
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


# (endpoint, url template, allowed roles). Templates name world ids in braces.
GET_ROWS = [
    ("core.index", "/", EVERYONE),
    ("core.my_videos", "/core/videos/", EVERYONE),
    ("exercises.index", "/exercises/", EVERYONE),
    ("exercises.detail", "/exercises/{exercise}", EVERYONE),
    ("exercises.clips", "/exercises/{exercise}/clips", EVERYONE),
    ("exercises.create", "/exercises/new", TEACHING),
    ("exercises.edit", "/exercises/{exercise}/edit", EDITORS),
    ("exercises.delete", "/exercises/{exercise}/delete", EDITORS),
    ("core.media", "/core/media/{model}/video", EVERYONE),
    ("core.media", "/core/media/{model}/poster", EVERYONE),
    ("core.media", "/core/media/{attempt_video}/video", THREAD),
    ("core.media", "/core/media/{attempt_video}/poster", THREAD),
    ("core.media", "/core/media/{feedback_video}/video", THREAD),
    ("core.media", "/core/media/{comment_video}/video", EVERYONE),
    ("core.video_status", "/core/videos/{model}/status", EVERYONE),
    ("core.video_status", "/core/videos/{attempt_video}/status", THREAD),
    ("core.video_status", "/core/videos/{feedback_video}/status", THREAD),
    ("core.video_status", "/core/videos/{comment_video}/status", EVERYONE),
    ("core.clip_media", "/core/clips/{clip}.mp4", EVERYONE),
    ("core.clip_status", "/core/clips/{clip}/status", EVERYONE),
    ("comments.attempt", "/comments/attempts/{attempt}", THREAD),
    ("comments.attempt", "/comments/attempts/{comment}", NOBODY),  # not an attempt
    ("comments.show", "/comments/{attempt}", THREAD),
    ("comments.show", "/comments/{feedback}", THREAD),
    ("comments.show", "/comments/{answer}", THREAD),
    ("comments.show", "/comments/{comment}", EVERYONE),
    ("comments.show", "/comments/{reply}", EVERYONE),
    ("comments.edit", "/comments/{feedback}/edit", {"author"}),
    ("comments.edit", "/comments/{answer}/edit", {"student"}),
    ("comments.edit", "/comments/{comment}/edit", {"other_student"}),
    ("comments.edit", "/comments/{attempt}/edit", NOBODY),  # an attempt is kept as sent
    ("comments.more_threads", "/comments/exercises/{exercise}?page=1", EVERYONE),
    ("comments.discussion_section", "/comments/exercises/{exercise}/discussion", EVERYONE),
    ("comments.more_attempts", "/comments/exercises/{exercise}/attempts?page=1", EVERYONE),
    ("accounts.invitations", "/accounts/invitations", {"staff"}),
    ("webhooks.index", "/webhooks/", {"staff"}),
    ("webhooks.deliveries", "/webhooks/deliveries", {"staff"}),
]

POST_ROWS = [
    ("exercises.edit", "/exercises/{exercise}/edit", EDITORS, {"name": "Renamed"}),
    ("exercises.delete", "/exercises/{exercise}/delete", EDITORS, {}),
    (
        "exercises.add_clip_view",
        "/exercises/{exercise}/clips",
        EDITORS,
        {"start": "4", "end": "6", "title": "B"},
    ),
    ("exercises.rename_clip", "/exercises/{exercise}/clips/{clip}/title", EDITORS, {"title": "A"}),
    ("exercises.reorder_clip", "/exercises/{exercise}/clips/{clip}/down", EDITORS, {}),
    ("exercises.remove_clip", "/exercises/{exercise}/clips/{clip}/delete", EDITORS, {}),
    ("core.retry_video", "/core/videos/{attempt_video}/retry", {"student", "staff"}, {}),
    ("core.retry_video", "/core/videos/{model}/retry", EDITORS, {}),
    ("comments.comment_on_exercise", "/comments/exercises/{exercise}", EVERYONE, {"text": "Hi"}),
    ("comments.reply", "/comments/{attempt}/replies", THREAD, {"text": "Good", "at_seconds": "1"}),
    ("comments.reply", "/comments/{feedback}/replies", THREAD, {"text": "Thanks"}),
    ("comments.reply", "/comments/{comment}/replies", EVERYONE, {"text": "Me too"}),
    ("comments.edit", "/comments/{feedback}/edit", {"author"}, {"text": "Changed"}),
    ("comments.edit", "/comments/{comment}/edit", {"other_student"}, {"text": "Changed"}),
    ("comments.edit", "/comments/{attempt}/edit", NOBODY, {"text": "Changed"}),
    ("comments.delete", "/comments/{feedback}/delete", {"author", "staff"}, {}),
    ("comments.delete", "/comments/{answer}/delete", {"student", "staff"}, {}),
    ("comments.delete", "/comments/{comment}/delete", {"other_student", "staff"}, {}),
    ("comments.delete", "/comments/{attempt}/delete", NOBODY, {}),
    ("comments.submit", "/comments/exercises/{exercise}/attempts", STUDENTS, {"note": "x"}),
    ("accounts.invite_someone", "/accounts/invitations", {"staff"}, {"email": "new@example.com"}),
    ("accounts.resend_invitation", "/accounts/invitations/{invitation}/resend", {"staff"}, {}),
    ("accounts.revoke_invitation", "/accounts/invitations/{invitation}/revoke", {"staff"}, {}),
    ("accounts.revoke_token_view", "/accounts/tokens/{token}/revoke", {"student"}, {}),
    (
        "webhooks.create",
        "/webhooks/",
        {"staff"},
        {"url": "https://93.184.215.14/new", "events": "comment.created"},
    ),
    ("webhooks.toggle", "/webhooks/{webhook}/toggle", {"staff"}, {}),
    ("webhooks.new_secret", "/webhooks/{webhook}/secret", {"staff"}, {}),
    ("webhooks.delete", "/webhooks/{webhook}/delete", {"staff"}, {}),
    ("webhooks.redeliver_view", "/webhooks/deliveries/{delivery}/redeliver", {"staff"}, {}),
]

# Routes that are about no one's resource: public pages, one's own account, and the upload
# protocol (an upload belongs to whoever sends it; its own tests cover that).
NOT_RESOURCES = {
    "static",
    "core.health",
    "core.live",
    "core.metrics",
    "core.tus_options",
    "core.upload_create",
    "core.upload_resume",
    "core.add_youtube",
    "accounts.login",
    "accounts.logout",
    "accounts.signup",
    "accounts.verify",
    "accounts.resend_verification",
    "accounts.onboarding",
    "accounts.reset_request",
    "accounts.reset_password",
    "accounts.profile",
    "accounts.create_token",
    "accounts.confirm_email",
    "accounts.password",
    "accounts.logout_everywhere",
}
# The JSON API applies the same rules (practika/permissions.py) to bearer tokens; its own
# cases are in tests/test_api.py and tests/test_api_tokens.py.
API_BLUEPRINT = "api."


def test_every_route_is_in_the_table(app):
    covered = {row[0] for row in GET_ROWS + POST_ROWS} | NOT_RESOURCES
    endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if not rule.endpoint.startswith(API_BLUEPRINT)
    }
    assert endpoints - covered == set(), "add these routes to the access table"
    assert covered - endpoints == set(), "the table names routes that do not exist"


@pytest.mark.parametrize("row", GET_ROWS, ids=lambda row: row[1])
def test_reading(app, client, monkeypatch, row):
    _, template, allowed = row
    world = build_world(monkeypatch)
    url = template.format(**world.ids)
    act_as(client, world, None)
    if template != "/":
        visitor = client.get(url)
        assert "/accounts/login" in visitor.headers.get("Location", ""), f"visitor reached {url}"
    for role in ROLES:
        act_as(client, world, role)
        status = client.get(url).status_code
        if role in allowed:
            assert status in (200, 302, 303), f"{role} should reach {url}, got {status}"
        else:
            assert status == 404, f"{role} should get 404 for {url}, got {status}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", (None, *ROLES))
@pytest.mark.parametrize("row", POST_ROWS, ids=lambda row: f"{row[0]}:{row[1]}")
def test_changing(app, client, monkeypatch, row, role):
    _, template, allowed, data = row
    world = build_world(monkeypatch)
    url = template.format(**world.ids)
    act_as(client, world, role)
    response = client.post(url, data=data, headers={"HX-Request": "true"})
    if role is None:
        assert "/accounts/login" in response.headers.get("HX-Redirect", ""), url
    elif role in allowed:
        assert response.status_code < 500 and response.status_code != 404, (
            f"{role} should be let through {url}, got {response.status_code}"
        )
    else:
        assert response.status_code == 404, f"{role} should get 404 for {url}"
