"""The status fragment renders every state, polls only while it must, and is private."""

import pytest

from practika.core.models import VideoAsset
from practika.extensions import db
from practika.queue import get_queue
from tests.conftest import log_in, publish_to

HTMX = {"HX-Request": "true"}


@pytest.fixture
def asset(app, teacher):
    asset = VideoAsset(owner=teacher, storage_path="videos/x/original")
    db.session.add(asset)
    db.session.commit()
    return asset


def set_state(asset, **values):
    for name, value in values.items():
        setattr(asset, name, value)
    db.session.commit()


def status(client, asset):
    response = client.get(f"/core/videos/{asset.id}/status", headers=HTMX)
    assert response.status_code == 200  # always 200, so htmx keeps swapping
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("state", "shows", "polls"),
    [
        ({"processing_status": "uploaded"}, "Waiting for a free worker", True),
        ({"processing_status": "queued"}, "Waiting for a free worker", True),
        (
            {
                "processing_status": "processing",
                "processing_stage": "renditions",
                "progress_pct": 42,
                "eta_seconds": 75,
            },
            "42% · about 1 min left",
            True,
        ),
        (
            {
                "processing_status": "processing",
                "renditions": {"playable": {"path": "p", "height": 1}},
            },
            "Playable now",
            False,
        ),
        (
            {"processing_status": "ready", "renditions": {"360p": {"path": "r", "height": 360}}},
            "<video",
            False,
        ),
        (
            {"processing_status": "failed", "processing_error": "This file has no video track."},
            "This file has no video track.",
            False,
        ),
    ],
)
def test_every_state_renders_and_polls_only_while_waiting(
    client, teacher, asset, state, shows, polls
):
    set_state(asset, **state)
    log_in(client, teacher.email)
    html = status(client, asset)
    assert shows in html
    assert ('hx-trigger="load delay:1s"' in html) is polls


def test_the_owner_can_retry_a_failed_video(client, teacher, asset):
    set_state(asset, processing_status="failed", processing_error="Gave up.", attempts=3)
    log_in(client, teacher.email)
    assert "Try again" in status(client, asset)
    response = client.post(f"/core/videos/{asset.id}/retry", headers=HTMX)
    assert response.status_code == 200
    assert 'hx-trigger="load delay:1s"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert asset.processing_status == "queued" and asset.attempts == 0
    assert get_queue("media").job_ids == [f"video-{asset.id}-1"]


def test_others_see_no_retry_and_cannot_retry(client, student, teacher, classroom, asset):
    from practika.exercises.models import Exercise

    # The student sees the model video (its exercise is published to their class), yet it is
    # not theirs to send back to the workers.
    publish_to(Exercise(name="Scales", created_by=teacher, video_asset=asset), classroom)
    set_state(asset, processing_status="failed", processing_error="Gave up.")
    log_in(client, student.email)
    assert "Try again" not in status(client, asset)
    assert client.post(f"/core/videos/{asset.id}/retry").status_code == 404


def test_a_private_video_status_is_not_found_for_others(client, student, asset):
    log_in(client, student.email)
    assert client.get(f"/core/videos/{asset.id}/status").status_code == 404
    assert client.post(f"/core/videos/{asset.id}/retry").status_code == 404


def test_status_needs_a_login(client, asset):
    response = client.get(f"/core/videos/{asset.id}/status", headers=HTMX)
    assert response.headers["HX-Redirect"].startswith("/accounts/login")


@pytest.mark.parametrize(
    ("viewer", "may_retry"), [("student", False), ("staff_user", True), ("teacher", False)]
)
def test_the_page_and_its_poll_agree_on_who_may_retry(
    client, request, teacher, student, classroom, viewer, may_retry
):
    """One rule (its owner unless a student, and staff), asked by the pages, the poll and
    the retry route. A staff user once saw no button on a comment's video until the first
    poll. A student never gets "Try again": the same bad file would fail again."""
    from practika.comments.models import VideoComment
    from practika.exercises.models import Exercise

    exercise = publish_to(Exercise(name="Scales", created_by=teacher), classroom)
    video = VideoAsset(owner=student, processing_status="failed", processing_error="Gave up.")
    db.session.add(VideoComment(exercise=exercise, author=student, text="Mine", video_asset=video))
    db.session.commit()
    log_in(client, request.getfixturevalue(viewer).email)
    page = client.get(f"/comments/exercises/{exercise.id}/discussion").get_data(as_text=True)
    assert "Gave up." in page
    assert ("Try again" in page) is may_retry
    assert ("Try again" in status(client, video)) is may_retry
    retried = client.post(f"/core/videos/{video.id}/retry", headers=HTMX)
    assert retried.status_code == (200 if may_retry else 404)
