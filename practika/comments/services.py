"""Comment verbs: the discussion, attempts and feedback. The author's comments_made changes in
the same commit; the people concerned are mailed after it, through the mail job."""

from __future__ import annotations

import logging
import uuid
from email.message import EmailMessage

import sqlalchemy as sa

from practika.accounts.models import User
from practika.accounts.services.preferences import preferences_of
from practika.accounts.services.tallies import bump
from practika.classes.services import classes_of_attempt
from practika.comments.alignment import note_against, request_alignment, restart
from practika.comments.drawing import DrawingRefused, Shape
from practika.comments.models import CommentKind, VideoComment
from practika.comments.stills import request_still
from practika.comments.threads import with_people
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip
from practika.core.services import delete_stored, discard_assets, enqueue_processing
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.mail import (
    Compose,
    absolute_url,
    build_message,
    drop_batches,
    rebatch,
    send_batched,
    send_mail,
)
from practika.model_base import utcnow
from practika.numbers import OutOfRange, seconds
from practika.text import moment
from practika.webhooks.services import emit

MAX_TEXT = 5000
log = logging.getLogger(__name__)


class CommentError(ValueError):
    """A comment that cannot be saved, with a reason for the person who wrote it."""


def _clean_text(text: str | None, video: VideoAsset | None) -> str:
    text = (text or "").strip()
    if not text and video is None:
        raise CommentError("Write something, or add a video.")
    if len(text) > MAX_TEXT:
        raise CommentError(f"Keep it under {MAX_TEXT} characters ({len(text)} now).")
    return text


def _check_time(at_seconds: float | None, root: VideoComment | None, exercise: Exercise) -> None:
    """A time-coded comment points inside the video it is about: the attempt's, in an
    attempt's thread, else the model video."""
    if at_seconds is None:
        return
    try:
        seconds(at_seconds, "The time")
    except OutOfRange as error:
        raise CommentError(str(error)) from None
    video = root.video_asset if root is not None and root.kind == CommentKind.ATTEMPT else None
    video = video or exercise.video_asset
    if video is not None and video.duration_sec and at_seconds > video.duration_sec + 0.5:
        raise CommentError(f"The time must be within the video ({video.duration_sec:.0f} s).")


def _check_drawing(
    drawing: list[Shape] | None, at_seconds: float | None, root: VideoComment | None
) -> None:
    """A drawing is on a frame of a take: feedback in an attempt's thread, at a moment.
    Raises DrawingRefused."""
    if drawing is None:
        return
    if root is None or root.kind != CommentKind.ATTEMPT or root.video_asset is None:
        raise DrawingRefused("A drawing goes on a frame of an attempt's video.")
    if at_seconds is None:
        raise DrawingRefused("Pick the moment the drawing is about.")


def _start(video: VideoAsset | None) -> None:
    if video is not None and video.processing_status == ProcessingStatus.UPLOADED:
        enqueue_processing(video)


def post_comment(
    exercise: Exercise,
    author: User,
    *,
    text: str | None,
    parent: VideoComment | None = None,
    at_seconds: float | None = None,
    video: VideoAsset | None = None,
    drawing: list[Shape] | None = None,
) -> VideoComment:
    """A comment on the exercise, or a reply in ``parent``'s thread (feedback, when the
    thread is an attempt's, which may draw on the take's frame at ``at_seconds``: checked
    shapes, comments.drawing). Raises CommentError or DrawingRefused."""
    root = parent.parent or parent if parent is not None else None
    _check_time(at_seconds, root, exercise)
    _check_drawing(drawing, at_seconds, root)
    comment = VideoComment(
        exercise=exercise,
        author=author,
        text=_clean_text(text, video),
        parent=root,
        at_seconds=at_seconds,
        video_asset=video,
        kind=CommentKind.COMMENT,
        drawing=drawing,
    )
    db.session.add(comment)
    bump(author.id, "comments_made", +1)
    db.session.commit()
    emit("comment.created", comment)
    _start(video)
    if drawing is not None:
        request_still(comment)
    _notify_comment(comment)
    return comment


