"""One mail for several comments (issue 17, item 5): the replies written to one reader in one
thread within MAIL_BATCH_SECONDS of the first are listed in one message, which waits that
long from the first; on real Redis, SQLite and PostgreSQL.

The window is made to run out by moving the kept message's due time back, not by waiting.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from practika.comments import services as comment_services
from practika.comments.models import CommentKind, VideoComment
from practika.comments.services import (
    announce_attempt,
    delete_comment,
    edit_comment,
    post_comment,
)
from practika.exercises.models import Exercise
from practika.exercises.services import delete_exercise
from practika.extensions import db
from practika.mail import deliver, parse_message, sweep
from practika.mail_outbox import OutgoingMail
from practika.model_base import utcnow
from practika.queue import get_queue, get_redis
from tests.conftest import (
    _make_user,
    count_rows,
    make_playable,
    publish_to,
    put_in,
    sql_statements,
)
from tests.services import free_port, wait_for
from tests.test_inbox import playable_video

WINDOW = 180


@pytest.fixture
def exercise(app, teacher, student, classroom):
    """Tess's exercise "Scales", published to the class of her student Sam."""
    teacher.first_name, student.first_name = "Tess", "Sam"
    made = Exercise(name="Scales", created_by=teacher, video_asset=playable_video(teacher))
    return publish_to(made, classroom)


def attempt_at(exercise: Exercise, student) -> VideoComment:
    """A student's attempt, its video playing (its announcement is not part of these tests)."""
    attempt = VideoComment(
        exercise=exercise,
        author=student,
        text="",
        kind=CommentKind.ATTEMPT,
        video_asset=playable_video(student, duration_sec=30.0),
    )
    db.session.add(attempt)
    db.session.commit()
    return attempt


@pytest.fixture
def attempt(exercise, student) -> VideoComment:
    return attempt_at(exercise, student)


def write(author, thread: VideoComment, text: str, at: float | None = None) -> VideoComment:
    return post_comment(thread.exercise, author, text=text, parent=thread, at_seconds=at)


def kept() -> list[OutgoingMail]:
    """The outbox's messages, oldest first."""
    db.session.expire_all()
    return db.session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.created_at)).all()


def text_of(mail: OutgoingMail) -> str:
    """The plain text part, its line ends as Python writes them."""
    body = parse_message(mail.message).get_body(("plain",)).get_content()
    return body.replace("\r\n", "\n")


