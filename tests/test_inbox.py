"""What waits for whom: the teacher's review inbox, and the student's new feedback."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from practika.accounts.models import RoleName
from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.comments import inbox as inbox_module
from practika.comments.inbox import inbox_count
from practika.comments.models import CommentKind, VideoComment
from practika.comments.services import delete_comment, post_comment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise, Publication
from practika.extensions import db
from practika.model_base import utcnow
from tests.conftest import _make_user, log_in
from tests.test_exercise_list import queries


def menu_button(page: str) -> str:
    """The header's menu button, as the page renders it (what a phone shows of the header)."""
    button = r'<button type="button" class="menu-button[^"]*".*?</button>'
    return re.search(button, page, re.S).group(0)


def playable_video(owner, **state) -> VideoAsset:
    """A video as the worker leaves it once it plays (its files are not needed here)."""
    values = {"processing_status": "ready", "renditions": {"360p": {"path": "x", "height": 360}}}
    return VideoAsset(owner=owner, **{**values, **state})


def _class_with(teacher, *students, name: str = "Class") -> Classroom:
    classroom = Classroom(name=name, created_by=teacher)
    classroom.members.append(ClassMember(user=teacher, role=MemberRole.TEACHER))
    for student in students:
        classroom.members.append(ClassMember(user=student, role=MemberRole.STUDENT))
    db.session.add(classroom)
    return classroom


def _exercise(teacher, classroom: Classroom, name: str) -> Exercise:
    exercise = Exercise(name=name, description="", created_by=teacher)
    exercise.publications.append(Publication(classroom=classroom))
    db.session.add(exercise)
    return exercise


