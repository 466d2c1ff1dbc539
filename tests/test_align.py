"""Takes that line up with their model by sound (Issue 16, item 5): the correlation on numpy
signals, the FFmpeg path on generated videos with a known offset, the job that stores SOUND
or NONE and keeps what a person saved, and what the form and the API accept."""

from __future__ import annotations

import io
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
import sqlalchemy as sa

from practika.accounts.services.api_tokens import issue_token
from practika.comments import tasks
from practika.comments.alignment import (
    ALIGN_MAX_ATTEMPTS,
    enqueue_alignment,
    request_alignment,
)
from practika.comments.models import AlignedBy, AttemptAlignment, VideoComment
from practika.core import tasks as core_tasks
from practika.core.models import VideoAsset
from practika.core.services import add_youtube_video, store_upload
from practika.exercises.models import Exercise
from practika.exercises.services import add_clip
from practika.extensions import db
from practika.media.align import SURE_SCORE, align, correlate, envelope
from practika.queue import get_queue
from practika.sweep import sweep
from tests.conftest import log_in, make_playable, process_now, publish_to
from tests.sound_samples import noise, phrase, take_of, video_with_sound

HTMX = {"HX-Request": "true"}
TRUTH = 6.4  # model seconds at the take's start
CLIP = (5.0, 12.0)  # the clip the takes are recorded against


def eight_khz(samples: np.ndarray) -> np.ndarray:
    """The generated 16 kHz sound as read_sound gives it: 8 kHz floats."""
    return samples[::2].astype(np.float32)


# The correlation on numpy signals


@pytest.mark.parametrize("offset", [-2.5, 0.0, 0.37, 2.9])
def test_the_correlation_finds_a_known_offset_whatever_the_loudness_and_noise(offset):
    source = phrase(30, seed=1)
    take = take_of(source, 10 + offset, 15, gain=0.2, noise_level=0.01, seed=3)
    match = correlate(envelope(eight_khz(take)), envelope(eight_khz(source)))
    assert abs(match.offset_sec - (10 + offset)) < 0.02
    assert match.is_sure and match.confidence >= SURE_SCORE


def test_a_take_longer_than_the_model_and_starting_before_it_is_found():
    source = phrase(8, seed=2)
    take = take_of(source, -2.0, 14, gain=3.0, noise_level=0.02, seed=4)
    match = correlate(envelope(eight_khz(take)), envelope(eight_khz(source)))
    assert abs(match.offset_sec + 2.0) < 0.02 and match.is_sure


@pytest.mark.parametrize("seed", range(5))
def test_sounds_with_nothing_in_common_score_low(seed):
    model = phrase(30, seed=seed)
    take = phrase(15, seed=100 + seed) + noise(15, seed, 0.02)
    match = correlate(envelope(eight_khz(take)), envelope(eight_khz(model)))
    assert not match.is_sure


def test_silence_and_too_little_sound_have_no_envelope():
    assert envelope(np.zeros(8000 * 5, dtype=np.float32)) is None
    assert envelope(np.full(8000 * 5, 1e-5, dtype=np.float32)) is None
    assert envelope(np.ones(100, dtype=np.float32)) is None
    short = envelope(eight_khz(phrase(1, seed=1)))
    assert correlate(short, envelope(eight_khz(phrase(10, seed=1)))) is None  # under 2 s


# The FFmpeg path on generated videos


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> SimpleNamespace:
    """A 16 s model and 8 s takes of it: quieter over noise, a stranger's sound, no sound at
    all; and a 12 s take recorded at 0.5x (pitch kept, as browsers play)."""
    folder = tmp_path_factory.mktemp("align")
    source = phrase(16, seed=7)
    quiet = take_of(source, TRUTH, 8, gain=0.4, noise_level=0.01, seed=5)
    slow = take_of(source, TRUTH, 7, gain=2.0, noise_level=0.01, seed=6)
    return SimpleNamespace(
        model=video_with_sound(folder / "model.mp4", source, 16),
        take=video_with_sound(folder / "take.mp4", quiet, 8),
        slow=video_with_sound(folder / "slow.mp4", slow, 12, tempo=0.5),
        stranger=video_with_sound(folder / "stranger.mp4", phrase(8, seed=99), 8),
        mute=video_with_sound(folder / "mute.mp4", None, 8),
    )


