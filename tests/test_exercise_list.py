"""The exercise list and page: what each reader sees per row, search as you type, pages, and
a number of SQL queries that does not grow with the rows."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from practika.classes.models import ClassMember, Classroom, MemberRole
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.exercises.listing import PER_PAGE
from practika.exercises.services import create_exercise
from practika.extensions import db
from tests.conftest import _make_user, log_in, publish_to, put_in, sql_statements

HTMX_SEARCH = {"HX-Request": "true", "HX-Target": "exercise-results"}


def exercises(teacher, count: int, name: str = "Drill", to: Classroom | None = None):
    """``count`` exercises of the teacher's: drafts, or published to the class ``to``."""
    made = [
        create_exercise(name=f"{name} {n}", description="", author=teacher) for n in range(count)
    ]
    db.session.commit()
    if to is not None:
        for exercise in made:
            publish_to(exercise, to)
    return made


def attempt(exercise, student, status: str = "ready", answered_by=None) -> VideoComment:
    renditions = {"360p": {"path": "x", "height": 360}} if status == "ready" else {}
    video = VideoAsset(owner=student, processing_status=status, renditions=renditions)
    made = VideoComment(
        exercise=exercise, author=student, kind=CommentKind.ATTEMPT, video_asset=video
    )
    db.session.add(made)
    if answered_by is not None:
        db.session.add(VideoComment(exercise=exercise, author=answered_by, parent=made, text="Ok"))
    db.session.commit()
    return made


def queries(client, url: str) -> int:
    """The SQL statements one request runs (it has its own session: nothing is cached)."""
    with sql_statements() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_the_teacher_sees_attempts_awaiting_feedback(teacher_client, teacher, student, classroom):
    first, second = exercises(teacher, 2, to=classroom)
    attempt(first, student)
    attempt(first, student)
    attempt(second, student, answered_by=teacher)
    page = teacher_client.get("/exercises/").get_data(as_text=True)
    assert page.count("awaiting feedback") == 1 and "2 awaiting feedback" in page


def test_the_student_sees_the_state_of_their_latest_attempt(client, teacher, student, classroom):
    done, waiting, _untried = exercises(teacher, 3, to=classroom)
    attempt(done, student, "ready", answered_by=teacher)
    attempt(waiting, student, "ready", answered_by=teacher)
    attempt(waiting, student, "processing")  # the newest decides
    log_in(client, student.email)
    page = client.get("/exercises/").get_data(as_text=True)
    assert page.count("Feedback received") == 1 and page.count("Processing") == 1
    assert page.count("Not tried yet") == 1


def test_search_as_you_type_returns_the_results_alone(student_client, teacher, classroom):
    exercises(teacher, 2, "Scales", to=classroom)
    exercises(teacher, 1, "Arpeggio", to=classroom)
    results = student_client.get("/exercises/?q=arpe", headers=HTMX_SEARCH)
    html = results.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="exercise-results"') and "<header" not in html
    assert "Arpeggio 0" in html and "Scales" not in html
    nothing = student_client.get("/exercises/?q=100%25_", headers=HTMX_SEARCH)  # no wildcards
    assert "Nothing matches" in nothing.get_data(as_text=True)


def test_pages(student_client, teacher, classroom):
    exercises(teacher, PER_PAGE + 2, to=classroom)
    first = student_client.get("/exercises/").get_data(as_text=True)
    second = student_client.get("/exercises/?page=2").get_data(as_text=True)
    assert first.count('class="card"') == PER_PAGE and second.count('class="card"') == 2
    assert "Page 1" in first and 'rel="next"' in first and 'rel="prev"' in second
    assert 'rel="next"' not in second
    beyond = student_client.get("/exercises/?page=99").get_data(as_text=True)
    assert "No more exercises" in beyond


