import uuid

import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practika.accounts.guards import teacher_required
from practika.accounts.models import User
from practika.accounts.services.preferences import preferences_of
from practika.classes.services import ClassError, classes_taught_by, publish_only_to
from practika.comments.forms import AttemptForm
from practika.comments.threads import attempts
from practika.core.incoming import VideoRefused, video_from_form
from practika.core.models import VideoClip
from practika.core.services import ClipError, enqueue_clip
from practika.core.youtube import NotYouTube
from practika.exercises import bp
from practika.exercises.forms import ClipForm, ClipTitleForm, ExerciseForm
from practika.exercises.listing import list_exercises
from practika.exercises.models import Exercise
from practika.exercises.services import (
    add_clip,
    create_exercise,
    delete_clip,
    delete_exercise,
    finish,
    move_clip,
    set_model_video,
)
from practika.extensions import db
from practika.htmx import hx_redirect, is_htmx
from practika.numbers import page_arg
from practika.permissions import may_edit_exercise, may_submit_attempt, may_view_exercise

SHOWN_WITH = (
    so.joinedload(Exercise.video_asset),
    so.joinedload(Exercise.created_by).lazyload(User.profile),
    so.selectinload(Exercise.clips),
)


@bp.get("/")
@login_required
def index():
    """The list; as you type in the search box, htmx asks for the results alone. Links to
    the list are boosted and Back restores without HX-Request, so both get the page."""
    listing = list_exercises(current_user, query=request.args.get("q", ""), page=page_arg())
    if is_htmx():
        return render_template("exercises/_results.html", listing=listing)
    return render_template("exercises/index.html", listing=listing)


def _visible(exercise_id: uuid.UUID) -> Exercise:
    """The exercise if this user may see it, with what its page shows; 404 otherwise."""
    exercise = db.session.get(Exercise, exercise_id, options=SHOWN_WITH)
    if exercise is None or not may_view_exercise(current_user, exercise):
        abort(404)
    return exercise


@bp.post("/<uuid:exercise_id>/publish")
@login_required
def publish(exercise_id: uuid.UUID):
    """Publish to the ticked classes of the author's, and hide it from the others."""
    exercise = _editable(exercise_id)
    classes = classes_taught_by(exercise.created_by)
    ticked = set(request.form.getlist("class_id"))
    chosen = [classroom for classroom in classes if str(classroom.id) in ticked]
    error = None
    try:
        publish_only_to(exercise, chosen, among=classes)
    except ClassError as refused:
        db.session.rollback()
        error = str(refused)
    else:
        db.session.commit()
    if not is_htmx():
        flash(error or "Saved: who sees this exercise.", "error" if error else "success")
        return redirect(url_for("exercises.detail", exercise_id=exercise.id), 303)
    html = render_template(
        "exercises/_publish.html", exercise=exercise, classes=classes, error=error
    )
    return html, 422 if error else 200


def _editable(exercise_id: uuid.UUID) -> Exercise:
    """The exercise, if this user may change it (its author, or staff); 404 for anyone else."""
    exercise = db.session.get(Exercise, exercise_id)
    if exercise is None or not may_edit_exercise(current_user, exercise):
        abort(404)
    return exercise


@bp.get("/<uuid:exercise_id>")
@login_required
def detail(exercise_id: uuid.UUID):
    exercise = _visible(exercise_id)
    can_edit = may_edit_exercise(current_user, exercise)
    return render_template(
        "exercises/detail.html",
        exercise=exercise,
        can_edit=can_edit,
        classes=classes_taught_by(exercise.created_by) if can_edit else [],
        can_attempt=may_submit_attempt(current_user, exercise),
        speed=preferences_of(current_user.profile)["playback_speed"],
        attempts=attempts(current_user, exercise),
        clip_form=ClipForm(formdata=None),
        attempt_form=AttemptForm(formdata=None),
    )


def _save(form: ExerciseForm, exercise: Exercise | None):
    """Create or update from a valid form; None (errors on the form) if the video is refused."""
    try:
        video = video_from_form(request.form, request.files, current_user)
        if exercise is None:
            exercise = create_exercise(
                name=form.name.data, description=form.description.data, author=current_user
            )
        else:
            exercise.name = form.name.data.strip()
            exercise.description = form.description.data or ""
        discarded = set_model_video(
            exercise, video=video, youtube_url=form.youtube_url.data, owner=current_user
        )
    except VideoRefused as error:
        db.session.rollback()
        form.form_errors.append(str(error))
        return None
    except NotYouTube as error:
        db.session.rollback()
        form.youtube_url.errors.append(str(error))
        return None
    finish(exercise, discarded)
    return exercise


def _form_page(form: ExerciseForm, exercise: Exercise | None):
    return render_template("exercises/form.html", form=form, exercise=exercise), (
        422 if form.errors else 200
    )


