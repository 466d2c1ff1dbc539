"""The JSON API's endpoints: each one's happy path and its permission cases (404 for what a
user may not see or change, as on the pages), and problem details for bad input."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa

from practika.accounts.models import RoleName
from practika.accounts.services.api_tokens import issue_token
from practika.comments.models import VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.queue import get_queue
from tests.conftest import _make_user, publish_to, put_in


@pytest.fixture
def tokens(app, teacher, student, classroom):
    """Tokens of the teacher, the student, and another student of the same class."""
    other = _make_user(RoleName.STUDENT, "olga")
    put_in(classroom, other)
    made = {}
    for name, user in (("teacher", teacher), ("student", student), ("other", other)):
        made[name] = issue_token(user, name, None)[1]
    db.session.commit()
    return made


@pytest.fixture
def call(client, tokens):
    def call(who: str, method: str, path: str, headers: dict | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[who]}", **(headers or {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def exercise(call, classroom):
    """The teacher's exercise, made through the API and published to the class."""
    response = call("teacher", "POST", "/exercises", json={"name": "Scales", "description": "Go"})
    assert response.status_code == 201, response.json
    publish(response.json["id"], classroom)
    return response.json


def publish(exercise_id: str, classroom) -> None:
    publish_to(db.session.get(Exercise, uuid.UUID(exercise_id)), classroom)


def ready_model(exercise_id: str) -> VideoAsset:
    exercise = db.session.get(Exercise, uuid.UUID(exercise_id))
    exercise.video_asset = VideoAsset(
        owner=exercise.created_by,
        processing_status="ready",
        duration_sec=8.0,
        renditions={"360p": {"path": "videos/x/360p.mp4", "height": 360}},
    )
    db.session.commit()
    return exercise.video_asset


def test_exercises_create_read_update_delete(call, exercise):
    assert exercise["name"] == "Scales" and exercise["author"]["username"] == "tess"
    path = f"/exercises/{exercise['id']}"
    assert call("student", "GET", path).json["name"] == "Scales"
    assert call("student", "PATCH", path, json={"name": "X"}).status_code == 404
    updated = call("teacher", "PATCH", path, json={"name": "Scales, slowly"})
    assert updated.status_code == 200 and updated.json["name"] == "Scales, slowly"
    assert call("student", "DELETE", path).status_code == 404
    assert call("teacher", "DELETE", path).status_code == 204
    assert call("teacher", "GET", path).status_code == 404


def test_students_cannot_create_exercises(call):
    assert call("student", "POST", "/exercises", json={"name": "Mine"}).status_code == 404


def test_bad_input_gets_field_errors(call, exercise):
    response = call("teacher", "POST", "/exercises", json={"name": "", "description": 5})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.json["errors"]) == {"name", "description"}
    assert call("teacher", "POST", "/exercises", data="not json").status_code == 422
    youtube = call(
        "teacher",
        "PATCH",
        f"/exercises/{exercise['id']}",
        json={"youtube_url": "https://vimeo.com/1"},
    )
    assert youtube.status_code == 422 and "youtube_url" in youtube.json["errors"]


def test_search_and_cursor_pagination(call, classroom):
    for name in [f"Drill {n}" for n in range(5)] + ["Arpeggio"]:
        publish(call("teacher", "POST", "/exercises", json={"name": name}).json["id"], classroom)
    first = call("student", "GET", "/exercises?limit=4").json
    assert len(first["items"]) == 4 and first["next_cursor"]
    rest = call("student", "GET", f"/exercises?limit=4&cursor={first['next_cursor']}").json
    names = [e["name"] for e in first["items"] + rest["items"]]
    assert len(names) == 6 == len(set(names)) and rest["next_cursor"] is None
    assert [e["name"] for e in call("student", "GET", "/exercises?q=arp").json["items"]] == [
        "Arpeggio"
    ]
    assert call("student", "GET", "/exercises?cursor=nonsense").status_code == 422
    assert call("student", "GET", "/exercises?limit=0").status_code == 422


def test_clips(call, exercise):
    path = f"/exercises/{exercise['id']}/clips"
    assert call("teacher", "POST", path, json={"start": 1, "end": 2}).status_code == 422  # no video
    ready_model(exercise["id"])
    made = call("teacher", "POST", path, json={"start": 1, "end": 2.5, "title": "Turn"})
    assert made.status_code == 201 and made.json["title"] == "Turn"
    assert call("teacher", "POST", path, json={"start": 3, "end": 2}).status_code == 422
    assert call("student", "POST", path, json={"start": 4, "end": 5}).status_code == 404
    assert [c["title"] for c in call("student", "GET", path).json["items"]] == ["Turn"]


