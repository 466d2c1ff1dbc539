"""Voice comments (Issue 17, item 4): a recording of sound only, chosen when its upload is
created, checked by the same hostile-input rules as a video, processed into one AAC .m4a,
played in an <audio>, and taken only by a comment: never as an attempt or a model video."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import uuid

import pytest
import sqlalchemy as sa

from practika.accounts.services.api_tokens import issue_token
from practika.comments.models import VideoComment
from practika.core.incoming import VOICE_ONLY_IN_COMMENTS
from practika.core.models import VOICE, VideoAsset
from practika.core.services import store_upload
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.media.rejections import MediaRejected
from practika.media.validate import validate, validate_sound
from practika.storage import get_storage
from tests.conftest import exercise_with_model, log_in, process_now, publish_to

HTMX = {"HX-Request": "true"}
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def tus_metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(v.encode()).decode()}" for key, v in values.items())


def upload_ahead(client, data: bytes, kind: str | None = None, prefix: str = "/core") -> str:
    """Send a file as the page's script does (tus), with the ``kind`` it names; its asset id."""
    meta = {"filename": "voice-comment.webm", **({"kind": kind} if kind else {})}
    created = client.post(
        f"{prefix}/uploads/",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": tus_metadata(**meta)},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    done = client.patch(
        created.headers["Location"], data=data, headers={**CHUNK, "Upload-Offset": "0"}
    )
    return done.headers["X-Video-Asset"]


def reload(asset_id) -> VideoAsset:
    db.session.expire_all()
    return db.session.get(VideoAsset, uuid.UUID(str(asset_id)))


def ffprobe(path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        capture_output=True,
        check=True,
        text=True,
    )
    return json.loads(out.stdout)


@pytest.fixture
def exercise(app, teacher, classroom):
    """The teacher's exercise, published to the class the student is in."""
    return publish_to(exercise_with_model(teacher), classroom)


@pytest.fixture
def attempt(exercise, student):
    """The student's attempt (its video playable), for feedback on it."""
    take = VideoAsset(owner=student, processing_status="ready", duration_sec=8.0)
    take.renditions = {"360p": {"path": "videos/t/360p.mp4", "height": 360}}
    attempt = VideoComment(exercise=exercise, author=student, kind="attempt", video_asset=take)
    db.session.add(attempt)
    db.session.commit()
    return attempt


# The checks: what a voice comment may be, on the file's content


def test_browser_and_phone_recordings_pass_as_sound(voice_webm, voice_m4a):
    webm = validate_sound(voice_webm, 300)
    assert webm.audio_codec == "opus" and 1.9 < webm.duration < 2.1  # measured: no header
    assert validate_sound(voice_m4a, 300).audio_codec == "aac"


@pytest.mark.parametrize(
    "sample, code",
    [
        ("voice_wav", "not_sound"),  # a demuxer Practika does not open
        ("voice_mp2", "sound_codec"),  # an allowed container, a codec off the allow-list
        ("mute", "no_sound"),  # a video without sound is no voice comment
        ("recorder_webm", None),  # a picture beside the sound is never decoded: accepted
    ],
)
def test_sound_is_refused_by_the_same_rules_as_a_video(request, sample, code):
    path = request.getfixturevalue(sample)
    if code is None:
        assert validate_sound(path, 300).audio_codec == "opus"
        return
    with pytest.raises(MediaRejected) as refused:
        validate_sound(path, 300)
    assert refused.value.code == code


def test_a_voice_comment_longer_than_its_limit_is_refused_whatever_its_header_says(
    voice_lying,
):
    """The header says 1 s; its packets hold 4 s."""
    with pytest.raises(MediaRejected, match=r"^This voice comment is longer than 3 seconds\."):
        validate_sound(voice_lying, 3)


def test_sound_only_is_no_video(voice_webm):
    """What a model video or an attempt goes through refuses a recording of sound only."""
    with pytest.raises(MediaRejected) as refused:
        validate(voice_webm)
    assert refused.value.code == "no_video"


# The pipeline: one AAC-LC .m4a, no poster, no ladder


def test_a_voice_upload_becomes_one_playable_m4a(app, teacher, voice_webm, tmp_path):
    asset = store_upload(
        io.BytesIO(voice_webm.read_bytes()), owner=teacher, filename="v.webm", sound_only=True
    )
    db.session.commit()
    process_now(asset.id)
    asset = reload(asset.id)
    assert asset.processing_status == "ready", asset.processing_error
    assert asset.progress_pct == 100 and 1.9 < asset.duration_sec < 2.1
    assert list(asset.renditions) == [VOICE] and asset.poster_path is None
    key, mimetype = asset.media("video")
    assert key == f"videos/{asset.id}/voice.m4a" and mimetype == "audio/mp4"
    (stream,) = ffprobe(get_storage().fetch(key, tmp_path))["streams"]  # sound, nothing else
    assert (stream["codec_name"], stream["profile"], stream["channels"]) == ("aac", "LC", 1)
    assert 48_000 <= int(stream["bit_rate"]) <= 100_000


def test_a_voice_upload_over_its_limit_fails_with_a_reason(app, teacher, voice_lying):
    app.config["VOICE_MAX_SECONDS"] = 3
    asset = store_upload(
        io.BytesIO(voice_lying.read_bytes()), owner=teacher, filename="v.webm", sound_only=True
    )
    db.session.commit()
    process_now(asset.id)
    asset = reload(asset.id)
    assert asset.processing_status == "failed" and asset.validation_errors == ["voice_too_long"]
    assert asset.processing_error.startswith("This voice comment is longer than 3 seconds.")
    assert asset.renditions == {}


# Where a voice recording may go: a comment, and only a comment