def test_ffmpeg_reads_both_sounds_and_finds_the_offset_in_the_clips_window(sounds):
    match = align(sounds.take, sounds.model, clip=CLIP)
    assert abs(match.offset_sec - TRUTH) < 0.05 and match.is_sure
    whole = align(sounds.take, sounds.model)  # no clip: the model from its start
    assert abs(whole.offset_sec - TRUTH) < 0.05 and whole.is_sure


def test_a_take_recorded_against_the_model_at_half_speed_is_found(sounds):
    match = align(sounds.slow, sounds.model, rate=0.5, clip=CLIP)
    assert abs(match.offset_sec - TRUTH) < 0.05 and match.is_sure


def test_a_take_without_the_models_sound_scores_low_and_one_without_sound_has_none(sounds):
    assert not align(sounds.stranger, sounds.model, clip=CLIP).is_sure
    assert align(sounds.mute, sounds.model, clip=CLIP) is None
    assert align(sounds.take, sounds.mute) is None


# The job, the form and the API


def uploaded(owner, path) -> VideoAsset:
    asset = store_upload(io.BytesIO(path.read_bytes()), owner=owner, filename=path.name)
    db.session.commit()
    return asset


@pytest.fixture
def exercise(app, teacher, classroom, sounds) -> Exercise:
    """A published exercise whose model video plays, with one clip marked."""
    model = uploaded(teacher, sounds.model)
    process_now(model.id)
    model = db.session.get(VideoAsset, model.id)
    exercise = publish_to(Exercise(name="Steps", created_by=teacher, video_asset=model), classroom)
    add_clip(exercise, *CLIP, "Middle")
    db.session.commit()
    return exercise


def send(client, exercise, student, take_path, **against):
    """The student sends ``take_path`` as an attempt, by the page's form (an htmx post).
    (A job run in the test's session closes it: ``student`` may have been loaded before.)"""
    student = db.session.merge(student)
    log_in(client, student.email)
    take = uploaded(student, take_path)
    data = {"video_asset_id": str(take.id), "note": "", **against}
    answer = client.post(f"/comments/exercises/{exercise.id}/attempts", data=data, headers=HTMX)
    return answer, take.id


def the_alignment() -> AttemptAlignment:
    db.session.expire_all()
    return db.session.scalar(sa.select(AttemptAlignment))


def queued_jobs() -> list[str]:
    return get_queue("media").get_job_ids()


def test_a_take_is_lined_up_by_sound_once_it_plays(client, exercise, student, sounds):
    clip_id, exercise_id = exercise.clips[0].id, exercise.id
    answer, take_id = send(
        client, exercise, student, sounds.take, against_clip=str(clip_id), against_rate="1"
    )
    assert answer.headers["HX-Redirect"]
    row = the_alignment()
    assert (row.aligned_by, row.clip_id, row.rate, row.job_id) == ("waiting", clip_id, 1.0, None)

    process_now(take_id)  # the take plays: its sound job is asked for
    row = the_alignment()
    job = f"align-{row.attempt_id}-1"
    assert row.job_id == job and job in queued_jobs()
    tasks.align_attempt(str(row.attempt_id), 1)
    row = the_alignment()
    assert row.aligned_by == AlignedBy.SOUND
    assert abs(row.offset_sec - TRUTH) < 0.05 and row.confidence >= SURE_SCORE
    tasks.align_attempt(str(row.attempt_id), 1)  # delivered twice: the run is done
    assert the_alignment().offset_sec == row.offset_sec

    page = client.get(f"/comments/attempts/{row.attempt_id}")
    assert page.status_code == 200
    token = issue_token(db.session.merge(student), "Phone", None)[1]
    db.session.commit()
    listed = client.get(
        f"/api/v1/exercises/{exercise_id}/attempts", headers={"Authorization": f"Bearer {token}"}
    ).json["items"][0]["alignment"]
    assert listed["aligned_by"] == "sound" and listed["clip_id"] == str(clip_id)
    assert abs(listed["offset_sec"] - TRUTH) < 0.05 and listed["rate"] == 1.0


