"""Videos nothing uses are listed as due, their owner is told once, and the sweep removes
them after the notice, unless they were used or kept meanwhile (Issue 14, item 6)."""

from __future__ import annotations

import io
from datetime import timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from practika.comments.models import CommentKind, VideoComment
from practika.config import Config, ConfigError
from practika.core import cleanup
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.mail import parse_message
from practika.mail_outbox import OutgoingMail
from practika.model_base import utcnow
from practika.queue import get_queue
from practika.storage import get_storage
from practika.sweep import sweep
from tests.conftest import count_rows, log_in

DAY = timedelta(days=1)


def video(owner, name: str, *, age_days: float = 15, status: str = "ready", **columns):
    """A video of ``owner`` uploaded ``age_days`` ago, nothing using it."""
    asset = VideoAsset(
        owner=owner,
        orig_filename=name,
        processing_status=status,
        created_at=utcnow() - age_days * DAY,
        **columns,
    )
    db.session.add(asset)
    db.session.commit()
    return asset


def notices() -> list[EmailMessage]:
    rows = db.session.scalars(
        sa.select(OutgoingMail.message)
        .where(OutgoingMail.template == "videos_due")
        .order_by(OutgoingMail.created_at)
    )
    return [parse_message(message) for message in rows]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def noticed_at(asset_id):
    db.session.expire_all()
    return db.session.get(VideoAsset, asset_id).cleanup_noticed_at


def notice_ran_out(asset_id, days: float = 8) -> None:
    """Move the video's notice back ``days`` days, as if the time had passed."""
    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == asset_id)
        .values(cleanup_noticed_at=utcnow() - days * DAY)
    )
    db.session.commit()


def use_as_model(asset, teacher) -> Exercise:
    exercise = Exercise(name="Scales", description="", created_by=teacher, video_asset=asset)
    db.session.add(exercise)
    db.session.commit()
    return exercise


def test_a_due_video_is_listed_with_its_removal_date(teacher_client, teacher):
    old = video(teacher, "old-take.mp4")
    video(teacher, "fresh.mp4", age_days=2)
    use_as_model(video(teacher, "model.mp4"), teacher)
    video(teacher, "kept.mp4", kept=True)
    video(teacher, "still-processing.mp4", status="processing")
    for headers in ({}, {"HX-Request": "true"}):
        page = teacher_client.get("/core/videos/", headers=headers).get_data(as_text=True)
        due = page.split('id="videos-due"', 1)[1].split("</section>", 1)[0]
        removal = (utcnow() + 7 * DAY).strftime("%-d %B %Y")
        assert "old-take.mp4" in due
        assert f"will be removed on {removal} unless you use or keep it." in due
        assert f"/core/videos/{old.id}/keep" in due
        for name in ("fresh.mp4", "model.mp4", "kept.mp4", "still-processing.mp4"):
            assert name not in due
        assert "kept until you delete it" in page


def test_nothing_due_no_section(teacher_client, teacher):
    video(teacher, "fresh.mp4", age_days=2)
    assert 'id="videos-due"' not in teacher_client.get("/core/videos/").get_data(as_text=True)


def test_the_owner_is_told_once_in_one_mail_even_when_the_sweep_runs_twice(
    app, teacher, student, runner
):
    first, second = video(teacher, "take-1.mp4"), video(teacher, "take-2.mp4", age_days=40)
    video(student, "theirs.mp4")

    assert "videos_noticed: 3" in runner.invoke(args=["admin", "sweep"]).output
    assert sweep()["videos_noticed"] == 0

    mails = notices()
    assert sorted(mail["To"] for mail in mails) == ["sam@example.com", "tess@example.com"]
    [to_teacher] = [mail for mail in mails if mail["To"] == "tess@example.com"]
    body = text_of(to_teacher)
    removal = (noticed_at(first.id) + 7 * DAY).strftime("%-d %B %Y")
    assert f"will be removed on {removal}" in body
    assert "take-1.mp4" in body and "take-2.mp4" in body and "theirs.mp4" not in body
    assert f"{app.config['BASE_URL']}/core/videos/" in body
    assert noticed_at(second.id) is not None
    assert count_rows(VideoAsset) == 3  # a notice removes nothing
    assert get_queue("mail").count == 2  # on their way


