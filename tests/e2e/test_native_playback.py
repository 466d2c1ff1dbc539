"""A take that has only its native copy so far (issue 15): Chromium, which plays WebM, plays it
at once; a copy in a family Chromium cannot play (HEVC, on Linux) is never offered to it, and
its page waits for the MP4 every browser plays, without an error."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from rq.job import Job

from practika import create_app
from practika.accounts.models import User
from practika.config import TestConfig
from practika.core.library import delete_unused
from practika.core.models import VideoAsset
from practika.extensions import db
from practika.media.ladder import native_copy
from practika.media.synth import synth_video
from practika.media.transcode import remux_native
from practika.media.validate import validate
from practika.queue import get_queue
from practika.storage import get_storage
from tests.e2e.test_smoke import TEACHER, log_in
from tests.media_samples import encode, has_encoder, recorded

pytestmark = pytest.mark.parametrize("size", ["desktop"])

PLAYS_NATIVE = """id => {
  const video = document.getElementById("player-" + id);
  return video !== null && video.readyState >= 1;
}"""


def native_copy_of(source: Path) -> tuple[Path, str]:
    """The native copy the worker makes of ``source``, and its MIME type."""
    native = native_copy(validate(source))
    assert native is not None, f"{source.name} gets no native copy"
    made = remux_native(source, source.with_name(f"native.{native.container}"), native)
    return made, native.mime


@pytest.fixture
def native_only(live_env) -> Iterator[Callable[[Path], uuid.UUID]]:
    """Put one of the demo teacher's videos as the worker leaves it between its native copy
    and its smallest rung: processing, no renditions, the native copy stored. Its job is one
    that waits an hour, so the worker's sweep sees a job alive and leaves the row as it is.
    Each is deleted, with its files and job, after the test."""
    app = create_app(TestConfig(live_env))
    made: list[uuid.UUID] = []
    jobs: list[Job] = []

    def put(source: Path) -> uuid.UUID:
        path, mime = native_copy_of(source)
        with app.app_context():
            teacher = db.session.scalar(sa.select(User).where(User.email == TEACHER.email))
            asset = VideoAsset(
                owner=teacher,
                orig_filename=source.name,
                processing_status="processing",
                processing_stage="renditions",
                native_type=mime,
            )
            db.session.add(asset)
            db.session.flush()
            asset.native_path = f"videos/{asset.id}/{path.name}"
            an_hour = datetime.now(UTC) + timedelta(hours=1)
            jobs.append(get_queue("media").enqueue_at(an_hour, "builtins.print", str(asset.id)))
            asset.job_id = jobs[-1].id
            with path.open("rb") as stream:
                get_storage().save(asset.native_path, stream)
            db.session.commit()
            made.append(asset.id)
            return asset.id

    yield put
    with app.app_context():
        for job in jobs:
            job.delete()
        for asset_id in made:
            delete_unused(db.session.get(VideoAsset, asset_id))
        db.engine.dispose()


def open_videos_page_without_plays_cookie(page: Page) -> str:
    """Log in, forget what plays.js said, open the Videos page; the HTML the server sent
    before plays.js ran again."""
    page.goto("/accounts/login")
    log_in(page, TEACHER.email, TEACHER.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Exercises")
    page.goto("about:blank")  # so plays.js on that page cannot set the cookie again
    page.context.clear_cookies(name="plays")
    response = page.goto("/core/videos/")
    assert response is not None and response.ok
    return response.text()


def test_a_webm_take_plays_from_its_native_copy_before_any_mp4_exists(
    page: Page, native_only, tmp_path
) -> None:
    take = recorded(
        tmp_path / "take.webm",
        "-c:v libvpx -deadline realtime -cpu-used 8 -c:a libopus -f webm -live 1",
    )
    asset_id = native_only(take)
    first = open_videos_page_without_plays_cookie(page)
    assert f'/core/media/{asset_id}/native"' not in first  # unasked, it waits
    # plays.js has asked Chromium and said so in the cookie; the waiting fragment's next
    # poll brings the native copy, which Chromium loads.
    page.wait_for_function(PLAYS_NATIVE, arg=str(asset_id))
    plays = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}["plays"]
    assert "vp8" in plays.split(".")
    video = page.locator(f"#player-{asset_id}")
    assert video.evaluate("video => video.currentSrc").endswith(f"/core/media/{asset_id}/native")
    assert video.evaluate("video => video.duration") == pytest.approx(2.0, abs=0.2)
    box = page.locator(f"#video-{asset_id}")
    expect(box).not_to_have_attribute("hx-get", f"/core/videos/{asset_id}/status")
    expect(box.get_by_role("status")).to_contain_text("Playing the original in this browser")


def test_an_hevc_take_keeps_its_page_waiting_in_a_browser_that_cannot_play_it(
    page: Page, native_only, tmp_path
) -> None:
    if not has_encoder("libx265"):
        pytest.skip("this ffmpeg has no libx265 to make an HEVC source")
    take = encode(
        tmp_path / "IMG_0003.MOV",
        "-f lavfi -i testsrc2=size=320x240:rate=30 -f lavfi -i sine -t 1 -c:v libx265 "
        "-preset ultrafast -x265-params log-level=error -pix_fmt yuv420p -tag:v hvc1 -c:a aac",
    )
    asset_id = native_only(take)
    open_videos_page_without_plays_cookie(page)
    box = page.locator(f"#video-{asset_id}")
    status_url = f"/core/videos/{asset_id}/status"
    for _ in range(2):  # two polls, each after plays.js has spoken: still waiting
        with page.expect_response(lambda response: response.url.endswith(status_url)):
            pass
        expect(box).to_contain_text("Encoding for every screen")
    plays = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}["plays"]
    assert "hevc" not in plays.split(".")  # Chromium on Linux decodes no HEVC
    expect(box.locator("video")).to_have_count(0)
    expect(box).to_have_attribute("hx-get", status_url)
    assert not page.evaluate(
        "() => performance.getEntriesByType('resource').some(r => r.name.endsWith('/native'))"
    )


@pytest.fixture
def make_ready(live_env) -> Iterator[Callable[[uuid.UUID, Path], None]]:
    """Finish a video as the worker's ready write does: its MP4 stored and named, the native
    copy no longer named and deleted."""
    app = create_app(TestConfig(live_env))

    def finish(asset_id: uuid.UUID, mp4: Path) -> None:
        with app.app_context():
            asset = db.session.get(VideoAsset, asset_id)
            key = f"videos/{asset_id}/360p.mp4"
            with mp4.open("rb") as stream:
                get_storage().save(key, stream)
            get_storage().delete(asset.native_path)
            asset.renditions = {"360p": {"path": key, "width": 640, "height": 360}}
            asset.processing_status, asset.processing_stage = "ready", None
            asset.native_path = asset.native_type = None
            db.session.commit()

    yield finish
    with app.app_context():
        db.engine.dispose()


def test_a_native_player_moves_to_the_mp4_at_the_same_moment_when_the_video_is_ready(
    page: Page, native_only, make_ready, tmp_path
) -> None:
    """The teacher is watching the native copy when the ladder is done and the copy deleted:
    the player goes on from the MP4 at the moment it was at, not from the start."""
    take = recorded(
        tmp_path / "take.webm",
        "-c:v libvpx -deadline realtime -cpu-used 8 -c:a libopus -f webm -live 1",
    )
    asset_id = native_only(take)
    open_videos_page_without_plays_cookie(page)
    page.wait_for_function(PLAYS_NATIVE, arg=str(asset_id))
    video = page.locator(f"#player-{asset_id}")
    video.evaluate("video => { video.currentTime = 1.2; }")
    make_ready(asset_id, synth_video(tmp_path / "360p.mp4", seconds=2, width=640, height=360))
    page.wait_for_function(
        "id => document.getElementById('player-' + id).currentSrc.endsWith('/video')",
        arg=str(asset_id),
        timeout=15_000,
    )
    page.wait_for_function(
        "id => document.getElementById('player-' + id).readyState >= 1", arg=str(asset_id)
    )
    assert video.evaluate("video => video.currentTime") == pytest.approx(1.2, abs=0.1)
    expect(page.locator(f"#video-{asset_id}-note")).to_have_count(0)  # ready: the note goes