def submit_attempt(
    exercise: Exercise,
    author: User,
    *,
    video: VideoAsset | None,
    note: str | None,
    against: tuple[VideoClip | None, float] = (None, 1.0),
) -> VideoComment:
    """A student's attempt: their video, an optional note, and the clip and speed of the
    model it was recorded against (alignment.recorded_against). Raises CommentError. The
    teacher hears of it once its video plays, and then it is lined up with the model by
    sound (announce_attempt: here when the take played before it was sent, else from the
    worker)."""
    if video is None:
        raise CommentError("Record or choose a video to send.")
    attempt = VideoComment(
        exercise=exercise,
        author=author,
        text=_clean_text(note, video),
        video_asset=video,
        kind=CommentKind.ATTEMPT,
    )
    db.session.add(attempt)
    note_against(attempt, *against)
    bump(author.id, "comments_made", +1)
    db.session.commit()
    _start(video)
    _announce_if_it_plays(attempt)
    return attempt


def attempt_already_sent(exercise: Exercise, author: User, video_id: str) -> VideoComment | None:
    """The author's attempt at ``exercise`` whose video is ``video_id`` (an id a form or the
    API sent, checked here): the same take sent twice (two tabs, or a client that died after
    its first send), to be answered as that attempt rather than as a second one."""
    try:
        asset_id = uuid.UUID(video_id.strip())
    except ValueError:
        return None
    return db.session.scalar(
        sa.select(VideoComment)
        .join(VideoAsset, VideoAsset.id == VideoComment.video_asset_id)
        .where(
            VideoComment.video_asset_id == asset_id,
            VideoComment.exercise_id == exercise.id,
            VideoComment.author_id == author.id,
            VideoComment.kind == CommentKind.ATTEMPT,
            VideoAsset.owner_id == author.id,
        )
    )


def needs_new_video(attempt: VideoComment) -> bool:
    """Its video failed (or is gone): the student is told why and may send another."""
    video = attempt.video_asset
    return video is None or video.status == ProcessingStatus.FAILED


def replace_attempt_video(attempt: VideoComment, video: VideoAsset | None) -> None:
    """Put ``video`` in place of the attempt's failed one, which is deleted with its files,
    and start processing it; the attempt is announced when the new video plays. Raises
    CommentError."""
    if video is None:
        raise CommentError("Record or choose a video to send.")
    if not needs_new_video(attempt):
        raise CommentError("This attempt's video works: there is nothing to replace.")
    failed = [attempt.video_asset] if attempt.video_asset is not None else []
    attempt.video_asset = video
    attempt.reviewed_at = None  # the new take waits for its teacher, who is told of it
    attempt.announced_at = None
    _move_alignment(attempt, video)
    keys = discard_assets(failed)
    db.session.commit()
    delete_stored(keys)
    _start(video)
    _announce_if_it_plays(attempt)


def _move_alignment(attempt: VideoComment, video: VideoAsset) -> None:
    """The alignment goes with the attempt to its new take (before the failed one's row,
    which it names, is deleted with it): what it was recorded against stays, and it waits
    to be measured once the new take plays."""
    row = attempt.alignment
    if row is None:
        return
    restart(row, video.id, row.model_asset_id)
    db.session.flush()  # before the failed take's row goes, and the alignment with it


def announce_attempts(asset_id: uuid.UUID) -> None:
    """Every attempt whose video this is, now that it plays (called by the worker)."""
    attempt_ids = db.session.scalars(
        sa.select(VideoComment.id).where(
            VideoComment.video_asset_id == asset_id, VideoComment.kind == CommentKind.ATTEMPT
        )
    ).all()
    for attempt_id in attempt_ids:
        announce_attempt(attempt_id)


def announce_attempt(attempt_id: uuid.UUID) -> bool:
    """Once the attempt is sent and its video plays, whichever comes second (the student
    may press Send before or after the worker makes the take play): its teacher is mailed,
    the ``attempt.submitted`` webhook goes out and it is lined up with its model. Exactly
    once: both sides call this after their own commit, the claim is one conditional UPDATE
    (of two callers at once only one passes it), and the side that commits second sees the
    other's commit. Whether it was announced now."""
    if not _claim_announcement(attempt_id):
        return False
    attempt = db.session.get(VideoComment, attempt_id)
    emit("attempt.submitted", attempt)
    author, exercise = attempt.author, attempt.exercise
    classes = ", ".join(classroom.name for classroom in classes_of_attempt(author, exercise))
    who = f"{author.display_name} ({classes})" if classes else author.display_name
    subject = f"{who} sent an attempt at “{exercise.name}”"
    teacher = exercise.created_by
    if _wants_mail(teacher):
        send_mail(
            "attempt_submitted",
            teacher.email,
            subject,
            name=teacher.display_name,
            link=_link(attempt),
            attempt=attempt,
            classes=classes,
        )
    request_alignment(attempt)
    return True