def test_a_notice_whose_worker_died_after_the_commit_still_goes_out(app, teacher, monkeypatch):
    """The notice and its mail are committed together: a worker killed before it queued the
    delivery leaves the mail in the outbox, and the next sweep queues it."""
    asset = video(teacher, "take.mp4")

    def killed(*args):
        raise SystemExit("worker killed")

    monkeypatch.setattr(cleanup, "queue_kept", killed)
    with pytest.raises(SystemExit):
        sweep()
    monkeypatch.undo()

    assert noticed_at(asset.id) is not None and len(notices()) == 1
    assert get_queue("mail").count == 0
    done = sweep()
    assert (done["mail_enqueued"], done["videos_noticed"]) == (1, 0)
    assert get_queue("mail").count == 1 and len(notices()) == 1


def test_after_the_notice_the_video_and_its_files_are_removed(teacher_client, teacher):
    teacher_client.post(
        "/core/uploads/",
        data={"video": (io.BytesIO(b"video bytes"), "spare.mp4")},
        content_type="multipart/form-data",
    )
    asset = db.session.scalar(sa.select(VideoAsset))
    stored = asset.storage_path
    asset.processing_status, asset.created_at = "failed", utcnow() - 15 * DAY
    db.session.commit()
    sweep()
    notice_ran_out(asset.id, days=6.9)
    assert sweep()["videos_removed"] == 0  # the notice runs a full week
    notice_ran_out(asset.id, days=7.1)

    assert sweep()["videos_removed"] == 1
    assert count_rows(VideoAsset) == 0 and not get_storage().exists(stored)


def test_a_video_used_after_its_notice_stays_and_its_clock_starts_over(app, teacher):
    asset = video(teacher, "take.mp4")
    sweep()
    exercise = use_as_model(asset, teacher)
    notice_ran_out(asset.id)

    assert sweep()["videos_removed"] == 0
    assert count_rows(VideoAsset) == 1 and noticed_at(asset.id) is None

    db.session.delete(db.session.get(Exercise, exercise.id))  # unused again: a new notice
    db.session.commit()
    assert sweep()["videos_noticed"] == 1
    assert len(notices()) == 2 and noticed_at(asset.id) > utcnow() - DAY
    assert count_rows(VideoAsset) == 1


def test_a_video_used_between_the_query_and_the_delete_stays(app, teacher, monkeypatch):
    """The in-use check is made again in the deleting transaction: a comment that takes the
    video just after the sweep's query keeps it."""
    asset = video(teacher, "take.mp4")
    sweep()
    notice_ran_out(asset.id)
    exercise = Exercise(name="Scales", description="", created_by=teacher)
    db.session.add(exercise)
    db.session.commit()
    delete_unused = cleanup.delete_unused

    def used_just_now(found):
        db.session.add(
            VideoComment(
                exercise_id=exercise.id,
                author_id=teacher.id,
                kind=CommentKind.COMMENT,
                text="",
                video_asset_id=found.id,
            )
        )
        db.session.flush()
        delete_unused(found)

    monkeypatch.setattr(cleanup, "delete_unused", used_just_now)
    assert sweep()["videos_removed"] == 0
    assert count_rows(VideoAsset) == 1 and noticed_at(asset.id) is None


def test_a_kept_video_is_never_due_again(teacher_client, teacher):
    asset = video(teacher, "for-later.mp4")
    sweep()
    answer = teacher_client.post(f"/core/videos/{asset.id}/keep")
    assert answer.status_code == 303
    notice_ran_out(asset.id, days=30)  # a stamp left by a sweep racing the Keep

    done = sweep()
    assert (done["videos_noticed"], done["videos_removed"]) == (0, 0)
    assert count_rows(VideoAsset) == 1 and noticed_at(asset.id) is None
    page = teacher_client.get("/core/videos/", follow_redirects=True).get_data(as_text=True)
    assert 'id="videos-due"' not in page and "kept until you delete it" in page