def test_a_co_teachers_pages_merge_their_own_and_the_class_exercises_newest_first(
    app, teacher, classroom
):
    """Their own exercises and those published to their classes are read apart and merged:
    every page in order, none twice, none missed, searched or not."""
    co_teacher = _make_user("teacher", "cory")
    classroom.members.append(ClassMember(user=co_teacher, role=MemberRole.TEACHER))
    made = []
    for n in range(2 * PER_PAGE + 3):  # interleaved in time: theirs, the class's, theirs...
        author = co_teacher if n % 3 else teacher
        (exercise,) = exercises(author, 1, name=f"Drill {n:02}", to=classroom if n % 2 else None)
        exercise.created_at = datetime(2026, 1, 1) + timedelta(minutes=n)
        made.append(exercise)
    db.session.commit()
    visible = [e.name for e in reversed(made) if e.created_by == co_teacher or e.is_published]
    client = app.test_client()
    log_in(client, co_teacher.email)

    def page_names(url: str) -> list[str]:
        return re.findall(r"Drill \d\d 0", client.get(url).get_data(as_text=True))

    listed = [name for page in (1, 2, 3) for name in page_names(f"/exercises/?page={page}")]
    assert listed == visible
    assert page_names("/exercises/?q=drill+1") == [n for n in visible if "1" in n]


@pytest.mark.parametrize("role", ["teacher", "student"])
def test_the_list_runs_a_fixed_number_of_queries(client, teacher, student, classroom, role):
    log_in(client, {"teacher": teacher, "student": student}[role].email)
    one = exercises(teacher, 1, to=classroom)
    attempt(one[0], student, answered_by=teacher)
    few = queries(client, "/exercises/")
    for exercise in exercises(teacher, 6, "More", to=classroom):
        attempt(exercise, student)
        attempt(exercise, student, answered_by=teacher)
    assert queries(client, "/exercises/") == few


def test_the_exercise_page_and_discussion_run_fixed_numbers_of_queries(
    client, teacher, student, classroom
):
    (exercise,) = exercises(teacher, 1, to=classroom)
    log_in(client, teacher.email)
    others = [_make_user("student", f"s{n}") for n in range(5)]
    for other in others:
        put_in(classroom, other)

    def talk(who):
        thread = VideoComment(exercise=exercise, author=who, text="Q")
        db.session.add_all(
            [thread, VideoComment(exercise=exercise, author=teacher, parent=thread, text="A")]
        )
        attempt(exercise, who, answered_by=teacher)

    talk(student)
    pages = (f"/exercises/{exercise.id}", f"/comments/exercises/{exercise.id}/discussion")
    client.get("/exercises/")  # the first request after logging in records the activity
    few = [queries(client, page) for page in pages]
    for other in others:
        talk(other)
    assert [queries(client, page) for page in pages] == few


@pytest.mark.parametrize(
    ("replier", "answered"), [("teacher", True), ("staff_user", True), ("student", False)]
)
def test_every_list_agrees_on_what_answered_means(
    client, request, teacher, student, classroom, replier, answered
):
    """One rule: someone other than the student wrote in the attempt's thread (only its
    teacher and staff can). A staff reply once answered the attempt on the student's list
    and left it awaiting on the teacher's; the student's own follow-up answers nothing."""
    (exercise,) = exercises(teacher, 1, to=classroom)
    attempt(exercise, student, answered_by=request.getfixturevalue(replier))
    log_in(client, teacher.email)
    listed = client.get("/exercises/").get_data(as_text=True)
    assert ("1 awaiting feedback" in listed) is not answered
    rows = client.get(f"/comments/exercises/{exercise.id}/attempts").get_data(as_text=True)
    assert ("Feedback 1" in rows) is answered and ("Awaiting feedback" in rows) is not answered
    client.post("/accounts/logout")
    log_in(client, student.email)
    listed = client.get("/exercises/").get_data(as_text=True)
    assert ("Feedback received" in listed) is answered
    rows = client.get(f"/comments/exercises/{exercise.id}/attempts").get_data(as_text=True)
    assert ("Feedback 1" in rows) is answered and ("No feedback yet" in rows) is not answered
