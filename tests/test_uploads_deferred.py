"""Uploads whose length is declared late (tus creation-defer-length): a recording is sent
while it is made, and only at Stop does the client know how long it is."""

import hashlib
import os
import time
import uuid

import pytest

from practika.core.incoming import partial_store
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from tests.conftest import count_rows, log_in
from tests.test_uploads import CHUNK, TUS, metadata

DEFER = {**TUS, "Upload-Defer-Length": "1"}


def create_deferred(client, name: str = "take.mp4"):
    return client.post("/core/uploads/", headers={**DEFER, "Upload-Metadata": metadata(name)})


def patch(client, url: str, data: bytes, offset: int, **headers: str):
    return client.patch(url, data=data, headers={**CHUNK, "Upload-Offset": str(offset), **headers})


def test_options_announce_deferred_length(client):
    extensions = client.options("/core/uploads/").headers["Tus-Extension"].split(",")
    assert "creation-defer-length" in extensions


def test_a_recording_sent_while_it_is_made_becomes_a_video_when_its_length_is_declared(
    teacher_client, video_bytes
):
    created = create_deferred(teacher_client)
    assert created.status_code == 201
    url = created.headers["Location"]
    pieces = [video_bytes[i : i + 4000] for i in range(0, len(video_bytes), 4000)]
    offset = 0
    for piece in pieces[:-1]:  # recording: pieces go as they are made, no length yet
        answer = patch(teacher_client, url, piece, offset)
        assert answer.status_code == 204 and "X-Video-Asset" not in answer.headers
        offset += len(piece)
    head = teacher_client.head(url, headers=TUS)
    assert head.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in head.headers
    assert head.headers["Upload-Offset"] == str(offset)

    # Stop: the tail, with the length now known.
    last = patch(
        teacher_client, url, pieces[-1], offset, **{"Upload-Length": str(len(video_bytes))}
    )
    assert last.status_code == 204
    asset = db.session.get(VideoAsset, uuid.UUID(last.headers["X-Video-Asset"]))
    assert asset.checksum_sha256 == hashlib.sha256(video_bytes).hexdigest()
    finished = teacher_client.head(url, headers=TUS)
    assert finished.headers["Upload-Length"] == str(len(video_bytes))
    assert finished.headers["X-Video-Asset"] == str(asset.id)


def test_a_length_declared_with_no_bytes_left_completes_the_upload(teacher_client, video_bytes):
    """Everything was sent during recording; Stop only says how long it was."""
    url = create_deferred(teacher_client).headers["Location"]
    assert patch(teacher_client, url, video_bytes, 0).status_code == 204
    done = patch(
        teacher_client, url, b"", len(video_bytes), **{"Upload-Length": str(len(video_bytes))}
    )
    assert done.status_code == 204 and "X-Video-Asset" in done.headers
    assert count_rows(VideoAsset) == 1


def test_a_length_smaller_than_what_arrived_is_refused_and_the_upload_goes_on(teacher_client):
    url = create_deferred(teacher_client).headers["Location"]
    patch(teacher_client, url, b"x" * 100, 0)
    refused = patch(teacher_client, url, b"", 100, **{"Upload-Length": "50"})
    assert refused.status_code == 400
    assert "less than the 100 bytes received" in refused.get_data(as_text=True)
    head = teacher_client.head(url, headers=TUS)
    assert head.headers["Upload-Offset"] == "100" and head.headers["Upload-Defer-Length"] == "1"
    assert count_rows(VideoAsset) == 0


def test_a_declared_length_cannot_change(teacher_client):
    url = create_deferred(teacher_client).headers["Location"]
    assert patch(teacher_client, url, b"x" * 10, 0, **{"Upload-Length": "30"}).status_code == 204
    changed = patch(teacher_client, url, b"x" * 10, 10, **{"Upload-Length": "40"})
    assert changed.status_code == 400 and "cannot change" in changed.get_data(as_text=True)
    again = patch(teacher_client, url, b"x" * 10, 10, **{"Upload-Length": "30"})  # the same: fine
    assert again.status_code == 204 and again.headers["Upload-Offset"] == "20"