def test_keep_as_an_htmx_request_answers_the_page_to_swap(teacher_client, teacher):
    asset = video(teacher, "for-later.mp4")
    answer = teacher_client.post(
        f"/core/videos/{asset.id}/keep", headers={"HX-Request": "true"}, follow_redirects=True
    )
    assert answer.status_code == 200
    assert "for-later.mp4 is kept until you delete it." in answer.get_data(as_text=True)


@pytest.mark.parametrize("status", ["uploaded", "queued", "processing"])
def test_a_video_still_being_processed_is_never_touched(app, teacher, status):
    asset = video(teacher, "long-upload.mp4", age_days=60, status=status)
    assert sweep()["videos_noticed"] == 0 and noticed_at(asset.id) is None
    notice_ran_out(asset.id, days=30)  # noticed once, then sent to be processed again

    assert sweep()["videos_removed"] == 0
    assert count_rows(VideoAsset) == 1 and noticed_at(asset.id) is None


def test_the_settings_change_the_timing(app, teacher):
    app.config.update(VIDEO_CLEANUP_AFTER_DAYS=30, VIDEO_CLEANUP_NOTICE_DAYS=2)
    young, old = (
        video(teacher, "20-days.mp4", age_days=20),
        video(teacher, "31-days.mp4", age_days=31),
    )
    sweep()
    assert noticed_at(young.id) is None and noticed_at(old.id) is not None
    assert "will be removed on " + (utcnow() + 2 * DAY).strftime("%-d %B %Y") in text_of(
        notices()[0]
    )
    notice_ran_out(old.id, days=2.1)
    assert sweep()["videos_removed"] == 1


@pytest.mark.parametrize("name", ["VIDEO_CLEANUP_AFTER_DAYS", "VIDEO_CLEANUP_NOTICE_DAYS"])
@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_a_setting_that_would_remove_at_once_is_refused(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Config({"INSTANCE_PATH": str(tmp_path), name: value})


def test_videos_of_a_deactivated_or_deleted_owner_get_no_notice(app, teacher, student):
    video(None, "nobody's.mp4")
    video(student, "theirs.mp4")
    student.is_active = False
    db.session.commit()
    assert sweep()["videos_noticed"] == 0 and notices() == []


def test_the_notices_walk_the_videos_a_window_at_a_time(app, teacher, monkeypatch):
    """The sweep runs every minute: each run reads a bounded window of old videos, and the
    next run goes on from there, back to the start after the last."""
    monkeypatch.setattr(cleanup, "WINDOW", 2)
    model = video(teacher, "model.mp4", age_days=50)
    use_as_model(model, teacher)
    spares = [video(teacher, f"spare-{age}.mp4", age_days=age) for age in (40, 30, 20, 16)]

    noticed = [sweep()["videos_noticed"] for _ in range(3)]

    assert noticed == [1, 2, 1]  # model + 40 days; 30 and 20; 16 and the end: back to start
    assert all(noticed_at(spare.id) for spare in spares) and noticed_at(model.id) is None
    assert len(notices()) == 3


def test_only_the_owner_and_staff_keep_a_video(client, teacher, student, staff_user):
    theirs = video(student, "theirs.mp4")
    log_in(client, teacher.email)
    assert client.post(f"/core/videos/{theirs.id}/keep").status_code == 404
    assert client.post("/core/videos/8c6f4a52-5a41-4f5e-9d3c-1d4b8f1e2a90/keep").status_code == 404
    assert db.session.get(VideoAsset, theirs.id).kept is False
    client.post("/accounts/logout")
    log_in(client, staff_user.email)
    assert client.post(f"/core/videos/{theirs.id}/keep").status_code == 303
    db.session.expire_all()
    assert db.session.get(VideoAsset, theirs.id).kept is True


def test_by_default_two_weeks_unused_then_a_week_of_notice(tmp_path):
    config = Config({"INSTANCE_PATH": str(tmp_path)})
    assert (config.VIDEO_CLEANUP_AFTER_DAYS, config.VIDEO_CLEANUP_NOTICE_DAYS) == (14, 7)
