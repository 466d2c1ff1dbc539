"""Uploads: the plain form, and resumable tus uploads that survive a dropped connection."""

import base64
import errno
import hashlib
import io
import os
import resource
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from practika.accounts.models import RoleName
from practika.core.incoming import partial_store
from practika.core.models import VideoAsset
from practika.extensions import db
from practika.queue import get_queue
from tests.conftest import _make_user, count_rows, create_test_app, log_in, make_config

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(name: str) -> str:
    return "filename " + base64.b64encode(name.encode()).decode()


def create(client, length: int, name: str = "take 1.mp4"):
    return client.post(
        "/core/uploads/",
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(name)},
    )


def test_options_announces_the_protocol(client):
    response = client.options("/core/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert "creation" in response.headers["Tus-Extension"]


def test_a_resumable_upload_survives_a_dropped_connection(teacher_client, video_bytes):
    created = create(teacher_client, len(video_bytes))
    assert created.status_code == 201
    url = created.headers["Location"]
    half = len(video_bytes) // 2

    first = teacher_client.patch(
        url, data=video_bytes[:half], headers={**CHUNK, "Upload-Offset": "0"}
    )
    assert first.status_code == 204 and first.headers["Upload-Offset"] == str(half)

    # The phone lost its connection; it asks where to go on from.
    head = teacher_client.head(url, headers=TUS)
    assert head.headers["Upload-Offset"] == str(half)
    assert head.headers["Cache-Control"] == "no-store"

    stale = teacher_client.patch(url, data=b"xx", headers={**CHUNK, "Upload-Offset": "0"})
    assert stale.status_code == 409  # a wrong offset never corrupts the file

    last = teacher_client.patch(
        url, data=video_bytes[half:], headers={**CHUNK, "Upload-Offset": str(half)}
    )
    assert last.status_code == 204
    asset = db.session.get(VideoAsset, uuid.UUID(last.headers["X-Video-Asset"]))
    assert asset.checksum_sha256 == hashlib.sha256(video_bytes).hexdigest()
    assert asset.orig_filename == "take 1.mp4" and asset.processing_status == "queued"
    assert last.headers["X-Video-Status"] == f"/core/videos/{asset.id}/status"
    assert get_queue("media").job_ids == [f"video-{asset.id}-1"]
    finished = teacher_client.head(url, headers=TUS)  # the bytes are gone, the answer stays
    assert finished.headers["X-Video-Asset"] == str(asset.id)
    partials = teacher_client.application.extensions["storage"].partials_folder()
    assert partials.is_dir() and not list(partials.glob("*.part"))


def test_pieces_of_one_upload_may_go_to_different_web_processes(
    teacher_client, teacher, app, database_url, redis_server, tmp_path, video_bytes
):
    """Two web processes behind one balancer, each with its own instance folder and the
    same storage: an upload created on one, half sent to it, is asked after and finished
    on the other, and the one asset it makes is stored where both see it."""
    other = create_test_app(
        make_config(
            database_url,
            redis_server.url,
            tmp_path / "other-instance",
            STORAGE_URL=app.config["STORAGE_URL"],
        )
    )
    other_client = other.test_client()
    log_in(other_client, teacher.email)
    url = create(teacher_client, len(video_bytes)).headers["Location"]
    half = len(video_bytes) // 2
    teacher_client.patch(url, data=video_bytes[:half], headers={**CHUNK, "Upload-Offset": "0"})

    assert other_client.head(url, headers=TUS).headers["Upload-Offset"] == str(half)
    last = other_client.patch(
        url, data=video_bytes[half:], headers={**CHUNK, "Upload-Offset": str(half)}
    )
    assert last.status_code == 204
    asset = db.session.get(VideoAsset, uuid.UUID(last.headers["X-Video-Asset"]))
    assert asset.checksum_sha256 == hashlib.sha256(video_bytes).hexdigest()
    assert teacher_client.head(url, headers=TUS).headers["X-Video-Asset"] == str(asset.id)
    assert not (tmp_path / "other-instance" / "uploads").exists()  # nothing on the host


def test_more_bytes_than_announced_are_refused(teacher_client):
    url = create(teacher_client, 4).headers["Location"]
    response = teacher_client.patch(url, data=b"123456", headers={**CHUNK, "Upload-Offset": "0"})
    assert response.status_code == 413
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VideoAsset)) == 0


def test_someone_elses_upload_is_not_found(client, teacher, student):
    log_in(client, teacher.email)
    url = create(client, 10).headers["Location"]
    client.post("/accounts/logout")
    log_in(client, student.email)
    assert client.head(url, headers=TUS).status_code == 404
    assert client.patch(url, data=b"x", headers={**CHUNK, "Upload-Offset": "0"}).status_code == 404


