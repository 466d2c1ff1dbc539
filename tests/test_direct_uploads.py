"""Videos sent straight to the bucket (core.direct) by an API client, against an S3 endpoint
over HTTP (moto's server): the parts go from the client to S3 with URLs the app signed, a
dropped part is resumed from what the bucket says arrived, a length that does not add up is
refused, the limits hold as on the resumable path, and uploads nobody completes are
aborted by the sweep."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from practika.accounts.services.api_tokens import issue_token
from practika.core import direct
from practika.core.models import DirectUpload, VideoAsset
from practika.extensions import db
from practika.model_base import utcnow
from practika.storage import storage_from_url
from tests.conftest import _make_user, log_in, put_part
from tests.services import wait_for

BYTES = direct.PART_BYTES + 3 * 2**20 + 123  # two parts: a whole one and a shorter last one
pytestmark = pytest.mark.usefixtures("bucket_client")  # moto forgets each test's uploads


@pytest.fixture
def api(s3_app, teacher):
    client = s3_app.test_client()
    token = issue_token(teacher, "direct", None)[1]
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, **kwargs):
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def test_a_video_goes_straight_to_the_bucket_and_resumes_after_a_dropped_part(api, bucket_client):
    data = os.urandom(BYTES)
    started = api("POST", "/direct-uploads/", json={"length": BYTES, "filename": "big.mp4"})
    assert started.status_code == 201
    upload = started.get_json()
    assert upload["parts"] == 2 and upload["part_bytes"] == direct.PART_BYTES
    assert sorted(upload["urls"]) == ["1", "2"]  # the start signs them
    urls = api("POST", f"/direct-uploads/{upload['id']}/urls", json={"parts": [1, 2]}).get_json()
    put_part(urls["urls"]["1"], data[: direct.PART_BYTES])
    # The connection dropped before part 2: completing now says what is missing.
    early = api("POST", f"/direct-uploads/{upload['id']}/complete")
    assert early.status_code == 409 and "1 of 2 parts" in early.get_json()["detail"]
    arrived = api("GET", f"/direct-uploads/{upload['id']}").get_json()["arrived"]
    assert arrived == [{"number": 1, "size": direct.PART_BYTES}]

    put_part(urls["urls"]["2"], data[direct.PART_BYTES :])
    done = api("POST", f"/direct-uploads/{upload['id']}/complete")
    assert done.status_code == 201 and done.get_json()["video_id"] == upload["video_id"]
    asset = db.session.get(VideoAsset, direct.uuid.UUID(upload["video_id"]))
    assert asset.size_bytes == BYTES and asset.processing_status == "queued"
    assert asset.storage_path == f"videos/{asset.id}/original"
    bucket, client = bucket_client
    stored = client.get_object(Bucket=bucket, Key=f"media/{asset.storage_path}")["Body"].read()
    assert stored == data
    assert db.session.scalar(sa.select(sa.func.count(DirectUpload.id))) == 0
    assert api("GET", f"/direct-uploads/{upload['id']}").status_code == 404  # done with


def test_parts_that_do_not_add_up_to_the_length_declared_are_refused(api):
    upload = api("POST", "/direct-uploads/", json={"length": BYTES}).get_json()
    urls = api("POST", f"/direct-uploads/{upload['id']}/urls", json={"parts": [1, 2]}).get_json()
    data = os.urandom(BYTES)
    put_part(urls["urls"]["1"], data[: direct.PART_BYTES])
    put_part(urls["urls"]["2"], data[direct.PART_BYTES : -100])  # 100 bytes short
    refused = api("POST", f"/direct-uploads/{upload['id']}/complete")
    assert refused.status_code == 409
    assert f"not {BYTES}" in refused.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count(VideoAsset.id))) == 0


def test_the_limits_hold_before_a_byte_is_sent(api, s3_app):
    too_big = s3_app.config["MAX_UPLOAD_BYTES"] + 1
    assert api("POST", "/direct-uploads/", json={"length": too_big}).status_code == 413
    for bad in (0, -5, "12", True, None, 1.5):
        assert api("POST", "/direct-uploads/", json={"length": bad}).status_code == 422
    for kind in ("audio", [], {}, 1):
        assert api("POST", "/direct-uploads/", json={"length": 10, "kind": kind}).status_code == 422
    for _ in range(s3_app.config["UPLOADS_IN_PROGRESS_MAX"]):
        assert api("POST", "/direct-uploads/", json={"length": 10}).status_code == 201
    crowded = api("POST", "/direct-uploads/", json={"length": 10})
    assert crowded.status_code == 429 and "uploads in progress" in crowded.get_json()["detail"]


def test_part_numbers_are_checked_and_someone_elses_upload_is_not_found(api, s3_app):
    upload = api("POST", "/direct-uploads/", json={"length": BYTES}).get_json()
    for parts in ([], [0], [3], ["1"], [True], list(range(1, 30))):
        answer = api("POST", f"/direct-uploads/{upload['id']}/urls", json={"parts": parts})
        assert answer.status_code == 422, parts
    stranger = _make_user("teacher", "stranger")
    token = issue_token(stranger, "theirs", None)[1]
    db.session.commit()
    client = s3_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for method, path in (
        ("GET", ""),
        ("POST", "/complete"),
        ("DELETE", ""),
    ):
        answer = client.open(
            f"/api/v1/direct-uploads/{upload['id']}{path}", method=method, headers=headers
        )
        assert answer.status_code == 404, (method, path)
    assert api("GET", "/direct-uploads/not-an-id").status_code == 404


def test_uploads_nobody_completes_are_aborted_by_the_sweep(api, bucket_client):
    upload = api("POST", "/direct-uploads/", json={"length": BYTES}).get_json()
    fresh = api("POST", "/direct-uploads/", json={"length": BYTES}).get_json()
    db.session.execute(
        sa.update(DirectUpload)
        .where(DirectUpload.id == direct.uuid.UUID(upload["id"]))
        .values(created_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    assert direct.sweep() == {"direct_uploads_aborted": 1}
    bucket, client = bucket_client
    left = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [u["Key"] for u in left] == [f"media/videos/{fresh['video_id']}/original"]


def test_an_aborted_upload_is_gone_from_the_bucket(api, bucket_client):
    upload = api("POST", "/direct-uploads/", json={"length": BYTES}).get_json()
    assert api("DELETE", f"/direct-uploads/{upload['id']}").status_code == 204
    bucket, client = bucket_client
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_without_a_bucket_the_resumable_upload_is_the_way(app, teacher):
    token = issue_token(teacher, "local", None)[1]
    db.session.commit()
    answer = app.test_client().post(
        "/api/v1/direct-uploads/",
        json={"length": 10},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 404 and "resumable" in answer.get_json()["detail"]


# The pages' side: the same steps for someone logged in, as upload.js takes them.


@pytest.fixture
def page(s3_app, teacher):
    client = s3_app.test_client()
    log_in(client, teacher.email)
    return client


def test_the_pages_send_a_video_straight_to_the_bucket_and_go_on_with_the_same_file(
    page, bucket_client
):
    data = os.urandom(BYTES)
    file = {"length": BYTES, "filename": "lesson.mp4", "kind": "video"}
    started = page.post("/core/direct-uploads/", json=file)
    assert started.status_code == 201
    upload = started.get_json()
    assert upload["arrived"] == [] and upload["parts"] == 2
    urls = upload["urls"]
    put_part(urls["1"], data[: direct.PART_BYTES])

    # The tab was closed: the same file sent again goes on with the same upload.
    again = page.post("/core/direct-uploads/", json=file).get_json()
    assert again["id"] == upload["id"]
    assert again["arrived"] == [{"number": 1, "size": direct.PART_BYTES}]
    assert page.post(again["complete_url"]).status_code == 409
    put_part(urls["2"], data[direct.PART_BYTES :])
    done = page.post(again["complete_url"])
    assert done.status_code == 201
    assert done.get_json()["video_id"] == upload["video_id"]
    assert done.get_json()["status_url"].endswith(f"/{upload['video_id']}/status")
    bucket, client = bucket_client
    key = f"media/videos/{upload['video_id']}/original"
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == data

    # Another file (another length, name or kind) is another upload.
    for other in ({"length": BYTES + 1}, {"filename": "other.mp4"}, {"kind": "voice"}):
        fresh = page.post("/core/direct-uploads/", json=file | other).get_json()
        assert fresh["id"] != upload["id"] and fresh["arrived"] == []


def test_the_pages_refuse_bad_fields_strangers_and_anonymous_callers(page, s3_app):
    for bad in ({"length": 0}, {"length": "9"}, {"length": 9, "kind": "audio"}, [], "x"):
        answer = page.post("/core/direct-uploads/", json=bad)
        assert answer.status_code == 422 and answer.get_json()["error"], bad
    deep = "[" * 60_000 + "]" * 60_000  # the parser gives up: still a 422, not a 500
    answer = page.post("/core/direct-uploads/", data=deep, content_type="application/json")
    assert answer.status_code == 422
    too_big = s3_app.config["MAX_UPLOAD_BYTES"] + 1
    assert page.post("/core/direct-uploads/", json={"length": too_big}).status_code == 413
    upload = page.post("/core/direct-uploads/", json={"length": BYTES}).get_json()
    assert page.post(upload["urls_url"], json={"parts": [3]}).status_code == 422

    stranger = s3_app.test_client()
    log_in(stranger, _make_user("student", "stranger").email)
    db.session.commit()
    for method, url in (
        ("GET", upload["parts_url"]),
        ("POST", upload["urls_url"]),
        ("POST", upload["complete_url"]),
        ("DELETE", upload["parts_url"]),
    ):
        answer = stranger.open(url, method=method, json={"parts": [1]})
        assert answer.status_code == 404 and answer.get_json()["error"] == "No such upload."
        anonymous = s3_app.test_client().open(
            url, method=method, json={"parts": [1]}, headers={"Accept": "application/json"}
        )
        assert anonymous.status_code == 401 and "Log in again" in anonymous.get_json()["error"]
    assert page.get(upload["parts_url"]).status_code == 200  # still the owner's


def test_the_pages_need_their_csrf_token(s3_app, teacher):
    s3_app.config["WTF_CSRF_ENABLED"] = True
    client = s3_app.test_client()
    log_in(client, teacher.email)
    refused = client.post("/core/direct-uploads/", json={"length": BYTES})
    assert refused.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(DirectUpload.id))) == 0


def test_an_upload_the_bucket_let_go_is_started_again(page, bucket_client):
    bucket, client = bucket_client
    file = {"length": BYTES, "filename": "lesson.mp4"}
    first = page.post("/core/direct-uploads/", json=file).get_json()
    row = db.session.get(DirectUpload, direct.uuid.UUID(first["id"]))
    key = f"media/{row.key}"
    client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=row.s3_upload_id)
    gone = page.post("/core/direct-uploads/", json=file)
    assert gone.status_code == 410 and "Send the file again" in gone.get_json()["error"]
    fresh = page.post("/core/direct-uploads/", json=file).get_json()
    assert fresh["id"] != first["id"] and fresh["arrived"] == []


def test_forms_send_straight_to_the_bucket_only_when_the_storage_is_one(page, app, teacher):
    assert 'data-direct-endpoint="/core/direct-uploads/"' in page.get("/core/videos/").text
    assert 'data-direct-endpoint="/core/direct-uploads/"' in page.get("/exercises/new").text
    local = app.test_client()
    log_in(local, teacher.email)
    assert "data-direct-endpoint" not in local.get("/core/videos/").text
    assert local.post("/core/direct-uploads/", json={"length": 9}).status_code == 404


def test_the_pages_may_play_and_send_to_the_bucket_and_nowhere_else(page, s3_app):
    origin = s3_app.extensions["storage"].browser_origin()
    assert origin == s3_app.config["S3_ENDPOINT_URL"]  # moto is addressed by its path
    policy = dict(
        directive.split(" ", 1)
        for directive in page.get("/core/videos/").headers["Content-Security-Policy"].split("; ")
    )
    for directive in ("img-src", "media-src", "connect-src"):
        assert policy[directive].endswith(f" {origin}")
    for directive in ("script-src", "style-src", "default-src", "frame-src"):
        assert origin not in policy[directive]


def test_the_bucket_origin_is_where_its_signed_urls_point(aws_credentials):
    """On AWS itself (no endpoint) botocore signs virtual-hosted URLs on the region's host;
    the origin found unsigned is theirs."""
    storage = storage_from_url("s3://practika-media/m", region="eu-west-1")
    signed = urlsplit(storage.presigned_url("videos/a/720p.mp4", "video/mp4"))
    assert storage.browser_origin() == f"{signed.scheme}://{signed.netloc}"
    assert storage.browser_origin().startswith("https://practika-media.s3.")


def test_a_complete_whose_answer_was_lost_is_asked_again_and_makes_the_video(
    api, s3_app, bucket_client
):
    """The bucket joined the parts but the answer never came back (a timeout): the parts
    are gone from the listing, and asking again makes the video of the joined object."""
    data = os.urandom(BYTES)
    upload = api("POST", "/direct-uploads/", json={"length": BYTES}).get_json()
    urls = api("POST", f"/direct-uploads/{upload['id']}/urls", json={"parts": [1, 2]}).get_json()
    put_part(urls["urls"]["1"], data[: direct.PART_BYTES])
    put_part(urls["urls"]["2"], data[direct.PART_BYTES :])
    row = db.session.get(DirectUpload, direct.uuid.UUID(upload["id"]))
    storage = s3_app.extensions["storage"]
    storage.complete_multipart(row.key, row.s3_upload_id, storage.parts(row.key, row.s3_upload_id))

    arrived = api("GET", f"/direct-uploads/{upload['id']}").get_json()["arrived"]
    assert arrived == [
        {"number": 1, "size": direct.PART_BYTES},
        {"number": 2, "size": 3 * 2**20 + 123},
    ]
    done = api("POST", f"/direct-uploads/{upload['id']}/complete")
    assert done.status_code == 201 and done.get_json()["video_id"] == upload["video_id"]
    assert db.session.get(VideoAsset, direct.uuid.UUID(upload["video_id"])).size_bytes == BYTES


def test_aborting_an_upload_the_bucket_joined_deletes_the_object(api, s3_app, bucket_client):
    upload = api("POST", "/direct-uploads/", json={"length": 10}).get_json()
    row = db.session.get(DirectUpload, direct.uuid.UUID(upload["id"]))
    storage = s3_app.extensions["storage"]
    urls = api("POST", f"/direct-uploads/{upload['id']}/urls", json={"parts": [1]}).get_json()
    put_part(urls["urls"]["1"], b"0123456789")
    storage.complete_multipart(row.key, row.s3_upload_id, storage.parts(row.key, row.s3_upload_id))
    assert api("DELETE", f"/direct-uploads/{upload['id']}").status_code == 204
    assert not storage.exists(row.key)


@pytest.mark.parametrize(
    ("length", "part", "count"),
    [
        (10, direct.PART_BYTES, 1),
        (direct.PART_BYTES * 64, direct.PART_BYTES, 64),
        (2**30, 16 * 2**20, 64),
        (2**30 + 1, 17 * 2**20, 61),
        (50 * 2**30, 800 * 2**20, 64),
    ],
)
def test_a_larger_video_goes_in_larger_parts_not_more(length, part, count):
    assert direct.part_bytes(length) == part and direct.part_count(length) == count
    assert part >= 5 * 2**20 and part % 2**20 == 0  # S3's least part; whole MiB


def test_joining_again_after_a_timeout_answers_with_the_object(api, s3_app):
    """botocore asks again when the bucket takes longer to join than the client waits."""
    upload = api("POST", "/direct-uploads/", json={"length": 10}).get_json()
    urls = api("POST", f"/direct-uploads/{upload['id']}/urls", json={"parts": [1]}).get_json()
    put_part(urls["urls"]["1"], b"0123456789")
    row = db.session.get(DirectUpload, direct.uuid.UUID(upload["id"]))
    storage = s3_app.extensions["storage"]
    parts = storage.parts(row.key, row.s3_upload_id)
    assert storage.complete_multipart(row.key, row.s3_upload_id, parts) == 10
    assert storage.complete_multipart(row.key, row.s3_upload_id, parts) == 10


def test_two_uploads_becoming_videos_at_once_are_held_to_the_limit_one_after_the_other(
    api, s3_app, teacher, monkeypatch
):
    """Two completes on two web tasks: the second waits for the first's row lock, then
    counts its video. PostgreSQL shows the wait; SQLite takes its lock at the first write,
    so the test is PostgreSQL's."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's row lock; SQLite writes one at a time")
    s3_app.config["VIDEOS_WAITING_MAX"] = 1
    ids = []
    for _ in range(2):
        upload = api("POST", "/direct-uploads/", json={"length": 10}).get_json()
        urls = api("POST", f"/direct-uploads/{upload['id']}/urls", json={"parts": [1]})
        put_part(urls.get_json()["urls"]["1"], b"0123456789")
        ids.append(upload["id"])
    storage = s3_app.extensions["storage"]
    join = storage.complete_multipart
    answers: dict[str, int] = {}

    def complete_in_own_context(upload_id: str) -> None:
        with s3_app.app_context():
            client = s3_app.test_client()
            token = issue_token(db.session.merge(teacher), "second", None)[1]
            db.session.commit()
            headers = {"Authorization": f"Bearer {token}"}
            path = f"/api/v1/direct-uploads/{upload_id}/complete"
            answers[upload_id] = client.post(path, headers=headers).status_code
            db.session.remove()

    def join_while_the_other_completes(*args):
        other = threading.Thread(target=complete_in_own_context, args=(ids[1],))
        other.start()
        wait_for(lock_waited, what="the other complete to wait for the owner's row")
        joined = join(*args)
        monkeypatch.setattr(storage, "complete_multipart", join)
        waiting.append(other)
        return joined

    waiting: list[threading.Thread] = []
    monkeypatch.setattr(storage, "complete_multipart", join_while_the_other_completes)
    assert api("POST", f"/direct-uploads/{ids[0]}/complete").status_code == 201
    waiting[0].join(timeout=30)
    assert answers == {ids[1]: 429}


def lock_waited() -> bool:
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock'"
    )
    with db.engine.connect() as connection:
        return connection.execute(query).scalar() > 0


def test_a_part_url_takes_the_parts_size_and_no_other(api):
    """S3 refuses a signed PUT whose Content-Length differs from the signed one (moto does
    not check signatures: this reads the signature's headers, which S3 checks)."""
    upload = api("POST", "/direct-uploads/", json={"length": BYTES}).get_json()
    for number in ("1", "2"):
        query = parse_qs(urlsplit(upload["urls"][number]).query)
        assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
    assert direct._size(db.session.get(DirectUpload, direct.uuid.UUID(upload["id"])), 2) == (
        BYTES - direct.PART_BYTES
    )