def test_a_take_at_half_speed_is_lined_up_at_that_speed(client, exercise, student, sounds):
    clip = exercise.clips[0]
    _, take_id = send(
        client, exercise, student, sounds.slow, against_clip=str(clip.id), against_rate="0.5"
    )
    process_now(take_id)
    tasks.align_attempt(str(the_alignment().attempt_id), 1)
    row = the_alignment()
    assert row.aligned_by == AlignedBy.SOUND and row.rate == 0.5
    assert abs(row.offset_sec - TRUTH) < 0.05


@pytest.mark.parametrize("take", ["stranger", "mute"])
def test_no_common_sound_ends_none_started_with_the_clip(client, exercise, student, sounds, take):
    clip = exercise.clips[0]
    _, take_id = send(client, exercise, student, getattr(sounds, take), against_clip=str(clip.id))
    process_now(take_id)
    tasks.align_attempt(str(the_alignment().attempt_id), 1)
    row = the_alignment()
    assert row.aligned_by == AlignedBy.NONE and row.offset_sec == CLIP[0]
    if take == "mute":
        assert row.confidence is None
    else:
        assert row.confidence < SURE_SCORE


def test_a_failure_is_logged_and_ends_none_and_the_attempt_is_unharmed(
    client, exercise, student, sounds, monkeypatch, caplog
):
    _, take_id = send(client, exercise, student, sounds.take)
    process_now(take_id)

    def broken(*args, **kwargs):
        raise RuntimeError("ffmpeg fell over")

    monkeypatch.setattr(tasks, "align", broken)
    tasks.align_attempt(str(the_alignment().attempt_id), 1)
    row = the_alignment()
    assert row.aligned_by == AlignedBy.NONE and row.offset_sec == 0.0  # no clip: the start
    assert "ffmpeg fell over" in caplog.text
    assert db.session.get(VideoAsset, take_id).processing_status == "ready"


def test_a_killed_worker_is_swept_up_to_the_last_run_then_none(
    client, exercise, student, sounds, monkeypatch
):
    _, take_id = send(client, exercise, student, sounds.take)
    process_now(take_id)
    attempt_id = str(the_alignment().attempt_id)

    def killed(*args, **kwargs):
        raise SystemExit(137)  # nothing in the job catches it, like a SIGKILL

    with monkeypatch.context() as dying:
        dying.setattr(tasks, "align", killed)
        for run in range(1, ALIGN_MAX_ATTEMPTS + 1):
            get_queue("media").empty()  # Redis no longer holds the dead run's job
            with pytest.raises(SystemExit):
                tasks.align_attempt(attempt_id, run)
            assert the_alignment().aligned_by == AlignedBy.WAITING
            swept = sweep()
            if run < ALIGN_MAX_ATTEMPTS:
                assert swept["alignments_enqueued"] == 1
                assert f"align-{attempt_id}-{run + 1}" in queued_jobs()
    assert swept["alignments_failed"] == 1
    assert the_alignment().aligned_by == AlignedBy.NONE


def test_the_sweep_leaves_a_waiting_job_alone_and_enqueues_one_redis_lost(
    client, exercise, student, sounds
):
    _, take_id = send(client, exercise, student, sounds.take)
    process_now(take_id)
    attempt_id = str(the_alignment().attempt_id)
    assert sweep()["alignments_enqueued"] == 0  # its job waits in Redis
    get_queue("media").empty()
    assert sweep()["alignments_enqueued"] == 1
    assert f"align-{attempt_id}-1" in queued_jobs()  # the same run: it never started
    tasks.align_attempt(attempt_id, 1)
    assert the_alignment().aligned_by == AlignedBy.SOUND
    assert sweep()["alignments_enqueued"] == 0  # done: nothing to sweep


