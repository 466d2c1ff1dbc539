"""Running a class: create, rename, archive; join codes; members; publishing exercises.

The caller commits. Who may do each thing is asked of ``practika.permissions`` by the views,
the API and the CLI before they call these."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.exc import IntegrityError

from practika.accounts.models import RoleName, User, normalize_email
from practika.classes.models import (
    ClassMember,
    Classroom,
    MemberRole,
    new_join_code,
    normalize_code,
)
from practika.core.models import ProcessingStatus
from practika.exercises.models import Exercise, Publication
from practika.extensions import db
from practika.model_base import utcnow


class ClassError(ValueError):
    """A request about a class that cannot be met, with a reason a person can read."""


def create_class(name: str, teacher: User) -> Classroom:
    name = name.strip()
    if not name:
        raise ClassError("Give the class a name.")
    classroom = Classroom(name=name[:100], created_by=teacher)
    classroom.members.append(ClassMember(user=teacher, role=MemberRole.TEACHER))
    db.session.add(classroom)
    db.session.flush()
    return classroom


def join_url(classroom: Classroom) -> str:
    """The link that joins the class: shown to its teachers, never to its students."""
    return url_for("classes.join_link", code=classroom.join_code, _external=True)


def replace_code(classroom: Classroom) -> str:
    """A new code; the old code and its link stop working at once."""
    classroom.join_code = new_join_code()
    return classroom.join_code


def archive(classroom: Classroom, archived: bool = True) -> None:
    """An archived class takes no one new; its members keep what they had."""
    classroom.archived_at = utcnow() if archived else None


def find_by_code(typed: str) -> Classroom | None:
    code = normalize_code(typed)
    if not code:
        return None
    return db.session.scalar(sa.select(Classroom).where(Classroom.join_code == code))


def membership(classroom: Classroom, user: User) -> ClassMember | None:
    return db.session.get(ClassMember, (classroom.id, user.id))


def joinable(typed_code: str) -> Classroom:
    """The class a typed code opens; ClassError when there is none, or it takes no one."""
    classroom = find_by_code(typed_code)
    if classroom is None:
        raise ClassError("No class has that code. Check it with your teacher.")
    if classroom.archived or not classroom.joining_open:
        raise ClassError("That class is not taking new students. Ask your teacher.")
    return classroom


def join(typed_code: str, student: User) -> Classroom:
    """Put ``student`` in the class whose code they typed (joining twice changes nothing)."""
    return enrol(joinable(typed_code), student)


def enrol(classroom: Classroom, student: User) -> Classroom:
    """``student`` in ``classroom``, which ``joinable`` has opened."""
    if student.role != RoleName.STUDENT:
        raise ClassError("Only students join a class by its code; a teacher is added by email.")
    _add_student(classroom, student)
    return classroom


def _add_student(classroom: Classroom, student: User) -> None:
    if membership(classroom, student) is None:
        _add(classroom, student, MemberRole.STUDENT)


def account_by_email(email: str, role: MemberRole) -> User:
    """The account with ``email``, if it is a ``role``'s (a teacher's or a student's)."""
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    if user is None or user.role != role:
        raise ClassError(f"No {role}'s account has that email.")
    return user


def add_member_by_email(classroom: Classroom, email: str, role: MemberRole) -> User:
    """The account with ``email`` in the class as ``role``, whether or not the class takes
    anyone by its code."""
    user = account_by_email(email, role)
    if role == MemberRole.TEACHER:
        add_teacher(classroom, user)
    else:
        _add_student(classroom, user)
    return user


def add_teacher(classroom: Classroom, teacher: User) -> None:
    """A co-teacher: sees the class's exercises and its students' attempts."""
    if teacher.role != RoleName.TEACHER:
        raise ClassError("Only a teacher's account can teach a class.")
    member = membership(classroom, teacher)
    if member is None:
        _add(classroom, teacher, MemberRole.TEACHER)
    else:
        member.role = MemberRole.TEACHER


def remove_member(classroom: Classroom, user: User) -> None:
    """Out of the class: their attempts stay, and stay theirs."""
    member = membership(classroom, user)
    if member is None:
        return
    teachers = [m for m in classroom.members if m.role == MemberRole.TEACHER]
    if member.role == MemberRole.TEACHER and len(teachers) == 1:
        raise ClassError("A class keeps at least one teacher.")
    classroom.members.remove(member)  # so a second removal in this transaction counts it


def _add(classroom: Classroom, user: User, role: MemberRole) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(ClassMember(classroom=classroom, user=user, role=role))
    except IntegrityError:  # joined at the same moment from another tab: once is enough
        pass


def publishable_problem(exercise: Exercise) -> str | None:
    """Why ``exercise`` cannot be published yet, or None: it needs a model video that plays
    (or a YouTube link)."""
    video = exercise.video_asset
    if video is None:
        return "Add a model video before publishing."
    if video.youtube_embed or video.is_playable:
        return None
    if video.status == ProcessingStatus.FAILED:
        return "The model video failed to process: replace it before publishing."
    return "The model video is still being processed: publish it once it plays."


def publish(exercise: Exercise, classrooms: list[Classroom]) -> None:
    if problem := publishable_problem(exercise):
        raise ClassError(problem)
    # By the classroom, not class_id: a publication not yet flushed has no class_id.
    already = {publication.classroom.id for publication in exercise.publications}
    for classroom in classrooms:
        if classroom.id not in already:
            exercise.publications.append(Publication(classroom=classroom))
            already.add(classroom.id)  # the same class named twice is published once


def classes_of_attempt(student: User, exercise: Exercise) -> list[Classroom]:
    """The classes ``student`` is in that ``exercise`` is published to, by name."""
    return list(
        db.session.scalars(
            sa.select(Classroom)
            .join(Publication, Publication.class_id == Classroom.id)
            .join(ClassMember, ClassMember.class_id == Classroom.id)
            .where(
                Publication.exercise_id == exercise.id,
                ClassMember.user_id == student.id,
                ClassMember.role == MemberRole.STUDENT,
            )
            .order_by(Classroom.name)
        )
    )


def classes_taught_by(user: User) -> list[Classroom]:
    """The classes ``user`` teaches that are not archived, by name."""
    return list(
        db.session.scalars(
            sa.select(Classroom)
            .join(ClassMember, ClassMember.class_id == Classroom.id)
            .where(
                ClassMember.user_id == user.id,
                ClassMember.role == MemberRole.TEACHER,
                Classroom.archived_at.is_(None),
            )
            .order_by(Classroom.name)
        )
    )


def publish_only_to(exercise: Exercise, chosen: list[Classroom], among: list[Classroom]) -> None:
    """Published to ``chosen`` and to none of the rest of ``among`` (the author's classes)."""
    if chosen:
        publish(exercise, chosen)
    chosen_ids = {classroom.id for classroom in chosen}
    for classroom in among:
        if classroom.id not in chosen_ids:
            unpublish(exercise, classroom)


def unpublish(exercise: Exercise, classroom: Classroom | None = None) -> None:
    """Hidden again from one class (or all); attempts stay."""
    for publication in list(exercise.publications):
        if classroom is None or publication.class_id == classroom.id:
            exercise.publications.remove(publication)
