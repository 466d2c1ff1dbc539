"""An attempt is announced to its teacher (mail, webhook, inbox) only once its video plays,
and exactly once however often its job runs; a failed video is replaced, never retried by its
student; the same take sent twice is one attempt (Issue 14, item 5)."""

from __future__ import annotations

import io
import json
import threading
import uuid

import pytest
import sqlalchemy as sa

from practika.accounts.models import RoleName
from practika.accounts.services.api_tokens import issue_token
from practika.comments import services
from practika.comments.models import VideoComment
from practika.comments.services import announce_attempt, announce_attempts
from practika.core import tasks
from practika.core.models import VideoAsset
from practika.core.services import store_upload
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.mail_outbox import OutgoingMail
from practika.media.synth import synth_video
from practika.queue import get_queue
from practika.storage import get_storage
from practika.sweep import sweep
from practika.webhooks.models import WebhookDelivery
from practika.webhooks.services import register_endpoint
from tests.conftest import _make_user, log_in, make_playable, process_now, publish_to, put_in
from tests.test_jobs import heartbeat_stopped

HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> bytes:
    """A real 720p take: playable by a remux, then a smaller rung made by the ladder."""
    path = tmp_path_factory.mktemp("take") / "take.mp4"
    return synth_video(path, seconds=1, width=1280, height=720).read_bytes()


@pytest.fixture
def exercise(app, teacher, classroom) -> Exercise:
    register_endpoint("https://93.184.215.14/hook", ["attempt.submitted"], description="test")
    return publish_to(Exercise(name="Scales", created_by=teacher), classroom)


def upload(owner, data: bytes) -> str:
    """A video the owner sent ahead (the resumable upload's end), by id. (A job run in the
    test's session closes it: ``owner`` may have been loaded before.)"""
    asset = store_upload(io.BytesIO(data), owner=db.session.merge(owner), filename="take.mp4")
    db.session.commit()
    return str(asset.id)


def send(client, exercise, video_id: str, headers=HTMX):
    return client.post(
        f"/comments/exercises/{exercise.id}/attempts",
        data={"video_asset_id": video_id, "note": "First go"},
        headers=headers,
    )


def announcements() -> tuple[int, int]:
    """(mails to the teacher about an attempt, attempt.submitted webhook deliveries)."""
    mails = sa.select(sa.func.count()).where(OutgoingMail.template == "attempt_submitted")
    hooks = sa.select(sa.func.count()).where(WebhookDelivery.event == "attempt.submitted")
    return db.session.scalar(mails), db.session.scalar(hooks)


def the_attempt() -> VideoComment:
    db.session.expire_all()
    return db.session.scalar(sa.select(VideoComment))


def exists(model, row_id: str) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).where(model.id == uuid.UUID(row_id))) == 1


def teacher_sees(client, attempt_id) -> bool:
    """Whether the attempt waits in the teacher's inbox, count and exercise card."""
    client.post("/accounts/logout")
    log_in(client, "tess@example.com")
    inbox = client.get("/comments/inbox").get_data(as_text=True)
    cards = client.get("/exercises/").get_data(as_text=True)
    listed = f"inbox-{attempt_id}" in inbox
    counted = 'aria-label="1 waiting"' in inbox
    assert listed == counted == ("1 awaiting feedback" in cards)
    return listed


def test_a_playable_attempt_is_announced_once_when_it_plays(
    client, exercise, student, teacher, take
):
    log_in(client, student.email)
    video_id = upload(student, take)
    assert send(client, exercise, video_id).headers["HX-Redirect"]
    attempt_id = the_attempt().id
    assert announcements() == (0, 0)  # not before its video plays
    assert not teacher_sees(client, attempt_id)

    process_now(video_id)
    assert the_attempt().video_asset.processing_status == "ready"
    assert announcements() == (1, 1)
    assert teacher_sees(client, attempt_id)

    db.session.execute(  # the job once more (the sweep, a redelivered job): nothing new
        sa.update(VideoAsset)
        .where(VideoAsset.id == uuid.UUID(video_id))
        .values(processing_status="queued")
    )
    db.session.commit()
    process_now(video_id)
    assert the_attempt().video_asset.processing_status == "ready"
    assert announcements() == (1, 1)