def _announce_if_it_plays(attempt: VideoComment) -> None:
    """On Send (or a replaced video), for a take that played before it (the worker found
    no attempt to announce then). A failure is logged: the attempt is sent all the same,
    and the sweep lines it up."""
    try:
        announce_attempt(attempt.id)
    except Exception:
        db.session.rollback()
        log.exception("attempt %s was sent, but it could not be announced", attempt.id)


def _claim_announcement(attempt_id: uuid.UUID) -> bool:
    """Mark the attempt announced if it was not and its video plays; whether this did."""
    plays = sa.select(VideoAsset.id).where(VideoAsset.is_playable)
    claimed = db.session.execute(
        sa.update(VideoComment)
        .where(
            VideoComment.id == attempt_id,
            VideoComment.kind == CommentKind.ATTEMPT,
            VideoComment.announced_at.is_(None),
            VideoComment.video_asset_id.in_(plays),
        )
        .values(announced_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def edit_comment(comment: VideoComment, text: str | None) -> None:
    """Change the text; a mail still waiting to tell of the reply shows it as it is now."""
    comment.text = _clean_text(text, comment.video_asset)
    db.session.commit()
    if comment.parent is not None:
        rebatch(*_waiting_mail(comment, _reader_of(comment)))


def uncount_comments(where: sa.ColumnElement[bool]) -> None:
    """Take the comments matching ``where``, and the replies under them, off their authors'
    totals, before they are deleted (one grouped query, one UPDATE per author)."""
    doomed = sa.select(VideoComment.id).where(where)
    per_author = db.session.execute(
        sa.select(VideoComment.author_id, sa.func.count())
        .where(sa.or_(VideoComment.id.in_(doomed), VideoComment.parent_id.in_(doomed)))
        .group_by(VideoComment.author_id)
    ).all()
    for author_id, count in per_author:
        bump(author_id, "comments_made", -count)


def stills_of(where: sa.ColumnElement[bool]) -> list[str]:
    """The stored stills of the comments matching ``where``: deleted from storage once
    their rows are."""
    return list(
        db.session.scalars(
            sa.select(VideoComment.still_path).where(where, VideoComment.still_path.is_not(None))
        )
    )


def delete_comment(comment: VideoComment) -> None:
    """Delete the comment, its replies, their videos and their drawings' stills. A mail
    still waiting to tell of a reply is made again without it (and dropped with nothing left
    to tell); a deleted thread's waiting mails are dropped."""
    exercise_id, comment_id = comment.exercise_id, comment.id
    waiting = _waiting_mail(comment, _reader_of(comment)) if comment.parent else None
    in_thread = sa.or_(VideoComment.id == comment.id, VideoComment.parent_id == comment.id)
    videos = db.session.scalars(
        sa.select(VideoAsset)
        .join(VideoComment, VideoComment.video_asset_id == VideoAsset.id)
        .where(in_thread)
    ).all()
    stills = stills_of(in_thread)
    uncount_comments(VideoComment.id == comment.id)
    db.session.delete(comment)
    keys = discard_assets(list(videos)) + stills
    db.session.commit()
    delete_stored(keys)
    if waiting is None:
        drop_comment_mail(exercise_id, comment_id)
    else:
        rebatch(*waiting)


def drop_comment_mail(exercise_id: uuid.UUID, thread_id: uuid.UUID | None = None) -> None:
    """Drop the comment mail still waiting about a deleted thread, or a deleted exercise."""
    drop_batches(_batch_key(exercise_id, thread_id))


def _notify_comment(comment: VideoComment) -> None:
    """A reply's reader hears of it (``_reader_of``); the replies written to them in one
    thread within ``MAIL_BATCH_SECONDS`` come in one mail that lists them."""
    if comment.parent is None:
        return
    reader = _reader_of(comment)
    if reader.id != comment.author_id and _wants_mail(reader):
        send_batched("new_comment", *_waiting_mail(comment, reader))


def _reader_of(reply: VideoComment) -> User:
    """Who hears of a reply: in an attempt's thread the other side (the student of
    feedback, the teacher of the student's reply); in the discussion, the author of the
    comment replied to. The reply's own author when that is them."""
    root = reply.parent
    if root.kind == CommentKind.ATTEMPT:
        student, teacher = root.author, reply.exercise.created_by
        return student if reply.author_id != student.id else teacher
    return root.author


def _batch_key(
    exercise_id: uuid.UUID, thread_id: uuid.UUID | None = None, reader_id: int | None = None
) -> str:
    """The key of the mail listing a thread's replies for one reader,
    ``comments:<exercise>:<thread>:<reader>:``; its leading parts are the prefix of every
    such mail of a thread, or of an exercise."""
    parts = [part for part in (exercise_id, thread_id, reader_id) if part is not None]
    return "comments:" + "".join(f"{part}:" for part in parts)


def _waiting_mail(reply: VideoComment, reader: User) -> tuple[str, str, Compose]:
    """The batch key, item and composer of the mail that tells ``reader`` of ``reply``
    (what ``send_batched`` and ``rebatch`` take)."""
    root = reply.parent
    key = _batch_key(reply.exercise_id, root.id, reader.id)
    return key, str(reply.id), _comments_mail(reader, root)


def _comments_mail(reader: User, root: VideoComment) -> Compose:
    """What makes the mail listing replies in ``root``'s thread for ``reader``: those still
    there, in the order they were written, each with its moment when it has one."""

    def compose(ids: list[str]) -> EmailMessage | None:
        found = db.session.scalars(
            sa.select(VideoComment)
            .options(*with_people())  # each one's author and video, in the same query
            .where(VideoComment.id.in_([uuid.UUID(i) for i in ids]))
        ).all()
        by_id = {str(comment.id): comment for comment in found}
        comments = [by_id[i] for i in ids if i in by_id]
        if not comments:
            return None
        authors = list(dict.fromkeys(comment.author.display_name for comment in comments))
        return build_message(
            "new_comment",
            reader.email,
            _comments_subject(authors, comments),
            name=reader.display_name,
            link=_link(root),
            entries=[_entry(comment, len(authors) > 1) for comment in comments],
        )

    return compose


def _comments_subject(authors: list[str], comments: list[VideoComment]) -> str:
    """A mail's subject: ``Ana wrote on “Scales”``, ``Ana and Ben wrote 3 comments on “Scales”``."""
    who = authors[0] if len(authors) == 1 else f"{', '.join(authors[:-1])} and {authors[-1]}"
    how_many = f" {len(comments)} comments" if len(comments) > 1 else ""
    return f"{who} wrote{how_many} on “{comments[0].exercise.name}”"


def _entry(comment: VideoComment, with_author: bool) -> dict[str, str]:
    """A comment as a mail lists it: a label (its author when there are several, its
    moment when it has one) and its text, with what it has that a mail cannot show."""
    at = moment(comment.at_seconds) if comment.at_seconds is not None else None
    if with_author:
        label = f"{comment.author.display_name}, at {at}" if at else comment.author.display_name
    else:
        label = f"At {at}" if at else ""
    video = comment.video_asset
    extras = [
        "a drawing on the frame" if comment.drawing else "",
        ("a voice comment" if video.sound_only else "a video") if video is not None else "",
    ]
    shown = " and ".join(extra for extra in extras if extra)
    text = " ".join(part for part in (comment.text, f"(with {shown})" if shown else "") if part)
    return {"label": label, "text": text}


def _wants_mail(reader: User) -> bool:
    """An active account that has not turned notifications off on its profile."""
    return reader.is_active and preferences_of(reader.profile)["email_notifications"]


def _link(thread: VideoComment) -> str:
    """Where a mail about ``thread`` leads: the attempt's page, or the exercise's discussion."""
    if thread.kind == CommentKind.ATTEMPT:
        return absolute_url("comments.attempt", attempt_id=thread.id)
    return absolute_url("comments.discussion_section", exercise_id=thread.exercise_id)
