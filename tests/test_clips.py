"""Clips: validated, deduplicated by their hash, cut by a job into a small MP4 to download."""

import io
import re

import pytest
import sqlalchemy as sa
from flask import current_app

from practika.core.models import VideoClip
from practika.core.services import ClipError, request_clip, store_upload
from practika.core.tasks import cut_video_clip
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.media.probe import probe
from practika.media.synth import synth_video
from practika.queue import get_queue
from practika.storage import get_storage
from tests.conftest import count_rows, log_in, process_now


@pytest.fixture
def ready_asset(app, teacher, tmp_path):
    video = synth_video(tmp_path / "model.mp4", seconds=3, width=320, height=240)
    asset = store_upload(io.BytesIO(video.read_bytes()), owner=teacher, filename="model.mp4")
    db.session.commit()
    asset_id = asset.id
    process_now(asset_id)
    return db.session.get(type(asset), asset_id)


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (2, 1, "start before it ends"),
        (1, 1, "start before it ends"),
        (-1, 1, "seconds from 0 to 86400"),
        (float("nan"), 1, "seconds from 0"),
        (0, float("inf"), "seconds from 0"),
        (1, 9, "end within the video (3.0 s)"),
    ],
)
def test_clips_are_validated(ready_asset, start, end, reason):
    with pytest.raises(ClipError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        request_clip(ready_asset, start, end)


def test_a_video_that_is_not_ready_has_no_clips(app, teacher):
    asset = store_upload(io.BytesIO(b"x"), owner=teacher, filename="x.mp4")
    with pytest.raises(ClipError, match="once the video is ready"):
        request_clip(asset, 0, 1)


def test_the_same_cut_is_one_clip(ready_asset):
    clip, new = request_clip(ready_asset, 0.5, 1.5, title="Entry")
    db.session.commit()
    again, again_new = request_clip(ready_asset, 0.5000001, 1.5)
    assert new and not again_new and again.id == clip.id


def test_the_job_cuts_a_small_mp4_that_can_be_downloaded(ready_asset, client, teacher, student):
    teacher_email, student_email = "tess@example.com", "sam@example.com"  # see conftest
    clip, _ = request_clip(ready_asset, 0.5, 1.5, title="Entry step")
    db.session.commit()
    clip_id = clip.id
    cut_video_clip(str(clip_id))  # closes the session, as jobs do
    clip = db.session.get(VideoClip, clip_id)
    assert clip.processing_status == "ready" and clip.size_bytes > 0
    facts = probe(get_storage().path(clip.storage_path))
    assert 0.9 < facts.duration < 1.2 and facts.video_codec == "h264"
    log_in(client, teacher_email)
    download = client.get(f"/core/clips/{clip_id}.mp4?download=1")
    assert download.status_code == 200
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="Entry_step-0.5-1.5s.mp4"'
    )
    client.post("/accounts/logout")
    log_in(client, student_email)  # not the owner, and no exercise uses the video
    assert client.get(f"/core/clips/{clip_id}.mp4").status_code == 404


def test_a_clip_job_runs_once(ready_asset):
    clip, _ = request_clip(ready_asset, 0, 1)
    db.session.commit()
    clip_id = clip.id
    cut_video_clip(str(clip_id))
    path = db.session.get(VideoClip, clip_id).storage_path
    cut_video_clip(str(clip_id))  # a duplicate delivery finds it done and does nothing
    assert db.session.get(VideoClip, clip_id).storage_path == path
    assert len(get_queue("media")) == 0


def test_the_clip_fragment_polls_until_cut_then_offers_the_download(app, ready_asset, client):
    clip, _ = request_clip(ready_asset, 0, 1, title="Turn")
    db.session.commit()
    clip_id = clip.id
    log_in(client, "tess@example.com")  # the owner (see conftest)
    waiting = client.get(f"/core/clips/{clip_id}/status").get_data(as_text=True)
    assert "Cutting…" in waiting
    assert 'hx-trigger="load delay:1s"' in waiting
    with app.app_context():  # as in the worker: its own context, session and g
        cut_video_clip(str(clip_id))
    ready = client.get(f"/core/clips/{clip_id}/status").get_data(as_text=True)
    assert "hx-trigger" not in ready
    assert f'href="/core/clips/{clip_id}.mp4?download=1"' in ready


@pytest.fixture
def exercise_with_video(ready_asset, teacher):
    exercise = Exercise(name="Turns", created_by=teacher, video_asset=ready_asset)
    db.session.add(exercise)
    db.session.commit()
    return exercise


def clips() -> list[tuple[str, int]]:
    rows = db.session.scalars(sa.select(VideoClip).order_by(VideoClip.position))
    return [(clip.title, clip.position) for clip in rows]


def mark(client, exercise, **data):
    return client.post(f"/exercises/{exercise.id}/clips", data=data, headers={"HX-Request": "true"})