def test_a_retry_after_the_video_played_does_not_announce_it_again(
    client, exercise, student, take, monkeypatch
):
    log_in(client, student.email)
    video_id = upload(student, take)
    send(client, exercise, video_id)

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    with monkeypatch.context() as broken:
        broken.setattr(tasks, "make_renditions", disk_full)
        with pytest.raises(OSError):
            process_now(video_id)  # the remux plays, the ladder fails: retried later
    asset = the_attempt().video_asset
    assert asset.processing_status == "queued" and asset.is_playable
    assert announcements() == (1, 1)  # announced when the remux played

    process_now(video_id)  # the retry
    assert the_attempt().video_asset.processing_status == "ready"
    assert announcements() == (1, 1)


def test_a_worker_killed_after_the_video_played_is_swept_and_not_announced_twice(
    client, exercise, student, take, monkeypatch
):
    log_in(client, student.email)
    video_id = upload(student, take)
    send(client, exercise, video_id)

    def killed(*args, **kwargs):
        raise SystemExit(137)  # nothing in the job catches it, like a SIGKILL

    with monkeypatch.context() as dying:
        dying.setattr(tasks, "make_renditions", killed)
        with pytest.raises(SystemExit):
            process_now(video_id)
    heartbeat_stopped(the_attempt().video_asset_id)
    assert announcements() == (1, 1)
    assert sweep()["videos_retried"] == 1

    process_now(video_id)
    assert the_attempt().video_asset.processing_status == "ready"
    assert announcements() == (1, 1)


def test_a_failed_video_is_never_announced_and_its_student_is_offered_a_replacement(
    client, exercise, student, teacher
):
    log_in(client, student.email)
    video_id = upload(student, b"<html>not a video</html>")
    send(client, exercise, video_id)
    process_now(video_id)
    attempt = the_attempt()
    reason = attempt.video_asset.processing_error
    assert attempt.video_asset.processing_status == "failed" and reason
    assert announcements() == (0, 0)

    page = client.get(f"/comments/attempts/{attempt.id}").get_data(as_text=True)
    assert reason in page and "Replace the video" in page and "Try again" not in page
    assert f'action="/comments/attempts/{attempt.id}/video"' in page
    assert "data-video-form" in page and "data-tus-endpoint" in page
    mine = client.get("/comments/mine").get_data(as_text=True)
    assert reason in mine and f"#replace-video-{attempt.id}" in mine
    assert "Waiting for feedback" not in mine
    assert client.post(f"/core/videos/{video_id}/retry").status_code == 404

    assert not teacher_sees(client, attempt.id)
    page = client.get(f"/comments/attempts/{attempt.id}").get_data(as_text=True)
    assert "Replace the video" not in page  # the teacher reads the attempt, it is not theirs


def test_the_poll_tells_the_page_a_video_failed_and_the_panel_then_offers_a_new_one(
    client, exercise, student
):
    log_in(client, student.email)
    video_id = upload(student, b"not a video")
    send(client, exercise, video_id)
    panel_url = f"/comments/attempts/{the_attempt().id}/video"
    panel = client.get(panel_url, headers=HTMX)
    assert 'hx-trigger="video-failed from:body"' in panel.get_data(as_text=True)
    assert "Replace the video" not in panel.get_data(as_text=True)

    process_now(video_id)
    status = client.get(f"/core/videos/{video_id}/status", headers=HTMX)
    assert json.loads(status.headers["HX-Trigger"]) == {"video-failed": video_id}
    panel = client.get(panel_url, headers=HTMX)
    assert "Replace the video" in panel.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [True, False])
def test_a_failed_video_is_replaced_the_old_one_deleted_and_the_new_one_announced(
    client, exercise, student, take, htmx
):
    log_in(client, student.email)
    failed_id = upload(student, b"not a video")
    send(client, exercise, failed_id)
    process_now(failed_id)
    failed_files = [the_attempt().video_asset.storage_path]
    attempt_id = the_attempt().id

    new_id = upload(student, take)
    answer = client.post(
        f"/comments/attempts/{attempt_id}/video",
        data={"video_asset_id": new_id},
        headers=HTMX if htmx else {},
    )
    page = f"/comments/attempts/{attempt_id}"
    if htmx:
        assert answer.status_code == 200 and answer.headers["HX-Redirect"] == page
    else:
        assert answer.status_code == 303 and answer.location.endswith(page)
    assert str(the_attempt().video_asset_id) == new_id
    assert not exists(VideoAsset, failed_id)
    assert not any(get_storage().exists(key) for key in failed_files)
    assert f"video-{new_id}-1" in get_queue("media").job_ids
    assert announcements() == (0, 0)

    process_now(new_id)
    assert announcements() == (1, 1)


