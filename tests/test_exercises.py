"""The exercise list and page, and the model video they serve."""

import uuid

import pytest

from practika.core.models import VideoAsset
from practika.extensions import db
from tests.conftest import log_in, seed_demo_processed


@pytest.fixture
def demo(app):
    return seed_demo_processed()


@pytest.mark.parametrize("login", ["teacher@practika.test", "student@practika.test"])
def test_demo_exercise_is_listed_and_opens_with_its_video(client, demo, login):
    log_in(client, login, "practika-lesson-plan" if "teacher" in login else "practika-daily-drill")
    listing = client.get("/exercises/").get_data(as_text=True)
    assert "Follow the pattern" in listing
    page = client.get(f"/exercises/{demo.id}").get_data(as_text=True)
    assert "<video" in page and f"/core/media/{demo.video_asset_id}/video" in page
    assert "Record yourself following" in page


def test_model_video_answers_range_requests(client, demo):
    log_in(client, "student@practika.test", "practika-daily-drill")
    response = client.get(
        f"/core/media/{demo.video_asset_id}/video", headers={"Range": "bytes=0-99"}
    )
    assert response.status_code == 206
    assert response.headers["Content-Range"].startswith("bytes 0-99/")
    assert len(response.get_data()) == 100
    assert response.mimetype == "video/mp4"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    poster = client.get(f"/core/media/{demo.video_asset_id}/poster")
    assert poster.status_code == 200 and poster.mimetype == "image/jpeg"


def test_media_needs_a_login(client, demo):
    response = client.get(f"/core/media/{demo.video_asset_id}/video")
    assert response.location.startswith("/accounts/login")


def test_someone_elses_private_video_is_not_found(client, demo, student, teacher):
    private = VideoAsset(owner=teacher, processing_status="ready", storage_path="videos/x/o.mp4")
    db.session.add(private)
    db.session.commit()
    log_in(client, student.email)
    assert client.get(f"/core/media/{private.id}/video").status_code == 404
    assert client.get(f"/core/media/{uuid.uuid4()}/video").status_code == 404


def test_unknown_exercise_is_not_found(client, student):
    log_in(client, student.email)
    assert client.get(f"/exercises/{uuid.uuid4()}").status_code == 404
    assert client.get("/exercises/not-a-uuid").status_code == 404


def test_empty_list_says_so(client, student):
    log_in(client, student.email)
    assert "No exercises yet" in client.get("/exercises/").get_data(as_text=True)


def test_viewings_are_counted_once_per_playback_not_per_range(client, demo):
    log_in(client, "student@practika.test", "practika-daily-drill")
    url = f"/core/media/{demo.video_asset_id}/video"
    for ranges in ("bytes=0-", "bytes=1000-1999", "bytes=2000-", "bytes=0-1"):
        client.get(url, headers={"Range": ranges})
    client.get(url)
    client.get(f"/core/media/{demo.video_asset_id}/poster")
    db.session.expire_all()
    asset = db.session.get(VideoAsset, demo.video_asset_id)
    assert asset.access_count == 3  # the two playbacks from byte 0 and the plain GET
    assert asset.last_accessed is not None