@bp.route("/new", methods=["GET", "POST"])
@teacher_required
def create():
    form = ExerciseForm()
    if form.validate_on_submit() and (exercise := _save(form, None)) is not None:
        flash("Exercise created. Its video is being prepared.", "success")
        return hx_redirect(url_for("exercises.detail", exercise_id=exercise.id))
    return _form_page(form, None)


@bp.route("/<uuid:exercise_id>/edit", methods=["GET", "POST"])
@login_required
def edit(exercise_id: uuid.UUID):
    exercise = _editable(exercise_id)
    form = ExerciseForm(obj=exercise)
    if form.validate_on_submit() and _save(form, exercise) is not None:
        flash("Exercise saved.", "success")
        return hx_redirect(url_for("exercises.detail", exercise_id=exercise.id))
    return _form_page(form, exercise)


@bp.route("/<uuid:exercise_id>/delete", methods=["GET", "POST"])
@login_required
def delete(exercise_id: uuid.UUID):
    """GET asks for confirmation; POST (CSRF-checked like every POST) deletes it and its media."""
    exercise = _editable(exercise_id)
    if request.method == "POST":
        name = exercise.name
        delete_exercise(exercise)
        flash(f"“{name}” is deleted, with its videos and comments.", "success")
        return hx_redirect(url_for("exercises.index"))
    return render_template("exercises/delete.html", exercise=exercise)


@bp.get("/<uuid:exercise_id>/clips")
@login_required
def clips(exercise_id: uuid.UUID):
    """The clips panel alone, fetched again when the model video becomes ready, with the
    clip chips under the player out of band."""
    exercise = _visible(exercise_id)
    return render_template(
        "exercises/_clips.html",
        exercise=exercise,
        clip_form=ClipForm(formdata=None),
        can_edit=may_edit_exercise(current_user, exercise),
        chips_oob=True,
    )


def _clips_fragment(exercise: Exercise, form: ClipForm | None = None, status: int = 200):
    """The clips panel for htmx, with the clip chips under the player out of band; a plain
    form post goes back to the page, errors flashed."""
    if not is_htmx():
        for errors in (form.errors if form else {}).values():
            flash(" ".join(errors), "error")
        return redirect(url_for("exercises.detail", exercise_id=exercise.id, _anchor="clips"), 303)
    db.session.expire(exercise, ["clips"])
    return render_template(
        "exercises/_clips.html",
        exercise=exercise,
        can_edit=True,
        clip_form=form or ClipForm(formdata=None),
        chips_oob=True,
    ), status


def _editable_clip(exercise_id: uuid.UUID, clip_id: uuid.UUID) -> tuple[Exercise, VideoClip]:
    exercise = _editable(exercise_id)
    clip = db.session.get(VideoClip, clip_id)
    if clip is None or clip.exercise_id != exercise.id:
        abort(404)
    return exercise, clip


@bp.post("/<uuid:exercise_id>/clips")
@login_required
def add_clip_view(exercise_id: uuid.UUID):
    exercise = _editable(exercise_id)
    form = ClipForm()
    if not form.validate():
        return _clips_fragment(exercise, form, 422)
    if exercise.video_asset is None:
        form.start.errors.append("Add a model video first.")
        return _clips_fragment(exercise, form, 422)
    try:
        clip = add_clip(exercise, form.start.data, form.end.data, form.title.data or "")
    except ClipError as error:
        db.session.rollback()
        form.end.errors.append(str(error))
        return _clips_fragment(exercise, form, 422)
    db.session.commit()
    enqueue_clip(clip)
    return _clips_fragment(exercise)


@bp.post("/<uuid:exercise_id>/clips/<uuid:clip_id>/title")
@login_required
def rename_clip(exercise_id: uuid.UUID, clip_id: uuid.UUID):
    exercise, clip = _editable_clip(exercise_id, clip_id)
    form = ClipTitleForm()
    if form.validate():
        clip.title = (form.title.data or "").strip()
        db.session.commit()
        return _clips_fragment(exercise)
    return _clips_fragment(exercise, status=422)


@bp.post("/<uuid:exercise_id>/clips/<uuid:clip_id>/<any(up, down):direction>")
@login_required
def reorder_clip(exercise_id: uuid.UUID, clip_id: uuid.UUID, direction: str):
    exercise, clip = _editable_clip(exercise_id, clip_id)
    move_clip(exercise, clip, -1 if direction == "up" else +1)
    return _clips_fragment(exercise)


@bp.post("/<uuid:exercise_id>/clips/<uuid:clip_id>/delete")
@login_required
def remove_clip(exercise_id: uuid.UUID, clip_id: uuid.UUID):
    exercise, clip = _editable_clip(exercise_id, clip_id)
    delete_clip(clip)
    return _clips_fragment(exercise)