def window_runs_out(mail: OutgoingMail) -> None:
    db.session.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.id == mail.id)
        .values(next_try_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def scheduled_at(job_id: str):
    """When Redis will run a scheduled job (naive UTC, as the rows keep time)."""
    registry = get_queue("mail").scheduled_job_registry
    return registry.get_scheduled_time(job_id).astimezone(UTC).replace(tzinfo=None)


def sent_files(app) -> list:
    return sorted(app.config["MAIL_OUTBOX"].glob("*.eml"))


def test_comments_within_the_window_are_one_mail_that_lists_them_in_order(
    app, attempt, teacher, student
):
    write(teacher, attempt, "Wrist up", at=1.63)
    write(teacher, attempt, "Elbows in")
    write(teacher, attempt, "Breathe", at=12.0)

    [mail] = kept()
    msg = parse_message(mail.message)
    assert msg["Subject"] == "Tess wrote 3 comments on “Scales”"
    assert msg["To"] == student.email
    text = text_of(mail)
    assert "Hello Sam,\n\nTess wrote 3 comments on “Scales”:\n" in text
    assert text.index("At 0:01.6:\nWrist up") < text.index("\nElbows in\n")
    assert text.index("\nElbows in\n") < text.index("At 0:12.0:\nBreathe")
    assert f"/comments/attempts/{attempt.id}" in text
    html = msg.get_body(("html",)).get_content()
    assert html.count("<blockquote") == 3 and "<strong>At 0:01.6</strong>" in html
    assert html.count("Hello") == 1
    # It waits out the window from the first comment: one job, scheduled then.
    assert mail.next_try_at - mail.created_at == pytest.approx(
        timedelta(seconds=WINDOW), abs=timedelta(seconds=5)
    )
    assert get_queue("mail").scheduled_job_registry.get_job_ids() == [mail.job_id]
    assert scheduled_at(mail.job_id) == pytest.approx(mail.next_try_at, abs=timedelta(seconds=2))
    assert get_queue("mail").jobs == []

    deliver_in_own_context(app, mail.id)  # as the worker does when the window ends
    [sent] = sent_files(app)
    assert parse_message(sent.read_bytes())["Message-ID"] == msg["Message-ID"]


def test_one_comment_reads_as_before(app, attempt, teacher):
    write(teacher, attempt, "Wrist up", at=4.5)
    [mail] = kept()
    assert parse_message(mail.message)["Subject"] == "Tess wrote on “Scales”"
    assert "Tess wrote on “Scales”:\n\nAt 0:04.5:\nWrist up\n\nRead it and answer:" in text_of(mail)


def test_the_mail_says_what_a_comment_has_that_it_cannot_show(app, attempt, teacher):
    line = [{"shape": "line", "colour": "red", "points": [[0.1, 0.1], [0.5, 0.5]]}]
    exercise = attempt.exercise
    post_comment(exercise, teacher, text="Here", parent=attempt, at_seconds=1.0, drawing=line)
    [mail] = kept()
    assert "At 0:01.0:\nHere (with a drawing on the frame)\n" in text_of(mail)


def test_the_mail_is_made_again_in_as_many_queries_for_six_comments_as_for_two(app, attempt):
    """Each comment the mail lists comes with its author and its video: no query for each."""

    def queries_to_edit_the_last() -> int:
        last_id = kept()[0].batch_items[-1]
        db.session.remove()  # a request of its own: nothing is in the session yet
        comment = db.session.get(VideoComment, uuid.UUID(last_id))
        with sql_statements() as statements:
            edit_comment(comment, "Still the same")
        return len(statements)

    def write_with_videos(count: int) -> None:
        thread = db.session.get(VideoComment, attempt_id)
        teacher = thread.exercise.created_by
        for number in range(count):
            video = playable_video(teacher, duration_sec=3.0)
            post_comment(thread.exercise, teacher, text=str(number), parent=thread, video=video)

    attempt_id = attempt.id
    write_with_videos(2)
    few = queries_to_edit_the_last()
    write_with_videos(4)
    assert len(kept()[0].batch_items) == 6
    assert queries_to_edit_the_last() == few


def test_a_comment_after_the_window_starts_a_second_mail(app, attempt, teacher):
    write(teacher, attempt, "Wrist up")
    [first] = kept()
    window_runs_out(first)  # its job is due, whether or not a worker took it yet
    write(teacher, attempt, "Elbows in")

    old, new = kept()
    assert old.id == first.id and old.message == first.message  # untouched
    assert "Elbows in" not in text_of(old) and "Wrist up" not in text_of(new)
    assert parse_message(new.message)["Subject"] == "Tess wrote on “Scales”"


def test_the_window_never_grows(app, attempt, teacher):
    """Each comment joins the mail; none pushes its sending back."""
    write(teacher, attempt, "one")
    [before] = kept()
    write(teacher, attempt, "two")
    [after] = kept()
    assert after.next_try_at == before.next_try_at and after.job_id == before.job_id


def test_another_reader_or_another_thread_has_a_mail_of_its_own(
    app, exercise, attempt, teacher, student
):
    other = _make_user("student", "olga")
    put_in(exercise.publications[0].classroom, other)
    second = attempt_at(exercise, other)
    write(teacher, attempt, "to Sam")
    write(student, attempt, "to Tess")  # the same thread, the other reader
    write(teacher, second, "to Olga")  # another thread
    question = post_comment(exercise, other, text="A question")
    write(student, question, "an answer")  # the discussion: its author hears of replies

    mails = kept()
    assert [parse_message(m.message)["To"] for m in mails] == [
        student.email,
        teacher.email,
        other.email,
        other.email,
    ]
    assert [len(m.batch_items) for m in mails] == [1, 1, 1, 1]
    assert len(set(m.batch_key for m in mails)) == 4


def test_several_authors_are_named_and_each_comment_says_whose_it_is(
    app, exercise, attempt, teacher, student
):
    co_teacher = _make_user("teacher", "cora")
    co_teacher.first_name = "Cora"
    write(teacher, attempt, "Wrist up", at=2.0)
    write(co_teacher, attempt, "Agreed")
    [mail] = kept()
    assert parse_message(mail.message)["Subject"] == "Tess and Cora wrote 2 comments on “Scales”"
    text = text_of(mail)
    assert "Tess, at 0:02.0:\nWrist up" in text and "Cora:\nAgreed" in text


def test_window_zero_mails_each_comment_at_once(app, attempt, teacher):
    app.config["MAIL_BATCH_SECONDS"] = 0
    write(teacher, attempt, "one")
    write(teacher, attempt, "two")
    mails = kept()
    assert len(mails) == 2
    assert sorted(get_queue("mail").job_ids) == sorted(m.job_id for m in mails)


def test_a_reader_who_turned_mail_off_gets_none(app, attempt, teacher, student):
    student.profile.preferences = {"email_notifications": False}
    db.session.commit()
    write(teacher, attempt, "one")
    write(teacher, attempt, "two")
    assert kept() == []


def test_an_attempt_mail_is_not_batched(app, exercise, teacher, student):
    for _ in range(2):
        attempt = attempt_at(exercise, student)
        make_playable(attempt.video_asset_id)
        assert announce_attempt(attempt.id)
    mails = kept()
    assert [m.template for m in mails] == ["attempt_submitted"] * 2
    assert all(m.batch_key is None for m in mails)
    assert sorted(get_queue("mail").job_ids) == sorted(m.job_id for m in mails)  # at once


# The claim: a delivery that takes the message closes it; no comment is lost either way.


def test_a_mail_whose_delivery_began_takes_no_more_and_its_retry_sends_the_same_bytes(
    app, attempt, teacher
):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    write(teacher, attempt, "Wrist up")
    [mail] = kept()
    with pytest.raises(ConnectionRefusedError):
        deliver_in_own_context(app, mail.id)  # the first attempt failed: a retry is scheduled
    write(teacher, attempt, "Elbows in")

    old, new = kept()
    assert (old.id, old.attempts, old.status) == (mail.id, 1, "pending")
    assert old.message == mail.message  # the retry sends what the first attempt tried
    assert "Elbows in" in text_of(new) and "Wrist up" not in text_of(new)


def test_a_comment_added_while_the_delivery_claims_the_mail_is_in_the_mail_sent(
    app, attempt, teacher, monkeypatch
):
    """The comment holds the row while it makes the message again; the delivery's claim,
    started right then in another thread, waits for it and then sends the new message."""
    write(teacher, attempt, "Wrist up")
    [mail] = kept()
    make_message = comment_services.build_message
    deliveries: list[threading.Thread] = []

    def deliver_meanwhile(*args, **kwargs):
        delivery = threading.Thread(target=deliver_in_own_context, args=(app, mail.id))
        delivery.start()
        deliveries.append(delivery)
        wait_until_blocked(delivery)
        return make_message(*args, **kwargs)

    monkeypatch.setattr(comment_services, "build_message", deliver_meanwhile)
    write(teacher, attempt, "Elbows in")
    deliveries[0].join(timeout=30)

    [sent] = sent_files(app)
    body = parse_message(sent.read_bytes()).get_body(("plain",)).get_content()
    assert "Wrist up" in body and "Elbows in" in body
    [row] = kept()
    assert row.status == "sent" and len(row.batch_items) == 2


def deliver_in_own_context(app, mail_id: uuid.UUID) -> None:
    """The delivery job, in a context (and database session) of its own, as in the worker."""
    with app.app_context():
        deliver(str(mail_id), 1)
        db.session.remove()


def wait_until_blocked(delivery: threading.Thread) -> None:
    """Until the delivery's claim waits for the row's lock. PostgreSQL shows the wait; SQLite
    does not, so there the delivery gets a second to reach its claim (it passes either way
    when the lock holds, and fails then when it does not)."""
    if db.engine.dialect.name != "postgresql":
        delivery.join(timeout=1)
        return
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE outgoing_mail%'"
    )

    def claim_waits() -> bool:
        with db.engine.connect() as connection:  # a transaction reads one snapshot of it
            return connection.execute(waiting).scalar() > 0

    wait_for(claim_waits, what="the claim to wait")


