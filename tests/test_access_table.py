"""Who sees what: one table of role x resource x action, over every route, fragment and API
endpoint.

The world: a teacher's (the author's) class, taught with a co-teacher, with two students in
it (``student`` and ``classmate``); the author's exercise, published to the class, with a
clip; the student's attempt on it, with the author's feedback and the student's answer; a
discussion comment (with a video) by the classmate, and the student's reply; and a draft
exercise of the author's (published nowhere) with its own model video and clip. Outside the
class: ``other_teacher`` and ``other_student``. Each row names a route, the resource it is
asked about, and the roles allowed; every other logged-in role must get 404 (not 403:
nothing says the thing exists), and a visitor is sent to log in (the API answers 401). A
route that no row covers fails the test, so a new route cannot skip the table.

GET rows run every role against one world, pages both as a page and as an htmx fragment,
API endpoints with each role's token. POST rows (and the API's changes) change things, so
each (row, role) gets a world of its own; they run on SQLite only, since the rules are the
same Python on both databases (the queries behind them are tested on PostgreSQL elsewhere).
Lists answer everyone: what each one holds for each role is checked on its own, last.
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
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset, VideoClip
from practika.exercises.models import Exercise, Publication
from practika.extensions import db
from practika.model_base import utcnow
from practika.storage import get_storage
from practika.webhooks.models import WebhookDelivery, WebhookEndpoint

ROLES = (
    "author",
    "co_teacher",
    "other_teacher",
    "student",
    "classmate",
    "other_student",
    "staff",
)
EVERYONE = set(ROLES)
# The published exercise, its clips, its media and its discussion: the class and staff.
CLASS = {"author", "co_teacher", "student", "classmate", "staff"}
# The attempt's thread: its student, the class's teachers, staff (not the classmate).
THREAD = {"author", "co_teacher", "student", "staff"}
EDITORS = {"author", "staff"}  # and the draft, which only they see
TEACHING = {"author", "co_teacher", "other_teacher", "staff"}
CLASS_TEACHERS = {"author", "co_teacher", "staff"}  # who run the class
CLASS_STUDENTS = {"student", "classmate"}
NOBODY: set[str] = set()

FAST_HASH = generate_password_hash("not used: sessions are set directly", "pbkdf2:sha256:1")


@dataclass
class World:
    users: dict[str, int]
    ids: dict[str, str]
    tokens: dict[str, str]  # each role's API token


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


def _ready_clip(exercise: Exercise, letter: str) -> VideoClip:
    """A processed clip of the exercise's model video, its file stored."""
    db.session.add(exercise)
    clip = VideoClip(
        original_video=exercise.video_asset,
        clip_hash=letter * 64,
        start_time=1,
        end_time=3,
        duration=2,
        processing_status="ready",
        storage_path=f"clips/{letter}.mp4",
    )
    exercise.clips.append(clip)
    get_storage().save(clip.storage_path, io.BytesIO(b"\0" * 64))
    return clip


