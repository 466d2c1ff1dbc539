"""Comments, attempts and feedback: posting in place with htmx, the rules on what a comment
may carry, deleting with everything under it, notifications, running totals that match a
recount, and feedback counted as such only when a teacher wrote it."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from practika.accounts.models import User
from practika.comments.models import CommentKind, VideoComment
from practika.comments.services import announce_attempts
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.mail_outbox import OutgoingMail
from practika.queue import get_queue
from practika.recount import recompute_metrics
from practika.storage import get_storage
from practika.text import moment
from tests.conftest import count_rows, exercise_with_model, log_in, make_playable, publish_to

HTMX = {"HX-Request": "true"}


@pytest.fixture
def exercise(app, teacher, classroom):
    """The teacher's exercise, published to the class the student is in."""
    exercise = exercise_with_model(teacher)
    recompute_metrics(fix=True)  # made by hand here: count it, so the tests start true
    return publish_to(exercise, classroom)


def mail_jobs() -> list[str]:
    """The mail jobs waiting to run: queued, or scheduled (a comment's mail waits a few
    minutes for the comments written after it)."""
    queue = get_queue("mail")
    scheduled = queue.scheduled_job_registry.get_job_ids()
    return [job.description for job in [*queue.jobs, *map(queue.fetch_job, scheduled)]]


def upload_ahead(client, content: bytes = b"attempt bytes") -> str:
    """Send a video the way the page's script does (tus); returns the new asset's id."""
    created = client.post(
        "/core/uploads/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(content))}
    )
    done = client.patch(
        created.headers["Location"],
        data=content,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    return done.headers["X-Video-Asset"]


def submit(client, exercise, **data):
    return client.post(
        f"/comments/exercises/{exercise.id}/attempts",
        data=data,
        headers=HTMX,
        content_type="multipart/form-data",
    )


def test_a_comment_is_posted_in_place_with_the_count_out_of_band(teacher_client, exercise):
    response = teacher_client.post(
        f"/comments/exercises/{exercise.id}", data={"text": "Hi"}, headers=HTMX
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="comment-form-new"' in html  # a fresh form replaces the one that was sent
    assert 'hx-swap-oob="afterbegin:#threads"' in html and ">Hi</p>" in html
    assert '<span class="count" id="discussion-count" hx-swap-oob="true">1</span>' in html
    assert db.session.scalar(sa.select(VideoComment.text)) == "Hi"


def test_a_reply_to_a_reply_joins_the_thread(client, exercise, student, teacher):
    log_in(client, student.email)
    client.post(f"/comments/exercises/{exercise.id}", data={"text": "Root"}, headers=HTMX)
    root = db.session.scalar(sa.select(VideoComment))
    client.post(f"/comments/{root.id}/replies", data={"text": "First"}, headers=HTMX)
    first = db.session.scalar(sa.select(VideoComment).where(VideoComment.text == "First"))
    response = client.post(f"/comments/{first.id}/replies", data={"text": "2"}, headers=HTMX)
    assert f'hx-swap-oob="beforeend:#replies-{root.id}"' in response.get_data(as_text=True)
    parents = db.session.scalars(
        sa.select(VideoComment.parent_id).where(VideoComment.parent_id.is_not(None))
    ).all()
    assert parents == [root.id, root.id]  # threads stay one level deep


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "  "}, "Write something, or add a video."),
        ({"text": "x" * 5001}, "5000 characters"),
        ({"text": "ok", "at_seconds": "-1"}, "seconds from 0 to 86400"),
        ({"text": "ok", "at_seconds": "inf"}, "seconds from 0 to 86400"),
        ({"text": "ok", "at_seconds": "nan"}, "seconds from 0 to 86400"),
        ({"text": "ok", "at_seconds": "1e309"}, "seconds from 0 to 86400"),
        ({"text": "ok", "at_seconds": "13"}, "within the video (12 s)"),
    ],
)
def test_a_comment_that_cannot_be_saved_says_why(student_client, exercise, student, data, message):
    student_client.post(f"/comments/exercises/{exercise.id}", data={"text": "Root"}, headers=HTMX)
    root = db.session.scalar(sa.select(VideoComment))
    response = student_client.post(f"/comments/{root.id}/replies", data=data, headers=HTMX)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count_rows(VideoComment) == 1