def test_only_a_failed_video_is_replaced_and_only_by_an_upload_of_the_students_own(
    client, exercise, student, teacher, classroom, take
):
    log_in(client, student.email)
    working_id = upload(student, take)
    send(client, exercise, working_id)
    attempt_id = the_attempt().id
    url = f"/comments/attempts/{attempt_id}/video"

    spare = upload(student, b"another take")
    refused = client.post(url, data={"video_asset_id": spare}, headers=HTMX)
    assert refused.status_code == 422 and "nothing to replace" in refused.get_data(as_text=True)

    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == the_attempt().video_asset_id)
        .values(processing_status="failed", processing_error="Broken.")
    )
    db.session.commit()
    someone_elses = upload(teacher, b"the teacher's video")
    for data, message in [
        ({"video_asset_id": someone_elses}, "cannot be used here"),
        ({"video_asset_id": "not-an-id"}, "cannot be used here"),
        ({}, "Record or choose a video"),
    ]:
        refused = client.post(url, data=data, headers=HTMX)
        assert refused.status_code == 422 and message in refused.get_data(as_text=True)
    assert str(the_attempt().video_asset_id) == working_id

    classmate = _make_user(RoleName.STUDENT, "kim")
    put_in(classroom, classmate)
    for other in (teacher, classmate):
        client.post("/accounts/logout")
        log_in(client, other.email)
        theirs = upload(other, b"their video")
        assert client.post(url, data={"video_asset_id": theirs}).status_code == 404
        assert client.get(url, headers=HTMX).status_code == 404
    assert str(the_attempt().video_asset_id) == working_id


@pytest.mark.parametrize("htmx", [True, False])
def test_the_same_take_sent_twice_is_one_attempt(client, exercise, student, htmx):
    log_in(client, student.email)
    video_id = upload(student, b"a take")
    headers = HTMX if htmx else {}
    first, again = (
        send(client, exercise, video_id, headers),
        send(client, exercise, video_id, headers),
    )
    attempt = the_attempt()
    assert db.session.scalar(sa.select(sa.func.count(VideoComment.id))) == 1
    page = f"/comments/attempts/{attempt.id}"
    if htmx:
        assert first.headers["HX-Redirect"] == again.headers["HX-Redirect"] == page
    else:
        assert first.location.endswith(page) and again.location.endswith(page)
    assert get_queue("media").job_ids == [f"video-{video_id}-1"]  # processed once


def test_a_take_sent_to_another_exercise_is_refused_not_taken_for_a_resend(
    client, exercise, student, teacher, classroom
):
    """Only the same take at the same exercise is the attempt it already is."""
    log_in(client, student.email)
    video_id = upload(student, b"a take")
    send(client, exercise, video_id)
    other = publish_to(Exercise(name="Arpeggios", created_by=teacher), classroom)
    refused = send(client, other, video_id)
    assert refused.status_code == 422 and "cannot be used here" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(VideoComment.id))) == 1


