"""``flask admin validate-assets`` and ``cleanup``, on local storage and on S3."""

import io
import os
import time

import pytest

from practika.core.incoming import partial_store
from practika.core.services import store_upload
from practika.extensions import db
from practika.storage import LocalStorage, get_storage
from tests.conftest import create_test_app, make_config


@pytest.fixture(params=["local", "s3"])
def any_app(request, app, database_url, redis_server, tmp_path):
    """The app on local storage, or the same database on an S3 bucket."""
    if request.param == "local":
        yield app
        return
    s3 = request.getfixturevalue("s3_bucket")
    other = create_test_app(make_config(database_url, redis_server.url, tmp_path / "s3", **s3))
    with other.app_context():
        yield other
        db.session.remove()
    db.engine.dispose()


def test_validate_assets_finds_missing_and_altered_originals(any_app, teacher):
    runner = any_app.test_cli_runner()
    good = store_upload(io.BytesIO(b"good bytes"), owner=teacher, filename="a.mp4")
    altered = store_upload(io.BytesIO(b"original"), owner=teacher, filename="b.mp4")
    missing = store_upload(io.BytesIO(b"gone soon"), owner=teacher, filename="c.mp4")
    db.session.commit()
    storage = get_storage()
    storage.save(altered.storage_path, io.BytesIO(b"tampered"))
    storage.delete(missing.storage_path)
    result = runner.invoke(args=["admin", "validate-assets"])
    assert result.exit_code == 1
    assert f"{altered.id}: checksum mismatch for {altered.storage_path}" in result.output
    assert f"{missing.id}: missing {missing.storage_path}" in result.output
    assert "1 of 3 videos are intact." in result.output
    db.session.expire_all()
    assert good.is_valid and good.last_validated is not None and good.validation_errors == []
    assert not altered.is_valid and altered.validation_errors


def test_cleanup_is_a_dry_run_unless_told_and_spares_what_rows_use(any_app, teacher):
    runner = any_app.test_cli_runner()
    kept = store_upload(io.BytesIO(b"in use"), owner=teacher, filename="a.mp4")
    db.session.commit()
    storage = get_storage()
    storage.save("videos/orphan/original", io.BytesIO(b"nobody's"))
    partials = partial_store()
    abandoned = partials.create(teacher.id, 10, "x.mp4")

    young = runner.invoke(args=["admin", "cleanup"])
    assert "0 orphaned objects, 0 abandoned uploads" in young.output  # within the grace period

    # Make them old: files can be back-dated; S3 objects cannot, so give those no grace.
    three_days_ago = (time.time() - 3 * 86400,) * 2
    for path in partials.root.iterdir():
        os.utime(path, three_days_ago)
    if isinstance(storage, LocalStorage):
        os.utime(storage.path("videos/orphan/original"), three_days_ago)
        grace = ["--grace-hours", "24"]
    else:
        grace = ["--grace-hours", "0"]
    dry = runner.invoke(args=["admin", "cleanup", *grace])
    assert "would delete object videos/orphan/original" in dry.output
    assert f"would delete abandoned upload {abandoned.id}" in dry.output
    assert storage.exists("videos/orphan/original")

    done = runner.invoke(args=["admin", "cleanup", *grace, "--delete"])
    assert "Deleted: 1 orphaned objects, 1 abandoned uploads." in done.output
    assert not storage.exists("videos/orphan/original")
    assert storage.exists(kept.storage_path)