def test_a_manual_alignment_is_kept_until_the_model_changes(
    client, exercise, student, teacher, sounds
):
    exercise_id, clip_id = exercise.id, exercise.clips[0].id
    _, take_id = send(client, exercise, student, sounds.take, against_clip=str(clip_id))
    process_now(take_id)
    row = the_alignment()
    row.aligned_by, row.offset_sec = AlignedBy.MANUAL, 1.23
    db.session.commit()
    attempt = db.session.get(VideoComment, row.attempt_id)
    assert request_alignment(attempt) is False
    tasks.align_attempt(str(row.attempt_id), 1)  # the job asked before it was saved
    row = the_alignment()
    assert (row.aligned_by, row.offset_sec) == ("manual", 1.23)
    attempt_id = row.attempt_id

    other = uploaded(db.session.merge(teacher), sounds.model)  # a new video for the exercise
    other_id = other.id
    process_now(other_id)
    exercise = db.session.get(Exercise, exercise_id)
    exercise.video_asset_id = other_id
    db.session.commit()
    get_queue("media").empty()
    assert client.get(f"/comments/attempts/{attempt_id}").status_code == 200
    row = the_alignment()
    assert (row.aligned_by, row.model_asset_id, row.clip_id) == ("waiting", other_id, None)
    assert f"align-{attempt_id}-1" in queued_jobs()


def test_a_youtube_model_is_not_lined_up(client, exercise, student, teacher, sounds):
    exercise.video_asset = add_youtube_video("https://youtu.be/dQw4w9WgXcQ", owner=teacher)
    db.session.commit()
    _, take_id = send(client, exercise, student, sounds.take)
    get_queue("media").empty()
    process_now(take_id)
    row = the_alignment()
    assert (row.aligned_by, row.offset_sec, row.job_id) == ("none", 0.0, None)
    assert not any(job.startswith("align-") for job in queued_jobs())


def test_a_replaced_take_is_lined_up_again_with_what_it_was_recorded_against(
    client, exercise, student, sounds
):
    clip_id, student = exercise.clips[0].id, db.session.merge(student)
    log_in(client, student.email)
    bad = store_upload(io.BytesIO(b"not a video"), owner=student, filename="x.mp4")
    db.session.commit()
    client.post(
        f"/comments/exercises/{exercise.id}/attempts",
        data={"video_asset_id": str(bad.id), "against_clip": str(clip_id), "against_rate": "0.75"},
        headers=HTMX,
    )
    process_now(bad.id)
    attempt_id = the_alignment().attempt_id
    new = uploaded(db.session.merge(student), sounds.take)
    new_id = new.id
    answer = client.post(
        f"/comments/attempts/{attempt_id}/video",
        data={"video_asset_id": str(new_id)},
        headers=HTMX,
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    row = the_alignment()
    assert (row.take_asset_id, row.aligned_by, row.clip_id, row.rate) == (
        new_id,
        "waiting",
        clip_id,
        0.75,
    )
    process_now(new_id)
    assert the_alignment().job_id == f"align-{attempt_id}-1"


HOSTILE = [
    {"against_rate": "5"},
    {"against_rate": "0.05"},
    {"against_rate": "nan"},
    {"against_rate": "inf"},
    {"against_rate": "-1"},
    {"against_rate": "1e999"},
    {"against_rate": "fast"},
    {"against_clip": "not-a-uuid"},
    {"against_clip": str(uuid.uuid4())},
    {"against_clip": "<script>"},
]


@pytest.mark.parametrize("against", HOSTILE)
def test_the_form_refuses_what_no_recorder_sends(client, exercise, student, sounds, against):
    answer, _ = send(client, exercise, student, sounds.mute, **against)
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "clip is not one of this exercise" in text or "speed must be between" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VideoComment)) == 0


def test_a_clip_of_another_exercise_is_refused(client, exercise, student, teacher, sounds):
    other = Exercise(name="Other", created_by=teacher, video_asset=exercise.video_asset)
    db.session.add(other)
    db.session.flush()
    foreign = add_clip(other, 1.0, 2.0, "Theirs")
    db.session.commit()
    answer, _ = send(client, exercise, student, sounds.mute, against_clip=str(foreign.id))
    assert answer.status_code == 422


