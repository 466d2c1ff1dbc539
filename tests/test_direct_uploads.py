"""Videos sent straight to the bucket (core.direct) by an API client, against an S3 endpoint
over HTTP (moto's server): the parts go from the client to S3 with URLs the app signed, a
dropped part is resumed from what the bucket says arrived, a length that does not add up is
refused, the limits hold as on the resumable path, and uploads nobody completes are
aborted by the sweep."""

from __future__ import annotations

import os
from datetime import timedelta

import boto3
import pytest
import sqlalchemy as sa
import urllib3

from practika.accounts.services.api_tokens import issue_token
from practika.core import direct
from practika.core.models import DirectUpload, VideoAsset
from practika.extensions import db
from practika.model_base import utcnow
from tests.conftest import _make_user, create_test_app, make_config

BYTES = direct.PART_BYTES + 3 * 2**20 + 123  # two parts: a whole one and a shorter last one


@pytest.fixture
def s3_app(app, database_url, redis_server, s3_bucket, tmp_path):
    s3_app = create_test_app(
        make_config(database_url, redis_server.url, tmp_path / "s3", **s3_bucket)
    )
    with s3_app.app_context():
        yield s3_app


@pytest.fixture(autouse=True)
def bucket_client(s3_bucket):
    """The test's bucket, through boto3. Afterwards moto forgets everything: its state dump,
    which the SES tests read from the same server, fails on the multipart uploads made here
    (each test makes its own bucket and SES identity, so nothing else is lost)."""
    bucket = s3_bucket["STORAGE_URL"].removeprefix("s3://").split("/")[0]
    client = boto3.client("s3", endpoint_url=s3_bucket["S3_ENDPOINT_URL"], region_name="us-east-1")
    yield bucket, client
    urllib3.request("POST", f"{s3_bucket['S3_ENDPOINT_URL']}/moto-api/reset", timeout=10)


@pytest.fixture
def api(s3_app, teacher):
    client = s3_app.test_client()
    token = issue_token(teacher, "direct", None)[1]
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, **kwargs):
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call


def put_part(url: str, data: bytes) -> str:
    """What a client does: the part's bytes straight to S3 (with urllib3, as boto3 itself
    sends; the standard library's urlopen got no answer from the test endpoint); the ETag
    S3 answers."""
    response = urllib3.request("PUT", url, body=data, timeout=30)
    assert response.status == 200, response.data
    return response.headers["ETag"]


def test_a_video_goes_straight_to_the_bucket_and_resumes_after_a_dropped_part(api, bucket_client):
    data = os.urandom(BYTES)
    started = api("POST", "/direct-uploads/", json={"length": BYTES, "filename": "big.mp4"})
    assert started.status_code == 201
    upload = started.get_json()
    assert upload["parts"] == 2 and upload["part_bytes"] == direct.PART_BYTES
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