def build_world(monkeypatch) -> World:
    monkeypatch.setattr(account_models, "generate_password_hash", lambda _: FAST_HASH)
    roles = {
        "author": RoleName.TEACHER,
        "co_teacher": RoleName.TEACHER,
        "other_teacher": RoleName.TEACHER,
        "student": RoleName.STUDENT,
        "classmate": RoleName.STUDENT,
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
    author, student, classmate = users["author"], users["student"], users["classmate"]
    classroom = Classroom(name="Tuesday group", created_by=author)
    classroom.members += [
        ClassMember(user=author, role=MemberRole.TEACHER),
        ClassMember(user=users["co_teacher"], role=MemberRole.TEACHER),
        ClassMember(user=student, role=MemberRole.STUDENT),
        ClassMember(user=classmate, role=MemberRole.STUDENT),
    ]
    model = _ready_video(author, "model")
    exercise = Exercise(name="Scales", description="", created_by=author, video_asset=model)
    exercise.publications.append(Publication(classroom=classroom))
    clip = _ready_clip(exercise, "k")
    draft_model = _ready_video(author, "draft")
    draft = Exercise(name="Etude", description="", created_by=author, video_asset=draft_model)
    draft_clip = _ready_clip(draft, "d")
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
    feedback.drawing = [{"shape": "line", "colour": "red", "points": [[0.1, 0.1], [0.5, 0.5]]}]
    feedback.still_path = "stills/feedback.jpg"  # the frame the drawing is on
    get_storage().save(feedback.still_path, io.BytesIO(b"\xff\xd8" + b"\0" * 62))
    answer = VideoComment(exercise=exercise, author=student, parent=attempt, text="Ok")
    comment = VideoComment(
        exercise=exercise,
        author=classmate,
        text="How fast?",
        video_asset=_ready_video(classmate, "c"),
    )
    reply = VideoComment(exercise=exercise, author=student, parent=comment, text="Slow")
    invitation = BetaInvitation(
        email="guest@example.com", token_hash="i" * 64, expires_at=utcnow() + timedelta(days=7)
    )
    tokens = {name: issue_token(user, "Script", None) for name, user in users.items()}
    webhook = WebhookEndpoint(
        url="https://93.184.215.14/hook", events=["video.ready"], secret="whsec_test"
    )
    delivery = WebhookDelivery(endpoint=webhook, event="video.ready", payload="{}", status="failed")
    db.session.add_all([clip, attempt, feedback, answer, comment, reply, invitation, delivery])
    db.session.commit()
    ids = {
        "class": classroom.id,
        "student_id": student.id,
        "exercise": exercise.id,
        "clip": clip.id,
        "model": model.id,
        "draft": draft.id,
        "draft_clip": draft_clip.id,
        "draft_model": draft_model.id,
        "attempt": attempt.id,
        "attempt_video": attempt.video_asset_id,
        "feedback": feedback.id,
        "feedback_video": feedback.video_asset_id,
        "answer": answer.id,
        "comment": comment.id,
        "comment_video": comment.video_asset_id,
        "reply": reply.id,
        "invitation": invitation.id,
        "token": tokens["student"][0].id,
        "webhook": webhook.id,
        "delivery": delivery.id,
    }
    return World(
        {name: user.id for name, user in users.items()},
        {key: str(value) for key, value in ids.items()},
        {name: raw for name, (_, raw) in tokens.items()},
    )


def act_as(client, world: World, role: str | None) -> None:
    """Log in by setting the session Flask-Login reads (the login form has its own tests)."""
    with client.session_transaction() as session:
        session.clear()
        if role is not None:
            user = db.session.get(account_models.User, world.users[role])
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


def api_headers(world: World, role: str | None) -> dict[str, str]:
    """The API takes a bearer token, never the session: a visitor sends none."""
    return {} if role is None else {"Authorization": f"Bearer {world.tokens[role]}"}


# (endpoint, url template, allowed roles). Templates name world ids in braces.
GET_ROWS = [
    ("core.index", "/", EVERYONE),
    ("core.my_videos", "/core/videos/", EVERYONE),
    ("exercises.index", "/exercises/", EVERYONE),
    ("exercises.detail", "/exercises/{exercise}", CLASS),
    ("exercises.detail", "/exercises/{draft}", EDITORS),
    ("exercises.clips", "/exercises/{exercise}/clips", CLASS),
    ("exercises.clips", "/exercises/{draft}/clips", EDITORS),
    ("exercises.create", "/exercises/new", TEACHING),
    ("exercises.edit", "/exercises/{exercise}/edit", EDITORS),
    ("exercises.delete", "/exercises/{exercise}/delete", EDITORS),
    ("core.media", "/core/media/{model}/video", CLASS),
    ("core.media", "/core/media/{model}/poster", CLASS),
    ("core.media", "/core/media/{draft_model}/video", EDITORS),
    ("core.media", "/core/media/{attempt_video}/video", THREAD),
    ("core.media", "/core/media/{attempt_video}/poster", THREAD),
    ("core.media", "/core/media/{feedback_video}/video", THREAD),
    ("core.media", "/core/media/{comment_video}/video", CLASS),
    ("core.video_status", "/core/videos/{model}/status", CLASS),
    ("core.video_status", "/core/videos/{draft_model}/status", EDITORS),
    ("core.video_status", "/core/videos/{attempt_video}/status", THREAD),
    ("core.video_status", "/core/videos/{feedback_video}/status", THREAD),
    ("core.video_status", "/core/videos/{comment_video}/status", CLASS),
    ("core.clip_media", "/core/clips/{clip}.mp4", CLASS),
    ("core.clip_media", "/core/clips/{draft_clip}.mp4", EDITORS),
    ("core.clip_status", "/core/clips/{clip}/status", CLASS),
    ("core.clip_status", "/core/clips/{draft_clip}/status", EDITORS),
    ("comments.attempt", "/comments/attempts/{attempt}", THREAD),
    ("comments.attempt", "/comments/attempts/{comment}", NOBODY),  # not an attempt
    ("comments.replace_video_panel", "/comments/attempts/{attempt}/video", {"student"}),
    ("comments.alignment", "/comments/attempts/{attempt}/alignment", THREAD),
    ("comments.alignment", "/comments/attempts/{comment}/alignment", NOBODY),
    # Two takes of one student: the pairs that open are in tests/test_compare.py.
    ("comments.compare", "/comments/attempts/{attempt}/compare/{comment}", NOBODY),
    ("comments.replace_video_panel", "/comments/attempts/{comment}/video", NOBODY),
    ("comments.still", "/comments/{feedback}/still", THREAD),
    ("comments.still", "/comments/{answer}/still", NOBODY),  # it draws nothing
    ("comments.show", "/comments/{attempt}", THREAD),
    ("comments.show", "/comments/{feedback}", THREAD),
    ("comments.show", "/comments/{answer}", THREAD),
    ("comments.show", "/comments/{comment}", CLASS),
    ("comments.show", "/comments/{reply}", CLASS),
    ("comments.edit", "/comments/{feedback}/edit", {"author"}),
    ("comments.edit", "/comments/{answer}/edit", {"student"}),
    ("comments.edit", "/comments/{comment}/edit", {"classmate"}),
    ("comments.edit", "/comments/{attempt}/edit", NOBODY),  # an attempt is kept as sent
    ("comments.more_threads", "/comments/exercises/{exercise}?page=1", CLASS),
    ("comments.more_threads", "/comments/exercises/{draft}?page=1", EDITORS),
    ("comments.discussion_section", "/comments/exercises/{exercise}/discussion", CLASS),
    ("comments.discussion_section", "/comments/exercises/{draft}/discussion", EDITORS),
    ("comments.more_attempts", "/comments/exercises/{exercise}/attempts?page=1", CLASS),
    ("comments.more_attempts", "/comments/exercises/{draft}/attempts?page=1", EDITORS),
    ("classes.index", "/classes/", EVERYONE),
    ("classes.detail", "/classes/{class}", CLASS),
    ("classes.qr_code", "/classes/{class}/qr.svg", CLASS_TEACHERS),
    ("comments.review_inbox", "/comments/inbox", TEACHING),
    ("comments.my_attempts", "/comments/mine", EVERYONE),
    ("accounts.invitations", "/accounts/invitations", {"staff"}),
    ("webhooks.index", "/webhooks/", {"staff"}),
    ("webhooks.deliveries", "/webhooks/deliveries", {"staff"}),
    ("api.list_exercises", "/api/v1/exercises", EVERYONE),
    ("api.exercise", "/api/v1/exercises/{exercise}", CLASS),
    ("api.exercise", "/api/v1/exercises/{draft}", EDITORS),
    ("api.clips", "/api/v1/exercises/{exercise}/clips", CLASS),
    ("api.clips", "/api/v1/exercises/{draft}/clips", EDITORS),
    ("api.attempts", "/api/v1/exercises/{exercise}/attempts", CLASS),
    ("api.attempts", "/api/v1/exercises/{draft}/attempts", EDITORS),
    ("api.exercise_comments", "/api/v1/exercises/{exercise}/comments", CLASS),
    ("api.exercise_comments", "/api/v1/exercises/{draft}/comments", EDITORS),
    ("api.comment_still", "/api/v1/comments/{feedback}/still", THREAD),
    ("api.comment_still", "/api/v1/comments/{answer}/still", NOBODY),
    ("api.replies", "/api/v1/comments/{attempt}/replies", THREAD),
    ("api.replies", "/api/v1/comments/{feedback}/replies", THREAD),
    ("api.replies", "/api/v1/comments/{comment}/replies", CLASS),
    ("api.replies", "/api/v1/comments/{reply}/replies", CLASS),
    ("api.video", "/api/v1/videos/{model}", CLASS),
    ("api.video", "/api/v1/videos/{draft_model}", EDITORS),
    ("api.video", "/api/v1/videos/{attempt_video}", THREAD),
    ("api.video", "/api/v1/videos/{feedback_video}", THREAD),
    ("api.video", "/api/v1/videos/{comment_video}", CLASS),
    ("api.video_media", "/api/v1/videos/{model}/video", CLASS),
    ("api.video_media", "/api/v1/videos/{draft_model}/poster", EDITORS),
    ("api.video_media", "/api/v1/videos/{attempt_video}/video", THREAD),
    ("api.video_media", "/api/v1/videos/{comment_video}/poster", CLASS),
    ("api.list_classes", "/api/v1/classes", EVERYONE),
    ("api.get_class", "/api/v1/classes/{class}", CLASS),
    ("api.review_inbox", "/api/v1/inbox", TEACHING),
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
    # A student never sends their bad file back to the workers: they replace it.
    ("core.retry_video", "/core/videos/{attempt_video}/retry", {"staff"}, {}),
    ("core.retry_video", "/core/videos/{model}/retry", EDITORS, {}),
    # Only its owner and staff reach a video to delete or keep it (these are in use: they stay).
    ("core.delete_video", "/core/videos/{attempt_video}/delete", {"student", "staff"}, {}),
    ("core.delete_video", "/core/videos/{model}/delete", EDITORS, {}),
    ("core.keep_video", "/core/videos/{attempt_video}/keep", {"student", "staff"}, {}),
    ("core.keep_video", "/core/videos/{model}/keep", EDITORS, {}),
    ("comments.comment_on_exercise", "/comments/exercises/{exercise}", CLASS, {"text": "Hi"}),
    ("comments.comment_on_exercise", "/comments/exercises/{draft}", EDITORS, {"text": "Hi"}),
    ("comments.reply", "/comments/{attempt}/replies", THREAD, {"text": "Good", "at_seconds": "1"}),
    ("comments.reply", "/comments/{feedback}/replies", THREAD, {"text": "Thanks"}),
    ("comments.reply", "/comments/{comment}/replies", CLASS, {"text": "Me too"}),
    ("comments.edit", "/comments/{feedback}/edit", {"author"}, {"text": "Changed"}),
    ("comments.edit", "/comments/{comment}/edit", {"classmate"}, {"text": "Changed"}),
    ("comments.edit", "/comments/{attempt}/edit", NOBODY, {"text": "Changed"}),
    ("comments.delete", "/comments/{feedback}/delete", {"author", "staff"}, {}),
    ("comments.delete", "/comments/{answer}/delete", {"student", "staff"}, {}),
    ("comments.delete", "/comments/{comment}/delete", {"classmate", "staff"}, {}),
    ("comments.delete", "/comments/{attempt}/delete", NOBODY, {}),
    ("comments.submit", "/comments/exercises/{exercise}/attempts", CLASS_STUDENTS, {"note": "x"}),
    ("comments.submit", "/comments/exercises/{draft}/attempts", NOBODY, {"note": "x"}),
    ("comments.replace_video", "/comments/attempts/{attempt}/video", {"student"}, {}),
    ("comments.replace_video", "/comments/attempts/{comment}/video", NOBODY, {}),
    ("comments.save_alignment", "/comments/attempts/{attempt}/alignment", THREAD, {"offset": "1"}),
    ("comments.save_alignment", "/comments/attempts/{comment}/alignment", NOBODY, {"offset": "1"}),
    ("exercises.publish", "/exercises/{exercise}/publish", EDITORS, {"class_id": "{class}"}),
    ("classes.create", "/classes/", TEACHING, {"name": "New class"}),
    ("classes.rename", "/classes/{class}/rename", CLASS_TEACHERS, {"name": "Renamed"}),
    ("classes.set_joining", "/classes/{class}/joining", CLASS_TEACHERS, {"open": "0"}),
    ("classes.new_code", "/classes/{class}/code", CLASS_TEACHERS, {}),
    ("classes.set_archived", "/classes/{class}/archive", CLASS_TEACHERS, {"archived": "1"}),
    ("classes.delete", "/classes/{class}/delete", CLASS_TEACHERS, {}),
    (
        "classes.add_co_teacher",
        "/classes/{class}/teachers",
        CLASS_TEACHERS,
        {"email": "other_teacher@example.com"},
    ),
    ("classes.remove", "/classes/{class}/members/{student_id}/remove", CLASS_TEACHERS, {}),
    ("comments.reviewed", "/comments/attempts/{attempt}/reviewed", THREAD - {"student"}, {}),
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

# The API's changes: (endpoint, method, url template, allowed roles, JSON body).
API_CHANGE_ROWS = [
    ("api.create_exercise_view", "POST", "/api/v1/exercises", TEACHING, {"name": "New"}),
    ("api.update_exercise", "PATCH", "/api/v1/exercises/{exercise}", EDITORS, {"name": "R"}),
    ("api.delete_exercise_view", "DELETE", "/api/v1/exercises/{exercise}", EDITORS, None),
    (
        "api.create_clip",
        "POST",
        "/api/v1/exercises/{exercise}/clips",
        EDITORS,
        {"start": 4, "end": 6},
    ),
    ("api.create_attempt", "POST", "/api/v1/exercises/{exercise}/attempts", CLASS_STUDENTS, {}),
    ("api.create_attempt", "POST", "/api/v1/exercises/{draft}/attempts", NOBODY, {}),
    ("api.replace_video", "PUT", "/api/v1/attempts/{attempt}/video", {"student"}, {}),
    ("api.replace_video", "PUT", "/api/v1/attempts/{comment}/video", NOBODY, {}),
    ("api.create_comment", "POST", "/api/v1/exercises/{exercise}/comments", CLASS, {"text": "Hi"}),
    ("api.create_comment", "POST", "/api/v1/exercises/{draft}/comments", EDITORS, {"text": "Hi"}),
    ("api.create_reply", "POST", "/api/v1/comments/{attempt}/replies", THREAD, {"text": "Good"}),
    ("api.create_reply", "POST", "/api/v1/comments/{comment}/replies", CLASS, {"text": "Me too"}),
    (
        "api.publish_exercise",
        "PUT",
        "/api/v1/exercises/{exercise}/classes",
        EDITORS,
        {"class_ids": []},
    ),
    ("api.create_class_view", "POST", "/api/v1/classes", TEACHING, {"name": "New class"}),
    ("api.update_class", "PATCH", "/api/v1/classes/{class}", CLASS_TEACHERS, {"name": "Renamed"}),
    ("api.new_class_code", "POST", "/api/v1/classes/{class}/code", CLASS_TEACHERS, None),
    ("api.delete_class", "DELETE", "/api/v1/classes/{class}", CLASS_TEACHERS, None),
    (
        "api.add_class_teacher",
        "POST",
        "/api/v1/classes/{class}/teachers",
        CLASS_TEACHERS,
        {"email": "other_teacher@example.com"},
    ),
    (
        "api.remove_class_member",
        "DELETE",
        "/api/v1/classes/{class}/members/{student_id}",
        CLASS_TEACHERS,
        None,
    ),
    (
        "api.mark_attempt_reviewed",
        "POST",
        "/api/v1/attempts/{attempt}/reviewed",
        THREAD - {"student"},
        None,
    ),
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
    "classes.join_link",  # joining by a code: anyone may try one (tests/test_classes.py)
    "classes.join_typed",
    "api.join_class",
    "api.openapi",
    "api.me",
    "api.upload_video",
    "api.upload_create",
    "api.upload_resume",
    # Straight to the bucket: the owner's uploads only (tests/test_direct_uploads.py).
    "api.direct_start",
    "api.direct_parts",
    "api.direct_urls",
    "api.direct_complete",
    "api.direct_abort",
    "core.direct_start",
    "core.direct_parts",
    "core.direct_urls",
    "core.direct_complete",
    "core.direct_abort",
    # A take sent to the bucket as it is recorded: the owner's (tests/test_streamed_takes.py).
    "core.take_start",
    "core.take_pieces",
    "core.take_urls",
    "core.take_finish",
    "core.take_discard",
}


def test_every_route_is_in_the_table(app):
    rows = GET_ROWS + POST_ROWS + API_CHANGE_ROWS
    covered = {row[0] for row in rows} | NOT_RESOURCES
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - covered == set(), "add these routes to the access table"
    assert covered - endpoints == set(), "the table names routes that do not exist"


def _sent_to_log_in(response, api: bool) -> bool:
    if api:
        return response.status_code == 401
    return "/accounts/login" in (
        response.headers.get("HX-Redirect") or response.headers.get("Location", "")
    )


@pytest.mark.parametrize("row", GET_ROWS, ids=lambda row: row[1])
def test_reading(app, client, monkeypatch, row):
    _, template, allowed = row
    world = build_world(monkeypatch)
    url = template.format(**world.ids)
    api = url.startswith("/api/")
    # A page is asked as a page and as an htmx fragment; the API by token.
    ways = [{}] if api else [{}, {"HX-Request": "true"}]
    for headers in ways:
        act_as(client, world, None)
        if template != "/":
            visitor = client.get(url, headers=headers)
            assert _sent_to_log_in(visitor, api), f"visitor reached {url} ({headers})"
        for role in ROLES:
            act_as(client, world, role)
            asked = {**headers, **api_headers(world, role)} if api else headers
            status = client.get(url, headers=asked).status_code
            if role in allowed:
                assert status in (200, 302, 303), f"{role} should reach {url}, got {status}"
            else:
                assert status == 404, f"{role} should get 404 for {url} ({headers}), got {status}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", (None, *ROLES))
@pytest.mark.parametrize("row", POST_ROWS, ids=lambda row: f"{row[0]}:{row[1]}")
def test_changing(app, client, monkeypatch, row, role):
    _, template, allowed, data = row
    world = build_world(monkeypatch)
    url = template.format(**world.ids)
    act_as(client, world, role)
    data = {name: value.format(**world.ids) for name, value in data.items()}
    response = client.post(url, data=data, headers={"HX-Request": "true"})
    if role is None:
        assert "/accounts/login" in response.headers.get("HX-Redirect", ""), url
    elif role in allowed:
        assert response.status_code < 500 and response.status_code != 404, (
            f"{role} should be let through {url}, got {response.status_code}"
        )
    else:
        assert response.status_code == 404, f"{role} should get 404 for {url}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", (None, *ROLES))