@pytest.mark.parametrize("moment", ["inf", "Infinity", "nan", "1e400"])
def test_a_moment_that_is_no_number_is_refused_and_the_discussion_stays_up(
    teacher_client, teacher, moment
):
    # A YouTube model has no duration to check against: the moment must be finite anyway.
    linked = VideoAsset(
        owner=teacher,
        video_type="youtube",
        processing_status="ready",
        youtube_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )
    exercise = Exercise(name="Linked", created_by=teacher, video_asset=linked)
    db.session.add(exercise)
    db.session.commit()
    url = f"/comments/exercises/{exercise.id}"
    answer = teacher_client.post(url, data={"text": "Look", "at_seconds": moment}, headers=HTMX)
    assert answer.status_code == 422 and "seconds from 0 to 86400" in answer.get_data(as_text=True)
    assert count_rows(VideoComment) == 0
    assert teacher_client.get(url).status_code == 200


@pytest.mark.parametrize("page", ["99999999999999999999", "0", "-1", "x", "1e3", "²"])
def test_a_page_number_out_of_range_is_a_422_not_a_500(student_client, exercise, page):
    for url in (
        f"/comments/exercises/{exercise.id}",
        f"/comments/exercises/{exercise.id}/attempts",
        "/exercises/",
    ):
        answer = student_client.get(url, query_string={"page": page})
        assert answer.status_code == 422, url
        assert "whole number from 1 to 10000" in answer.get_data(as_text=True)


def test_a_student_submits_an_attempt_uploaded_ahead(student_client, exercise, student):
    asset_id = upload_ahead(student_client)
    response = submit(student_client, exercise, video_asset_id=asset_id, note="Hard turn")
    attempt = db.session.scalar(sa.select(VideoComment))
    assert response.headers["HX-Redirect"] == f"/comments/attempts/{attempt.id}"
    assert attempt.kind == CommentKind.ATTEMPT and str(attempt.video_asset_id) == asset_id
    assert attempt.text == "Hard turn"
    assert get_queue("media").job_ids == [f"video-{asset_id}-1"]  # queued once, by the upload
    assert mail_jobs() == []  # the teacher hears of it once it plays (test_attempt_announce)
    page = student_client.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    assert "Your attempt" in page and "Waiting for a free worker" not in page


def test_an_attempt_sent_back_with_an_error_keeps_its_video(student_client, exercise):
    asset_id = upload_ahead(student_client)
    back = submit(student_client, exercise, video_asset_id=asset_id, note="x" * 20_000)
    page = back.get_data(as_text=True)
    assert back.status_code == 422 and "Video attached" in page
    assert f'name="video_asset_id" value="{asset_id}"' in page
    assert submit(student_client, exercise, video_asset_id=asset_id).status_code == 200
    assert str(db.session.scalar(sa.select(VideoComment)).video_asset_id) == asset_id


def test_an_attempt_posts_its_file_without_javascript(student_client, exercise):
    response = student_client.post(
        f"/comments/exercises/{exercise.id}/attempts",
        content_type="multipart/form-data",
        data={"video": (io.BytesIO(b"phone video"), "clip.mov")},
    )
    attempt = db.session.scalar(sa.select(VideoComment))
    assert response.status_code == 303 and response.location.endswith(f"/{attempt.id}")
    assert attempt.video_asset.orig_filename == "clip.mov"
    assert get_queue("media").job_ids == [f"video-{attempt.video_asset_id}-1"]


def test_an_attempt_needs_a_video(student_client, exercise):
    response = submit(student_client, exercise, note="no video")
    assert response.status_code == 422
    assert "Record or choose a video to send." in response.get_data(as_text=True)
    assert count_rows(VideoComment) == 0


def test_someone_elses_upload_cannot_be_borrowed(client, exercise, student, teacher):
    log_in(client, teacher.email)
    theirs = upload_ahead(client)
    client.post("/accounts/logout")
    log_in(client, student.email)
    response = submit(client, exercise, video_asset_id=theirs)
    assert response.status_code == 422 and "cannot be used here" in response.get_data(as_text=True)
    mine = upload_ahead(client)
    assert submit(client, exercise, video_asset_id=mine).status_code == 200
    again = submit(client, exercise, video_asset_id=mine)  # one video, one attempt
    attempt = db.session.scalar(sa.select(VideoComment))
    assert again.headers["HX-Redirect"] == f"/comments/attempts/{attempt.id}"
    assert count_rows(VideoComment) == 1


def test_feedback_at_a_moment_reaches_the_student_unless_they_opted_out(
    client, exercise, student, teacher
):
    log_in(client, student.email)
    submit(client, exercise, video_asset_id=upload_ahead(client))
    attempt = db.session.scalar(sa.select(VideoComment))
    client.post("/accounts/logout")
    get_queue("mail").empty()
    log_in(client, teacher.email)
    response = client.post(
        f"/comments/{attempt.id}/replies",
        headers=HTMX,
        data={"text": "Wrist up", "at_seconds": "4.5"},
    )
    html = response.get_data(as_text=True)
    assert 'data-seek="4.5"' in html and f'data-for="player-{attempt.video_asset_id}"' in html
    assert "</span>0:04.5</button>" in html
    assert f'id="feedback-count-{attempt.id}" hx-swap-oob="true">1<' in html
    assert mail_jobs() == ["mail new_comment"]
    student.profile.preferences = {"email_notifications": False}
    db.session.commit()
    client.post(f"/comments/{attempt.id}/replies", data={"text": "Again"}, headers=HTMX)
    assert mail_jobs() == ["mail new_comment"]  # no second mail
    assert db.session.scalars(sa.select(OutgoingMail.batch_items)).all() == [
        [str(db.session.scalar(sa.select(VideoComment.id).where(VideoComment.text == "Wrist up")))]
    ]  # nor is the reply added to the one waiting