def test_a_tus_upload_named_voice_is_sound_only_and_a_kind_there_is_not_is_refused(
    teacher_client,
):
    voice = upload_ahead(teacher_client, b"voice bytes", kind="voice")
    video = upload_ahead(teacher_client, b"video bytes")
    assert reload(voice).sound_only and not reload(video).sound_only
    refused = teacher_client.post(
        "/core/uploads/",
        headers={**TUS, "Upload-Length": "5", "Upload-Metadata": tus_metadata(kind="poster")},
    )
    assert refused.status_code == 400
    assert refused.get_data(as_text=True) == "An upload's kind is video or voice."


def test_voice_feedback_at_a_moment(client, teacher, attempt):
    log_in(client, teacher.email)
    voice = upload_ahead(client, b"voice bytes", kind="voice")
    response = client.post(
        f"/comments/{attempt.id}/replies",
        headers=HTMX,
        data={"text": "", "at_seconds": "2.5", "video_asset_id": voice},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    feedback = db.session.scalar(sa.select(VideoComment).where(VideoComment.parent_id.is_not(None)))
    assert str(feedback.video_asset_id) == voice and feedback.at_seconds == 2.5
    assert 'class="video-status video-status-queued voice-status"' in response.get_data(
        as_text=True
    )


def test_voice_feedback_posts_its_file_without_javascript(client, teacher, attempt, voice_webm):
    log_in(client, teacher.email)
    response = client.post(
        f"/comments/{attempt.id}/replies",
        data={"text": "Listen", "voice": (io.BytesIO(voice_webm.read_bytes()), "voice.webm")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    feedback = db.session.scalar(sa.select(VideoComment).where(VideoComment.parent_id.is_not(None)))
    assert feedback.video_asset.sound_only


def test_a_voice_recording_is_never_an_attempt(client, exercise, student):
    log_in(client, student.email)
    voice = upload_ahead(client, b"voice bytes", kind="voice")
    response = client.post(
        f"/comments/exercises/{exercise.id}/attempts",
        data={"video_asset_id": voice},
        headers=HTMX,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert VOICE_ONLY_IN_COMMENTS in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(VideoComment.id))) == 0


def test_a_voice_recording_is_never_a_model_video(teacher_client, teacher):
    voice = upload_ahead(teacher_client, b"voice bytes", kind="voice")
    response = teacher_client.post(
        "/exercises/new",
        data={"name": "Breathing", "description": "In, out", "video_asset_id": voice},
        content_type="multipart/form-data",
    )
    assert VOICE_ONLY_IN_COMMENTS in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Exercise.id))) == 0


def test_a_failed_attempt_video_is_not_replaced_by_a_voice_recording(client, student, attempt):
    attempt.video_asset.processing_status = "failed"
    db.session.commit()
    log_in(client, student.email)
    voice = upload_ahead(client, b"voice bytes", kind="voice")
    response = client.post(
        f"/comments/attempts/{attempt.id}/video", data={"video_asset_id": voice}, headers=HTMX
    )
    assert response.status_code == 422
    assert VOICE_ONLY_IN_COMMENTS in response.get_data(as_text=True)


# Playing it


def test_a_ready_voice_comment_plays_in_an_audio_element(client, teacher, attempt, voice_webm):
    log_in(client, teacher.email)
    voice = upload_ahead(client, voice_webm.read_bytes(), kind="voice")
    client.post(f"/comments/{attempt.id}/replies", data={"video_asset_id": voice}, headers=HTMX)
    process_now(voice)
    for headers in ({}, HTMX):  # the page's fragment, and the one the poll swaps in
        html = client.get(f"/core/videos/{voice}/status", headers=headers).get_data(as_text=True)
        assert '<audio class="voice-player"' in html and 'preload="metadata"' in html
        assert "<video" not in html and "hx-trigger" not in html
    media = client.get(f"/core/media/{voice}/video")
    assert media.status_code == 200 and media.mimetype == "audio/mp4"
    assert client.get(f"/core/media/{voice}/poster").status_code == 404


# The API: the same rules


@pytest.fixture
def token(app, teacher, student):
    tokens = {
        who: issue_token(user, who, None)[1] for who, user in (("t", teacher), ("s", student))
    }
    db.session.commit()
    return tokens


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_api_takes_a_voice_recording_for_a_comment_only(client, token, exercise, attempt):
    teacher, student = bearer(token["t"]), bearer(token["s"])
    client.environ_base.update(HTTP_AUTHORIZATION=teacher["Authorization"])
    voice = upload_ahead(client, b"voice bytes", kind="voice", prefix="/api/v1")
    assert client.get(f"/api/v1/videos/{voice}").get_json()["kind"] == "voice"
    posted = client.post(
        f"/api/v1/comments/{attempt.id}/replies", json={"video_id": voice, "at_seconds": 1}
    )
    assert posted.status_code == 201 and posted.get_json()["video"]["kind"] == "voice"

    client.environ_base.update(HTTP_AUTHORIZATION=student["Authorization"])
    sent = client.post(
        "/api/v1/videos",
        data={"video": (io.BytesIO(b"voice bytes"), "v.m4a"), "kind": "voice"},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 201 and sent.get_json()["kind"] == "voice"
    refused = client.post(
        f"/api/v1/exercises/{exercise.id}/attempts", json={"video_id": sent.get_json()["id"]}
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"video_id": VOICE_ONLY_IN_COMMENTS}
    bad_kind = client.post(
        "/api/v1/videos",
        data={"video": (io.BytesIO(b"x"), "v.m4a"), "kind": "sound"},
        content_type="multipart/form-data",
    )
    assert bad_kind.status_code == 422 and "kind" in bad_kind.get_json()["errors"]
