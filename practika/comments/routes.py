"""Comments, attempts and feedback, posted, edited and deleted in place with htmx; a plain
form post (no JavaScript) gets the page back instead of a fragment."""

import uuid

import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practika.accounts.guards import teacher_required
from practika.accounts.services.preferences import preferences_of
from practika.classes.services import classes_taught_by
from practika.comments import bp
from practika.comments.alignment import (
    AgainstError,
    alignment_of,
    realign_if_stale,
    recorded_against,
)
from practika.comments.compare import (
    AlignmentRefused,
    alignment_state,
    confidence_words,
    follower_mapping,
    on_model,
    same_student_same_exercise,
    save_offset,
    takes_of,
)
from practika.comments.drawing import COLOURS, DrawingRefused, drawing_from_form
from practika.comments.forms import AttemptForm, CommentForm
from practika.comments.inbox import (
    attempts_of,
    inbox,
    inbox_count,
    mark_reviewed,
    mark_seen,
    unseen_feedback,
    waiting_exercises,
)
from practika.comments.models import AlignedBy, CommentKind, VideoComment
from practika.comments.services import (
    CommentError,
    attempt_already_sent,
    delete_comment,
    edit_comment,
    needs_new_video,
    post_comment,
    replace_attempt_video,
    submit_attempt,
)
from practika.comments.threads import (
    attempts,
    discussion,
    discussion_count,
    feedback_in,
    replies_to,
)
from practika.core.incoming import VideoRefused, video_from_form
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.htmx import hx_redirect, is_htmx
from practika.numbers import page_arg
from practika.permissions import (
    may_align_attempt,
    may_delete_comment,
    may_edit_comment,
    may_mark_reviewed,
    may_replace_attempt_video,
    may_submit_attempt,
    may_view_comment,
    may_view_exercise,
    may_view_thread,
)
from practika.storage import get_storage


def _exercise(exercise_id: uuid.UUID) -> Exercise:
    """The exercise if this user may see it (and so its discussion); 404 otherwise."""
    exercise = db.session.get(Exercise, exercise_id)
    if exercise is None or not may_view_exercise(current_user, exercise):
        abort(404)
    return exercise


def _comment(comment_id: uuid.UUID) -> VideoComment:
    """A comment this user may see; 404 for anything else."""
    comment = db.session.get(VideoComment, comment_id, options=[so.joinedload(VideoComment.parent)])
    if comment is None or not may_view_comment(current_user, comment):
        abort(404)
    return comment


def _page_of(comment: VideoComment) -> str:
    root = comment.parent or comment
    if root.kind == CommentKind.ATTEMPT:
        return url_for("comments.attempt", attempt_id=root.id, _anchor=f"comment-{comment.id}")
    return url_for(
        "comments.discussion_section",
        exercise_id=comment.exercise_id,
        _anchor=f"comment-{comment.id}",
    )


def _back(url: str, error: str | None = None):
    """For a plain form post: back to the page, with the error flashed."""
    if error:
        flash(error, "error")
    return redirect(url, 303)


def _video(*, voice: bool = False):
    """The form's video, or None; a voice recording too for a comment (``voice``). Raises
    CommentError when it is refused."""
    try:
        return video_from_form(request.form, request.files, current_user, voice=voice)
    except VideoRefused as error:
        raise CommentError(str(error)) from None


def _post(exercise: Exercise, parent: VideoComment | None):
    form = CommentForm()
    try:
        if not form.validate():
            raise CommentError(" ".join(e for errors in form.errors.values() for e in errors))
        drawing = drawing_from_form(form.drawing.data)  # before a posted file is stored
        comment = post_comment(
            exercise,
            current_user,
            text=form.text.data,
            parent=parent,
            at_seconds=form.at_seconds.data,
            video=_video(voice=True),
            drawing=drawing,
        )
    except (CommentError, DrawingRefused) as error:
        db.session.rollback()
        if not is_htmx():
            return _back(_page_of(parent) if parent else _exercise_url(exercise), str(error))
        form.form_errors.append(str(error))
        return _form_fragment(exercise, parent, form), 422
    if not is_htmx():
        return redirect(_page_of(comment), 303)
    return render_template(
        "comments/_posted.html",
        comment=comment,
        exercise=exercise,
        parent=parent,
        form=CommentForm(formdata=None),
        **_tally(exercise, parent),
    )