def test_editing_in_place(student_client, exercise):
    student_client.post(f"/comments/exercises/{exercise.id}", data={"text": "Tpyo"}, headers=HTMX)
    comment = db.session.scalar(sa.select(VideoComment))
    form = student_client.get(f"/comments/{comment.id}/edit").get_data(as_text=True)
    assert f'id="comment-{comment.id}"' in form and "Tpyo</textarea>" in form
    saved = student_client.post(f"/comments/{comment.id}/edit", data={"text": "Typo"}, headers=HTMX)
    assert ">Typo</p>" in saved.get_data(as_text=True)
    empty = student_client.post(f"/comments/{comment.id}/edit", data={"text": ""}, headers=HTMX)
    db.session.expire_all()  # the test's copy of the comment predates the edits
    assert empty.status_code == 422 and db.session.get(VideoComment, comment.id).text == "Typo"


def test_deleting_takes_the_replies_videos_and_counts_with_it(client, exercise, student, teacher):
    log_in(client, student.email)
    video_id = upload_ahead(client)
    client.post(
        f"/comments/exercises/{exercise.id}",
        headers=HTMX,
        data={"text": "Look", "video_asset_id": video_id},
    )
    root = db.session.scalar(sa.select(VideoComment))
    stored = get_storage().exists(f"videos/{video_id}/original")
    client.post("/accounts/logout")
    log_in(client, teacher.email)
    client.post(f"/comments/{root.id}/replies", data={"text": "Nice"}, headers=HTMX)
    client.post("/accounts/logout")
    log_in(client, student.email)
    response = client.post(f"/comments/{root.id}/delete", headers=HTMX)
    assert response.status_code == 200
    assert 'id="discussion-count" hx-swap-oob="true">0<' in response.get_data(as_text=True)
    assert stored and not get_storage().exists(f"videos/{video_id}/original")
    assert count_rows(VideoComment) == 0 and count_rows(VideoAsset) == 1  # the model's
    assert recompute_metrics() == []  # comments_made went down for both authors


def test_deleting_an_exercise_leaves_no_orphans_and_true_counts(client, exercise, student, teacher):
    log_in(client, student.email)
    video_id = upload_ahead(client)
    submit(client, exercise, video_asset_id=video_id)
    client.post(f"/comments/exercises/{exercise.id}", data={"text": "Hi"}, headers=HTMX)
    client.post("/accounts/logout")
    log_in(client, teacher.email)
    client.post(f"/exercises/{exercise.id}/delete")
    assert count_rows(VideoComment) == count_rows(VideoAsset) == count_rows(Exercise) == 0
    assert not get_storage().exists(f"videos/{video_id}/original")
    assert recompute_metrics() == []


def test_the_running_totals_match_a_recount(client, exercise, student, teacher):
    log_in(client, student.email)
    submit(client, exercise, video_asset_id=upload_ahead(client))
    for text in ("one", "two"):
        client.post(f"/comments/exercises/{exercise.id}", data={"text": text}, headers=HTMX)
    made = db.session.scalar(
        sa.select(User).where(User.id == student.id)
    ).profile.metrics.comments_made
    assert made == 3 and recompute_metrics() == []


