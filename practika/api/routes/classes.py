"""The API's classes: the caller's classes, running one, joining by a code, publishing an
exercise to classes, and the review inbox; the pages' services under the pages' rules (what
a user may not see is 404)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, g, jsonify, request, url_for

from practika.api import bp, serializers
from practika.api.inputs import Invalid, body, flag, text
from practika.api.problems import problem
from practika.api.routes.resources import editable_exercise, uuid_or_404
from practika.classes.join_limit import limit_joins
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.classes.services import (
    ClassError,
    add_member_by_email,
    archive,
    classes_taught_by,
    create_class,
    join,
    publish_only_to,
    remove_member,
    replace_code,
)
from practika.comments.inbox import inbox, mark_reviewed
from practika.comments.models import VideoComment
from practika.exercises.models import Publication
from practika.extensions import db
from practika.permissions import (
    classes_filter,
    may_manage_class,
    may_mark_reviewed,
    may_view_class,
)


def _refused(error: ClassError, field: str):
    """A request the class cannot meet: 422, the reason as the detail and on the field."""
    return problem(422, str(error), {field: str(error)})


def _teaching() -> None:
    """Classes and the inbox are for teachers (and staff); anyone else learns nothing."""
    if not (g.api_user.is_teacher or g.api_user.is_staff):
        abort(404)


def _classroom(class_id: str, *, manage: bool = False) -> Classroom:
    """The class if the token's user may see it (or run it, with ``manage``); 404 otherwise."""
    classroom = db.session.get(Classroom, uuid_or_404(class_id))
    allowed = may_manage_class if manage else may_view_class
    if classroom is None or not allowed(g.api_user, classroom):
        abort(404)
    return classroom


def _detail(classroom: Classroom) -> dict:
    members = db.session.scalars(
        sa.select(ClassMember)
        .options(so.joinedload(ClassMember.user))
        .where(ClassMember.class_id == classroom.id)
        .order_by(ClassMember.role.desc(), ClassMember.joined_at)
    ).all()
    exercise_ids = db.session.scalars(
        sa.select(Publication.exercise_id)
        .where(Publication.class_id == classroom.id)
        .order_by(Publication.published_at.desc())
    ).all()
    role = next((m.role for m in members if m.user_id == g.api_user.id), None)
    return serializers.class_detail(
        classroom,
        role=role,
        managing=may_manage_class(g.api_user, classroom),
        members=list(members),
        exercise_ids=list(exercise_ids),
    )


@bp.get("/classes")
def list_classes():
    """The caller's classes (staff: every class), archived ones last."""
    rows = db.session.execute(
        sa.select(Classroom, ClassMember)
        .outerjoin(
            ClassMember,
            sa.and_(ClassMember.class_id == Classroom.id, ClassMember.user_id == g.api_user.id),
        )
        .where(classes_filter(g.api_user))
        .order_by(Classroom.archived_at.is_not(None), Classroom.name, Classroom.id)
    ).all()
    # The caller's memberships are loaded above, so may_manage_class asks no more queries.
    items = [
        serializers.classroom(
            classroom,
            role=member.role if member is not None else None,
            managing=may_manage_class(g.api_user, classroom),
        )
        for classroom, member in rows
    ]
    return jsonify(items=items)


@bp.post("/classes")
def create_class_view():
    _teaching()
    data, errors = body(), {}
    name = text(data, "name", required=True, max_length=100, errors=errors)
    if errors:
        raise Invalid(errors)
    classroom = create_class(name, g.api_user)
    db.session.commit()
    response = jsonify(_detail(classroom))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_class", class_id=classroom.id)
    return response


@bp.get("/classes/<class_id>")
def get_class(class_id: str):
    return jsonify(_detail(_classroom(class_id)))


@bp.patch("/classes/<class_id>")
def update_class(class_id: str):
    classroom = _classroom(class_id, manage=True)
    data, errors = body(), {}
    name = text(data, "name", max_length=100, errors=errors)
    if name is not None and not name.strip():
        errors["name"] = "Must not be empty."
    joining_open = flag(data, "joining_open", errors=errors)
    archived = flag(data, "archived", errors=errors)
    if errors:
        raise Invalid(errors)
    if name is not None:
        classroom.name = name.strip()
    if joining_open is not None:
        classroom.joining_open = joining_open
    if archived is not None:
        archive(classroom, archived)
    db.session.commit()
    return jsonify(_detail(classroom))


