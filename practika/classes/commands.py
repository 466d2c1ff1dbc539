"""``flask admin classes``: every class at a glance, and the admin's way to set one up,
put people in it and move an exercise between classes (a class is named by its code)."""

from __future__ import annotations

import uuid

import click
import sqlalchemy as sa

from practika.accounts.models import User
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.classes.services import (
    ClassError,
    account_by_email,
    add_member_by_email,
    create_class,
    find_by_code,
    publish,
    unpublish,
)
from practika.exercises.models import Exercise, Publication
from practika.extensions import db


@click.group("classes")
def classes_command() -> None:
    """List classes, create one, add members, move exercises between classes."""


def _by_code(code: str) -> Classroom:
    classroom = find_by_code(code)
    if classroom is None:
        raise click.ClickException(f"no class has the code {code!r}")
    return classroom


def _counts(column: sa.Column, *where: sa.ColumnElement[bool]) -> dict[uuid.UUID, int]:
    """Rows per class, in one query."""
    return dict(
        db.session.execute(sa.select(column, sa.func.count()).where(*where).group_by(column)).all()
    )


@classes_command.command("list")
def list_classes() -> None:
    """Every class: name, code, teachers, number of students and of published exercises."""
    classes = db.session.scalars(sa.select(Classroom).order_by(Classroom.name, Classroom.id)).all()
    teachers: dict[uuid.UUID, list[str]] = {}
    for class_id, username in db.session.execute(
        sa.select(ClassMember.class_id, User.username)
        .join(User, User.id == ClassMember.user_id)
        .where(ClassMember.role == MemberRole.TEACHER)
        .order_by(User.username)
    ):
        teachers.setdefault(class_id, []).append(username)
    students = _counts(ClassMember.class_id, ClassMember.role == MemberRole.STUDENT)
    exercises = _counts(Publication.class_id)
    for classroom in classes:
        state = (
            " (archived)" if classroom.archived else "" if classroom.joining_open else " (closed)"
        )
        click.echo(
            f"{classroom.display_code}  {classroom.name}{state}: "
            f"teachers {', '.join(teachers.get(classroom.id, [])) or 'none'}; "
            f"{students.get(classroom.id, 0)} student(s), "
            f"{exercises.get(classroom.id, 0)} exercise(s)"
        )
    click.echo(f"{len(classes)} class(es).")


@classes_command.command("create")
@click.argument("name")
@click.option("--teacher", "email", required=True, help="The email of the teacher's account.")
def create(name: str, email: str) -> None:
    """Create a class NAME taught by the teacher with EMAIL, and print its code."""
    try:
        classroom = create_class(name, account_by_email(email, MemberRole.TEACHER))
    except ClassError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {classroom.name!r} with the code {classroom.display_code}.")


@classes_command.command("add-member")
@click.argument("code", metavar="CLASS_CODE")
@click.argument("email")
@click.option("--teacher", is_flag=True, help="Add a co-teacher (default: a student).")
def add_member(code: str, email: str, teacher: bool) -> None:
    """Put the account with EMAIL in the class with CLASS_CODE, even when joining is closed."""
    classroom = _by_code(code)
    role = MemberRole.TEACHER if teacher else MemberRole.STUDENT
    try:
        user = add_member_by_email(classroom, email, role)
    except ClassError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{user.username} is a {role} of {classroom.name!r}.")


@classes_command.command("move-exercise")
@click.argument("exercise_id")
@click.argument("code", metavar="CLASS_CODE")
@click.option(
    "--from", "from_code", metavar="CLASS_CODE", help="Also unpublish it from this class."
)
def move_exercise(exercise_id: str, code: str, from_code: str | None) -> None:
    """Publish exercise EXERCISE_ID to the class with CLASS_CODE (it needs a model video that
    plays); with --from, hide it from that class too. Attempts are kept either way."""
    try:
        exercise = db.session.get(Exercise, uuid.UUID(exercise_id))
    except ValueError:
        exercise = None
    if exercise is None:
        raise click.ClickException(f"no exercise with id {exercise_id!r}")
    target = _by_code(code)
    source = _by_code(from_code) if from_code else None
    if source is not None and source.id == target.id:
        raise click.ClickException("--from names the class it is moving to")
    try:
        publish(exercise, [target])
    except ClassError as error:
        raise click.ClickException(str(error)) from None
    if source is not None:
        unpublish(exercise, source)
    db.session.commit()
    moved = f" and no longer to {source.name!r}" if source is not None else ""
    click.echo(f"{exercise.name!r} is published to {target.name!r}{moved}.")
