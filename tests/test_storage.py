"""Both storage backends: the local folder, and S3 over HTTP (moto's server mode)."""

import io
import urllib.request

import pytest

from practika.storage import LocalStorage, S3Storage, storage_from_url


@pytest.fixture
def s3(s3_bucket):
    storage = storage_from_url(
        s3_bucket["STORAGE_URL"], endpoint_url=s3_bucket["S3_ENDPOINT_URL"], presign_seconds=60
    )
    assert isinstance(storage, S3Storage)
    return storage


@pytest.fixture
def local(tmp_path):
    return LocalStorage(tmp_path / "media")


@pytest.fixture(params=["local", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


def test_save_exists_download_delete(storage, tmp_path):
    body = bytes(range(256)) * 5000  # 1.2 MB
    assert storage.save("videos/a/original.mp4", io.BytesIO(body)) == len(body)
    assert storage.exists("videos/a/original.mp4")
    assert storage.fetch("videos/a/original.mp4", tmp_path).read_bytes() == body
    storage.delete("videos/a/original.mp4")
    storage.delete("videos/a/original.mp4")  # idempotent
    assert not storage.exists("videos/a/original.mp4")


def test_saving_a_key_again_overwrites(storage, tmp_path):
    storage.save("videos/a/poster.jpg", io.BytesIO(b"first"))
    storage.save("videos/a/poster.jpg", io.BytesIO(b"second"))
    assert storage.fetch("videos/a/poster.jpg", tmp_path).read_bytes() == b"second"


def test_a_failed_write_leaves_nothing(storage):
    class Broken(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        storage.save("videos/b/original.mp4", Broken())
    assert not storage.exists("videos/b/original.mp4")


def test_check_passes_when_reachable(storage):
    storage.check()


def test_s3_check_fails_for_a_missing_bucket(s3_bucket):
    storage = storage_from_url("s3://no-such-bucket", endpoint_url=s3_bucket["S3_ENDPOINT_URL"])
    with pytest.raises(Exception, match=r"404|Not Found|NoSuchBucket"):
        storage.check()


def test_s3_keys_live_under_the_prefix(s3):
    s3.save("videos/c/original.mp4", io.BytesIO(b"x"))
    listed = s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["media/videos/c/original.mp4"]


def test_s3_serves_by_short_lived_presigned_url_with_range(s3, app):
    body = b"0123456789" * 100
    s3.save("videos/d/720p.mp4", io.BytesIO(body))
    with app.test_request_context():
        response = s3.send("videos/d/720p.mp4", "video/mp4")
    assert response.status_code == 302
    url = response.location
    assert "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    request = urllib.request.Request(url, headers={"Range": "bytes=10-19"})  # noqa: S310
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - our own test endpoint
        assert answer.status == 206
        assert answer.read() == b"0123456789"
        assert answer.headers["Content-Type"] == "video/mp4"


def test_local_send_hands_off_to_nginx_when_configured(tmp_path, app):
    storage = LocalStorage(tmp_path, accel_prefix="/protected-media/")
    storage.save("videos/f/720p.mp4", io.BytesIO(b"x"))
    with app.test_request_context():
        response = storage.send("videos/f/720p.mp4", "video/mp4")
    assert response.headers["X-Accel-Redirect"] == "/protected-media/videos/f/720p.mp4"
    assert response.get_data() == b""


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a\\b"])
def test_s3_refuses_unsafe_keys_too(s3, key):
    with pytest.raises(ValueError, match="unsafe storage key"):
        s3.object_key(key)


def test_app_on_s3_reports_healthy_storage_and_redirects_media(
    database_url, redis_server, s3_bucket, tmp_path, app
):
    from practika.extensions import db
    from tests.conftest import create_test_app, log_in, make_config, seed_demo_processed

    s3_app = create_test_app(
        make_config(database_url, redis_server.url, tmp_path / "s3", **s3_bucket)
    )
    client = s3_app.test_client()
    checks = client.get("/core/health/").get_json()["checks"]
    assert checks["storage"] == {**checks["storage"], "status": "ok", "detail": "S3Storage"}
    with s3_app.app_context():
        asset_id = seed_demo_processed().video_asset_id
        db.engine.dispose()
    log_in(client, "student@practika.test", "practika-daily-drill")
    response = client.get(f"/core/media/{asset_id}/video")
    assert response.status_code == 302
    assert response.location.startswith(s3_bucket["S3_ENDPOINT_URL"])