def test_the_teacher_marks_renames_reorders_and_deletes_clips(client, exercise_with_video):
    exercise = exercise_with_video
    log_in(client, "tess@example.com")
    first = mark(client, exercise, start="0", end="1", title="Entry")
    assert first.status_code == 200 and 'id="clips"' in first.get_data(as_text=True)
    mark(client, exercise, start="1.5", end="2.5", title="Exit")
    assert clips() == [("Entry", 0), ("Exit", 1)]
    assert get_queue("media").job_ids[-2:] == [f"clip-{c.id}-1" for c in exercise.clips]
    exit_clip = exercise.clips[1]
    client.post(f"/exercises/{exercise.id}/clips/{exit_clip.id}/up", headers={"HX-Request": "true"})
    db.session.expire_all()
    assert clips() == [("Exit", 0), ("Entry", 1)]
    client.post(
        f"/exercises/{exercise.id}/clips/{exit_clip.id}/title",
        data={"title": "Out"},
        headers={"HX-Request": "true"},
    )
    with current_app.app_context():  # as in the worker: its own context and session
        cut_video_clip(str(exit_clip.id))
    db.session.expire_all()
    key = db.session.get(VideoClip, exit_clip.id).storage_path
    assert get_storage().exists(key)
    page = client.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert 'data-loop-start="1.5" data-loop-end="2.5"' in page and "Out" in page
    client.post(
        f"/exercises/{exercise.id}/clips/{exit_clip.id}/delete", headers={"HX-Request": "true"}
    )
    db.session.expire_all()
    assert [title for title, _ in clips()] == ["Entry"] and not get_storage().exists(key)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "2", "end": "1"}, "A clip must start before it ends."),
        ({"start": "1", "end": "9"}, "A clip must end within the video (3.0 s)."),
        ({"start": "", "end": "1"}, "Where does it start?"),
        ({"start": "0", "end": "1", "title": "x" * 201}, "Field cannot be longer than 200"),
    ],
)
def test_a_clip_that_cannot_be_marked_says_why(client, exercise_with_video, data, message):
    log_in(client, "tess@example.com")
    response = mark(client, exercise_with_video, **data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count_rows(VideoClip) == 0


def test_the_same_clip_twice_is_refused(client, exercise_with_video):
    log_in(client, "tess@example.com")
    mark(client, exercise_with_video, start="0", end="1", title="A")
    again = mark(client, exercise_with_video, start="0", end="1")
    assert again.status_code == 422 and "already marked: “A”" in again.get_data(as_text=True)


def test_without_javascript_marking_returns_to_the_page(client, exercise_with_video):
    log_in(client, "tess@example.com")
    response = client.post(
        f"/exercises/{exercise_with_video.id}/clips", data={"start": "2", "end": "1"}
    )
    assert response.status_code == 303 and response.location.endswith("#clips")


def test_each_untitled_clips_buttons_name_that_clip(client, exercise_with_video):
    """A screen reader hears which clip a button acts on: "Move up: Clip 3" on the third,
    and its download link is named by the same words, whether the page or the polled
    fragment drew it."""
    log_in(client, "tess@example.com")
    for start in ("0", "0.5", "1", "1.5"):
        mark(client, exercise_with_video, start=start, end="2.5")
    third = exercise_with_video.clips[2].id
    with current_app.app_context():  # as in the worker: its own context and session
        cut_video_clip(str(third))
    page = client.get(f"/exercises/{exercise_with_video.id}").get_data(as_text=True)
    rows = [row.split("</li>")[0] for row in page.split('<li class="clip-row">')[1:]]
    assert len(rows) == 4
    for number, row in enumerate(rows, start=1):
        buttons = re.findall(r'<button type="submit"[^>]*>(.*?)</button>', row, re.DOTALL)
        named = [" ".join(re.sub(r"<[^>]+>", "", button).split()) for button in buttons]
        assert named == [
            f"Rename Clip {number}",
            f"Move up: Clip {number}",
            f"Move down: Clip {number}",
            f"Delete Clip {number}",
        ]
    fragment = client.get(f"/core/clips/{third}/status").get_data(as_text=True)
    labelled_by = re.search(r'class="clip-download" aria-labelledby="([^"]+)"', fragment)[1]
    names = [
        re.search(rf'id="{ref}"[^>]*>([^<]*)<', page)[1].strip() for ref in labelled_by.split()
    ]
    assert names == ["Download", "Clip 3"]


def test_changing_clips_brings_new_chips_under_the_player(client, exercise_with_video):
    """The chips under the model come out of band with each change to the clips, so the deck
    never offers a clip that was renamed or deleted."""
    exercise = exercise_with_video
    log_in(client, "tess@example.com")
    html = mark(client, exercise, start="0.5", end="1.5", title="Entry").get_data(as_text=True)
    chips = html[html.index('id="clip-chips"') :]
    assert 'hx-swap-oob="true"' in chips and 'data-loop-start="0.5"' in chips and "Entry" in chips
    clip = exercise.clips[0]
    html = client.post(
        f"/exercises/{exercise.id}/clips/{clip.id}/delete", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    chips = html[html.index('id="clip-chips"') :]
    assert "Entry" not in chips
    page = client.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert page.count('id="clip-chips"') == 1 and "hx-swap-oob" not in page