@pytest.mark.parametrize("upload_id", ["../../etc/passwd", "abc.json", "nope"])
def test_upload_ids_cannot_name_other_files(teacher_client, upload_id):
    assert teacher_client.head(f"/core/uploads/{upload_id}", headers=TUS).status_code == 404


def test_a_terminated_upload_is_removed(teacher_client):
    url = create(teacher_client, 10).headers["Location"]
    assert teacher_client.delete(url, headers=TUS).status_code == 204
    assert teacher_client.head(url, headers=TUS).status_code == 404


def test_size_limit_is_refused_before_any_byte_is_sent(teacher_client, app):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    response = create(teacher_client, 1001)
    assert response.status_code == 413
    assert "larger than" in response.get_data(as_text=True)


def test_quota_is_refused_with_what_is_used(teacher_client, teacher, app):
    app.config["UPLOAD_QUOTA_BYTES"] = 3 * 2**20
    db.session.add(VideoAsset(owner=teacher, size_bytes=2 * 2**20))
    db.session.commit()
    response = create(teacher_client, 2 * 2**20)
    assert response.status_code == 413
    assert "already use 2 MB of your 3 MB" in response.get_data(as_text=True)


@pytest.mark.parametrize("length", ["", "-1", "lots"])
def test_bad_upload_length_is_refused(teacher_client, length):
    response = teacher_client.post("/core/uploads/", headers={**TUS, "Upload-Length": length})
    assert response.status_code == 400


def test_uploads_need_a_login(client):
    response = create(client, 10)
    assert response.status_code == 303 and "/accounts/login" in response.location


def test_the_plain_form_upload_works_without_javascript(teacher_client, video_bytes):
    response = teacher_client.post(
        "/core/uploads/",
        data={"video": (io.BytesIO(video_bytes), "phone clip.MOV")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303 and response.location == "/core/videos/"
    page = teacher_client.get("/core/videos/").get_data(as_text=True)
    assert "phone clip.MOV" in page and "Uploaded. Your video is being processed." in page
    assert 'hx-trigger="load delay:1s"' in page  # its status polls


def test_the_form_without_a_file_says_so(teacher_client):
    response = teacher_client.post("/core/uploads/", data={}, follow_redirects=True)
    assert "Choose a video to upload." in response.get_data(as_text=True)


def test_videos_page_lists_only_your_own(client, teacher, student):
    db.session.add(VideoAsset(owner=teacher, orig_filename="teacher-secret.mp4"))
    db.session.commit()
    log_in(client, student.email)
    page = client.get("/core/videos/").get_data(as_text=True)
    assert "teacher-secret.mp4" not in page and "No videos yet" in page


def test_an_upload_over_http_is_processed_into_s3_and_played_by_range(
    database_url, redis_server, s3_bucket, tmp_path, app, teacher, video_bytes
):
    """The whole path on S3: tus over HTTP, a real worker, FFmpeg, objects in the bucket,
    and the player's Range request answered from a presigned URL."""
    import time
    import urllib.request

    from tests.conftest import create_test_app, make_config, running_worker

    s3_app = create_test_app(
        make_config(database_url, redis_server.url, tmp_path / "s3", **s3_bucket)
    )
    client = s3_app.test_client()
    log_in(client, teacher.email)
    url = create(client, len(video_bytes), "on s3.mp4").headers["Location"]
    done = client.patch(url, data=video_bytes, headers={**CHUNK, "Upload-Offset": "0"})
    status_url = done.headers["X-Video-Status"]
    with s3_app.app_context(), running_worker(s3_app, **s3_bucket):
        deadline = time.monotonic() + 60
        # Playable first (a remux), then ready once the ladder is in: wait for both.
        while "<video" not in (html := client.get(status_url).get_data(as_text=True)) or (
            "sharper versions" in html
        ):
            assert "could not be processed" not in html, html
            assert time.monotonic() < deadline, "not playable within a minute"
            time.sleep(0.5)
        storage = s3_app.extensions["storage"]
        keys = {o["Key"] for o in storage.client.list_objects_v2(Bucket=storage.bucket)["Contents"]}
    asset_id = done.headers["X-Video-Asset"]
    names = ("original", "poster.jpg", "240p.mp4")  # the playable copy is gone
    assert keys == {f"media/videos/{asset_id}/{name}" for name in names}
    media = client.get(f"/core/media/{asset_id}/video")
    assert media.status_code == 302
    request = urllib.request.Request(media.location, headers={"Range": "bytes=0-99"})  # noqa: S310
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - our own test endpoint
        assert answer.status == 206 and len(answer.read()) == 100
    with s3_app.app_context():
        db.engine.dispose()


class FullDisk(io.RawIOBase):
    """A fake, standing in for a full disk (filling a real one is not possible safely here):
    the first read gives bytes, the next one fails as a write to a full disk would."""

    def __init__(self, first: bytes) -> None:
        self.parts = [first]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.parts:
            return self.parts.pop()
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_what_arrived_and_says_so(app, teacher, tmp_path):
    from practika.core.uploads import OUT_OF_SPACE, PartialStore, UploadError

    partials = PartialStore(tmp_path)
    upload = partials.create(teacher.id, 100, "x.mp4")
    with pytest.raises(UploadError) as error:
        partials.append(upload, 0, FullDisk(b"0123456789"), most=100)
    assert error.value.status == 507 and str(error.value) == OUT_OF_SPACE
    assert partials.get(upload.id, teacher.id).offset == 10  # resumable from what was kept


def test_a_full_disk_when_storing_leaves_no_row_and_no_object(teacher_client, monkeypatch, app):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    url = create(teacher_client, 4).headers["Location"]
    monkeypatch.setattr(type(app.extensions["storage"]), "save", full)
    response = teacher_client.patch(url, data=b"abcd", headers={**CHUNK, "Upload-Offset": "0"})
    assert response.status_code == 507
    assert "out of storage space" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VideoAsset)) == 0
    # Not "finished" with no video: the last piece is cut back off and waits to be resent.
    assert response.headers["Upload-Offset"] == "0"
    assert teacher_client.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    monkeypatch.undo()
    again = teacher_client.patch(url, data=b"abcd", headers={**CHUNK, "Upload-Offset": "0"})
    assert again.status_code == 204 and again.headers["X-Video-Asset"]
    assert count_rows(VideoAsset) == 1