def api_auth(student) -> dict[str, str]:
    token = issue_token(student, "Phone app", None)[1]
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_api_answers_a_resend_with_the_attempt_it_already_is(client, exercise, student):
    auth, url = api_auth(student), f"/api/v1/exercises/{exercise.id}/attempts"
    video_id = upload(student, b"a take")
    first = client.post(url, json={"video_id": video_id, "note": "Try 1"}, headers=auth)
    again = client.post(url, json={"video_id": video_id, "note": "Try 1"}, headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"]
    assert db.session.scalar(sa.select(sa.func.count(VideoComment.id))) == 1
    wrong = client.post(url, json={"video_id": 7}, headers=auth)
    assert wrong.status_code == 422  # not a string: refused, not looked up


def test_the_api_replaces_a_failed_video(client, exercise, student, take):
    auth = api_auth(student)
    video_id = upload(student, b"not a video")
    sent = client.post(
        f"/api/v1/exercises/{exercise.id}/attempts", json={"video_id": video_id}, headers=auth
    )
    url = f"/api/v1/attempts/{sent.json['id']}/video"
    spare = upload(student, b"a spare take")
    early = client.put(url, json={"video_id": spare}, headers=auth)
    assert early.status_code == 422  # its video has not failed

    process_now(video_id)
    new_id = upload(student, take)
    replaced = client.put(url, json={"video_id": new_id}, headers=auth)
    assert replaced.status_code == 200 and replaced.json["video"]["id"] == new_id
    assert not exists(VideoAsset, video_id)
    process_now(new_id)
    assert announcements() == (1, 1)


def test_an_announcement_that_cannot_be_made_does_not_fail_the_video(
    client, exercise, student, take, monkeypatch, caplog
):
    log_in(client, student.email)
    video_id = upload(student, take)
    send(client, exercise, video_id)

    def mail_down(asset_id):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(tasks, "announce_attempts", mail_down)
    process_now(video_id)
    assert the_attempt().video_asset.processing_status == "ready"
    assert "could not be announced" in caplog.text


# A take that plays before Send: the recorder uploads while it records, so the upload often
# ends, and the take plays, before the student presses Send (Issue 16, item 5).


def test_a_take_that_played_before_it_was_sent_is_announced_on_send_once(
    client, exercise, student, teacher, take
):
    log_in(client, student.email)
    video_id = upload(student, take)
    process_now(video_id)  # the worker finds no attempt yet: nothing to announce
    exercise = db.session.merge(exercise)  # the job closed the test's session
    assert announcements() == (0, 0)

    assert send(client, exercise, video_id).headers["HX-Redirect"]
    assert announcements() == (1, 1)
    attempt = the_attempt()
    assert attempt.announced_at is not None
    send(client, exercise, video_id)  # sent again from another tab: the same attempt
    assert announcements() == (1, 1)
    assert teacher_sees(client, attempt.id)


def test_the_worker_announcing_after_the_send_did_announces_once(client, exercise, student, take):
    """Both sides saw each other's commit: the worker's announcement comes second, or the
    send's does; either finds the attempt announced and does nothing."""
    log_in(client, student.email)
    video_id = upload(student, take)
    process_now(video_id)
    send(client, db.session.merge(exercise), video_id)
    assert announcements() == (1, 1)

    announce_attempts(uuid.UUID(video_id))  # the worker, had its query seen the attempt
    assert announce_attempt(the_attempt().id) is False  # the send, a second time
    assert announcements() == (1, 1)


def test_the_worker_and_the_send_claiming_at_the_same_moment_announce_once(
    app, client, exercise, student
):
    log_in(client, student.email)
    video_id = upload(student, b"a take")
    send(client, exercise, video_id)
    assert announcements() == (0, 0)  # it does not play yet
    make_playable(video_id)
    attempt_id = the_attempt().id
    start, claimed = threading.Barrier(2), []

    def side() -> None:
        with app.app_context():  # a session of its own, as the web and worker processes have
            start.wait()
            claimed.append(announce_attempt(attempt_id))

    sides = [threading.Thread(target=side) for _ in range(2)]
    for thread in sides:
        thread.start()
    for thread in sides:
        thread.join()
    assert sorted(claimed) == [False, True]
    assert announcements() == (1, 1)


def test_a_replacement_that_plays_before_it_is_sent_is_announced_on_replace(
    client, exercise, student, take
):
    log_in(client, student.email)
    failed_id = upload(student, b"not a video")
    send(client, exercise, failed_id)
    process_now(failed_id)
    new_id = upload(student, take)
    process_now(new_id)
    db.session.merge(exercise)
    assert announcements() == (0, 0)

    replaced = client.post(
        f"/comments/attempts/{the_attempt().id}/video",
        data={"video_asset_id": new_id},
        headers=HTMX,
    )
    assert replaced.status_code == 200
    assert announcements() == (1, 1)


def test_an_announcement_on_send_that_cannot_be_made_does_not_fail_the_send(
    client, exercise, student, take, monkeypatch, caplog
):
    log_in(client, student.email)
    video_id = upload(student, take)
    process_now(video_id)

    def mail_down(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(services, "send_mail", mail_down)
    answer = send(client, db.session.merge(exercise), video_id)
    assert answer.status_code == 200 and answer.headers["HX-Redirect"]
    assert the_attempt() is not None
    assert "could not be announced" in caplog.text
