"""A school's worth of classes: the pages teachers and students open most, next to a bare
route, under real gunicorn.

Seeds a migrated database (SQLite, or PostgreSQL with ``--postgres``) with 50 teachers, each
teaching 4 classes of 30 students (200 classes, 6,000 students; the first class of each
teacher has the next teacher as co-teacher), 2,000 exercises (40 a teacher, each published
to some of its teacher's classes) and 100,000 attempts, each with its own video (a few still
processing or failed), about half answered by a teacher, a tenth marked reviewed, some with
the student's own reply. Then measures, as one teacher (120 students, about 2,000 attempts)
and one of their students: the teacher's exercise list, review inbox (all classes and one
class) and a class page with its progress grid; the student's exercise list and their
attempts page; against ``/bench/hello`` (how: bench/pagebench.py).

Targets: every page >= 0.2 of hello's requests per second, p95 < 50 ms. It exits 0 whether
or not they are met, and non-zero on any HTTP error.
Run: make bench  (or .venv/bin/python bench/bench_classes.py [--postgres] [--help])
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from pagebench import Route, add_people, insert, ready_asset, run

from practika.accounts.models import RoleName
from practika.classes.models import ClassMember, Classroom, MemberRole, new_join_code
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import ProcessingStatus, VideoAsset
from practika.exercises.models import Exercise, Publication
from practika.extensions import db

TEACHERS = 50
CLASSES_EACH = 4
STUDENTS_A_CLASS = 30
EXERCISES_EACH = 40
ATTEMPTS = 100_000
START = datetime(2025, 9, 1)
YEAR_MINUTES = 365 * 24 * 60


def _people() -> list[int]:
    people = [
        (f"teacher{t:02}", f"Teacher{t:02}", "Bench", RoleName.TEACHER) for t in range(TEACHERS)
    ]
    people += [
        (f"student{n:04}", f"Student{n:04}", "Bench", RoleName.STUDENT)
        for n in range(TEACHERS * CLASSES_EACH * STUDENTS_A_CLASS)
    ]
    return add_people(people, START)


def _attempt_rows(
    rng: random.Random, student: int, exercise: uuid.UUID, teachers: list[int]
) -> tuple[list[dict], dict]:
    """One attempt with its video, and what answers it: a teacher's time-coded feedback
    (about half), a mark as reviewed (a tenth), the student's own note (some)."""
    when = START + timedelta(minutes=rng.randrange(YEAR_MINUTES))
    roll = rng.random()
    status = (
        ProcessingStatus.FAILED
        if roll < 0.01
        else ProcessingStatus.PROCESSING
        if roll < 0.03
        else ProcessingStatus.READY
    )
    seconds = float(rng.randint(15, 60))
    asset = ready_asset(student, when, 720, 1280, seconds, status)
    attempt = {
        "id": uuid.uuid4(),
        "exercise_id": exercise,
        "author_id": student,
        "text": "My take.",
        "video_asset_id": asset["id"],
        "parent_id": None,
        "at_seconds": None,
        "kind": CommentKind.ATTEMPT,
        "answered_at": None,
        "reviewed_at": None,
        "seen_by_author_at": None,
        "created_at": when,
        "updated_at": when,
    }
    rows = [attempt]

    def reply(author: int, at: datetime, at_seconds: float | None) -> dict:
        return {
            **attempt,
            "id": uuid.uuid4(),
            "author_id": author,
            "text": "Watch the wrist here.",
            "video_asset_id": None,
            "parent_id": attempt["id"],
            "at_seconds": at_seconds,
            "kind": CommentKind.COMMENT,
            "answered_at": None,
            "reviewed_at": None,
            "seen_by_author_at": None,
            "created_at": at,
            "updated_at": at,
        }

    if rng.random() < 0.05:
        rows.append(reply(student, when + timedelta(minutes=1), None))
    answer = rng.random()
    if answer < 0.5 and status == ProcessingStatus.READY:
        answered = when + timedelta(hours=rng.randint(1, 72))
        rows.append(reply(rng.choice(teachers), answered, round(rng.uniform(0, seconds), 1)))
        attempt["answered_at"] = answered
        if rng.random() < 0.7:
            attempt["seen_by_author_at"] = answered + timedelta(hours=2)
    elif answer < 0.6:
        attempt["reviewed_at"] = when + timedelta(hours=rng.randint(1, 72))
    return rows, asset