def upload(call, who: str) -> str:
    response = call(
        who,
        "POST",
        "/videos",
        data={"video": (io.BytesIO(b"bytes"), "a.mp4")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert response.json["status"] in ("uploaded", "queued")
    return response.json["id"]


def test_attempts_feedback_and_who_sees_them(call, exercise):
    ready_model(exercise["id"])
    base = f"/exercises/{exercise['id']}"
    video_id = upload(call, "student")
    assert get_queue("media").job_ids[-1] == f"video-{video_id}-1"
    attempt = call("student", "POST", f"{base}/attempts", json={"video_id": video_id, "note": "Hi"})
    assert attempt.status_code == 201 and attempt.json["kind"] == "attempt"
    assert call("teacher", "POST", f"{base}/attempts", json={}).status_code == 404
    stolen = call("other", "POST", f"{base}/attempts", json={"video_id": video_id})
    assert stolen.status_code == 422 and "video_id" in stolen.json["errors"]
    assert len(call("teacher", "GET", f"{base}/attempts").json["items"]) == 1
    assert call("other", "GET", f"{base}/attempts").json["items"] == []
    thread = f"/comments/{attempt.json['id']}/replies"
    feedback = call("teacher", "POST", thread, json={"text": "Wrist", "at_seconds": 2.5})
    assert feedback.status_code == 201 and feedback.json["at_seconds"] == 2.5
    assert call("other", "GET", thread).status_code == 404
    assert call("other", "POST", thread, json={"text": "Me?"}).status_code == 404
    assert [r["text"] for r in call("student", "GET", thread).json["items"]] == ["Wrist"]
    assert call("student", "GET", f"/videos/{video_id}").json["id"] == video_id
    assert call("other", "GET", f"/videos/{video_id}").status_code == 404


def test_discussion_comments(call, exercise):
    path = f"/exercises/{exercise['id']}/comments"
    root = call("other", "POST", path, json={"text": "How fast?"})
    assert root.status_code == 201
    reply = call("teacher", "POST", f"/comments/{root.json['id']}/replies", json={"text": "Slow"})
    assert reply.json["parent_id"] == root.json["id"]
    assert [c["text"] for c in call("student", "GET", path).json["items"]] == ["How fast?", "Slow"]
    assert call("student", "POST", path, json={"text": " "}).status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(VideoComment.id))) == 2


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999", "-1", "true", '"3"'])
def test_a_moment_must_be_a_finite_number_of_seconds(call, exercise, raw):
    path = f"/exercises/{exercise['id']}/comments"
    body = '{"text": "Here", "at_seconds": ' + raw + "}"  # JSON's NaN and Infinity parse
    answer = call("other", "POST", path, data=body, content_type="application/json")
    assert answer.status_code == 422 and "at_seconds" in answer.json["errors"]
    assert call("student", "GET", path).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(VideoComment.id))) == 0


def test_a_nul_character_in_text_is_dropped_not_a_500(call, exercise):
    """JSON may carry U+0000; PostgreSQL's text columns refuse it (a 500 there before)."""
    path = f"/exercises/{exercise['id']}/comments"
    answer = call(
        "other", "POST", path, data='{"text": "x\\u0000y"}', content_type="application/json"
    )
    assert answer.status_code == 201 and answer.json["text"] == "xy"


def test_resumable_upload_through_the_api(call):
    tus = {"Tus-Resumable": "1.0.0"}
    created = call("student", "POST", "/uploads/", headers={**tus, "Upload-Length": "1000"})
    assert created.status_code == 201
    location = created.headers["Location"].removeprefix("/api/v1")
    assert location.startswith("/uploads/")
    piece = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert call("teacher", "PATCH", location, headers=piece, data=b"x").status_code == 404
    done = call("student", "PATCH", location, headers=piece, data=b"0123456789" * 100)
    assert done.status_code == 204
    assert done.headers["X-Video-Status"] == f"/api/v1/videos/{done.headers['X-Video-Asset']}"
    assert call("student", "POST", "/uploads/").status_code == 422  # not tus
