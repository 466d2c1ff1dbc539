"""Classes in the JSON API: each route's happy path, 404 for whoever may not see or run the
class (as on the pages), 422 problem details with the reason, and the join rate limit."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from practika.accounts.models import RoleName, User
from practika.accounts.services.api_tokens import issue_token
from practika.comments.models import CommentKind, VideoComment
from practika.extensions import db
from practika.model_base import utcnow
from tests.conftest import _make_user, log_in
from tests.test_api import ready_model
from tests.test_inbox import playable_video


@pytest.fixture
def tokens(app, teacher, student):
    people = {
        "teacher": teacher,
        "student": student,
        "other": _make_user(RoleName.STUDENT, "olga"),
        "co": _make_user(RoleName.TEACHER, "otto"),
        "staff": _make_user(None, "ada", staff=True),
    }
    made = {name: issue_token(user, name, None)[1] for name, user in people.items()}
    db.session.commit()
    return made


@pytest.fixture
def call(client, tokens):
    def call(who: str, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def klass(call):
    """Tess's class, Sam in it."""
    made = call("teacher", "POST", "/classes", json={"name": "Year 9 guitar"})
    assert made.status_code == 201, made.json
    joined = call("student", "POST", "/classes/join", json={"code": made.json["join_code"]})
    assert joined.status_code == 200, joined.json
    return made.json


def _problem(response, status: int, words: str) -> None:
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    assert words in response.json["detail"]


def test_a_teacher_creates_a_class_with_its_code_link_and_roster(call):
    made = call("teacher", "POST", "/classes", json={"name": "  Year 9 guitar "})
    assert made.status_code == 201
    assert made.headers["Location"].endswith(f"/api/v1/classes/{made.json['id']}")
    assert made.json["name"] == "Year 9 guitar" and made.json["role"] == "teacher"
    code = made.json["join_code"]
    assert made.json["join_url"].endswith(f"/classes/join/{code.replace('-', '')}")
    assert [m["user"]["username"] for m in made.json["members"]] == ["tess"]
    assert made.json["teachers"][0]["username"] == "tess" and made.json["exercise_ids"] == []


def test_only_teachers_create_classes_and_a_class_needs_a_name(call):
    assert call("student", "POST", "/classes", json={"name": "Mine"}).status_code == 404
    blank = call("teacher", "POST", "/classes", json={"name": " "})
    assert blank.status_code == 422 and "name" in blank.json["errors"]


def test_a_student_joins_by_code_and_sees_the_class_without_code_or_roster(call, klass):
    seen = call("student", "GET", f"/classes/{klass['id']}").json
    assert seen["role"] == "student" and [t["username"] for t in seen["teachers"]] == ["tess"]
    assert not {"join_code", "join_url", "members"} & set(seen)
    listed = call("student", "GET", "/classes").json["items"]
    assert [(c["name"], c["role"]) for c in listed] == [("Year 9 guitar", "student")]
    assert "join_code" not in listed[0]
    roster = call("teacher", "GET", f"/classes/{klass['id']}").json["members"]
    assert [(m["user"]["username"], m["role"]) for m in roster] == [
        ("tess", "teacher"),
        ("sam", "student"),
    ]


def test_outsiders_get_404_and_staff_see_every_class(call, klass):
    path = f"/classes/{klass['id']}"
    for outsider in ("other", "co"):
        assert call(outsider, "GET", "/classes").json["items"] == []
        assert call(outsider, "GET", path).status_code == 404
        assert call(outsider, "PATCH", path, json={"name": "Mine"}).status_code == 404
        assert call(outsider, "POST", f"{path}/code").status_code == 404
        assert call(outsider, "DELETE", path).status_code == 404
    assert call("teacher", "GET", f"/classes/{uuid.uuid4()}").status_code == 404
    assert call("teacher", "GET", "/classes/not-an-id").status_code == 404
    staff = call("staff", "GET", "/classes").json["items"]
    assert [(c["name"], c["role"], c["join_code"]) for c in staff] == [
        ("Year 9 guitar", None, klass["join_code"])
    ]
    assert len(call("staff", "GET", path).json["members"]) == 2


def test_its_teachers_rename_close_and_archive_it_students_may_not(call, klass):
    path = f"/classes/{klass['id']}"
    assert call("student", "PATCH", path, json={"name": "Ours"}).status_code == 404
    changed = call("teacher", "PATCH", path, json={"name": "Year 10", "joining_open": False})
    assert changed.status_code == 200
    assert (changed.json["name"], changed.json["joining_open"]) == ("Year 10", False)
    archived = call("staff", "PATCH", path, json={"archived": True})
    assert archived.json["archived"] is True
    listed = call("teacher", "GET", "/classes").json["items"]
    assert listed[0]["archived"] is True
    bad = call("teacher", "PATCH", path, json={"name": "", "joining_open": "yes"})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"name", "joining_open"}
    assert call("teacher", "GET", path).json["name"] == "Year 10"


