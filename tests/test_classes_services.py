"""Running a class (practika/classes/services.py): joining by code and what a person is told
when it fails, members and the last teacher, and publishing only what plays."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from practika.accounts.models import RoleName
from practika.classes.models import ClassMember
from practika.classes.services import (
    ClassError,
    add_teacher,
    archive,
    create_class,
    join,
    publish,
    remove_member,
    replace_code,
    unpublish,
)
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.permissions import may_view_exercise
from tests.conftest import _make_user, count_rows

NO_SUCH_CODE = "No class has that code."
NOT_TAKING = "That class is not taking new students."


@pytest.fixture
def classroom(teacher):
    """The teacher's new class, nobody in it yet."""
    made = create_class("  Tuesday group ", teacher)
    db.session.commit()
    return made


def roster(classroom) -> dict[str, str]:
    members = db.session.scalars(sa.select(ClassMember).where(ClassMember.class_id == classroom.id))
    return {member.user.username: member.role for member in members}


def test_a_new_class_has_its_teacher_and_a_readable_code(classroom, teacher):
    assert classroom.name == "Tuesday group" and roster(classroom) == {"tess": "teacher"}
    code = classroom.join_code
    assert classroom.display_code == f"{code[:4]}-{code[4:]}"
    with pytest.raises(ClassError, match="Give the class a name"):
        create_class("   ", teacher)


def test_a_code_is_taken_in_any_case_with_spaces_and_dashes(classroom, student):
    code = classroom.join_code
    typed = f" {code[:4].lower()} - {code[4:]} "
    assert join(typed, student) is classroom
    assert roster(classroom) == {"tess": "teacher", "sam": "student"}


def test_joining_twice_is_joining_once(classroom, student):
    join(classroom.join_code, student)
    join(classroom.display_code, student)
    db.session.commit()
    assert count_rows(ClassMember) == 2  # the teacher and the student, once


def test_a_wrong_code_says_so(classroom, student):
    code = classroom.join_code
    one_off = ("C" if code[0] == "A" else "A") + code[1:]
    for typed in ("", " - ", one_off, "0000-0000"):
        with pytest.raises(ClassError, match=NO_SUCH_CODE):
            join(typed, student)
    assert "sam" not in roster(classroom)


def test_a_replaced_code_stops_working_and_the_new_one_works(classroom, student):
    old = classroom.join_code
    new = replace_code(classroom)
    db.session.commit()
    assert new != old and classroom.join_code == new
    with pytest.raises(ClassError, match=NO_SUCH_CODE):
        join(old, student)
    assert join(new, student) is classroom


def test_a_closed_or_archived_class_takes_no_one_new(classroom, student):
    classroom.joining_open = False
    db.session.commit()
    with pytest.raises(ClassError, match=NOT_TAKING):
        join(classroom.join_code, student)
    classroom.joining_open = True
    archive(classroom)
    db.session.commit()
    with pytest.raises(ClassError, match=NOT_TAKING):
        join(classroom.join_code, student)
    archive(classroom, archived=False)
    assert join(classroom.join_code, student) is classroom


def test_a_teacher_cannot_join_by_code_but_is_added_as_a_co_teacher(classroom, student):
    other = _make_user(RoleName.TEACHER, "otto")
    with pytest.raises(ClassError, match="Only students join a class by its code"):
        join(classroom.join_code, other)
    add_teacher(classroom, other)
    with pytest.raises(ClassError, match="Only a teacher's account can teach"):
        add_teacher(classroom, student)
    db.session.commit()
    assert roster(classroom) == {"tess": "teacher", "otto": "teacher"}


def test_remove_member_keeps_the_last_teacher(classroom, teacher, student):
    join(classroom.join_code, student)
    other = _make_user(RoleName.TEACHER, "otto")
    add_teacher(classroom, other)
    db.session.commit()
    remove_member(classroom, student)
    remove_member(classroom, other)  # in the same transaction: the second teacher counts
    with pytest.raises(ClassError, match="A class keeps at least one teacher"):
        remove_member(classroom, teacher)
    db.session.commit()
    assert roster(classroom) == {"tess": "teacher"}


def _exercise(teacher, video: VideoAsset | None) -> Exercise:
    exercise = Exercise(name="Scales", created_by=teacher, video_asset=video)
    db.session.add(exercise)
    db.session.commit()
    return exercise


@pytest.mark.parametrize(
    ("video", "message"),
    [
        (None, "Add a model video before publishing."),
        ({"processing_status": "processing"}, "still being processed"),
        ({"processing_status": "queued"}, "still being processed"),
        (
            {"processing_status": "failed", "processing_error": "No video track."},
            "The model video failed to process: replace it",
        ),
    ],
)
def test_a_draft_is_published_only_with_a_video_that_plays(classroom, teacher, video, message):
    model = None if video is None else VideoAsset(owner=teacher, **video)
    exercise = _exercise(teacher, model)
    with pytest.raises(ClassError, match=message):
        publish(exercise, [classroom])
    assert not exercise.is_published


@pytest.mark.parametrize(
    "video",
    [
        {
            "video_type": "youtube",
            "youtube_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "processing_status": "ready",
        },
        {"processing_status": "ready", "renditions": {"360p": {"path": "r", "height": 360}}},
    ],
    ids=["youtube", "upload"],
)
def test_a_youtube_or_playable_model_is_published_once(classroom, teacher, student, video):
    exercise = _exercise(teacher, VideoAsset(owner=teacher, **video))
    join(classroom.join_code, student)
    publish(exercise, [classroom, classroom])
    publish(exercise, [classroom])  # again, before any flush: still one publication
    db.session.commit()
    assert exercise.is_published and len(exercise.publications) == 1
    assert may_view_exercise(student, exercise)


def test_unpublishing_hides_the_exercise_and_keeps_the_attempts(classroom, teacher, student):
    ready = VideoAsset(owner=teacher, processing_status="ready", renditions={"360p": {"path": "r"}})
    exercise = _exercise(teacher, ready)
    join(classroom.join_code, student)
    publish(exercise, [classroom])
    db.session.add(
        VideoComment(
            exercise=exercise,
            author=student,
            kind=CommentKind.ATTEMPT,
            video_asset=VideoAsset(owner=student, processing_status="ready"),
        )
    )
    db.session.commit()
    unpublish(exercise, classroom)
    db.session.commit()
    assert not exercise.is_published and not may_view_exercise(student, exercise)
    assert count_rows(VideoComment) == 1