def _exercise_url(exercise: Exercise) -> str:
    return url_for("comments.discussion_section", exercise_id=exercise.id)


def _tally(exercise: Exercise, root: VideoComment | None) -> dict:
    """What follows a post or a delete out of band: the count in the heading over the
    comments (an attempt's feedback, or the discussion's comments) and, under an attempt,
    its replies, whose moments are the markers on the take's timeline."""
    if root is not None and root.kind == CommentKind.ATTEMPT:
        replies = replies_to([root])[root.id]
        return {"count": len(feedback_in(root, replies)), "replies": replies}
    return {"count": discussion_count(exercise.id)}


def _form_fragment(exercise: Exercise, parent: VideoComment | None, form: CommentForm):
    return render_template(
        "comments/_comment_form.html", exercise=exercise, parent=parent, form=form
    )


@bp.post("/exercises/<uuid:exercise_id>")
@login_required
def comment_on_exercise(exercise_id: uuid.UUID):
    return _post(_exercise(exercise_id), None)


@bp.get("/exercises/<uuid:exercise_id>/discussion")
@login_required
def discussion_section(exercise_id: uuid.UUID):
    """The exercise's discussion: fetched by its page when scrolled into view (the page
    itself stays quick however long the discussion), or a page of its own without htmx."""
    exercise = _exercise(exercise_id)
    context = {
        "exercise": exercise,
        "discussion": discussion(exercise),
        "comment_form": CommentForm(formdata=None),
    }
    if is_htmx():
        return render_template("comments/_discussion.html", **context)
    return render_template("comments/discussion.html", **context)


@bp.get("/exercises/<uuid:exercise_id>")
@login_required
def more_threads(exercise_id: uuid.UUID):
    """The next page of the discussion, for the "older comments" button."""
    exercise = _exercise(exercise_id)
    return render_template(
        "comments/_threads.html",
        exercise=exercise,
        comment_form=CommentForm(formdata=None),
        discussion=discussion(exercise, page_arg()),
    )


@bp.get("/exercises/<uuid:exercise_id>/attempts")
@login_required
def more_attempts(exercise_id: uuid.UUID):
    """The next page of the attempts this reader may see."""
    exercise = _exercise(exercise_id)
    page = attempts(current_user, exercise, page_arg())
    return render_template("comments/_attempt_rows.html", exercise=exercise, attempts=page)


@bp.post("/<uuid:comment_id>/replies")
@login_required
def reply(comment_id: uuid.UUID):
    parent = _comment(comment_id)
    return _post(parent.exercise, parent.parent or parent)


@bp.get("/<uuid:comment_id>")
@login_required
def show(comment_id: uuid.UUID):
    comment = _comment(comment_id)
    return render_template("comments/_comment.html", comment=comment)


@bp.get("/<uuid:comment_id>/still")
@login_required
def still(comment_id: uuid.UUID):
    """The frame a comment's drawing is on, to whoever may read the comment."""
    comment = _comment(comment_id)
    if not comment.still_path:
        abort(404)
    return get_storage().send(comment.still_path, "image/jpeg")