def test_a_new_code_stops_the_old_one_and_a_closed_class_takes_no_one(call, klass):
    path = f"/classes/{klass['id']}"
    replaced = call("teacher", "POST", f"{path}/code")
    assert replaced.status_code == 200 and replaced.json["join_code"] != klass["join_code"]
    assert call("student", "POST", f"{path}/code").status_code == 404
    stale = call("other", "POST", "/classes/join", json={"code": klass["join_code"]})
    _problem(stale, 422, "No class has that code")
    assert stale.json["errors"] == {"code": stale.json["detail"]}
    call("teacher", "PATCH", path, json={"joining_open": False})
    closed = call("other", "POST", "/classes/join", json={"code": replaced.json["join_code"]})
    _problem(closed, 422, "not taking new students")
    assert call("other", "GET", path).status_code == 404


def test_joining_takes_a_student_a_code_in_any_case_and_only_once(call, klass):
    typed = klass["join_code"].lower()
    assert call("student", "POST", "/classes/join", json={"code": typed}).status_code == 200
    assert len(call("teacher", "GET", f"/classes/{klass['id']}").json["members"]) == 2
    teacher = call("co", "POST", "/classes/join", json={"code": klass["join_code"]})
    _problem(teacher, 422, "Only students join")
    assert call("other", "POST", "/classes/join", json={}).status_code == 422


def test_guessing_codes_is_rate_limited_by_failures_across_api_and_pages(
    app, call, client, klass, student
):
    app.config["JOIN_RATE_LIMIT"] = "3 per hour"
    for _ in range(2):
        _problem(call("student", "POST", "/classes/join", json={"code": "AAAA-AAAA"}), 422, "No")
    right = call("student", "POST", "/classes/join", json={"code": klass["join_code"]})
    assert right.status_code == 200  # a code that works costs nothing
    page = app.test_client()
    log_in(page, student.email)
    assert page.post("/classes/join", data={"code": "AAAA-AAAA"}).status_code == 422
    limited = call("student", "POST", "/classes/join", json={"code": klass["join_code"]})
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert call("other", "POST", "/classes/join", json={"code": "AAAA-AAAA"}).status_code == 422


def test_a_co_teacher_is_added_by_email_and_members_are_removed(call, klass, student):
    path = f"/classes/{klass['id']}"
    assert (
        call("student", "POST", f"{path}/teachers", json={"email": "otto@example.com"}).status_code
        == 404
    )
    added = call("teacher", "POST", f"{path}/teachers", json={"email": "OTTO@example.com"})
    assert added.status_code == 200
    assert {t["username"] for t in added.json["teachers"]} == {"tess", "otto"}
    assert call("co", "GET", path).json["join_code"] == klass["join_code"]
    not_a_teacher = call("teacher", "POST", f"{path}/teachers", json={"email": "olga@example.com"})
    _problem(not_a_teacher, 422, "No teacher's account has that email")
    assert call("student", "DELETE", f"{path}/members/{student.id}").status_code == 404
    assert call("co", "DELETE", f"{path}/members/{student.id}").status_code == 204
    assert call("student", "GET", path).status_code == 404
    for missing in (str(student.id), "99999", "abc", "99999999999999999999"):
        assert call("teacher", "DELETE", f"{path}/members/{missing}").status_code == 404
    tess = added.json["teachers"][0]["id"]
    otto = next(t["id"] for t in added.json["teachers"] if t["username"] == "otto")
    assert call("teacher", "DELETE", f"{path}/members/{otto}").status_code == 204
    _problem(call("teacher", "DELETE", f"{path}/members/{tess}"), 422, "at least one teacher")


def test_deleting_a_class_keeps_its_exercises(call, klass):
    exercise = call("teacher", "POST", "/exercises", json={"name": "Scales"}).json
    ready_model(exercise["id"])
    put = call(
        "teacher", "PUT", f"/exercises/{exercise['id']}/classes", json={"class_ids": [klass["id"]]}
    )
    assert put.status_code == 200
    assert call("student", "DELETE", f"/classes/{klass['id']}").status_code == 404
    assert call("teacher", "DELETE", f"/classes/{klass['id']}").status_code == 204
    assert call("teacher", "GET", f"/classes/{klass['id']}").status_code == 404
    kept = call("teacher", "GET", f"/exercises/{exercise['id']}").json
    assert (kept["published"], kept["class_ids"]) == (False, [])


