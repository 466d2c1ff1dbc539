"""Drawings on feedback (Issue 17): what a drawing may hold, checked alike from a page's form
and from the API; where one may go (an attempt's thread, at a moment of its take); bodies
too large for one answered as a refused drawing, not as a failed upload; the still of the
frame the worker makes (real FFmpeg on a take made here, the real Redis queue, jobs run in
this process), who may see it, and that it goes with its comment; and the comment's
fragment, which carries the shapes for the page's script and polls until the still is made.

The takes here are stored uploads marked ready by hand, not put through processing: the
still's job reads only the stored original and its duration, and a real transcode for each
test would triple the file's time.
"""

from __future__ import annotations

import contextvars
import html
import io
import json
import os
import re
import subprocess
import time
import uuid
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from rq import SimpleWorker

from practika.accounts.models import RoleName, User
from practika.accounts.services.api_tokens import issue_token
from practika.classes.services import create_class
from practika.comments import stills
from practika.comments.drawing import (
    COLOURS,
    MAX_BYTES,
    MAX_FREE_POINTS,
    MAX_POINTS,
    MAX_SHAPES,
    SHAPE_POINTS,
    TOO_LARGE,
    DrawingRefused,
    checked_drawing,
    drawing_from_form,
)
from practika.comments.models import CommentKind, VideoComment
from practika.comments.services import delete_comment
from practika.comments.stills import STILL_MAX_RUNS, make_still, still_key
from practika.core.models import VideoAsset
from practika.core.services import store_upload
from practika.extensions import db
from practika.queue import get_queue, get_redis
from practika.recount import recompute_metrics
from practika.storage import LocalStorage, get_storage
from tests.conftest import _make_user, count_rows, exercise_with_model, log_in, publish_to, put_in
from tests.media_samples import encode

HTMX = {"HX-Request": "true"}


def shape(kind: str = "arrow", colour: str = "red", count: int | None = None) -> dict:
    """A shape the checks accept: ``count`` points (by default as many as ``kind`` needs)
    along the frame's diagonal."""
    count = count if count is not None else SHAPE_POINTS.get(kind, (2, 2))[0]
    points = [[round(n / max(count, 1), 4)] * 2 for n in range(count)]
    return {"shape": kind, "colour": colour, "points": points}


def with_points(*points) -> list[dict]:
    return [{"shape": "arrow", "colour": "red", "points": list(points)}]


def raw_coordinate(raw: str) -> str:
    """A drawing's JSON text with ``raw`` as its first coordinate, as sent (NaN and Infinity
    are constants some JSON writers emit, and Python's json reads)."""
    return json.dumps(with_points([0.125, 0.5], [0.2, 0.2])).replace("0.125", raw)


ARROW = shape()
ANGLE = {"shape": "angle", "colour": "yellow", "points": [[0.4, 0.3], [0.45, 0.6], [0.62, 0.62]]}
SHAPES = [ARROW, ANGLE]

