"""Classes in the browser: the list, creating one, the class page (its teachers run it from
there), joining by a typed code or a link, and the link's QR code."""

import io
import uuid

import segno
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from practika.accounts.guards import teacher_required
from practika.accounts.models import User
from practika.classes import bp, pending
from practika.classes.forms import ClassForm, JoinForm, TeacherForm
from practika.classes.join_limit import limit_joins
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.classes.progress import progress
from practika.classes.services import (
    ClassError,
    add_member_by_email,
    archive,
    create_class,
    enrol,
    join_url,
    joinable,
    remove_member,
    replace_code,
)
from practika.exercises.models import Exercise, Publication
from practika.extensions import db
from practika.htmx import hx_redirect
from practika.permissions import classes_filter, may_manage_class, may_view_class


def _joiner() -> User | None:
    return current_user if current_user.is_authenticated else None


def _classroom(class_id: uuid.UUID, *, manage: bool = False) -> Classroom:
    """The class if this user may see it (or run it, with ``manage``); 404 otherwise."""
    classroom = db.session.get(Classroom, class_id)
    allowed = may_manage_class if manage else may_view_class
    if classroom is None or not allowed(current_user, classroom):
        abort(404)
    return classroom


def _index_page(form: ClassForm):
    classes = db.session.scalars(
        sa.select(Classroom)
        .where(classes_filter(current_user))
        .order_by(Classroom.archived_at.is_not(None), Classroom.name)
    ).all()
    counts = dict(
        db.session.execute(
            sa.select(ClassMember.class_id, sa.func.count())
            .where(
                ClassMember.class_id.in_([c.id for c in classes]),
                ClassMember.role == MemberRole.STUDENT,
            )
            .group_by(ClassMember.class_id)
        ).all()
    )
    return render_template("classes/index.html", classes=classes, counts=counts, form=form)


@bp.get("/")
@login_required
def index():
    return _index_page(ClassForm())


@bp.post("/")
@teacher_required
def create():
    form = ClassForm()
    if not form.validate_on_submit():
        return _index_page(form), 422
    classroom = create_class(form.name.data, current_user)
    db.session.commit()
    flash(
        f"Class “{classroom.name}” created. Share its code or link with your students.", "success"
    )
    return hx_redirect(url_for("classes.detail", class_id=classroom.id))


@bp.get("/<uuid:class_id>")
@login_required
def detail(class_id: uuid.UUID):
    classroom = _classroom(class_id)
    exercises = db.session.scalars(
        sa.select(Exercise)
        .join(Publication, Publication.exercise_id == Exercise.id)
        .options(so.joinedload(Exercise.video_asset))
        .where(Publication.class_id == classroom.id)
        .order_by(Publication.published_at.desc())
    ).all()
    members = db.session.scalars(
        sa.select(ClassMember)
        .options(so.joinedload(ClassMember.user).joinedload(User.profile))
        .where(ClassMember.class_id == classroom.id)
        .order_by(ClassMember.role.desc(), ClassMember.joined_at)
    ).all()
    managing = may_manage_class(current_user, classroom)
    return render_template(
        "classes/detail.html",
        classroom=classroom,
        exercises=exercises,
        teachers=[m for m in members if m.role == MemberRole.TEACHER],
        students=[m for m in members if m.role == MemberRole.STUDENT],
        managing=managing,
        join_url=join_url(classroom) if managing else None,
        rename_form=ClassForm(obj=classroom) if managing else None,
        teacher_form=TeacherForm() if managing else None,
        grid=progress(classroom) if managing else None,
    )