@bp.post("/classes/<class_id>/code")
def new_class_code(class_id: str):
    """A new code: the old code and its link stop working at once."""
    classroom = _classroom(class_id, manage=True)
    replace_code(classroom)
    db.session.commit()
    return jsonify(_detail(classroom))


@bp.delete("/classes/<class_id>")
def delete_class(class_id: str):
    """The class goes; its exercises and attempts stay."""
    db.session.delete(_classroom(class_id, manage=True))
    db.session.commit()
    return "", 204


@bp.post("/classes/join")
@limit_joins(lambda: g.api_user)
def join_class():
    data, errors = body(), {}
    code = text(data, "code", required=True, max_length=40, errors=errors)
    if errors:
        raise Invalid(errors)
    try:
        classroom = join(code, g.api_user)
    except ClassError as error:
        db.session.rollback()
        return _refused(error, "code")
    db.session.commit()
    return jsonify(_detail(classroom))


@bp.post("/classes/<class_id>/teachers")
def add_class_teacher(class_id: str):
    classroom = _classroom(class_id, manage=True)
    data, errors = body(), {}
    email = text(data, "email", required=True, max_length=254, errors=errors)
    if errors:
        raise Invalid(errors)
    try:
        add_member_by_email(classroom, email, MemberRole.TEACHER)
    except ClassError as error:
        db.session.rollback()
        return _refused(error, "email")
    db.session.commit()
    return jsonify(_detail(classroom))


@bp.delete("/classes/<class_id>/members/<id:user_id>")
def remove_class_member(class_id: str, user_id: int):
    """Out of the class; their attempts stay theirs."""
    classroom = _classroom(class_id, manage=True)
    member = db.session.get(ClassMember, (classroom.id, user_id))
    if member is None:
        abort(404)
    try:
        remove_member(classroom, member.user)
    except ClassError as error:
        return _refused(error, "user_id")
    db.session.commit()
    return "", 204


def _class_ids(data: dict, among: list[Classroom]) -> list[Classroom]:
    """The classes ``class_ids`` names, each one of ``among`` (the author's classes)."""
    ids = data.get("class_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise Invalid({"class_ids": "A list of class ids."})
    by_id = {str(classroom.id): classroom for classroom in among}
    if unknown := [i for i in ids if i not in by_id]:
        raise Invalid(
            {"class_ids": f"Not a class the author teaches (archived ones excluded): {unknown[0]}"}
        )
    return [by_id[i] for i in dict.fromkeys(ids)]


@bp.put("/exercises/<exercise_id>/classes")
def publish_exercise(exercise_id: str):
    """Published to exactly these of the author's classes; an empty list makes it a draft."""
    exercise = editable_exercise(exercise_id)
    among = classes_taught_by(exercise.created_by)
    chosen = _class_ids(body(), among)
    try:
        publish_only_to(exercise, chosen, among=among)
    except ClassError as error:
        db.session.rollback()
        return _refused(error, "class_ids")
    db.session.commit()
    return jsonify(serializers.exercise(exercise, full=True, editor=True))


def _uuid_arg(name: str, errors: dict) -> uuid.UUID | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        errors[name] = "Not an id."
        return None


@bp.get("/inbox")
def review_inbox():
    """Attempts waiting for the caller's feedback, oldest waiting first; ``class`` and
    ``exercise`` narrow it."""
    _teaching()
    errors: dict[str, str] = {}
    class_id, exercise_id = _uuid_arg("class", errors), _uuid_arg("exercise", errors)
    if errors:
        raise Invalid(errors)
    waiting = inbox(g.api_user, class_id=class_id, exercise_id=exercise_id)
    return jsonify(
        items=[serializers.comment(attempt) for attempt in waiting.attempts],
        has_more=waiting.has_more,
    )


@bp.post("/attempts/<attempt_id>/reviewed")
def mark_attempt_reviewed(attempt_id: str):
    """Out of the inbox without a comment: seen, nothing to add."""
    attempt = db.session.get(VideoComment, uuid_or_404(attempt_id))
    if attempt is None or not may_mark_reviewed(g.api_user, attempt):
        abort(404)
    mark_reviewed(attempt)
    db.session.commit()
    return "", 204