# ---- One upload, one asset; exact bytes; limits that count what is in flight -------------


class HeldBody(io.RawIOBase):
    """A request body that sends nothing until ``go`` is set: a slow phone mid-piece."""

    def __init__(self, data: bytes, reading: threading.Event, go: threading.Event) -> None:
        self.data, self.reading, self.go = io.BytesIO(data), reading, go

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # the test client asks where the body starts
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.data.seek(offset, whence)

    def readinto(self, buffer) -> int:
        self.reading.set()
        assert self.go.wait(30)
        return self.data.readinto(buffer)


def test_two_pieces_at_the_same_offset_make_one_asset_of_the_declared_length(
    teacher_client, video_bytes
):
    url = create(teacher_client, len(video_bytes)).headers["Location"]
    reading, go = threading.Event(), threading.Event()
    answers = {}

    def first():
        answers["first"] = teacher_client.patch(
            url,
            input_stream=HeldBody(video_bytes, reading, go),
            content_length=len(video_bytes),
            headers={**CHUNK, "Upload-Offset": "0"},
        )

    thread = threading.Thread(target=first)
    thread.start()
    assert reading.wait(30)  # the first request holds the upload and is reading its body
    second = teacher_client.patch(url, data=video_bytes, headers={**CHUNK, "Upload-Offset": "0"})
    assert second.status_code == 423 and "another piece" in second.get_data(as_text=True)
    go.set()
    thread.join(30)
    assert answers["first"].status_code == 204
    [asset] = db.session.scalars(sa.select(VideoAsset)).all()
    assert asset.size_bytes == len(video_bytes)
    assert asset.checksum_sha256 == hashlib.sha256(video_bytes).hexdigest()


def test_the_last_piece_sent_again_names_the_same_video_and_makes_no_other(
    teacher_client, video_bytes
):
    url = create(teacher_client, len(video_bytes)).headers["Location"]
    piece = {**CHUNK, "Upload-Offset": "0"}
    done = teacher_client.patch(url, data=video_bytes, headers=piece)
    # The phone lost that answer: HEAD says the upload is whole and names its video ...
    head = teacher_client.head(url, headers=TUS)
    assert head.headers["Upload-Offset"] == str(len(video_bytes))
    assert head.headers["X-Video-Asset"] == done.headers["X-Video-Asset"]
    # ... and a resent last piece changes nothing: the answer names the same video.
    again = teacher_client.patch(url, data=video_bytes, headers=piece)
    assert again.status_code == 409
    assert again.headers["Upload-Offset"] == str(len(video_bytes))
    assert again.headers["X-Video-Asset"] == head.headers["X-Video-Asset"]
    assert count_rows(VideoAsset) == 1


