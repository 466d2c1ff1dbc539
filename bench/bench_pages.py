"""The pages a teacher and students use most, under real gunicorn, next to a bare route.

Seeds a migrated database (SQLite, or PostgreSQL with ``--postgres``) with one teacher, 50
students, 10,000 exercises with ready model videos and 100,000 comments (attempts with their
own videos, replies, time-coded feedback), 500 of them on one "big" exercise. Serves it with
gunicorn as deployed (deploy/gunicorn.conf.py, two workers), logs in as the teacher, and
measures the exercise list (plain and searched), the big exercise's page, its discussion
(which the page loads when scrolled to) and its video's status fragment against
``/bench/hello`` (how: bench/pagebench.py).

Targets: status >= 0.5 of hello's RPS, list and detail >= 0.2, p95 < 50 ms. It exits 0
whether or not they are met, and non-zero on any HTTP error.
Run: make bench  (or .venv/bin/python bench/bench_pages.py [--postgres] [--help])
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from pagebench import Route, add_people, insert, ready_asset, run

from practika.accounts.models import Profile, RoleName, UserMetrics
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db

STUDENTS = 50
EXERCISES = 10_000
COMMENTS = 100_000
BIG_COMMENTS = 500
SEARCH_WORD = "arpeggio"  # one of WORDS, so about one name in forty has it
WORDS = [
    "arpeggio",
    "scale",
    "etude",
    "chord",
    "tremolo",
    "legato",
    "staccato",
    "vibrato",
    "posture",
    "breathing",
    "rhythm",
    "tempo",
    "groove",
    "shuffle",
    "swing",
    "phrasing",
    "dynamics",
    "accent",
    "syncopation",
    "fingering",
    "bowing",
    "strumming",
    "picking",
    "slide",
    "bend",
    "hammer",
    "pull",
    "trill",
    "glissando",
    "pedal",
    "voicing",
    "inversion",
    "cadence",
    "interval",
    "octave",
    "warmup",
    "drill",
    "pattern",
    "rudiment",
    "paradiddle",
]
START = datetime(2024, 1, 1)


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def discussion(
    rng: random.Random, exercise: dict, count: int, teacher: int, students: list[int]
) -> tuple[list[dict], list[dict]]:
    """``count`` comments on one exercise, oldest first (a reply always after its parent):
    plain comments, some time-coded; replies; students' attempts, each with its own ready
    video; and the teacher's time-coded feedback replying to attempts. Returns the comment
    rows and the attempts' video rows."""
    comments: list[dict] = []
    assets: list[dict] = []
    top: list[uuid.UUID] = []
    attempts: list[tuple[dict, float]] = []
    when = exercise["created_at"]
    model_seconds = 90.0
    for _ in range(count):
        when += timedelta(minutes=rng.randint(1, 90))
        row = {
            "id": uuid.uuid4(),
            "exercise_id": exercise["id"],
            "author_id": rng.choice(students),
            "text": sentence(rng, rng.randint(4, 30)),
            "video_asset_id": None,
            "parent_id": None,
            "at_seconds": None,
            "kind": CommentKind.COMMENT,
            "answered_at": None,
            "created_at": when,
            "updated_at": when,
        }
        roll = rng.random()
        if roll < 0.08:
            seconds = float(rng.randint(15, 60))
            asset = ready_asset(row["author_id"], when, 720, 1280, seconds)  # a phone, upright
            assets.append(asset)
            row.update(kind=CommentKind.ATTEMPT, video_asset_id=asset["id"])
            attempts.append((row, seconds))
        elif roll < 0.16 and attempts:
            parent, seconds = rng.choice(attempts)
            row.update(
                author_id=teacher,
                parent_id=parent["id"],
                at_seconds=round(rng.uniform(0, seconds), 1),
            )
            parent["answered_at"] = parent["answered_at"] or when
        elif roll < 0.40 and top:
            row["parent_id"] = rng.choice(top)
            if rng.random() < 0.3:
                row["author_id"] = teacher
        else:
            if rng.random() < 0.1:
                row["author_id"] = teacher
            if rng.random() < 0.3:
                row["at_seconds"] = round(rng.uniform(0, model_seconds), 1)
        if row["parent_id"] is None:
            top.append(row["id"])
        comments.append(row)
    return comments, assets


def seed() -> list[Route]:
    rng = random.Random(20240101)
    people = [("teacher", "Tess", "Teacher", RoleName.TEACHER)]
    people += [
        (f"student{n:02}", f"Student{n:02}", "Bench", RoleName.STUDENT)
        for n in range(1, STUDENTS + 1)
    ]
    user_ids = add_people(people, START)
    teacher, students = user_ids[0], list(user_ids[1:])

    assets: list[dict] = []
    exercises: list[dict] = []
    for n in range(EXERCISES):
        when = START + timedelta(minutes=30 * n)
        asset = ready_asset(teacher, when, 1280, 720, float(rng.randint(30, 240)))
        assets.append(asset)
        name = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {n + 1}"
        exercises.append(
            {
                "id": uuid.uuid4(),
                "name": name,
                "description": sentence(rng, rng.randint(5, 25)),
                "video_asset_id": asset["id"],
                "created_by_id": teacher,
                "created_at": when,
                "updated_at": when,
            }
        )
    big = exercises[EXERCISES // 2]  # neither the newest nor the oldest
    comments, attempt_assets = discussion(rng, big, BIG_COMMENTS, teacher, students)
    others = [e for e in exercises if e is not big]
    per_exercise = defaultdict(int)
    for exercise in rng.choices(range(len(others)), k=COMMENTS - BIG_COMMENTS):
        per_exercise[exercise] += 1
    for index, count in sorted(per_exercise.items()):
        rows, videos = discussion(rng, others[index], count, teacher, students)
        comments += rows
        attempt_assets += videos
    insert(VideoAsset, assets + attempt_assets)
    insert(Exercise, exercises)
    insert(VideoComment, comments)
    db.session.execute(
        sa.update(UserMetrics)
        .where(
            UserMetrics.profile_id
            == sa.select(Profile.id).where(Profile.user_id == teacher).scalar_subquery()
        )
        .values(exercises_created=EXERCISES)
    )
    db.session.commit()
    big_attempts = sum(c["kind"] == CommentKind.ATTEMPT for c in comments[:BIG_COMMENTS])
    print(
        f"  {len(user_ids)} users, {EXERCISES} exercises, {len(comments)} comments "
        f"({len(attempt_assets)} attempts with their videos); the big exercise has "
        f"{BIG_COMMENTS} comments, {big_attempts} of them attempts"
    )
    teacher_login = "teacher@bench.test"
    exercise, asset = big["id"], big["video_asset_id"]
    return [
        Route("list", "/exercises/", 0.2, teacher_login),
        Route("search", f"/exercises/?q={SEARCH_WORD}", 0.2, teacher_login),
        Route("detail", f"/exercises/{exercise}", 0.2, teacher_login),
        # The page fetches its discussion when scrolled to; this is its page-of-its-own
        # form (what a browser without JavaScript gets): the fragment plus the layout.
        Route("comments", f"/comments/exercises/{exercise}/discussion", 0.2, teacher_login),
        Route("status", f"/core/videos/{asset}/status", 0.5, teacher_login),
    ]


if __name__ == "__main__":
    run(__doc__, seed)
