"""``flask admin classes``: list, create, add-member and move-exercise, and their refusals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from practika.accounts.models import RoleName
from practika.classes.commands import classes_command
from practika.classes.models import ClassMember, Classroom
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise, Publication
from practika.extensions import db
from tests.conftest import _make_user


def admin(runner, *args: str):
    return runner.invoke(args=["admin", "classes", *args])


def _class(name: str) -> Classroom:
    db.session.expire_all()
    return db.session.scalar(sa.select(Classroom).where(Classroom.name == name))


def _members(name: str) -> dict[str, str]:
    rows = db.session.scalars(sa.select(ClassMember).where(ClassMember.class_id == _class(name).id))
    return {member.user.username: member.role for member in rows}


def _published_to(exercise: Exercise) -> set[str]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            sa.select(Classroom.name)
            .join(Publication, Publication.class_id == Classroom.id)
            .where(Publication.exercise_id == exercise.id)
        )
    )


@pytest.fixture
def exercise(teacher) -> Exercise:
    """Tess's exercise, its model video ready to play."""
    made = Exercise(name="Scales", description="", created_by=teacher)
    made.video_asset = VideoAsset(
        owner=teacher,
        processing_status="ready",
        duration_sec=8.0,
        renditions={"360p": {"path": "videos/x/360p.mp4", "height": 360}},
    )
    db.session.add(made)
    db.session.commit()
    return made


@pytest.mark.parametrize("command", [[], *([name] for name in classes_command.commands)])
def test_every_classes_command_has_help(runner, command):
    result = admin(runner, *command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_create_a_class_for_a_teacher_and_list_it(runner, teacher, student):
    created = admin(runner, "create", "Year 9 guitar", "--teacher", "TESS@example.com")
    assert created.exit_code == 0, created.output
    classroom = _class("Year 9 guitar")
    assert f"with the code {classroom.display_code}" in created.output
    assert _members("Year 9 guitar") == {"tess": "teacher"}
    assert admin(runner, "add-member", classroom.display_code, "sam@example.com").exit_code == 0
    listed = admin(runner, "list")
    assert listed.exit_code == 0
    assert (
        f"{classroom.display_code}  Year 9 guitar: teachers tess; 1 student(s), 0 exercise(s)"
        in listed.output
    )
    assert "1 class(es)." in listed.output


def test_create_refuses_an_account_that_is_not_a_teachers(runner, student):
    result = admin(runner, "create", "Mine", "--teacher", "sam@example.com")
    assert result.exit_code == 1 and "No teacher's account has that email." in result.output
    assert admin(runner, "create", "Mine").exit_code == 2  # --teacher is required
    assert _class("Mine") is None


def test_add_member_puts_students_and_co_teachers_in_even_when_joining_is_closed(
    runner, teacher, student
):
    admin(runner, "create", "Band", "--teacher", "tess@example.com")
    classroom = _class("Band")
    classroom.joining_open = False
    db.session.commit()
    _make_user(RoleName.TEACHER, "otto")
    code = classroom.join_code.lower()
    added = admin(runner, "add-member", code, "sam@example.com")
    assert added.exit_code == 0 and "sam is a student of 'Band'." in added.output
    assert admin(runner, "add-member", code, "otto@example.com", "--teacher").exit_code == 0
    assert _members("Band") == {"tess": "teacher", "sam": "student", "otto": "teacher"}
    wrong_role = admin(runner, "add-member", code, "otto@example.com")
    assert wrong_role.exit_code == 1 and "No student's account" in wrong_role.output
    no_class = admin(runner, "add-member", "AAAA-AAAA", "sam@example.com")
    assert no_class.exit_code == 1 and "no class has the code 'AAAA-AAAA'" in no_class.output


def test_move_exercise_publishes_it_and_unpublishes_it_from_the_other_class(
    runner, teacher, exercise
):
    for name in ("Monday", "Tuesday"):
        admin(runner, "create", name, "--teacher", "tess@example.com")
    monday, tuesday = _class("Monday").display_code, _class("Tuesday").display_code
    first = admin(runner, "move-exercise", str(exercise.id), monday)
    assert first.exit_code == 0 and "'Scales' is published to 'Monday'." in first.output
    assert _published_to(exercise) == {"Monday"}
    moved = admin(runner, "move-exercise", str(exercise.id), tuesday, "--from", monday)
    assert moved.exit_code == 0, moved.output
    assert "no longer to 'Monday'" in moved.output
    assert _published_to(exercise) == {"Tuesday"}
    assert "Tuesday: teachers tess; 0 student(s), 1 exercise(s)" in admin(runner, "list").output
    same = admin(runner, "move-exercise", str(exercise.id), tuesday, "--from", tuesday)
    assert same.exit_code == 1 and _published_to(exercise) == {"Tuesday"}


def test_move_exercise_refuses_a_video_that_does_not_play_and_unknown_ids(
    runner, teacher, exercise
):
    admin(runner, "create", "Monday", "--teacher", "tess@example.com")
    code = _class("Monday").display_code
    exercise.video_asset.processing_status = "processing"
    exercise.video_asset.renditions = None  # nothing a browser can play yet
    db.session.commit()
    refused = admin(runner, "move-exercise", str(exercise.id), code)
    assert refused.exit_code == 1 and "still being processed" in refused.output
    assert _published_to(exercise) == set()
    for unknown in ("not-an-id", "00000000-0000-0000-0000-000000000000"):
        result = admin(runner, "move-exercise", unknown, code)
        assert result.exit_code == 1 and "no exercise with id" in result.output