@bp.route("/<uuid:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(comment_id: uuid.UUID):
    comment = _comment(comment_id)
    if not may_edit_comment(current_user, comment):
        abort(404)
    form = CommentForm(obj=comment)
    if request.method == "POST":
        try:
            edit_comment(comment, form.text.data if form.validate() else None)
        except CommentError as error:
            db.session.rollback()
            if not is_htmx():
                return _back(_page_of(comment), str(error))
            form.form_errors.append(str(error))
            return render_template("comments/_edit.html", comment=comment, form=form), 422
        if not is_htmx():
            return redirect(_page_of(comment), 303)
        return render_template("comments/_comment.html", comment=comment)
    return render_template("comments/_edit.html", comment=comment, form=form)


@bp.post("/<uuid:comment_id>/delete")
@login_required
def delete(comment_id: uuid.UUID):
    comment = _comment(comment_id)
    if not may_delete_comment(current_user, comment):
        abort(404)
    exercise, root, page = comment.exercise, comment.parent, _page_of(comment.parent or comment)
    delete_comment(comment)
    if not is_htmx():
        flash("Comment deleted.", "success")
        return redirect(page.split("#")[0], 303)
    return render_template(
        "comments/_deleted.html", exercise=exercise, parent=root, **_tally(exercise, root)
    )


@bp.post("/exercises/<uuid:exercise_id>/attempts")
@login_required
def submit(exercise_id: uuid.UUID):
    exercise = _exercise(exercise_id)
    if not may_submit_attempt(current_user, exercise):
        abort(404)
    video_id = request.form.get("video_asset_id", "")
    if sent := attempt_already_sent(exercise, current_user, video_id):
        return _sent(sent)  # the same take again: the attempt it already is
    form = AttemptForm()
    try:
        if not form.validate():
            raise CommentError(" ".join(e for errors in form.errors.values() for e in errors))
        against = recorded_against(exercise.clips, form.against_clip.data, form.against_rate.data)
        attempt = submit_attempt(
            exercise, current_user, video=_video(), note=form.note.data, against=against
        )
    except (CommentError, AgainstError) as error:
        db.session.rollback()
        if not is_htmx():
            return _back(
                url_for("exercises.detail", exercise_id=exercise.id, _anchor="attempts"), str(error)
            )
        form.form_errors.append(str(error))
        return render_template(
            "comments/_attempt_form.html", exercise=exercise, attempt_form=form
        ), 422
    return _sent(attempt)


def _sent(attempt: VideoComment):
    flash("Attempt sent. Your teacher is told as soon as your video plays.", "success")
    return hx_redirect(url_for("comments.attempt", attempt_id=attempt.id))


def _own_attempt(attempt_id: uuid.UUID) -> VideoComment:
    """An attempt of this user's; 404 for anything else."""
    attempt = _comment(attempt_id)
    if not may_replace_attempt_video(current_user, attempt):
        abort(404)
    return attempt


@bp.get("/attempts/<uuid:attempt_id>/video")
@login_required
def replace_video_panel(attempt_id: uuid.UUID):
    """The "Replace the video" panel, fetched again by the attempt's page when a video on it
    fails while the page is open."""
    return render_template("comments/_replace_video.html", attempt=_own_attempt(attempt_id))


@bp.post("/attempts/<uuid:attempt_id>/video")
@login_required
def replace_video(attempt_id: uuid.UUID):
    """Another video for an attempt whose video failed; the failed one is deleted."""
    attempt = _own_attempt(attempt_id)
    try:
        replace_attempt_video(attempt, _video())
    except CommentError as error:
        db.session.rollback()
        page = url_for("comments.attempt", attempt_id=attempt.id)
        if not is_htmx():
            return _back(page, str(error))
        panel = render_template("comments/_replace_video.html", attempt=attempt, error=str(error))
        return panel, 422
    flash("New video sent. Your teacher is told as soon as it plays.", "success")
    return hx_redirect(url_for("comments.attempt", attempt_id=attempt.id))


def _attempt(attempt_id: uuid.UUID) -> VideoComment:
    """An attempt this user may see; 404 for anything else."""
    attempt = _comment(attempt_id)
    if attempt.kind != CommentKind.ATTEMPT or not may_view_thread(current_user, attempt):
        abort(404)
    return attempt


def _attempt_page(attempt: VideoComment, other: VideoComment | None = None):
    """The attempt's page: its take (the lead) beside the model, or beside ``other``, with
    the feedback thread under them."""
    if attempt.author_id == current_user.id:
        mark_seen(attempt)  # the feedback under it is no longer new to its student
        db.session.commit()
    realign_if_stale(attempt)  # a new model video, or a take replaced since it was measured
    replies = replies_to([attempt])[attempt.id]
    alignment = _alignment_context(attempt)
    return render_template(
        "comments/attempt.html",
        attempt=attempt,
        other=other,
        exercise=attempt.exercise,
        replies=replies,
        count=len(feedback_in(attempt, replies)),
        form=CommentForm(formdata=None),
        speed=preferences_of(current_user.profile)["playback_speed"],
        takes=takes_of(attempt),
        mapping=follower_mapping(alignment["lead_on_model"], other),
        **alignment,
    )


@bp.get("/attempts/<uuid:attempt_id>")
@login_required
def attempt(attempt_id: uuid.UUID):
    """One attempt beside the model video, with its feedback thread."""
    return _attempt_page(_attempt(attempt_id))


@bp.get("/attempts/<uuid:attempt_id>/compare/<uuid:other_id>")
@login_required
def compare(attempt_id: uuid.UUID, other_id: uuid.UUID):
    """Two takes of one student at one exercise, lined up through the model, so progress
    shows. Both must be visible to the reader and be the same student's at the same
    exercise; anything else is 404, so the pair reveals nothing."""
    attempt, other = _attempt(attempt_id), _attempt(other_id)
    if not same_student_same_exercise(attempt, other):
        abort(404)
    return _attempt_page(attempt, other)


def _alignment_context(attempt: VideoComment, saved: bool = False) -> dict:
    """The alignment line's state, from the attempt's current alignment, read once: its
    ``lead_on_model`` places the model (or another take) beside the take on the page too."""
    row = alignment_of(attempt)
    return {
        # A take that failed or is gone is never measured: the line stops waiting for it.
        "alignment_state": AlignedBy.NONE if needs_new_video(attempt) else alignment_state(row),
        "alignment_words": confidence_words(row.confidence if row else None),
        "lead_on_model": on_model(row),
        "may_align": may_align_attempt(current_user, attempt),
        "alignment_saved": saved,
    }


@bp.get("/attempts/<uuid:attempt_id>/alignment")
@login_required
def alignment(attempt_id: uuid.UUID):
    """The alignment line, polled while the worker compares the take's sound with the
    model's."""
    attempt = _attempt(attempt_id)
    return render_template(
        "comments/_alignment.html", attempt=attempt, **_alignment_context(attempt)
    )


@bp.post("/attempts/<uuid:attempt_id>/alignment")
@login_required
def save_alignment(attempt_id: uuid.UUID):
    """Save an offset nudged by hand: the student or a teacher who sees the attempt saw
    where the take really lines up with the model."""
    attempt = _attempt(attempt_id)
    videos = attempt.video_asset_id and attempt.exercise.video_asset_id
    if not may_align_attempt(current_user, attempt) or not videos:
        abort(404)
    page = url_for("comments.attempt", attempt_id=attempt.id)
    try:
        save_offset(attempt, request.form.get("offset", ""))
    except AlignmentRefused as error:
        db.session.rollback()
        if not is_htmx():
            return _back(page, str(error))
        context = _alignment_context(attempt) | {"alignment_error": str(error)}
        return render_template("comments/_alignment.html", attempt=attempt, **context), 422
    db.session.commit()
    if not is_htmx():
        flash("Alignment saved.", "success")
        return redirect(page, 303)
    context = _alignment_context(attempt, saved=True)
    return render_template("comments/_alignment.html", attempt=attempt, **context)


def _uuid_arg(name: str) -> uuid.UUID | None:
    """An optional id in the query string; one that is no id filters nothing."""
    try:
        return uuid.UUID(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/inbox")
@teacher_required
def review_inbox():
    """Attempts waiting for this teacher across their classes, oldest waiting first."""
    class_id, exercise_id = _uuid_arg("class"), _uuid_arg("exercise")
    waiting = inbox(current_user, class_id=class_id, exercise_id=exercise_id)
    return render_template(
        "comments/inbox.html",
        inbox=waiting,
        classes=classes_taught_by(current_user),
        exercises=waiting_exercises(current_user),
        class_id=class_id,
        exercise_id=exercise_id,
    )


@bp.post("/attempts/<uuid:attempt_id>/reviewed")
@teacher_required
def reviewed(attempt_id: uuid.UUID):
    """Out of the inbox without a comment: seen, nothing to add."""
    attempt = _comment(attempt_id)
    if not may_mark_reviewed(current_user, attempt):
        abort(404)
    mark_reviewed(attempt)
    db.session.commit()
    if is_htmx():
        return ""  # the row goes; the inbox count follows on the next page
    flash("Marked as reviewed.", "success")
    return redirect(request.referrer or url_for("comments.review_inbox"), 303)


@bp.get("/mine")
@login_required
def my_attempts():
    """A student's attempts, with their state and whether the feedback on them is new."""
    return render_template("comments/mine.html", rows=attempts_of(current_user))


@bp.app_context_processor
def _template_helpers() -> dict:
    """For the navigation: what waits for the reader, counted only when a page asks; and
    for an attempt's pages, whether its video must be replaced and the colours a drawing
    may use."""
    return {
        "inbox_count": inbox_count,
        "unseen_count": lambda user: sum(unseen_feedback(user).values()),
        "needs_new_video": needs_new_video,
        "drawing_colours": COLOURS,
    }