def test_the_discussion_comes_as_a_fragment_or_as_its_own_page(client, exercise, student):
    log_in(client, student.email)
    client.post(f"/comments/exercises/{exercise.id}", data={"text": "Question"}, headers=HTMX)
    url = f"/comments/exercises/{exercise.id}/discussion"
    fragment = client.get(url, headers=HTMX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="discussion"') and "Question" in fragment
    page = client.get(url).get_data(as_text=True)  # without JavaScript: a page
    assert "<html" in page and "Question" in page and 'id="comment-form-new"' in page


def test_a_line_break_stored_in_a_name_does_not_break_the_mail_after_the_save(
    client, exercise, student, teacher
):
    """Names are kept to one line when they come in; rows stored before that must not turn
    the request into a 500 once the attempt or comment is saved (the mail comes after)."""
    from email import message_from_bytes, policy

    exercise.name = "Scales\r\nBcc: everyone@example.com"
    student.first_name = "Sam\n"
    db.session.commit()
    log_in(client, student.email)
    assert submit(client, exercise, video_asset_id=upload_ahead(client)).status_code == 200
    attempt = db.session.scalar(sa.select(VideoComment))
    make_playable(attempt.video_asset_id)
    announce_attempts(attempt.video_asset_id)  # as the worker does once the video plays
    client.post("/accounts/logout")
    log_in(client, teacher.email)
    reply = client.post(f"/comments/{attempt.id}/replies", data={"text": "Ok"}, headers=HTMX)
    assert reply.status_code == 200
    stored = db.session.scalars(sa.select(OutgoingMail.message))
    sent = [message_from_bytes(m, policy=policy.default) for m in stored]
    assert sorted(m["Subject"] for m in sent) == [
        "Sam (Tuesday group) sent an attempt at “Scales Bcc: everyone@example.com”",
        f"{teacher.display_name} wrote on “Scales Bcc: everyone@example.com”",
    ]
    assert all(m["Bcc"] is None for m in sent)


# Feedback that reads right (issue 17, item 5): an attempt's count and its "No feedback yet"
# follow what its teachers wrote, never the student's own replies, and change in place.


def empty_line(html: str, attempt: VideoComment) -> str:
    """The attempt's "No feedback yet" paragraph's opening tag."""
    return re.search(rf'<p [^>]*id="feedback-empty-{attempt.id}"[^>]*>', html).group(0)


def count_of(html: str, attempt: VideoComment) -> str:
    return re.search(rf'id="feedback-count-{attempt.id}"[^>]*>(\d+)<', html).group(1)


def attempt_by(client, exercise, student) -> VideoComment:
    log_in(client, student.email)
    submit(client, exercise, video_asset_id=upload_ahead(client))
    return db.session.scalar(sa.select(VideoComment))


def reply(client, attempt: VideoComment, text: str) -> str:
    answer = client.post(f"/comments/{attempt.id}/replies", data={"text": text}, headers=HTMX)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_the_students_own_reply_is_no_feedback(client, exercise, student):
    attempt = attempt_by(client, exercise, student)
    posted = reply(client, attempt, "I will slow down next time")
    assert count_of(posted, attempt) == "0"
    assert "hidden" not in empty_line(posted, attempt)
    page = client.get(f"/comments/attempts/{attempt.id}").get_data(as_text=True)
    assert count_of(page, attempt) == "0" and "hidden" not in empty_line(page, attempt)
    assert "I will slow down next time" in page  # in the thread all the same
    rows = client.get(f"/comments/exercises/{exercise.id}/attempts").get_data(as_text=True)
    assert "No feedback yet" in rows and "Feedback 1" not in rows


def test_feedback_hides_the_empty_line_in_place_and_deleting_it_brings_it_back(
    client, exercise, student, teacher
):
    attempt = attempt_by(client, exercise, student)
    reply(client, attempt, "A question first")
    client.post("/accounts/logout")
    log_in(client, teacher.email)
    page = client.get(f"/comments/attempts/{attempt.id}").get_data(as_text=True)
    assert "hidden" not in empty_line(page, attempt)
    posted = reply(client, attempt, "Keep the wrist up")
    assert count_of(posted, attempt) == "1"
    assert 'hx-swap-oob="true"' in empty_line(posted, attempt)
    assert "hidden" in empty_line(posted, attempt)
    rows = client.get(f"/comments/exercises/{exercise.id}/attempts").get_data(as_text=True)
    assert "Feedback 1" in rows  # the student's question is not counted
    feedback = db.session.scalar(sa.select(VideoComment).where(VideoComment.text.contains("wrist")))
    deleted = client.post(f"/comments/{feedback.id}/delete", headers=HTMX).get_data(as_text=True)
    assert count_of(deleted, attempt) == "0" and "hidden" not in empty_line(deleted, attempt)


def test_an_attempt_reviewed_without_a_word_says_reviewed(client, exercise, student, teacher):
    attempt = attempt_by(client, exercise, student)
    client.post("/accounts/logout")
    log_in(client, teacher.email)
    assert client.post(f"/comments/attempts/{attempt.id}/reviewed", headers=HTMX).status_code < 400
    rows = client.get(f"/comments/exercises/{exercise.id}/attempts").get_data(as_text=True)
    assert "Reviewed" in rows and "Feedback 0" not in rows


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(1.6, "0:01.6"), (0, "0:00.0"), (65.04, "1:05.0"), (59.96, "1:00.0"), (3725.3, "1:02:05.3")],
)
def test_a_moment_reads_to_the_tenth_of_a_second(seconds, shown):
    assert moment(seconds) == shown