def test_the_api_takes_what_the_take_was_recorded_against(client, exercise, student, sounds):
    token = issue_token(student, "Phone", None)[1]
    db.session.commit()
    auth, url = {"Authorization": f"Bearer {token}"}, f"/api/v1/exercises/{exercise.id}/attempts"
    clip_id = str(exercise.clips[0].id)

    def create(**fields):
        video_id = str(uploaded(db.session.merge(student), sounds.mute).id)
        return client.post(url, json={"video_id": video_id, **fields}, headers=auth)

    for bad in ({"against_rate": "0.5"}, {"against_rate": 5}, {"against_rate": True}):
        refused = create(**bad)
        assert refused.status_code == 422 and "against_rate" in refused.json["errors"]
    refused = create(against_clip_id=str(uuid.uuid4()))
    assert refused.status_code == 422 and "against_clip_id" in refused.json["errors"]

    made = create(against_clip_id=clip_id, against_rate=0.9)
    assert made.status_code == 201
    assert made.json["alignment"] == {
        "offset_sec": None,
        "rate": 0.9,
        "confidence": None,
        "aligned_by": "waiting",
        "clip_id": clip_id,
    }


def test_an_attempt_sent_before_its_exercise_had_a_video_is_lined_up_too(
    client, exercise, student, sounds
):
    model_id, exercise_id = exercise.video_asset_id, exercise.id
    exercise.video_asset_id = None
    db.session.commit()
    _, take_id = send(client, exercise, student, sounds.take)
    assert the_alignment() is None  # nothing to line it up with yet
    exercise = db.session.get(Exercise, exercise_id)
    exercise.video_asset_id = model_id
    db.session.commit()
    process_now(take_id)
    row = the_alignment()
    assert (row.aligned_by, row.rate, row.clip_id) == ("waiting", 1.0, None)
    tasks.align_attempt(str(row.attempt_id), 1)
    assert the_alignment().aligned_by == AlignedBy.SOUND


# Lined up whatever comes first: the take playing, the Send, the model being ready


def align_jobs() -> list[str]:
    return [job for job in queued_jobs() if job.startswith("align-")]


def test_a_take_that_played_before_it_was_sent_is_lined_up_once(client, exercise, student, sounds):
    """The recorder uploads while it records: the take often plays before Send."""
    student = db.session.merge(student)
    log_in(client, student.email)
    take = uploaded(student, sounds.take)
    take_id = take.id
    process_now(take_id)  # no attempt yet: nothing to line up
    exercise = db.session.merge(exercise)  # the job closed the test's session
    url = f"/comments/exercises/{exercise.id}/attempts"
    data = {"video_asset_id": str(take_id), "against_clip": str(exercise.clips[0].id)}
    assert client.post(url, data=data, headers=HTMX).headers["HX-Redirect"]

    row = the_alignment()
    assert row.job_id == f"align-{row.attempt_id}-1" and align_jobs() == [row.job_id]
    attempt = db.session.get(VideoComment, row.attempt_id)
    assert request_alignment(attempt) is False  # asked again: its job is asked for already
    assert align_jobs() == [row.job_id]
    tasks.align_attempt(str(row.attempt_id), 1)
    row = the_alignment()
    assert row.aligned_by == AlignedBy.SOUND and abs(row.offset_sec - TRUTH) < 0.05
    assert request_alignment(db.session.get(VideoComment, row.attempt_id)) is False
    assert the_alignment().aligned_by == AlignedBy.SOUND  # measured: it stays


def test_of_two_callers_naming_the_job_at_once_one_enqueues(client, exercise, student, sounds):
    _, take_id = send(client, exercise, student, sounds.take)
    make_playable(take_id)  # the take plays; read before the other caller names its job
    row = the_alignment()
    with db.engine.begin() as other:  # the other caller named the run meanwhile
        other.execute(
            sa.update(AttemptAlignment)
            .where(AttemptAlignment.attempt_id == row.attempt_id)
            .values(job_id=f"align-{row.attempt_id}-1")
        )
    assert enqueue_alignment(row) is False
    assert align_jobs() == []