@contextmanager
def file_size_limit(limit: int):
    """A real short write: past RLIMIT_FSIZE the kernel writes what fits, then refuses with
    EFBIG, as a full disk writes short, then refuses with ENOSPC (a full disk cannot be made
    safely in a test). Python ignores SIGXFSZ, so the process lives on."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_write_cut_short_keeps_exactly_the_bytes_that_got_down(app, teacher_client):
    content = bytes(range(256)) * (12 * 2**10)  # 3 MiB that show where each byte belongs
    url = create(teacher_client, len(content)).headers["Location"]
    room = 2**20 + 2**19  # 1.5 MiB: the second 1 MiB write goes down half way
    with file_size_limit(room):
        full = teacher_client.patch(url, data=content, headers={**CHUNK, "Upload-Offset": "0"})
    assert full.status_code == 507 and "out of storage space" in full.get_data(as_text=True)
    assert full.headers["Upload-Offset"] == str(room)
    part = next(partial_store().root.glob("*.part"))
    assert part.read_bytes() == content[:room]  # nothing counted that is not there, no zeros
    rest = teacher_client.patch(
        url, data=content[room:], headers={**CHUNK, "Upload-Offset": str(room)}
    )
    assert rest.status_code == 204
    asset = db.session.get(VideoAsset, uuid.UUID(rest.headers["X-Video-Asset"]))
    assert asset.checksum_sha256 == hashlib.sha256(content).hexdigest()
    assert app.extensions["storage"].path(asset.storage_path).read_bytes() == content


def test_announced_uploads_count_against_the_quota(teacher_client, app):
    app.config["UPLOAD_QUOTA_BYTES"] = 10 * 2**20
    assert create(teacher_client, 6 * 2**20).status_code == 201
    second = create(teacher_client, 6 * 2**20)
    assert second.status_code == 413
    assert "already use 6 MB of your 10 MB" in second.get_data(as_text=True)


def test_uploads_in_progress_are_capped_per_person(teacher_client, app):
    app.config["UPLOADS_IN_PROGRESS_MAX"] = 2
    assert [create(teacher_client, 10).status_code for _ in range(3)] == [201, 201, 429]
    third = create(teacher_client, 10)
    assert "2 uploads in progress" in third.get_data(as_text=True)


def test_one_person_cannot_fill_the_media_queue(teacher_client, teacher, app):
    app.config["VIDEOS_WAITING_MAX"] = 2
    db.session.add_all(
        [
            VideoAsset(owner=teacher, processing_status=status, size_bytes=1)
            for status in ("queued", "processing")
        ]
    )
    db.session.commit()
    refused = create(teacher_client, 10)
    assert refused.status_code == 429 and "still being processed" in refused.get_data(as_text=True)
    form = teacher_client.post(
        "/core/uploads/",
        data={"video": (io.BytesIO(b"x"), "v.mp4")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "still being processed" in form.get_data(as_text=True)
    assert count_rows(VideoAsset) == 2


def test_the_quota_is_checked_again_when_an_upload_completes(teacher_client, teacher, app):
    app.config["UPLOAD_QUOTA_BYTES"] = 2**20
    url = create(teacher_client, 1000).headers["Location"]
    db.session.add(VideoAsset(owner=teacher, size_bytes=2**20 - 10))  # room taken meanwhile
    db.session.commit()
    answer = teacher_client.patch(url, data=b"x" * 1000, headers={**CHUNK, "Upload-Offset": "0"})
    assert answer.status_code == 413 and "delete some to make room" in answer.get_data(as_text=True)
    assert count_rows(VideoAsset) == 1
    assert teacher_client.head(url, headers=TUS).headers["Upload-Offset"] == "0"  # resumable


def test_abandoned_uploads_expire_without_anyone_running_a_command(app, teacher, student):
    teachers, students = app.test_client(), app.test_client()
    log_in(teachers, teacher.email)
    url = create(teachers, 10).headers["Location"]
    a_day_ago = time.time() - 25 * 3600
    for path in partial_store().root.glob("*"):
        os.utime(path, (a_day_ago, a_day_ago))
    log_in(students, student.email)
    assert create(students, 10).status_code == 201  # anyone's upload sweeps the folder
    assert teachers.head(url, headers=TUS).status_code == 404


def test_a_chosen_file_left_unfinished_is_offered_on_the_forms_that_carry_a_video(
    app, teacher_client, teacher
):
    """A link followed mid-upload: on return the form says what is left and how to go on.
    A recording (length deferred) is not listed: the page offers those itself."""
    created = teacher_client.post(
        "/core/uploads/",
        headers={**TUS, "Upload-Length": "4000", "Upload-Metadata": metadata("warm-up.mp4")},
    )
    url = created.headers["Location"]
    headers = {**CHUNK, "Upload-Offset": "0"}
    assert teacher_client.patch(url, data=b"x" * 1000, headers=headers).status_code == 204
    teacher_client.post(
        "/core/uploads/",
        headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": metadata("take.webm")},
    )
    page = teacher_client.get("/exercises/new").get_data(as_text=True)
    assert "An upload was left unfinished: <strong>warm-up.mp4</strong>, 25% of" in page
    assert "take.webm" not in page
    other = app.test_client()
    log_in(other, _make_user(RoleName.TEACHER, "other-teacher").email)
    assert "left unfinished" not in other.get("/exercises/new").get_data(as_text=True)