# What a client might send, with the words the refusal gives: the same from a form's text
# (as JSON) and from the API's parsed body.
REFUSED = [
    pytest.param({"shape": "arrow"}, "A drawing is a list of shapes.", id="not-a-list"),
    pytest.param("arrow", "A drawing is a list of shapes.", id="a-string"),
    pytest.param([shape("square")], "Shape 1 is not one we draw", id="unknown-shape"),
    pytest.param([ARROW, shape(colour="pink")], "Shape 2's colour must be one of", id="colour"),
    pytest.param([shape(colour="#ff0000")], "Shape 1's colour must be one of", id="hex-colour"),
    pytest.param([{**ARROW, "label": "<b>"}], "a shape, a colour and points, only", id="extra"),
    pytest.param([{"shape": "arrow", "colour": "red"}], "a colour and points", id="missing"),
    pytest.param(["arrow"], "a shape, a colour and points, only", id="shape-not-an-object"),
    pytest.param([{**ARROW, "points": "0,0 1,1"}], "(arrow) needs 2 points", id="points-text"),
    pytest.param(with_points([0.1], [0.2, 0.2]), "a point that is not [x, y]", id="one-number"),
    pytest.param(with_points([0.1, 0.1, 0.1], [0.2, 0.2]), "not [x, y]", id="three-numbers"),
    pytest.param(with_points({"x": 0.1, "y": 0.1}, [0.2, 0.2]), "not [x, y]", id="object"),
    pytest.param(with_points([True, 0.5], [0.2, 0.2]), "outside the frame", id="bool"),
    pytest.param(with_points(["0.5", 0.5], [0.2, 0.2]), "outside the frame", id="text-number"),
    pytest.param(with_points([None, 0.5], [0.2, 0.2]), "outside the frame", id="null"),
    pytest.param(with_points([-0.0001, 0.5], [0.2, 0.2]), "outside the frame", id="below-0"),
    pytest.param(with_points([0.5, 1.0001], [0.2, 0.2]), "outside the frame", id="above-1"),
    pytest.param(with_points([0.5, 1e308], [0.2, 0.2]), "outside the frame", id="huge"),
    pytest.param([ARROW] * (MAX_SHAPES + 1), f"at most {MAX_SHAPES} shapes", id="shapes"),
    pytest.param(
        [shape("free", count=MAX_FREE_POINTS)] * (MAX_POINTS // MAX_FREE_POINTS + 1),
        f"at most {MAX_POINTS} points in all",
        id="points-in-all",
    ),
]


# 1. What a drawing may hold


@pytest.mark.parametrize(
    ("kind", "count"),
    [("arrow", 2), ("line", 2), ("circle", 2), ("angle", 3), ("free", 2), ("free", 500)],
)
def test_each_shape_is_kept_with_its_number_of_points(kind, count):
    for colour in COLOURS:
        drawn = [shape(kind, colour, count)]
        assert checked_drawing(drawn) == drawn


@pytest.mark.parametrize(
    ("kind", "count", "needs"),
    [
        ("arrow", 1, "needs 2 points"),
        ("arrow", 3, "needs 2 points"),
        ("line", 1, "needs 2 points"),
        ("line", 3, "needs 2 points"),
        ("circle", 1, "needs 2 points"),
        ("circle", 3, "needs 2 points"),
        ("angle", 2, "needs 3 points"),
        ("angle", 4, "needs 3 points"),
        ("free", 0, f"needs 2 to {MAX_FREE_POINTS} points"),
        ("free", 1, f"needs 2 to {MAX_FREE_POINTS} points"),
        ("free", MAX_FREE_POINTS + 1, f"needs 2 to {MAX_FREE_POINTS} points"),
    ],
)
def test_a_shape_with_too_few_or_too_many_points_is_refused(kind, count, needs):
    with pytest.raises(DrawingRefused, match=re.escape(f"Shape 1 ({kind}) {needs}")):
        checked_drawing([shape(kind, count=count)])


@pytest.mark.parametrize(("drawing", "reason"), REFUSED)
def test_what_is_no_drawing_is_refused_whole_with_a_reason(drawing, reason):
    with pytest.raises(DrawingRefused, match=re.escape(reason)):
        checked_drawing(drawing)
    with pytest.raises(DrawingRefused, match=re.escape(reason)):
        drawing_from_form(json.dumps(drawing))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_no_coordinates(constant):
    text = raw_coordinate(constant)
    with pytest.raises(DrawingRefused):
        drawing_from_form(text)  # Python's json reads these constants unless told not to
    parsed = json.loads(text)  # what the API's body holds: a float
    with pytest.raises(DrawingRefused, match="outside the frame"):
        checked_drawing(parsed)


def test_the_edges_of_the_frame_are_inside_it():
    assert checked_drawing(with_points([0, 0], [1, 1])) == with_points([0.0, 0.0], [1.0, 1.0])


def test_points_are_kept_to_four_places():
    kept = checked_drawing(with_points([0.123456789, 0.99999], [1 / 3, 0.00004]))
    assert kept[0]["points"] == [[0.1235, 1.0], [0.3333, 0.0]]
    assert all(isinstance(v, float) for point in kept[0]["points"] for v in point)


def test_the_caps_themselves_are_allowed():
    assert len(checked_drawing([ARROW] * MAX_SHAPES)) == MAX_SHAPES
    most = [shape("free", count=MAX_FREE_POINTS)] * (MAX_POINTS // MAX_FREE_POINTS)
    assert checked_drawing(most) == most


@pytest.mark.parametrize("empty", [None, "", "   ", "[]", "null"])
def test_an_empty_drawing_from_a_form_is_none(empty):
    assert drawing_from_form(empty) is None


@pytest.mark.parametrize("empty", [None, []])
def test_an_empty_drawing_from_the_api_is_none(empty):
    assert checked_drawing(empty) is None


@pytest.mark.parametrize("text", ["[{", "arrow", "{'shape': 'arrow'}", "[1,]", "\x00"])
def test_text_that_is_no_json_is_refused(text):
    with pytest.raises(DrawingRefused, match="could not be read"):
        drawing_from_form(text)


def test_form_text_past_its_byte_cap_is_refused_before_it_is_read():
    padded = json.dumps(SHAPES) + " " * MAX_BYTES  # a good drawing, padded past the cap
    with pytest.raises(DrawingRefused, match=re.escape(TOO_LARGE)):
        drawing_from_form(padded)
    assert drawing_from_form(json.dumps(SHAPES) + " " * (MAX_BYTES // 2)) == SHAPES


# The exercise, its attempt and the people around it


@pytest.fixture(scope="session")
def dark_then_light(tmp_path_factory) -> bytes:
    """A 2 s take, black for its first second and white for its second: a still shows which
    moment it was taken at."""
    path = tmp_path_factory.mktemp("drawings") / "take.mp4"
    encode(
        path,
        "-f lavfi -i color=c=black:s=320x240:r=25:d=1 -f lavfi -i color=c=white:s=320x240:r=25:d=1"
        " -filter_complex [0:v][1:v]concat=n=2:v=1:a=0 -c:v libx264 -preset ultrafast -g 5"
        " -pix_fmt yuv420p",
    )
    return path.read_bytes()


@pytest.fixture
def exercise(app, teacher, classroom):
    """The teacher's exercise with a 12 s model video, published to the student's class."""
    exercise = exercise_with_model(teacher, "Squats")
    recompute_metrics(fix=True)  # made by hand here: count it, so the tests start true
    return publish_to(exercise, classroom)


def stored_take(owner, content: bytes) -> VideoAsset:
    """A take stored as an upload is, marked ready (its original is what the still is cut
    from)."""
    asset = store_upload(io.BytesIO(content), owner=owner, filename="take.mp4")
    asset.processing_status = "ready"
    asset.duration_sec, asset.width, asset.height = 2.0, 320, 240
    asset.renditions = {"240p": {"path": f"videos/{asset.id}/240p.mp4", "height": 240}}
    return asset


@pytest.fixture
def attempt(exercise, student, dark_then_light) -> VideoComment:
    made = VideoComment(
        exercise=exercise,
        author=student,
        kind=CommentKind.ATTEMPT,
        video_asset=stored_take(student, dark_then_light),
    )
    db.session.add(made)
    recompute_metrics(fix=True)  # made by hand too
    db.session.commit()
    return made


@pytest.fixture
def strangers(app, classroom):
    """Emails of those who may not see the student's attempt: another teacher, a student of
    that teacher's class, and a classmate of the student."""
    other_teacher = _make_user(RoleName.TEACHER, "tom")
    elsewhere = _make_user(RoleName.STUDENT, "eve")
    put_in(create_class("Thursday group", other_teacher), elsewhere)
    classmate = _make_user(RoleName.STUDENT, "olga")
    put_in(classroom, classmate)
    return [other_teacher.email, elsewhere.email, classmate.email]


def client_of(app, email: str):
    """A browser of its own, logged in as ``email``."""
    browser = app.test_client()
    log_in(browser, email)
    return browser


def draw(client, attempt, drawing, at_seconds: object = "1.5", headers=HTMX, **kwargs):
    """Post feedback on the attempt with ``drawing`` (shapes, or the form's text as is)."""
    data = {"text": "Knees out here", "drawing": drawing}
    if not isinstance(drawing, str):
        data["drawing"] = json.dumps(drawing)
    if at_seconds is not None:
        data["at_seconds"] = at_seconds
    return client.post(f"/comments/{attempt.id}/replies", data=data, headers=headers, **kwargs)


def the_feedback() -> VideoComment | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(VideoComment).where(VideoComment.kind == "comment"))


def comments_made(user) -> int:
    db.session.expire_all()
    return db.session.get(User, user.id).profile.metrics.comments_made


def in_own_context(app, function, *args):
    """Run ``function`` as the worker runs a job: in an app context (and database session)
    of its own, not the test's."""

    def run():
        with app.app_context():
            return function(*args)

    return contextvars.Context().run(run)


def run_media_jobs(app) -> None:
    """RQ runs what waits on the media queue, here."""
    in_own_context(app, lambda: SimpleWorker(["media"], connection=get_redis()).work(burst=True))


def sweep(app) -> dict[str, int]:
    """The stills' part of the sweep, run as the worker runs it."""
    return in_own_context(app, stills.sweep)


def brightness(jpeg: bytes) -> int:
    """The picture's mean grey, 0 (black) to 255 (white), as FFmpeg reads the JPEG."""
    grey = subprocess.run(
        "ffmpeg -v error -nostdin -f image2pipe -i pipe:0 -vf scale=1:1"
        " -f rawvideo -pix_fmt gray pipe:1".split(),
        input=jpeg,
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    return grey[0]


# 2. On the pages


def test_feedback_with_a_drawing_is_saved_and_its_still_asked_for(teacher_client, attempt, teacher):
    loose = [{**ANGLE, "points": [[0.400004, 0.3], [0.45, 0.6], [0.62, 0.62]]}]
    response = draw(teacher_client, attempt, loose)
    assert response.status_code == 200
    feedback = the_feedback()
    assert feedback.drawing == [ANGLE] and feedback.at_seconds == 1.5
    assert feedback.parent_id == attempt.id and feedback.still_path is None
    assert feedback.still_job_id == f"still-{feedback.id}-1"
    assert get_queue("media").job_ids == [feedback.still_job_id]
    assert comments_made(teacher) == 1


def test_without_javascript_feedback_with_a_drawing_goes_back_to_the_attempt(
    teacher_client, attempt
):
    response = draw(teacher_client, attempt, SHAPES, headers={})
    feedback = the_feedback()
    assert response.status_code == 303
    assert response.location.endswith(f"/comments/attempts/{attempt.id}#comment-{feedback.id}")
    assert feedback.drawing == SHAPES


@pytest.mark.parametrize(("drawing", "reason"), REFUSED[::3])
def test_a_bad_drawing_is_refused_in_the_form_and_nothing_is_saved(
    teacher_client, attempt, teacher, drawing, reason
):
    response = draw(teacher_client, attempt, drawing)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert 'class="form-error" role="alert"' in page and reason in page
    assert the_feedback() is None and comments_made(teacher) == 0
    assert get_queue("media").job_ids == [] and recompute_metrics() == []


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_drawing_with_nan_or_infinity_is_refused_in_the_form(teacher_client, attempt, constant):
    text = raw_coordinate(constant)
    response = draw(teacher_client, attempt, text)
    assert response.status_code == 422 and "could not be read" in response.get_data(as_text=True)
    assert the_feedback() is None


def test_a_drawing_needs_its_moment(teacher_client, attempt, teacher):
    response = draw(teacher_client, attempt, SHAPES, at_seconds=None)
    assert response.status_code == 422
    assert "Pick the moment the drawing is about." in response.get_data(as_text=True)
    assert the_feedback() is None and comments_made(teacher) == 0


def test_a_drawing_without_javascript_is_flashed_back_when_refused(teacher_client, attempt):
    response = draw(teacher_client, attempt, SHAPES, at_seconds=None, headers={})
    assert response.status_code == 303
    assert response.location.startswith(f"/comments/attempts/{attempt.id}#")
    page = teacher_client.get(response.location).get_data(as_text=True)
    assert "Pick the moment the drawing is about." in page
    assert the_feedback() is None


def test_a_drawing_goes_only_on_an_attempts_take(teacher_client, exercise, attempt, teacher):
    on_exercise = f"/comments/exercises/{exercise.id}"
    form = {"text": "Look", "at_seconds": "1", "drawing": json.dumps(SHAPES)}
    refused = "A drawing goes on a frame of an attempt&#39;s video."
    top = teacher_client.post(on_exercise, data=form, headers=HTMX)
    assert top.status_code == 422 and refused in top.get_data(as_text=True)
    teacher_client.post(on_exercise, data={"text": "A question?"}, headers=HTMX)
    question = the_feedback()
    reply = teacher_client.post(f"/comments/{question.id}/replies", data=form, headers=HTMX)
    assert reply.status_code == 422 and refused in reply.get_data(as_text=True)
    attempt.video_asset = None  # its take is gone (deleted, or replaced and then failed)
    db.session.commit()
    takeless = draw(teacher_client, attempt, SHAPES)
    assert takeless.status_code == 422 and refused in takeless.get_data(as_text=True)
    assert count_rows(VideoComment) == 2 and comments_made(teacher) == 1


def huge_drawing(size: int) -> str:
    """Form text of ``size`` bytes: a drawing padded with spaces."""
    text = json.dumps(SHAPES)
    return text + " " * (size - len(text))


@pytest.mark.parametrize("mb", [2, 3])
@pytest.mark.parametrize("encoding", ["multipart/form-data", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_a_drawing_field_of_megabytes_is_a_refused_drawing_not_a_failed_upload(
    teacher_client, attempt, teacher, mb, encoding, headers
):
    response = draw(
        teacher_client,
        attempt,
        huge_drawing(mb * 2**20),
        headers=headers,
        content_type=encoding,
    )
    assert response.status_code == 422
    assert TOO_LARGE in html.unescape(response.get_data(as_text=True))
    assert len(response.data) < MAX_BYTES  # refused unread: the megabytes are not sent back
    assert the_feedback() is None and comments_made(teacher) == 0


@pytest.mark.parametrize("encoding", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_drawing_of_megabytes_is_refused_with_the_csrf_check_on(
    app, teacher_client, attempt, encoding
):
    """In production the CSRF check reads the form first, before the view."""
    app.config["WTF_CSRF_ENABLED"] = True
    page = teacher_client.get(f"/comments/attempts/{attempt.id}").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    headers = {**HTMX, "X-CSRFToken": token}
    fits = draw(teacher_client, attempt, SHAPES, headers=headers, content_type=encoding)
    assert fits.status_code == 200  # the token is right: what follows is about size alone
    huge = huge_drawing(3 * 2**20)
    response = draw(teacher_client, attempt, huge, headers=headers, content_type=encoding)
    assert response.status_code == 422 and TOO_LARGE in html.unescape(response.text)
    assert count_rows(VideoComment) == 2


@pytest.mark.parametrize("encoding", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_body_past_the_sites_limit_is_still_too_large(app, teacher_client, attempt, encoding):
    app.config["MAX_CONTENT_LENGTH"] = 2 * 2**20
    response = draw(teacher_client, attempt, huge_drawing(3 * 2**20), content_type=encoding)
    assert response.status_code == 413 and TOO_LARGE not in response.text
    assert the_feedback() is None


# 3. Through the API


@pytest.fixture
def tokens(app, teacher, student, strangers):
    """API tokens of the teacher, the student and the strangers."""
    users = db.session.scalars(sa.select(User).where(User.email.in_(strangers))).all()
    people = {"teacher": teacher, "student": student} | {user.username: user for user in users}
    made = {name: issue_token(user, name, None)[1] for name, user in people.items()}
    db.session.commit()
    return made


@pytest.fixture
def call(client, tokens):
    def call(who: str, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[who]}"}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def api_draw(call, attempt, drawing, at_seconds: float | None = 1.5):
    body = {"text": "Knees out here", "at_seconds": at_seconds, "drawing": drawing}
    return call("teacher", "POST", f"/comments/{attempt.id}/replies", json=body)


@pytest.mark.parametrize(("drawing", "reason"), REFUSED)
def test_the_api_refuses_a_bad_drawing_under_errors_drawing(call, attempt, drawing, reason):
    response = api_draw(call, attempt, drawing)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert reason in response.json["errors"]["drawing"]
    assert count_rows(VideoComment) == 1  # the attempt alone


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_the_api_refuses_nan_and_infinity_in_a_drawing(call, attempt, constant):
    body = '{"text": "x", "at_seconds": 1, "drawing": ' + raw_coordinate(constant) + "}"
    path = f"/comments/{attempt.id}/replies"
    response = call("teacher", "POST", path, data=body, content_type="application/json")
    assert response.status_code == 422 and "outside the frame" in response.json["errors"]["drawing"]
    assert count_rows(VideoComment) == 1


def test_the_api_says_where_a_drawing_may_go(call, attempt, exercise):
    no_moment = api_draw(call, attempt, SHAPES, at_seconds=None)
    assert no_moment.status_code == 422
    assert no_moment.json["errors"]["drawing"] == "Pick the moment the drawing is about."
    body = {"text": "Look", "at_seconds": 1, "drawing": SHAPES}
    discussion = call("teacher", "POST", f"/exercises/{exercise.id}/comments", json=body)
    assert discussion.status_code == 422 and "attempt" in discussion.json["errors"]["drawing"]
    assert count_rows(VideoComment) == 1


def test_a_json_body_of_megabytes_is_a_refused_drawing(call, attempt):
    body = json.dumps({"text": "x", "at_seconds": 1, "drawing": [ARROW] * 40_000})
    assert len(body) > 2 * 2**20
    path = f"/comments/{attempt.id}/replies"
    response = call("teacher", "POST", path, data=body, content_type="application/json")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"]["drawing"] == TOO_LARGE
    assert count_rows(VideoComment) == 1


def test_the_api_keeps_a_drawing_and_serves_its_still_to_those_who_see_it(
    app, call, attempt, strangers
):
    posted = api_draw(call, attempt, [{**ARROW, "points": [[0.123456, 0.5], [1, 0]]}])
    assert posted.status_code == 201
    assert posted.json["drawing"] == [{**ARROW, "points": [[0.1235, 0.5], [1.0, 0.0]]}]
    assert posted.json["still_url"] is None  # the worker has not made it yet
    still = f"/comments/{posted.json['id']}/still"
    assert call("student", "GET", still).status_code == 404
    run_media_jobs(app)
    thread = call("student", "GET", f"/comments/{attempt.id}/replies").json["items"]
    assert thread[0]["still_url"] == f"http://localhost/api/v1{still}"
    for who in ("student", "teacher"):
        response = call(who, "GET", still)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.data.startswith(b"\xff\xd8")
        response.close()
    for who in ("tom", "eve", "olga"):
        assert call(who, "GET", still).status_code == 404, who


# 4. The still


def test_the_still_is_the_takes_frame_at_the_drawings_moment(app, teacher_client, attempt):
    draw(teacher_client, attempt, SHAPES, at_seconds="1.5")
    draw(teacher_client, attempt, SHAPES, at_seconds="0.4")
    run_media_jobs(app)
    db.session.expire_all()
    frames = {}
    feedbacks = sa.select(VideoComment).where(VideoComment.parent_id.is_not(None))
    for feedback in db.session.scalars(feedbacks):
        assert feedback.still_path == still_key(feedback.id) == f"stills/{feedback.id}.jpg"
        assert feedback.still_job_id is None and feedback.still_runs == 1
        assert get_storage().exists(feedback.still_path)
        response = teacher_client.get(f"/comments/{feedback.id}/still")
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        frames[feedback.at_seconds] = response.data
        response.close()
    assert all(jpeg.startswith(b"\xff\xd8") for jpeg in frames.values())
    assert brightness(frames[1.5]) > 200 and brightness(frames[0.4]) < 50


def posted_feedback(app, client, attempt, *, made: bool = True) -> VideoComment:
    """Feedback with a drawing, posted by ``client``; its still made by the job when
    ``made``."""
    assert draw(client, attempt, SHAPES).status_code == 200
    if made:
        run_media_jobs(app)
    return the_feedback()


def test_a_run_that_is_not_due_does_nothing(app, teacher_client, attempt):
    feedback = posted_feedback(app, teacher_client, attempt, made=False)
    in_own_context(app, make_still, str(feedback.id), 2)  # run 1 never started
    feedback = the_feedback()
    assert feedback.still_runs == 0 and feedback.still_job_id == f"still-{feedback.id}-1"
    assert feedback.still_path is None and not get_storage().exists(still_key(feedback.id))
    run_media_jobs(app)  # run 1, due
    assert the_feedback().still_path == still_key(feedback.id)
    get_storage().delete(still_key(feedback.id))
    in_own_context(app, make_still, str(feedback.id), 1)  # made already: not again
    assert not get_storage().exists(still_key(feedback.id))
    assert the_feedback().still_runs == 1


def test_a_comment_deleted_while_its_still_is_made_leaves_no_file(
    app, teacher_client, attempt, monkeypatch
):
    feedback = posted_feedback(app, teacher_client, attempt, made=False)
    real_poster = stills.make_poster

    def deleted_meanwhile(*args, **kwargs):
        made = real_poster(*args, **kwargs)
        gone = teacher_client.post(f"/comments/{feedback.id}/delete", headers=HTMX)
        assert gone.status_code == 200
        return made

    monkeypatch.setattr(stills, "make_poster", deleted_meanwhile)
    run_media_jobs(app)
    assert count_rows(VideoComment) == 1  # the attempt
    assert not get_storage().exists(still_key(feedback.id))


def test_a_take_with_no_stored_file_leaves_the_drawing_without_a_still(
    app, teacher_client, attempt
):
    attempt.video_asset.storage_path = None  # a take that is not (or no longer) stored here
    db.session.commit()
    feedback = posted_feedback(app, teacher_client, attempt)
    assert feedback.drawing == SHAPES
    assert feedback.still_path is None and feedback.still_job_id is None
    assert not get_storage().exists(still_key(feedback.id))
    assert sweep(app) == {"stills_enqueued": 0}  # nothing waits: nothing to run again
    assert teacher_client.get(f"/comments/{feedback.id}/still").status_code == 404


def test_a_still_that_fails_is_logged_and_the_comment_goes_without(
    app, teacher_client, attempt, caplog
):
    get_storage().delete(attempt.video_asset.storage_path)  # the take's file is lost
    feedback = posted_feedback(app, teacher_client, attempt)
    assert feedback.still_path is None and feedback.still_job_id is None
    assert f"still {feedback.id}: run 1 failed" in caplog.text
    assert sweep(app) == {"stills_enqueued": 0}


def test_the_sweep_enqueues_a_still_redis_lost(app, teacher_client, attempt):
    feedback = posted_feedback(app, teacher_client, attempt, made=False)
    assert sweep(app) == {"stills_enqueued": 0}  # its job waits in Redis
    get_queue("media").empty()
    assert sweep(app) == {"stills_enqueued": 1}
    assert get_queue("media").job_ids == [f"still-{feedback.id}-1"]  # it never started
    run_media_jobs(app)
    assert the_feedback().still_path == still_key(feedback.id)
    assert sweep(app) == {"stills_enqueued": 0}


def test_a_still_whose_worker_keeps_dying_is_given_up(app, teacher_client, attempt, monkeypatch):
    feedback = posted_feedback(app, teacher_client, attempt, made=False)

    def killed(*args, **kwargs):
        raise SystemExit(137)  # nothing in the job catches it, like a SIGKILL

    monkeypatch.setattr(stills, "make_poster", killed)
    for run in range(1, STILL_MAX_RUNS + 1):
        get_queue("media").empty()  # Redis no longer holds the dead run's job
        with pytest.raises(SystemExit):
            in_own_context(app, make_still, str(feedback.id), run)
        swept = sweep(app)
        if run < STILL_MAX_RUNS:
            assert swept == {"stills_enqueued": 1}
            assert get_queue("media").job_ids == [f"still-{feedback.id}-{run + 1}"]
    assert swept == {"stills_enqueued": 0}
    feedback = the_feedback()
    assert feedback.still_runs == STILL_MAX_RUNS and feedback.still_job_id is None
    page = teacher_client.get(f"/comments/{feedback.id}").get_data(as_text=True)
    assert "hx-trigger" not in page  # its fragment stops waiting for it


def test_deleting_the_feedback_deletes_its_still(app, teacher_client, attempt):
    feedback = posted_feedback(app, teacher_client, attempt)
    assert get_storage().exists(feedback.still_path)
    assert teacher_client.post(f"/comments/{feedback.id}/delete", headers=HTMX).status_code == 200
    assert count_rows(VideoComment) == 1 and not get_storage().exists(feedback.still_path)


def test_deleting_the_attempt_deletes_its_feedbacks_stills(app, teacher_client, attempt):
    still = posted_feedback(app, teacher_client, attempt).still_path
    in_own_context(app, lambda: delete_comment(db.session.get(VideoComment, attempt.id)))
    assert count_rows(VideoComment) == 0 and not get_storage().exists(still)


def test_deleting_the_exercise_deletes_the_stills_in_it(app, teacher_client, attempt, exercise):
    still = posted_feedback(app, teacher_client, attempt).still_path
    assert get_storage().exists(still)
    assert teacher_client.post(f"/exercises/{exercise.id}/delete").status_code == 303
    assert count_rows(VideoComment) == 0 and not get_storage().exists(still)


def test_the_still_is_shown_only_to_those_who_may_read_the_comment(
    app, teacher_client, attempt, student, strangers
):
    feedback = posted_feedback(app, teacher_client, attempt)
    student_view = client_of(app, student.email).get(f"/comments/{feedback.id}/still")
    assert student_view.status_code == 200 and student_view.mimetype == "image/jpeg"
    student_view.close()
    for email in strangers:
        assert client_of(app, email).get(f"/comments/{feedback.id}/still").status_code == 404
    anonymous = app.test_client().get(f"/comments/{feedback.id}/still")
    assert anonymous.status_code == 303 and "/accounts/login" in anonymous.location
    assert teacher_client.get(f"/comments/{attempt.id}/still").status_code == 404  # none
    assert teacher_client.get(f"/comments/{uuid.uuid4()}/still").status_code == 404


def test_cleanup_spares_a_still_that_a_comment_names(app, runner, teacher_client, attempt):
    feedback = posted_feedback(app, teacher_client, attempt)
    storage = get_storage()
    orphan = still_key(uuid.uuid4())  # a still whose comment is gone
    storage.save(orphan, io.BytesIO(b"\xff\xd8 nobody's"))
    assert isinstance(storage, LocalStorage)
    three_days_ago = (time.time() - 3 * 86400,) * 2
    for key in (feedback.still_path, orphan):
        os.utime(storage.path(key), three_days_ago)
    listed = runner.invoke(args=["admin", "cleanup"]).output
    assert f"would delete object {orphan}" in listed
    assert feedback.still_path not in listed


# 5. The comment's fragment


class Figure(HTMLParser):
    """The attributes of the comment's <article>, its still's <figure> and <img>."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: dict[str, dict] = {}
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag in ("article", "figure", "img") and tag not in self.tags:
            self.tags[tag] = dict(attrs)


def fragment_of(client, feedback) -> Figure:
    response = client.get(f"/comments/{feedback.id}", headers=HTMX)
    assert response.status_code == 200
    return Figure(response.get_data(as_text=True))


def test_the_fragment_carries_the_shapes_and_polls_until_the_still_is_made(
    app, teacher_client, attempt
):
    feedback = posted_feedback(app, teacher_client, attempt, made=False)
    waiting = fragment_of(teacher_client, feedback)
    assert waiting.tags["figure"]["class"] == "comment-still"
    assert json.loads(waiting.tags["figure"]["data-drawing"]) == SHAPES
    assert waiting.tags["article"]["hx-trigger"] == "load delay:2s"
    assert waiting.tags["article"]["hx-get"] == f"/comments/{feedback.id}"
    assert "img" not in waiting.tags
    run_media_jobs(app)
    made = fragment_of(teacher_client, feedback)
    assert "hx-trigger" not in made.tags["article"] and "hx-get" not in made.tags["article"]
    assert made.tags["img"]["src"] == f"/comments/{feedback.id}/still"
    assert (made.tags["img"]["width"], made.tags["img"]["height"]) == ("320", "240")
    assert json.loads(made.tags["figure"]["data-drawing"]) == SHAPES


def test_the_posted_feedback_polls_for_its_still_from_the_start(teacher_client, attempt):
    posted = Figure(draw(teacher_client, attempt, SHAPES).get_data(as_text=True))
    assert posted.tags["article"]["hx-trigger"] == "load delay:2s"
    assert json.loads(posted.tags["figure"]["data-drawing"]) == SHAPES


def test_the_drawing_attribute_is_escaped_whatever_it_holds(app, teacher_client, attempt):
    """The checks let no text into a drawing; were a row to hold some, the attribute still
    could not be left."""
    feedback = posted_feedback(app, teacher_client, attempt)
    hostile = [{**ARROW, "colour": "red' onmouseover='alert(1)\"><script>x</script>"}]
    db.session.execute(
        sa.update(VideoComment).where(VideoComment.id == feedback.id).values(drawing=hostile)
    )
    db.session.commit()
    page = teacher_client.get(f"/comments/{feedback.id}", headers=HTMX).get_data(as_text=True)
    figure = Figure(page).tags["figure"]
    assert json.loads(figure["data-drawing"]) == hostile
    assert "onmouseover" not in figure and "<script>" not in page


def test_a_comment_without_a_drawing_has_no_figure(teacher_client, attempt):
    teacher_client.post(f"/comments/{attempt.id}/replies", data={"text": "Good"}, headers=HTMX)
    plain = fragment_of(teacher_client, the_feedback())
    assert "figure" not in plain.tags and "hx-trigger" not in plain.tags["article"]


def test_a_drawing_nested_thousands_deep_is_refused_not_a_server_error():
    with pytest.raises(DrawingRefused, match="could not be read"):
        drawing_from_form("[" * 60_000)


def test_an_api_body_nested_thousands_deep_is_refused_not_a_server_error(call, attempt):
    deep = '{"drawing": ' + "[" * 60_000 + "]" * 60_000 + "}"
    answer = call(
        "teacher",
        "POST",
        f"/comments/{attempt.id}/replies",
        data=deep,
        content_type="application/json",
    )
    assert answer.status_code == 422