@pytest.mark.parametrize("row", API_CHANGE_ROWS, ids=lambda row: f"{row[0]}:{row[2]}")
def test_changing_through_the_api(app, client, monkeypatch, row, role):
    _, method, template, allowed, body = row
    world = build_world(monkeypatch)
    url = template.format(**world.ids)
    response = client.open(url, method=method, json=body, headers=api_headers(world, role))
    if role is None:
        assert response.status_code == 401, url
    elif role in allowed:
        assert response.status_code < 500 and response.status_code != 404, (
            f"{role} should be let through {method} {url}, got {response.status_code}"
        )
    else:
        assert response.status_code == 404, f"{role} should get 404 for {method} {url}"


def test_lists_hold_what_each_role_may_open(app, client, monkeypatch):
    """A list answers everyone, so it must hold exactly what its reader may open: the
    published exercise for the class, the draft for its author and staff; of the attempts,
    the ones in threads the reader may see (none for the classmate)."""
    world = build_world(monkeypatch)
    shown = {"exercise": CLASS, "draft": EDITORS}
    attempts = f"/api/v1/exercises/{world.ids['exercise']}/attempts"
    for role in ROLES:
        act_as(client, world, role)
        page = client.get("/exercises/").get_data(as_text=True)
        listed = client.get("/api/v1/exercises", headers=api_headers(world, role)).json
        for key, readers in shown.items():
            assert (f"/exercises/{world.ids[key]}" in page) is (role in readers), (role, key)
            in_api = world.ids[key] in {item["id"] for item in listed["items"]}
            assert in_api is (role in readers), (role, key)
        classes = client.get("/api/v1/classes", headers=api_headers(world, role)).json
        assert ([c["id"] for c in classes["items"]] == [world.ids["class"]]) is (role in CLASS)
        if role not in CLASS:
            continue  # the attempts list is 404 to them (the rows above)
        rows = client.get(f"/comments/exercises/{world.ids['exercise']}/attempts")
        link = f"/comments/attempts/{world.ids['attempt']}"
        assert (link in rows.get_data(as_text=True)) is (role in THREAD), role
        items = client.get(attempts, headers=api_headers(world, role)).json["items"]
        assert ([item["id"] for item in items] == [world.ids["attempt"]]) is (role in THREAD)
