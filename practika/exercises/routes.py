import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, render_template
from flask_login import current_user, login_required

from practika.exercises import bp
from practika.exercises.models import Exercise
from practika.extensions import db


@bp.get("/")
@login_required
def index():
    query = (
        sa.select(Exercise)
        .options(so.joinedload(Exercise.video_asset))
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
    return render_template("exercises/detail.html", exercise=exercise)