def test_the_sweep_queues_a_lost_batch_again_at_its_time(app, attempt, teacher):
    write(teacher, attempt, "Wrist up")
    get_redis().flushdb()  # Redis lost the scheduled delivery
    write(teacher, attempt, "Elbows in")  # the mail still takes comments meanwhile

    assert sweep() == {"mail_enqueued": 1}
    [mail] = kept()
    assert len(mail.batch_items) == 2
    assert get_queue("mail").jobs == []  # not at once: at the end of its window
    assert scheduled_at(mail.job_id) == pytest.approx(mail.next_try_at, abs=timedelta(seconds=2))
    assert sweep() == {"mail_enqueued": 0}


# Edited and deleted comments: the waiting mail shows them as they are.


def test_an_edited_comment_is_mailed_as_it_reads_now(app, attempt, teacher):
    comment = write(teacher, attempt, "Wirst up")
    edit_comment(comment, "Wrist up")
    [mail] = kept()
    assert "Wrist up" in text_of(mail) and "Wirst" not in text_of(mail)


def test_a_deleted_comment_leaves_the_waiting_mail(app, attempt, teacher):
    first = write(teacher, attempt, "Wrist up")
    write(teacher, attempt, "Elbows in")
    delete_comment(first)
    [mail] = kept()
    assert "Wrist up" not in text_of(mail) and "Elbows in" in text_of(mail)
    assert parse_message(mail.message)["Subject"] == "Tess wrote on “Scales”"


def test_a_mail_with_nothing_left_to_tell_is_dropped_and_its_job_sends_nothing(
    app, attempt, teacher
):
    comment = write(teacher, attempt, "Wrist up")
    [mail] = kept()
    mail_id = mail.id
    delete_comment(comment)
    assert kept() == []
    deliver_in_own_context(app, mail_id)  # its job, when its time comes
    assert sent_files(app) == []


def test_a_mail_already_claimed_is_left_to_its_delivery(app, attempt, teacher):
    comment = write(teacher, attempt, "Wrist up")
    [mail] = kept()
    db.session.execute(sa.update(OutgoingMail).values(attempts=1))  # a delivery took it
    db.session.commit()
    delete_comment(comment)
    [still] = kept()
    assert still.message == mail.message


def test_a_deleted_thread_or_exercise_drops_its_waiting_mail(
    app, exercise, attempt, teacher, student
):
    write(teacher, attempt, "to Sam")
    question = post_comment(exercise, teacher, text="Any questions?")
    write(student, question, "One")
    assert len(kept()) == 2
    delete_comment(attempt)
    assert [parse_message(m.message)["To"] for m in kept()] == [teacher.email]
    delete_exercise(exercise)
    assert count_rows(OutgoingMail) == 0