def test_bytes_before_the_length_is_declared_are_capped_at_the_largest_upload(teacher_client, app):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    url = create_deferred(teacher_client).headers["Location"]
    assert patch(teacher_client, url, b"x" * 600, 0).status_code == 204
    too_many = patch(teacher_client, url, b"x" * 600, 600)
    assert too_many.status_code == 413
    assert teacher_client.head(url, headers=TUS).headers["Upload-Offset"] == "600"


def test_a_declared_length_is_held_to_the_limits(teacher_client, teacher, app):
    app.config["UPLOAD_QUOTA_BYTES"] = 3 * 2**20
    db.session.add(VideoAsset(owner=teacher, size_bytes=2 * 2**20))
    db.session.commit()
    url = create_deferred(teacher_client).headers["Location"]
    patch(teacher_client, url, b"x" * 10, 0)
    over = patch(teacher_client, url, b"", 10, **{"Upload-Length": str(2 * 2**20)})
    assert over.status_code == 413 and "already use 2 MB of your 3 MB" in over.get_data(
        as_text=True
    )
    assert teacher_client.head(url, headers=TUS).headers["Upload-Defer-Length"] == "1"


@pytest.mark.parametrize(
    "headers",
    [
        {"Upload-Defer-Length": "1", "Upload-Length": "10"},  # both
        {"Upload-Defer-Length": "yes"},
        {},  # neither
    ],
)
def test_creation_needs_a_length_or_deferring_it_and_not_both(teacher_client, headers):
    assert teacher_client.post("/core/uploads/", headers={**TUS, **headers}).status_code == 400


def test_a_deferred_upload_never_declared_is_abandoned_after_a_day(app, teacher, student):
    teachers, students = app.test_client(), app.test_client()
    log_in(teachers, teacher.email)
    url = create_deferred(teachers).headers["Location"]
    patch(teachers, url, b"x" * 10, 0)
    a_day_ago = time.time() - 25 * 3600
    for path in partial_store().root.glob("*"):
        os.utime(path, (a_day_ago, a_day_ago))
    log_in(students, student.email)
    assert create_deferred(students).status_code == 201  # anyone's upload sweeps the folder
    assert teachers.head(url, headers=TUS).status_code == 404
    assert not [p for p in partial_store().root.glob("*") if url[-32:] in p.name]


def test_a_finished_upload_still_names_its_video_for_a_day(app, teacher_client, video_bytes):
    """A client that died after its last piece asks, and learns what became of it."""
    url = create_deferred(teacher_client).headers["Location"]
    last = patch(teacher_client, url, video_bytes, 0, **{"Upload-Length": str(len(video_bytes))})
    asset_id = last.headers["X-Video-Asset"]
    twenty_hours_ago = time.time() - 20 * 3600
    for path in partial_store().root.glob("*"):
        os.utime(path, (twenty_hours_ago, twenty_hours_ago))
    assert create_deferred(teacher_client).status_code == 201  # sweeps what is over a day old
    head = teacher_client.head(url, headers=TUS)
    assert head.status_code == 200 and head.headers["X-Video-Asset"] == asset_id
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(video_bytes))
    again = patch(teacher_client, url, video_bytes[-10:], len(video_bytes) - 10)
    assert again.status_code == 409 and count_rows(VideoAsset) == 1  # never a second video


def test_deleting_a_finished_upload_deletes_its_unused_video(teacher_client, video_bytes):
    """A retake after the whole take was sent: the take goes, video and all."""
    url = create_deferred(teacher_client).headers["Location"]
    patch(teacher_client, url, video_bytes, 0, **{"Upload-Length": str(len(video_bytes))})
    assert count_rows(VideoAsset) == 1
    assert teacher_client.delete(url, headers=TUS).status_code == 204
    assert count_rows(VideoAsset) == 0
    assert teacher_client.head(url, headers=TUS).status_code == 404


def test_deleting_a_finished_upload_keeps_a_video_in_use(teacher_client, teacher, video_bytes):
    url = create_deferred(teacher_client).headers["Location"]
    done = patch(teacher_client, url, video_bytes, 0, **{"Upload-Length": str(len(video_bytes))})
    asset = db.session.get(VideoAsset, uuid.UUID(done.headers["X-Video-Asset"]))
    db.session.add(Exercise(name="Uses it", created_by=teacher, video_asset=asset))
    db.session.commit()
    assert teacher_client.delete(url, headers=TUS).status_code == 204
    assert count_rows(VideoAsset) == 1
