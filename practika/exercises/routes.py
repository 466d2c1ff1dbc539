import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, render_template, request, url_for
from flask_login import current_user, login_required

from practika.accounts.access import teacher_required
from practika.core.youtube import NotYouTube
from practika.exercises import bp
from practika.exercises.forms import ExerciseForm
from practika.exercises.models import Exercise
from practika.exercises.services import (
    attach_video,
    create_exercise,
    delete_exercise,
    finish,
)
from practika.extensions import db
from practika.htmx import hx_redirect


@bp.get("/")
@login_required
def index():
    query = (
        sa.select(Exercise)
        .options(so.joinedload(Exercise.video_asset), so.joinedload(Exercise.created_by))
        .order_by(Exercise.created_at.desc())
    )
    if current_user.is_teacher and not current_user.is_staff:
        query = query.where(Exercise.created_by_id == current_user.id)
    exercises = db.session.scalars(query.limit(50)).all()
    return render_template("exercises/index.html", exercises=exercises)


@bp.get("/<uuid:exercise_id>")
@login_required
def detail(exercise_id: uuid.UUID):
    exercise = db.session.get(Exercise, exercise_id) or abort(404)
    can_edit = current_user.is_staff or exercise.created_by_id == current_user.id
    return render_template("exercises/detail.html", exercise=exercise, can_edit=can_edit)


def _editable(exercise_id: uuid.UUID) -> Exercise:
    """The exercise, if this user may change it (its author, or staff); 404 for anyone else."""
    exercise = db.session.get(Exercise, exercise_id)
    if exercise is None or not (current_user.is_staff or exercise.created_by_id == current_user.id):
        abort(404)
    return exercise


def _save(form: ExerciseForm, exercise: Exercise | None):
    """Create or update from a valid form; None (errors on the form) if the video is refused."""
    if exercise is None:
        exercise = create_exercise(
            name=form.name.data, description=form.description.data, author=current_user
        )
    else:
        exercise.name = form.name.data.strip()
        exercise.description = form.description.data or ""
    try:
        asset = attach_video(exercise, upload=form.video.data,
                             youtube_url=form.youtube_url.data, owner=current_user)  # fmt: skip
    except NotYouTube as error:
        db.session.rollback()
        form.youtube_url.errors.append(str(error))
        return None
    finish(asset)
    return exercise


@bp.route("/new", methods=["GET", "POST"])
@teacher_required
def create():
    form = ExerciseForm()
    if form.validate_on_submit() and (exercise := _save(form, None)) is not None:
        flash("Exercise created. Its video is being prepared.", "success")
        return hx_redirect(url_for("exercises.detail", exercise_id=exercise.id))
    return render_template("exercises/form.html", form=form, exercise=None), (
        422 if form.errors else 200
    )


@bp.route("/<uuid:exercise_id>/edit", methods=["GET", "POST"])
@login_required
def edit(exercise_id: uuid.UUID):
    exercise = _editable(exercise_id)
    form = ExerciseForm(obj=exercise)
    if form.validate_on_submit() and _save(form, exercise) is not None:
        flash("Exercise saved.", "success")
        return hx_redirect(url_for("exercises.detail", exercise_id=exercise.id))
    return render_template("exercises/form.html", form=form, exercise=exercise), (
        422 if form.errors else 200
    )


@bp.route("/<uuid:exercise_id>/delete", methods=["GET", "POST"])
@login_required
def delete(exercise_id: uuid.UUID):
    """GET asks for confirmation; POST (CSRF-checked like every POST) deletes it and its media."""
    exercise = _editable(exercise_id)
    if request.method == "POST":
        name = exercise.name
        delete_exercise(exercise)
        flash(f"“{name}” is deleted, with its video.", "success")
        return hx_redirect(url_for("exercises.index"))
    return render_template("exercises/delete.html", exercise=exercise)
