"""Takes sent straight to the bucket as they are recorded (core.streamed), against an S3
endpoint over HTTP (moto's server), on both databases: each piece is an object PUT with a
URL the app signed, the take is finished with its length once its pieces are all there and
add up to it, the limits hold as for a resumable upload whose length is deferred, takes
nobody finishes are let go with their pieces, and the worker joins the pieces into the
video's original before it processes it, again after it was stopped on the way."""

from __future__ import annotations

import io
import os
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from practika.accounts.services.api_tokens import issue_token
from practika.core import direct, streamed
from practika.core.models import DirectUpload, VideoAsset
from practika.extensions import db
from practika.media.rejections import REASONS
from practika.model_base import utcnow
from practika.storage import get_storage
from tests.conftest import _make_user, count_rows, log_in, process_now, put_part, running_worker
from tests.services import wait_for

pytestmark = pytest.mark.usefixtures("bucket_client")  # moto forgets each test's objects
START = "/core/take-uploads/"
TAKE = {"filename": "attempt-20261207-101500.webm"}


@pytest.fixture
def page(s3_app, student):
    client = s3_app.test_client()
    log_in(client, student.email)
    return client


def send_pieces(page, take: dict, pieces: dict[int, bytes]) -> None:
    """What takes.js does as the recorder hands out pieces: sign their URLs, PUT each."""
    urls = signed(page, take, {number: len(data) for number, data in pieces.items()})
    for number, data in pieces.items():
        put_part(urls[str(number)], data)


def signed(page, take: dict, sizes: dict[int, int]):
    """The pieces' URLs, each signed for its size."""
    pieces = [{"number": number, "size": size} for number, size in sizes.items()]
    return page.post(take["urls_url"], json={"pieces": pieces}).get_json()["urls"]


def cut(data: bytes, sizes: list[int]) -> dict[int, bytes]:
    """``data`` cut into pieces of these sizes (the last takes the rest), numbered from 1."""
    pieces, start = {}, 0
    for number, size in enumerate([*sizes, len(data)], start=1):
        pieces[number] = data[start : start + size]
        start += size
        if start >= len(data):
            break
    return pieces


def pieces_in(bucket_client, video_id: str) -> list[str]:
    bucket, client = bucket_client
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"media/videos/{video_id}/pieces/")
    return [item["Key"].rsplit("/", 1)[1] for item in listed.get("Contents", [])]


def test_a_take_goes_up_piece_by_piece_and_becomes_a_video_when_finished(page, bucket_client):
    data = os.urandom(300_000)
    started = page.post(START, json=TAKE)
    assert started.status_code == 201
    take = started.get_json()
    assert take["arrived"] == [] and take["url"] == f"{START}{take['video_id']}"
    send_pieces(page, take, cut(data, [100_000, 150_000]))  # a piece a second, any size
    assert pieces_in(bucket_client, take["video_id"]) == ["000001", "000002", "000003"]

    listed = page.get(take["url"]).get_json()["arrived"]
    assert listed == [
        {"number": 1, "size": 100_000},
        {"number": 2, "size": 150_000},
        {"number": 3, "size": 50_000},
    ]
    done = page.post(take["finish_url"], json={"length": len(data)})
    assert done.status_code == 201
    assert done.get_json() == {
        "video_id": take["video_id"],
        "status_url": f"/core/videos/{take['video_id']}/status",
    }
    asset = db.session.get(VideoAsset, uuid.UUID(take["video_id"]))
    assert asset.size_bytes == len(data) and asset.processing_status == "queued"
    assert asset.storage_path == f"videos/{asset.id}/original"
    assert asset.orig_filename == TAKE["filename"]
    assert count_rows(DirectUpload) == 0
    # The answer was lost: asking again, or finishing again, names the same video.
    assert page.get(take["url"]).get_json()["video_id"] == take["video_id"]
    again = page.post(take["finish_url"], json={"length": len(data)})
    assert again.status_code == 201 and again.get_json()["video_id"] == take["video_id"]
    assert count_rows(VideoAsset) == 1


def test_a_take_started_again_is_the_same_take(page):
    first = page.post(START, json=TAKE).get_json()
    send_pieces(page, first, {1: b"x" * 1000})
    again = page.post(START, json=TAKE)
    assert again.status_code == 201
    assert again.get_json()["video_id"] == first["video_id"]
    assert again.get_json()["arrived"] == [{"number": 1, "size": 1000}]
    other = page.post(START, json={"filename": "attempt-20261207-101600.webm"}).get_json()
    assert other["video_id"] != first["video_id"]
    assert count_rows(DirectUpload) == 2


