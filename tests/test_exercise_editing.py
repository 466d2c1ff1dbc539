"""Teachers create, edit and delete exercises; others get 404; descriptions are safe."""

import io

import pytest
import sqlalchemy as sa

from practika.accounts.models import UserMetrics
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.queue import get_queue
from practika.storage import get_storage
from practika.text import linkify
from tests.conftest import PASSWORD, count_rows, log_in, publish_to


def create(client, **fields):
    data = {"name": "Scales", "description": "Slowly first.", **fields}
    return client.post("/exercises/new", data=data, content_type="multipart/form-data")


def test_a_teacher_creates_an_exercise_with_an_uploaded_video(teacher_client, teacher):
    response = create(teacher_client, video=(io.BytesIO(b"not checked until the worker"), "m.mp4"))
    exercise = db.session.scalar(sa.select(Exercise))
    assert response.status_code == 303 and response.location == f"/exercises/{exercise.id}"
    assert exercise.video_asset.orig_filename == "m.mp4"
    assert get_queue("media").job_ids == [f"video-{exercise.video_asset_id}-1"]
    assert db.session.scalar(sa.select(UserMetrics.exercises_created)) == 1  # same commit
    page = teacher_client.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert "Waiting for a free worker" in page and "Edit" in page


def test_a_youtube_link_works_and_a_bad_one_is_explained(teacher_client):
    bad = create(teacher_client, youtube_url="https://vimeo.com/1")
    assert bad.status_code == 422 and "not a YouTube video link" in bad.get_data(as_text=True)
    assert count_rows(Exercise) == 0
    create(teacher_client, youtube_url="https://youtu.be/dQw4w9WgXcQ")
    exercise = db.session.scalar(sa.select(Exercise))
    assert exercise.video_asset.video_type == "youtube"
    # The drills cannot reach into YouTube's player: the page says so instead of offering them.
    page = teacher_client.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert "use YouTube's own controls" in page and "data-drill-for" not in page


def test_an_uploaded_model_has_its_drills_hidden_until_it_plays(teacher_client):
    create(teacher_client, video=(io.BytesIO(b"not checked until the worker"), "m.mp4"))
    exercise = db.session.scalar(sa.select(Exercise))
    page = teacher_client.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    # player.js shows the bar once the video is there; without it the buttons would be dead.
    bar = page[page.index('class="drill-bar"') :]
    assert bar[: bar.index(">")].endswith("hidden") and 'data-speed="0.25"' in bar


def test_a_name_is_required(teacher_client):
    response = create(teacher_client, name="")
    assert response.status_code == 422 and "Give the exercise a name." in response.get_data(
        as_text=True
    )


def test_a_form_error_keeps_the_uploaded_video_attached(teacher_client, teacher, student):
    """The video went up ahead (tus); the name was forgotten. The form comes back with the
    video still attached, and saving again makes the exercise with it: no second upload,
    no exercise without its video, no orphan."""
    uploaded = VideoAsset(owner=teacher, orig_filename="warm-up.mov", size_bytes=3 * 2**20)
    theirs = VideoAsset(owner=student, orig_filename="their take.mp4", size_bytes=10)
    db.session.add_all([uploaded, theirs])
    db.session.commit()

    back = create(teacher_client, name="", video_asset_id=str(uploaded.id))
    page = back.get_data(as_text=True)
    assert back.status_code == 422 and "Give the exercise a name." in page
    assert "Video attached: <strong>warm-up.mov</strong>, 3.0 MB" in page
    assert f'name="video_asset_id" value="{uploaded.id}"' in page

    saved = create(teacher_client, name="Warm-up", video_asset_id=str(uploaded.id))
    assert saved.status_code == 303
    assert db.session.scalar(sa.select(Exercise)).video_asset_id == uploaded.id

    # Someone else's upload is never shown as attached, nor used.
    borrowed = create(teacher_client, name="", video_asset_id=str(theirs.id))
    assert "their take.mp4" not in borrowed.get_data(as_text=True)


def test_a_file_chosen_again_without_javascript_replaces_the_attached_video(
    teacher_client, teacher
):
    attached = VideoAsset(owner=teacher, orig_filename="first.mp4", size_bytes=10)
    db.session.add(attached)
    db.session.commit()
    create(teacher_client, video_asset_id=str(attached.id), video=(io.BytesIO(b"v2"), "second.mp4"))
    assert db.session.scalar(sa.select(Exercise)).video_asset.orig_filename == "second.mp4"


def test_students_cannot_create(student_client):
    assert student_client.get("/exercises/new").status_code == 404
    assert create(student_client).status_code == 404
    assert count_rows(Exercise) == 0


@pytest.fixture
def exercise(teacher_client, classroom):
    """Published to the student's class: the student sees it, and still may not change it."""
    create(teacher_client, video=(io.BytesIO(b"bytes"), "m.mp4"))
    return publish_to(db.session.scalar(sa.select(Exercise)), classroom)


def test_the_author_edits_and_keeps_the_video(teacher_client, exercise):
    video_id = exercise.video_asset_id
    response = teacher_client.post(
        f"/exercises/{exercise.id}/edit",
        data={"name": "Scales, faster", "description": ""},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert exercise.name == "Scales, faster" and exercise.video_asset_id == video_id


@pytest.mark.parametrize("who", ["student", "other_teacher"])
def test_nobody_else_may_change_or_delete_it(client, exercise, request, who):
    from practika.accounts.services.users import create_user

    if who == "other_teacher":
        create_user(email="o@example.com", username="other", password=PASSWORD, role="teacher")
        db.session.commit()
        email = "o@example.com"
    else:
        email = request.getfixturevalue("student").email
    client.post("/accounts/logout")
    log_in(client, email)
    for path in (f"/exercises/{exercise.id}/edit", f"/exercises/{exercise.id}/delete"):
        assert client.get(path).status_code == 404
        assert client.post(path, data={"name": "mine now"}).status_code == 404
    assert count_rows(Exercise) == 1


def test_delete_asks_then_removes_the_exercise_and_its_media(teacher_client, exercise):
    key = exercise.video_asset.storage_path
    confirm = teacher_client.get(f"/exercises/{exercise.id}/delete").get_data(as_text=True)
    assert "Delete for good" in confirm
    response = teacher_client.post(f"/exercises/{exercise.id}/delete")
    assert response.status_code == 303 and response.location == "/exercises/"
    assert count_rows(Exercise) == 0 and count_rows(VideoAsset) == 0
    assert not get_storage().exists(key)
    assert db.session.scalar(sa.select(UserMetrics.exercises_created)) == 0


def test_descriptions_keep_lines_and_make_only_safe_links():
    html = str(linkify('See https://example.com/a?b=1&c=2.\n<script>alert(1)</script> "x"'))
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert str(linkify('javascript:alert(1) http://x.com/"onmouseover=alert(1)')).count('"') == 6