def _attempt(exercise: Exercise, student, minutes_ago: int) -> VideoComment:
    """An attempt whose video plays: only those wait for a teacher."""
    attempt = VideoComment(
        exercise=exercise,
        author=student,
        kind=CommentKind.ATTEMPT,
        text=f"{student.username}",
        video_asset=playable_video(student),
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    db.session.add(attempt)
    return attempt


def test_the_inbox_lists_what_waits_oldest_first_and_answered_ones_drop_out(
    app, teacher_client, teacher, student
):
    late = _make_user(RoleName.STUDENT, "lou")
    classroom = _class_with(teacher, student, late)
    exercise = _exercise(teacher, classroom, "Scales")
    older = _attempt(exercise, student, 30)
    newer = _attempt(exercise, late, 5)
    answered = _attempt(exercise, late, 60)
    db.session.add(VideoComment(exercise=exercise, author=teacher, parent=answered, text="Good"))
    db.session.commit()

    page = teacher_client.get("/comments/inbox").get_data(as_text=True)
    assert page.index(f"inbox-{older.id}") < page.index(f"inbox-{newer.id}")
    assert f"inbox-{answered.id}" not in page
    assert 'aria-label="2 waiting"' in page  # the count in the navigation
    assert 'aria-label="2 waiting"' in menu_button(page)  # and on a phone's menu button

    reviewed = teacher_client.post(f"/comments/attempts/{older.id}/reviewed")
    assert reviewed.status_code == 303
    page = teacher_client.get("/comments/inbox").get_data(as_text=True)
    assert f"inbox-{older.id}" not in page and f"inbox-{newer.id}" in page


def test_the_inbox_filters_by_class_and_exercise_and_shows_only_the_teachers_students(
    app, teacher, student
):
    other_teacher = _make_user(RoleName.TEACHER, "otto")
    stranger = _make_user(RoleName.STUDENT, "zed")
    mine = _class_with(teacher, student, name="Mine")
    theirs = _class_with(other_teacher, stranger, name="Theirs")
    scales = _exercise(teacher, mine, "Scales")
    chords = _exercise(teacher, mine, "Chords")
    _exercise(teacher, mine, "Nothing sent yet")
    elsewhere = _exercise(other_teacher, theirs, "Elsewhere")
    on_scales, on_chords = _attempt(scales, student, 3), _attempt(chords, student, 2)
    not_mine = _attempt(elsewhere, stranger, 1)
    db.session.commit()
    client = app.test_client()
    log_in(client, teacher.email)

    everything = client.get("/comments/inbox").get_data(as_text=True)
    assert f"inbox-{on_scales.id}" in everything and f"inbox-{on_chords.id}" in everything
    assert f"inbox-{not_mine.id}" not in everything
    # The exercise filter offers what has attempts waiting, with how many.
    assert "Chords (1)" in everything and "Scales (1)" in everything
    assert "Nothing sent yet" not in everything and "Elsewhere" not in everything
    only_chords = client.get(f"/comments/inbox?exercise={chords.id}").get_data(as_text=True)
    assert f"inbox-{on_chords.id}" in only_chords and f"inbox-{on_scales.id}" not in only_chords
    other_class = client.get(f"/comments/inbox?class={theirs.id}").get_data(as_text=True)
    assert "Nothing waits for you here" in other_class
    assert client.get("/comments/inbox?class=not-an-id").status_code == 200


def test_a_co_teacher_sees_the_class_attempts_in_their_inbox(app, teacher, student):
    co_teacher = _make_user(RoleName.TEACHER, "cory")
    classroom = _class_with(teacher, student)
    classroom.members.append(ClassMember(user=co_teacher, role=MemberRole.TEACHER))
    attempt = _attempt(_exercise(teacher, classroom, "Scales"), student, 1)
    db.session.commit()
    client = app.test_client()
    log_in(client, co_teacher.email)
    assert f"inbox-{attempt.id}" in client.get("/comments/inbox").get_data(as_text=True)


def test_students_have_no_inbox_and_cannot_mark_reviewed(student_client, teacher, student):
    classroom = _class_with(teacher, student)
    attempt = _attempt(_exercise(teacher, classroom, "Scales"), student, 1)
    db.session.commit()
    assert student_client.get("/comments/inbox").status_code == 404
    assert student_client.post(f"/comments/attempts/{attempt.id}/reviewed").status_code == 404


def test_new_feedback_shows_as_a_badge_until_the_student_opens_it(
    app, student_client, teacher, student
):
    classroom = _class_with(teacher, student)
    exercise = _exercise(teacher, classroom, "Scales")
    attempt = _attempt(exercise, student, 10)
    db.session.commit()
    assert "New feedback" not in student_client.get("/exercises/").get_data(as_text=True)

    db.session.add(VideoComment(exercise=exercise, author=teacher, parent=attempt, text="Wrist"))
    db.session.commit()
    listing = student_client.get("/exercises/").get_data(as_text=True)
    assert "New feedback" in listing and 'aria-label="1 with new feedback"' in listing
    assert 'aria-label="1 with new feedback"' in menu_button(listing)
    mine = student_client.get("/comments/mine").get_data(as_text=True)
    assert "New feedback" in mine and "Feedback received" in mine

    assert student_client.get(f"/comments/attempts/{attempt.id}").status_code == 200
    listing = student_client.get("/exercises/").get_data(as_text=True)
    assert "New feedback" not in listing and "nav-count" not in menu_button(listing)
    assert "New feedback" not in student_client.get("/comments/mine").get_data(as_text=True)


def test_the_inbox_takes_a_fixed_number_of_queries(app, teacher_client, teacher, student):
    classroom = _class_with(teacher, student)
    exercise = _exercise(teacher, classroom, "Scales")
    _attempt(exercise, student, 1)
    db.session.commit()
    few = queries(teacher_client, "/comments/inbox")
    for minutes in range(2, 30):
        _attempt(exercise, _make_user(RoleName.STUDENT, f"s{minutes}"), minutes)
    db.session.commit()
    assert queries(teacher_client, "/comments/inbox") == few
    assert db.session.scalar(sa.select(sa.func.count(VideoComment.id))) == 29


def test_the_progress_grid_shows_each_students_latest_attempt(
    app, teacher_client, teacher, student
):
    from practika.core.models import VideoAsset

    late = _make_user(RoleName.STUDENT, "lou")
    classroom = _class_with(teacher, student, late)
    scales, chords = (
        _exercise(teacher, classroom, "Scales"),
        _exercise(teacher, classroom, "Chords"),
    )
    first = _attempt(scales, student, 30)
    db.session.add(VideoComment(exercise=scales, author=teacher, parent=first, text="Good"))
    latest = _attempt(scales, student, 5)
    latest.video_asset = VideoAsset(owner=student, orig_filename="a.mp4", processing_status="ready")
    answered = _attempt(chords, late, 5)
    answered.reviewed_at = utcnow()
    db.session.commit()
    url = f"/classes/{classroom.id}"
    page = teacher_client.get(url).get_data(as_text=True)
    grid = page[page.index('class="progress-grid"') :]
    assert f'href="/comments/attempts/{latest.id}">Waiting for feedback' in grid
    assert f"/comments/attempts/{first.id}" not in grid  # only the latest counts
    assert f'href="/comments/attempts/{answered.id}">Answered' in grid
    assert grid.count("no attempt") == 2  # sam has not tried Chords, lou not Scales

    few = queries(teacher_client, url)
    for n in range(10):
        more = _make_user(RoleName.STUDENT, f"s{n}")
        classroom.members.append(ClassMember(user=more, role=MemberRole.STUDENT))
        _attempt(_exercise(teacher, classroom, f"E{n}"), more, n)
    db.session.commit()
    assert queries(teacher_client, url) == few


def test_a_reviewed_attempt_is_no_longer_awaiting_on_the_exercise_page(
    teacher_client, teacher, student
):
    classroom = _class_with(teacher, student)
    exercise = _exercise(teacher, classroom, "Scales")
    attempt = _attempt(exercise, student, 5)
    db.session.commit()
    page = f"/exercises/{exercise.id}"
    assert "Awaiting feedback" in teacher_client.get(page).get_data(as_text=True)
    teacher_client.post(f"/comments/attempts/{attempt.id}/reviewed")
    assert "Awaiting feedback" not in teacher_client.get(page).get_data(as_text=True)


def test_a_co_teachers_cards_count_only_their_own_classes_attempts(app, teacher, student):
    """The teacher publishes one exercise to two classes; the co-teacher of one of them is
    waited on only by that class's attempts, on the card as in the inbox."""
    co_teacher = _make_user(RoleName.TEACHER, "cory")
    other = _make_user(RoleName.STUDENT, "olga")
    shared = _class_with(teacher, student, name="Shared")
    shared.members.append(ClassMember(user=co_teacher, role=MemberRole.TEACHER))
    own = _class_with(teacher, other, name="Own")
    exercise = _exercise(teacher, shared, "Scales")
    exercise.publications.append(Publication(classroom=own))
    _attempt(exercise, student, 3)
    _attempt(exercise, other, 2)
    db.session.commit()
    client = app.test_client()
    log_in(client, co_teacher.email)
    assert "1 awaiting feedback" in client.get("/exercises/").get_data(as_text=True)
    owner = app.test_client()
    log_in(owner, teacher.email)
    assert "2 awaiting feedback" in owner.get("/exercises/").get_data(as_text=True)


def test_an_attempt_is_answered_from_its_first_feedback_until_the_last_is_deleted(
    app, teacher, student
):
    """``answered_at``, which the inbox reads, follows the thread however a reply is made or
    deleted: the student's own note never answers."""
    classroom = _class_with(teacher, student)
    attempt = _attempt(_exercise(teacher, classroom, "Scales"), student, 10)
    db.session.commit()
    exercise = attempt.exercise

    post_comment(exercise, student, text="My own note", parent=attempt)
    assert attempt.answered_at is None
    first = post_comment(exercise, teacher, text="Good", parent=attempt)
    assert attempt.answered_at == first.created_at
    second = post_comment(exercise, teacher, text="And the wrist", parent=attempt)
    delete_comment(first)
    assert attempt.answered_at == second.created_at
    delete_comment(second)
    db.session.refresh(attempt)
    assert attempt.answered_at is None
    assert inbox_count(teacher) == 1


def test_the_exercise_filter_offers_the_exercises_with_the_most_waiting(
    app, teacher, student, monkeypatch
):
    monkeypatch.setattr(inbox_module, "FILTER_EXERCISES", 1)
    classroom = _class_with(teacher, student)
    scales = _exercise(teacher, classroom, "Scales")
    chords = _exercise(teacher, classroom, "Chords")
    _attempt(scales, student, 3)
    _attempt(chords, student, 2)
    _attempt(chords, student, 1)
    db.session.commit()
    assert [(e.name, n) for e, n in inbox_module.waiting_exercises(teacher)] == [("Chords", 2)]


def test_a_full_inbox_shows_the_oldest_and_says_newer_ones_wait(
    teacher_client, teacher, student, monkeypatch
):
    monkeypatch.setattr(inbox_module, "INBOX_PAGE", 1)
    classroom = _class_with(teacher, student)
    exercise = _exercise(teacher, classroom, "Scales")
    older, newer = _attempt(exercise, student, 9), _attempt(exercise, student, 1)
    db.session.commit()
    page = teacher_client.get("/comments/inbox").get_data(as_text=True)
    assert f"inbox-{older.id}" in page and f"inbox-{newer.id}" not in page
    assert "Newer attempts are waiting too" in page