def test_a_take_with_a_piece_missing_or_another_length_is_not_finished(page):
    take = page.post(START, json=TAKE).get_json()
    nothing = page.post(take["finish_url"], json={"length": 10})
    assert nothing.status_code == 409 and "No piece" in nothing.get_json()["error"]
    send_pieces(page, take, {1: b"a" * 10, 3: b"c" * 10})
    gap = page.post(take["finish_url"], json={"length": 30})
    assert gap.status_code == 409
    assert gap.get_json()["error"] == "Pieces 2 of 3 have not arrived yet."
    send_pieces(page, take, {2: b"b" * 10})
    for wrong in (29, 31):
        answer = page.post(take["finish_url"], json={"length": wrong})
        assert answer.status_code == 409
        assert answer.get_json()["error"] == f"The 3 pieces hold 30 bytes, not {wrong}."
    for bad in (0, -1, "30", True, None, 30.0):
        assert page.post(take["finish_url"], json={"length": bad}).status_code == 422, bad
    assert count_rows(VideoAsset) == 0
    send_pieces(page, take, {4: b"left from an earlier try"})  # past the end: not part of it
    assert page.post(take["finish_url"], json={"length": 30}).status_code == 201


def test_bad_fields_strangers_and_anonymous_callers_are_refused(page, s3_app, student):
    for bad in ({}, {"filename": ""}, {"filename": 5}, {"filename": "x" * 256}, [], "x"):
        answer = page.post(START, json=bad)
        assert answer.status_code == 422 and answer.get_json()["error"], bad
    take = page.post(START, json=TAKE).get_json()
    numbers = ([], [0], [streamed.PIECES_MAX + 1], ["1"], [True], list(range(1, 102)))
    sizes = (None, 0, -1, True, "9", 1.5, streamed.PIECE_BYTES + 1)
    for pieces in (
        [[{"number": n, "size": 9} for n in each] for each in numbers]
        + [[{"number": 1, "size": size}] for size in sizes]
        + [[1], ["x"], [[1, 9]]]
    ):
        assert page.post(take["urls_url"], json={"pieces": pieces}).status_code == 422, pieces

    stranger = s3_app.test_client()
    log_in(stranger, _make_user("student", "stranger").email)
    db.session.commit()
    calls = (
        ("GET", take["url"]),
        ("POST", take["urls_url"]),
        ("POST", take["finish_url"]),
        ("DELETE", take["url"]),
    )
    for method, url in calls:
        answer = stranger.open(url, method=method, json={"pieces": [1], "length": 1})
        assert answer.status_code == 404 and answer.get_json()["error"] == "No such take.", url
        anonymous = s3_app.test_client().open(
            url, method=method, json={"pieces": [1]}, headers={"Accept": "application/json"}
        )
        assert anonymous.status_code == 401, url
    assert page.get(f"{START}not-an-id").status_code == 404
    # The API's direct uploads are multipart ones: a take's row is no such upload there.
    row = db.session.scalars(sa.select(DirectUpload)).one()
    token = issue_token(student, "api", None)[1]
    db.session.commit()
    api = s3_app.test_client().get(
        f"/api/v1/direct-uploads/{row.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 404
    assert page.get(take["url"]).status_code == 200  # still the owner's


def test_a_take_holds_the_room_of_its_pieces_and_the_limits_hold_at_the_end(page, s3_app):
    config = s3_app.config
    take = page.post(START, json=TAKE).get_json()
    send_pieces(page, take, {1: b"x" * 5000})

    # Its pieces count against the quota, as a deferred resumable upload's bytes do.
    config["UPLOAD_QUOTA_BYTES"] = 4999
    full = page.post(START, json={"filename": "another.webm"})
    assert full.status_code == 413 and "of your 0 MB" in full.get_json()["error"]
    config["UPLOAD_QUOTA_BYTES"] = 10 * 2**20

    # Signing stops once the pieces hold the largest upload, and the length is checked.
    config["MAX_UPLOAD_BYTES"] = 5000
    capped = page.post(take["urls_url"], json={"pieces": [{"number": 2, "size": 10}]})
    assert capped.status_code == 413
    config["MAX_UPLOAD_BYTES"] = 4000
    too_big = page.post(take["finish_url"], json={"length": 5000})
    assert too_big.status_code == 413 and count_rows(VideoAsset) == 0
    config["MAX_UPLOAD_BYTES"] = 2**30

    # Takes in progress count among the uploads in progress.
    for n in range(config["UPLOADS_IN_PROGRESS_MAX"] - 1):
        assert page.post(START, json={"filename": f"take-{n}.webm"}).status_code == 201
    crowded = page.post(START, json={"filename": "one-more.webm"})
    assert crowded.status_code == 429 and "uploads in progress" in crowded.get_json()["error"]


def test_a_discarded_take_leaves_no_piece_and_a_finished_one_no_video(page, bucket_client):
    take = page.post(START, json=TAKE).get_json()
    send_pieces(page, take, {1: b"x" * 10, 2: b"y" * 10})
    assert page.delete(take["url"]).status_code == 204
    assert pieces_in(bucket_client, take["video_id"]) == []
    assert count_rows(DirectUpload) == 0
    assert page.get(take["url"]).status_code == 404

    retaken = page.post(START, json=TAKE).get_json()
    send_pieces(page, retaken, {1: b"z" * 10})
    assert page.post(retaken["finish_url"], json={"length": 10}).status_code == 201
    assert page.delete(retaken["url"]).status_code == 204  # nothing uses it yet
    assert count_rows(VideoAsset) == 0


def test_the_sweep_lets_go_of_takes_nobody_finished(page, bucket_client):
    stale = page.post(START, json=TAKE).get_json()
    fresh = page.post(START, json={"filename": "fresh.webm"}).get_json()
    for take in (stale, fresh):
        send_pieces(page, take, {1: b"x" * 10})
    db.session.execute(
        sa.update(DirectUpload)
        .where(DirectUpload.asset_id == uuid.UUID(stale["video_id"]))
        .values(created_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    assert direct.sweep() == {"direct_uploads_aborted": 0}  # files' uploads only
    assert streamed.sweep() == {"streamed_uploads_aborted": 1}
    assert pieces_in(bucket_client, stale["video_id"]) == []
    assert pieces_in(bucket_client, fresh["video_id"]) == ["000001"]
    assert [str(u.asset_id) for u in db.session.scalars(sa.select(DirectUpload))] == [
        fresh["video_id"]
    ]


def test_cleanup_spares_the_pieces_still_wanted(page, s3_app, bucket_client):
    on_its_way = page.post(START, json=TAKE).get_json()
    send_pieces(page, on_its_way, {1: b"x" * 10})
    finished = page.post(START, json={"filename": "finished.webm"}).get_json()
    send_pieces(page, finished, {1: b"y" * 10})
    page.post(finished["finish_url"], json={"length": 10})  # queued: the worker joins it
    storage = get_storage()
    left_over = f"videos/{uuid.uuid4()}/pieces/000001"  # a video that is no more
    storage.save(left_over, io.BytesIO(b"z"))

    done = s3_app.test_cli_runner().invoke(
        args=["admin", "cleanup", "--grace-hours", "0", "--delete"]
    )
    assert f"deleting object {left_over}" in done.output
    assert "Deleted: 1 orphaned objects" in done.output
    assert pieces_in(bucket_client, on_its_way["video_id"]) == ["000001"]
    assert pieces_in(bucket_client, finished["video_id"]) == ["000001"]


# The worker's side: the pieces become the original, and the video is processed as any.


def finished_take(page, data: bytes, sizes: list[int]) -> VideoAsset:
    take = page.post(START, json=TAKE).get_json()
    send_pieces(page, take, cut(data, sizes))
    assert page.post(take["finish_url"], json={"length": len(data)}).status_code == 201
    return db.session.get(VideoAsset, uuid.UUID(take["video_id"]))


def reload(asset_id) -> VideoAsset:
    db.session.expire_all()
    return db.session.get(VideoAsset, asset_id)


def test_a_real_worker_joins_a_recorded_take_and_makes_it_ready(
    page, s3_app, bucket_client, recorder_webm
):
    data = recorder_webm.read_bytes()
    third = len(data) // 3
    asset = finished_take(page, data, [third, third])
    env = {"S3_ENDPOINT_URL": s3_app.config["S3_ENDPOINT_URL"]}
    with running_worker(s3_app, **env):
        wait_for(lambda: reload(asset.id).status.is_terminal, 120, "a terminal state")
    asset = reload(asset.id)
    assert asset.processing_status == "ready", asset.processing_error
    assert asset.duration_sec == pytest.approx(2, abs=0.2)
    bucket, client = bucket_client
    original = client.get_object(Bucket=bucket, Key=f"media/{asset.storage_path}")
    assert original["Body"].read() == data
    assert pieces_in(bucket_client, str(asset.id)) == []


@pytest.mark.parametrize("stopped_in", ["save", "delete"])
def test_a_worker_stopped_mid_join_joins_again_or_goes_on_from_the_original(
    page, bucket_client, recorder_webm, monkeypatch, stopped_in
):
    """Stopped before the original is stored, or after it and before the pieces are deleted.
    (A fault in the storage call stands in for a killed worker: the row is handed on as
    the sweep hands on a dead worker's, and the next run finds the bucket as it was left.)"""
    data = recorder_webm.read_bytes()
    asset = finished_take(page, data, [len(data) // 2])
    storage = get_storage()
    real = getattr(storage, stopped_in)

    def dies(key, *args):
        if "/original" in key or "/pieces/" in key:
            raise ConnectionError("the worker went away")
        return real(key, *args)

    monkeypatch.setattr(storage, stopped_in, dies)
    with pytest.raises(ConnectionError):
        process_now(asset.id)
    monkeypatch.undo()
    assert reload(asset.id).processing_status == "queued"
    assert storage.exists(asset.storage_path) == (stopped_in == "delete")
    assert pieces_in(bucket_client, str(asset.id)) == ["000001", "000002"]

    process_now(asset.id)
    asset = reload(asset.id)
    assert asset.processing_status == "ready", asset.processing_error
    assert asset.attempts == 2
    bucket, client = bucket_client
    original = client.get_object(Bucket=bucket, Key=f"media/{asset.storage_path}")
    assert original["Body"].read() == data


def test_pieces_sent_after_the_end_are_left_out_and_a_take_short_of_its_length_fails(
    page, bucket_client, recorder_webm
):
    data = recorder_webm.read_bytes()
    take = page.post(START, json=TAKE).get_json()
    send_pieces(page, take, cut(data, [len(data) // 2]))
    smuggled = b"smuggled in with a URL signed before the end" * 1000
    late = signed(page, take, {3: len(smuggled)})["3"]
    assert page.post(take["finish_url"], json={"length": len(data)}).status_code == 201
    put_part(late, smuggled)
    asset_id = uuid.UUID(take["video_id"])
    process_now(asset_id)
    asset = reload(asset_id)
    assert asset.processing_status == "ready" and asset.size_bytes == len(data)
    assert get_storage().listed(f"videos/{asset_id}/pieces/") == []

    # A piece replaced after the end by a shorter one: the pieces no longer add up.
    short = page.post(START, json={"filename": "short.webm"}).get_json()
    send_pieces(page, short, {1: data})
    again = signed(page, short, {1: 100})["1"]
    assert page.post(short["finish_url"], json={"length": len(data)}).status_code == 201
    put_part(again, data[:100])
    process_now(uuid.UUID(short["video_id"]))
    failed = reload(uuid.UUID(short["video_id"]))
    assert failed.processing_status == "failed"
    assert failed.processing_error == REASONS["damaged"]


def test_a_piece_url_takes_the_size_it_was_signed_for_and_no_other(page):
    """S3 refuses a signed PUT whose Content-Length differs from the signed one. moto does
    not check signatures, so this reads the signature's headers, which S3 checks."""
    take = page.post(START, json=TAKE).get_json()
    url = signed(page, take, {1: 1234})["1"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;host"]


def test_pieces_are_signed_no_further_than_ten_past_those_that_arrived(page):
    """Signed URLs hold room in the bucket; a take's are never far ahead of its pieces."""
    take = page.post(START, json=TAKE).get_json()

    def sign(number: int):
        body = {"pieces": [{"number": number, "size": 10}]}
        return page.post(take["urls_url"], json=body)

    assert sign(streamed.PIECES_AHEAD).status_code == 200
    refused = sign(streamed.PIECES_AHEAD + 1)
    assert refused.status_code == 422 and "up to 10 first" in refused.get_json()["error"]
    send_pieces(page, take, {1: b"a" * 10, 2: b"b" * 10, 5: b"e" * 10})  # 5: past a gap
    assert sign(2 + streamed.PIECES_AHEAD).status_code == 200
    assert sign(3 + streamed.PIECES_AHEAD).status_code == 422