def seed() -> list[Route]:
    rng = random.Random(20250901)
    user_ids = _people()
    teachers, students = user_ids[:TEACHERS], user_ids[TEACHERS:]

    classes, members, class_teachers = [], [], []
    for t, teacher in enumerate(teachers):
        for c in range(CLASSES_EACH):
            number = t * CLASSES_EACH + c
            class_id = uuid.uuid4()
            classes.append(
                {
                    "id": class_id,
                    "name": f"Group {number + 1}",
                    "join_code": new_join_code(),
                    "joining_open": True,
                    "created_by_id": teacher,
                    "created_at": START,
                    "updated_at": START,
                }
            )
            taught_by = [teacher] + ([teachers[(t + 1) % TEACHERS]] if c == 0 else [])
            class_teachers.append(taught_by)
            members += [
                {"class_id": class_id, "user_id": u, "role": MemberRole.TEACHER, "joined_at": START}
                for u in taught_by
            ]
            first = number * STUDENTS_A_CLASS
            members += [
                {"class_id": class_id, "user_id": u, "role": MemberRole.STUDENT, "joined_at": START}
                for u in students[first : first + STUDENTS_A_CLASS]
            ]

    assets, exercises, publications = [], [], []
    published_to: list[list[uuid.UUID]] = [[] for _ in classes]
    for t, teacher in enumerate(teachers):
        for n in range(EXERCISES_EACH):
            when = START + timedelta(hours=t * EXERCISES_EACH + n)
            asset = ready_asset(teacher, when, 1280, 720, float(rng.randint(30, 240)))
            assets.append(asset)
            exercise_id = uuid.uuid4()
            exercises.append(
                {
                    "id": exercise_id,
                    "name": f"Etude {n + 1} of teacher {t + 1}",
                    "description": "Slowly first, then at tempo.",
                    "video_asset_id": asset["id"],
                    "created_by_id": teacher,
                    "created_at": when,
                    "updated_at": when,
                }
            )
            mine = range(t * CLASSES_EACH, (t + 1) * CLASSES_EACH)
            chosen = [c for c in mine if rng.random() < 0.6] or [rng.choice(mine)]
            for c in chosen:
                publications.append(
                    {"exercise_id": exercise_id, "class_id": classes[c]["id"], "published_at": when}
                )
                published_to[c].append(exercise_id)

    comments = []
    for _ in range(ATTEMPTS):
        number = rng.randrange(len(students))
        c = number // STUDENTS_A_CLASS
        rows, asset = _attempt_rows(
            rng, students[number], rng.choice(published_to[c]), class_teachers[c]
        )
        comments += rows
        assets.append(asset)

    insert(Classroom, classes)
    insert(ClassMember, members)
    insert(VideoAsset, assets)
    insert(Exercise, exercises)
    insert(Publication, publications)
    insert(VideoComment, comments)
    db.session.commit()
    print(
        f"  {len(user_ids)} users, {len(classes)} classes, {len(exercises)} exercises "
        f"({len(publications)} publications), {ATTEMPTS} attempts, "
        f"{len(comments) - ATTEMPTS} replies"
    )

    teacher, student = "teacher00@bench.test", "student0000@bench.test"
    first_class = classes[0]["id"]
    return [
        Route("list", "/exercises/", 0.2, teacher),
        Route("inbox", "/comments/inbox", 0.2, teacher),
        Route("inbox_class", f"/comments/inbox?class={first_class}", 0.2, teacher),
        Route("class_grid", f"/classes/{first_class}", 0.2, teacher),
        Route("student_list", "/exercises/", 0.2, student),
        Route("student_mine", "/comments/mine", 0.2, student),
    ]


if __name__ == "__main__":
    run(__doc__, seed)