def test_publishing_to_classes_needs_a_video_that_plays_and_the_authors_classes(call, klass):
    exercise = call("teacher", "POST", "/exercises", json={"name": "Scales"}).json
    assert (exercise["published"], exercise["class_ids"]) == (False, [])
    path = f"/exercises/{exercise['id']}/classes"
    no_video = call("teacher", "PUT", path, json={"class_ids": [klass["id"]]})
    _problem(no_video, 422, "model video")
    assert "class_ids" in no_video.json["errors"]
    assert call("student", "GET", f"/exercises/{exercise['id']}").status_code == 404
    ready_model(exercise["id"])
    published = call("teacher", "PUT", path, json={"class_ids": [klass["id"]]})
    assert published.status_code == 200
    assert (published.json["published"], published.json["class_ids"]) == (True, [klass["id"]])
    seen = call("student", "GET", f"/exercises/{exercise['id']}").json
    assert seen["published"] is True and "class_ids" not in seen
    assert "class_ids" not in call("student", "GET", "/exercises").json["items"][0]
    assert call("teacher", "GET", "/exercises").json["items"][0]["class_ids"] == [klass["id"]]
    assert call("teacher", "GET", f"/classes/{klass['id']}").json["exercise_ids"] == [
        exercise["id"]
    ]
    assert call("other", "GET", f"/exercises/{exercise['id']}").status_code == 404
    assert call("student", "PUT", path, json={"class_ids": []}).status_code == 404
    theirs = call("co", "POST", "/classes", json={"name": "Otto's"}).json
    foreign = call("teacher", "PUT", path, json={"class_ids": [theirs["id"]]})
    assert foreign.status_code == 422 and "class_ids" in foreign.json["errors"]
    assert call("teacher", "PUT", path, json={"class_ids": "all"}).status_code == 422
    draft = call("teacher", "PUT", path, json={"class_ids": []})
    assert (draft.json["published"], draft.json["class_ids"]) == (False, [])
    assert call("student", "GET", f"/exercises/{exercise['id']}").status_code == 404


def _attempt(exercise_id: str, author_id: int, minutes_ago: int) -> str:
    """An attempt whose video plays: the inbox lists no other."""
    attempt = VideoComment(
        exercise_id=uuid.UUID(exercise_id),
        author_id=author_id,
        kind=CommentKind.ATTEMPT,
        text="",
        video_asset=playable_video(db.session.get(User, author_id)),
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    db.session.add(attempt)
    db.session.commit()
    return str(attempt.id)


def test_the_inbox_lists_waiting_attempts_oldest_first_and_reviewed_ones_leave(
    call, klass, student
):
    exercise = call("teacher", "POST", "/exercises", json={"name": "Scales"}).json
    ready_model(exercise["id"])
    path = f"/exercises/{exercise['id']}/classes"
    assert call("teacher", "PUT", path, json={"class_ids": [klass["id"]]}).status_code == 200
    call("other", "POST", "/classes/join", json={"code": klass["join_code"]})
    other_id = call("other", "GET", "/me").json["id"]
    newer = _attempt(exercise["id"], other_id, minutes_ago=5)
    older = _attempt(exercise["id"], student.id, minutes_ago=30)
    waiting = call("teacher", "GET", "/inbox").json
    assert [a["id"] for a in waiting["items"]] == [older, newer] and waiting["has_more"] is False
    filtered = call("teacher", "GET", f"/inbox?class={klass['id']}&exercise={exercise['id']}")
    assert [a["id"] for a in filtered.json["items"]] == [older, newer]
    assert call("teacher", "GET", f"/inbox?exercise={uuid.uuid4()}").json["items"] == []
    assert call("teacher", "GET", "/inbox?class=nonsense").status_code == 422
    assert call("student", "GET", "/inbox").status_code == 404
    assert call("student", "POST", f"/attempts/{older}/reviewed").status_code == 404
    assert call("co", "POST", f"/attempts/{older}/reviewed").status_code == 404
    assert call("teacher", "POST", f"/attempts/{uuid.uuid4()}/reviewed").status_code == 404
    assert call("teacher", "POST", f"/attempts/{older}/reviewed").status_code == 204
    assert [a["id"] for a in call("teacher", "GET", "/inbox").json["items"]] == [newer]


def test_joining_also_counts_against_the_tokens_own_limit(app, call, klass):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    for _ in range(2):
        assert (
            call("student", "POST", "/classes/join", json={"code": klass["join_code"]}).status_code
            == 200
        )
    assert (
        call("student", "POST", "/classes/join", json={"code": klass["join_code"]}).status_code
        == 429
    )