def test_the_sweep_asks_for_a_waiting_alignment_that_never_had_a_job(
    client, exercise, student, sounds, monkeypatch
):
    """A row left WAITING with no job (the announcement failed, or the process died after
    it; or an attempt from before this was fixed) is asked for by the sweep."""
    _, take_id = send(client, exercise, student, sounds.take)
    with monkeypatch.context() as broken:
        broken.setattr(core_tasks, "announce_attempts", lambda asset_id: 1 / 0)
        process_now(take_id)
    row = the_alignment()
    assert (row.aligned_by, row.job_id) == ("waiting", None)

    assert sweep()["alignments_enqueued"] == 1
    job = f"align-{row.attempt_id}-1"
    assert the_alignment().job_id == job and align_jobs() == [job]
    assert sweep()["alignments_enqueued"] == 0  # its job waits in Redis
    tasks.align_attempt(str(row.attempt_id), 1)
    assert the_alignment().aligned_by == AlignedBy.SOUND


def test_the_sweep_leaves_a_take_that_does_not_play_yet(client, exercise, student, sounds):
    send(client, exercise, student, sounds.take)
    assert sweep()["alignments_enqueued"] == 0
    assert the_alignment().job_id is None and align_jobs() == []


def test_a_model_still_processing_keeps_the_take_waiting_until_it_is_ready(
    client, exercise, student, teacher, sounds
):
    model = uploaded(db.session.merge(teacher), sounds.model)  # a new model video
    model_id = model.id
    exercise.video_asset = model
    db.session.commit()
    _, take_id = send(client, exercise, student, sounds.take)
    process_now(take_id)
    row = the_alignment()
    assert (row.aligned_by, row.model_asset_id, row.job_id) == ("waiting", model_id, None)
    assert sweep()["alignments_enqueued"] == 0  # the sweep waits for the model as well

    process_now(model_id)  # the model is ready: the take waiting for it is asked for
    row = the_alignment()
    assert row.job_id == f"align-{row.attempt_id}-1" and align_jobs() == [row.job_id]
    tasks.align_attempt(str(row.attempt_id), 1)
    row = the_alignment()
    assert row.aligned_by == AlignedBy.SOUND and abs(row.offset_sec - TRUTH) < 0.05


def test_a_model_that_fails_starts_the_take_waiting_for_it_together_with_it(
    client, exercise, student, teacher, sounds
):
    teacher = db.session.merge(teacher)
    broken = store_upload(io.BytesIO(b"not a video"), owner=teacher, filename="model.mp4")
    exercise.video_asset = broken
    db.session.commit()
    broken_id = broken.id
    _, take_id = send(client, exercise, student, sounds.take)
    process_now(take_id)
    assert the_alignment().aligned_by == AlignedBy.WAITING  # it may yet play

    process_now(broken_id)
    assert db.session.get(VideoAsset, broken_id).processing_status == "failed"
    row = the_alignment()
    assert (row.aligned_by, row.offset_sec, row.job_id) == ("none", 0.0, None)


def test_an_attempt_without_an_alignment_gets_one_when_its_page_opens(
    client, exercise, student, sounds
):
    """An attempt sent before alignments were measured has no row at all."""
    _, take_id = send(client, exercise, student, sounds.take)
    process_now(take_id)
    attempt_id = the_alignment().attempt_id
    db.session.execute(sa.delete(AttemptAlignment))
    db.session.commit()
    get_queue("media").empty()

    assert client.get(f"/comments/attempts/{attempt_id}").status_code == 200
    row = the_alignment()
    assert (row.aligned_by, row.take_asset_id, row.rate) == ("waiting", take_id, 1.0)
    assert align_jobs() == [f"align-{attempt_id}-1"]
    assert client.get(f"/comments/attempts/{attempt_id}").status_code == 200  # a reload
    assert align_jobs() == [f"align-{attempt_id}-1"]
    tasks.align_attempt(str(attempt_id), 1)
    assert the_alignment().aligned_by == AlignedBy.SOUND