@bp.get("/<uuid:class_id>/qr.svg")
@login_required
def qr_code(class_id: uuid.UUID):
    """The join link as a QR code, drawn here (no network) for a projector or a printout."""
    classroom = _classroom(class_id, manage=True)
    svg = io.BytesIO()  # a standalone SVG (with its namespace), which an <img> can show
    segno.make(join_url(classroom), error="m").save(
        svg, kind="svg", scale=6, dark="#111", light="#fff", xmldecl=False
    )
    response = Response(svg.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _back(classroom: Classroom, message: str, category: str = "success"):
    flash(message, category)
    return hx_redirect(url_for("classes.detail", class_id=classroom.id))


@bp.post("/<uuid:class_id>/rename")
@login_required
def rename(class_id: uuid.UUID):
    classroom = _classroom(class_id, manage=True)
    form = ClassForm()
    if not form.validate_on_submit():
        return _back(classroom, " ".join(form.name.errors), "error")
    classroom.name = form.name.data.strip()
    db.session.commit()
    return _back(classroom, "Renamed.")


@bp.post("/<uuid:class_id>/joining")
@login_required
def set_joining(class_id: uuid.UUID):
    classroom = _classroom(class_id, manage=True)
    classroom.joining_open = request.form.get("open") == "1"
    db.session.commit()
    state = "open: the code and link work" if classroom.joining_open else "closed"
    return _back(classroom, f"Joining is {state}.")


@bp.post("/<uuid:class_id>/code")
@login_required
def new_code(class_id: uuid.UUID):
    classroom = _classroom(class_id, manage=True)
    replace_code(classroom)
    db.session.commit()
    return _back(
        classroom, f"New code {classroom.display_code}: the old code and link no longer work."
    )


@bp.post("/<uuid:class_id>/archive")
@login_required
def set_archived(class_id: uuid.UUID):
    classroom = _classroom(class_id, manage=True)
    archive(classroom, request.form.get("archived") == "1")
    db.session.commit()
    if classroom.archived:
        return _back(classroom, "Archived: nobody can join, and members keep what they had.")
    return _back(classroom, "Back from the archive.")


@bp.post("/<uuid:class_id>/delete")
@login_required
def delete(class_id: uuid.UUID):
    classroom = _classroom(class_id, manage=True)
    name = classroom.name
    db.session.delete(classroom)
    db.session.commit()
    flash(f"Class “{name}” deleted. Its exercises and attempts are kept.", "success")
    return hx_redirect(url_for("classes.index"))


@bp.post("/<uuid:class_id>/teachers")
@login_required
def add_co_teacher(class_id: uuid.UUID):
    classroom = _classroom(class_id, manage=True)
    form = TeacherForm()
    if not form.validate_on_submit():
        return _back(classroom, " ".join(form.email.errors), "error")
    try:
        teacher = add_member_by_email(classroom, form.email.data, MemberRole.TEACHER)
    except ClassError as error:
        return _back(classroom, str(error), "error")
    db.session.commit()
    return _back(classroom, f"{teacher.display_name} now teaches this class.")


@bp.post("/<uuid:class_id>/members/<id:user_id>/remove")
@login_required
def remove(class_id: uuid.UUID, user_id: int):
    classroom = _classroom(class_id, manage=True)
    member = db.session.get(ClassMember, (classroom.id, user_id))
    if member is None:
        abort(404)
    name = member.user.display_name
    try:
        remove_member(classroom, member.user)
    except ClassError as error:
        return _back(classroom, str(error), "error")
    db.session.commit()
    return _back(classroom, f"{name} is no longer in this class; their attempts are kept.")


@bp.post("/join")
@limit_joins(_joiner)
def join_typed():
    """A code typed on the landing page or a student's home page."""
    form = JoinForm()
    if not form.validate_on_submit():
        return _refused(" ".join(form.code.errors) or "Type the code your teacher gave you.")
    return _join(form.code.data)


@bp.get("/join/<code>")
@limit_joins(_joiner)
def join_link(code: str):
    return _join(code)


def _refused(message: str):
    return render_template("classes/join_refused.html", message=message), 422


def _join(code: str):
    """Join now, or keep the code while the person logs in, signs up or chooses a role."""
    try:
        classroom = joinable(code)
        if not current_user.is_authenticated:
            pending.remember(classroom.join_code)
            flash(f"Sign up, or log in, to join “{classroom.name}”.", "info")
            return redirect(url_for("accounts.signup"))
        if current_user.needs_a_role:
            pending.remember(classroom.join_code)
            return redirect(url_for("accounts.onboarding"))
        enrol(classroom, current_user)
    except ClassError as error:
        return _refused(str(error))
    db.session.commit()
    flash(f"You are in “{classroom.name}”.", "success")
    return hx_redirect(url_for("classes.detail", class_id=classroom.id))
