"""``flask admin set-role``, ``deactivate`` and ``metrics``, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from practika.accounts.models import RoleName, User, UserMetrics
from practika.accounts.services.users import authenticate, create_user
from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset, VideoType
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.recount import Drift, recompute_metrics
from tests.conftest import PASSWORD, sql_statements


def make_user(name: str, role: str | None = None, *, staff: bool = False) -> User:
    user = create_user(
        email=f"{name}@example.com", username=name, password=PASSWORD, role=role, is_staff=staff
    )
    db.session.commit()
    return user


def invoke(runner, *args: str):
    return runner.invoke(args=["admin", *args])


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("set-role", "EMAIL_OR_USERNAME {student|teacher}"),
        ("deactivate", "Refuses to deactivate the last active staff user."),
        ("metrics", "Exits 1 on drift, unless --fix wrote the true"),
    ],
)
def test_each_command_has_help(runner, name, says):
    result = invoke(runner, name, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert says in " ".join(result.output.split())


# set-role


def test_set_role_switches_role_and_completes_onboarding(runner, student):
    result = invoke(runner, "set-role", "SAM@example.com", "teacher")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sam: student -> teacher."
    user = reload(student)
    assert user.role == RoleName.TEACHER
    assert user.is_teacher


def test_set_role_gives_a_role_to_a_user_without_one_by_username(runner):
    user = make_user("nora")
    assert user.profile.onboarding_completed is False
    result = invoke(runner, "set-role", "nora", "Student")
    assert result.exit_code == 0, result.output
    assert "nora: no role -> student." in result.output
    user = reload(user)
    assert user.role == RoleName.STUDENT
    assert user.profile.onboarding_completed is True


def test_set_role_refuses_an_unknown_user(runner, student):
    result = invoke(runner, "set-role", "nobody@example.com", "teacher")
    assert result.exit_code == 1
    assert "no user with email or username 'nobody@example.com'" in result.output


def test_set_role_refuses_an_unknown_role(runner, student):
    result = invoke(runner, "set-role", "sam", "admin")
    assert result.exit_code == 2  # a usage error, as click reports a bad choice
    assert "'admin' is not one of 'student', 'teacher'" in result.output
    assert reload(student).role == RoleName.STUDENT


# deactivate


def test_deactivate_stops_the_user_logging_in_and_reactivate_undoes_it(runner, student):
    result = invoke(runner, "deactivate", "sam")
    assert result.exit_code == 0, result.output
    assert "Deactivated sam <sam@example.com>" in result.output
    assert reload(student).is_active is False
    assert authenticate("sam", PASSWORD) is None

    result = invoke(runner, "deactivate", "sam@example.com", "--reactivate")
    assert result.exit_code == 0, result.output
    assert "Reactivated sam <sam@example.com>" in result.output
    assert reload(student).is_active is True
    assert authenticate("sam", PASSWORD).id == student.id


def test_deactivate_or_reactivate_again_changes_nothing(runner, student, teacher):
    invoke(runner, "deactivate", "sam")
    result = invoke(runner, "deactivate", "sam")
    assert result.exit_code == 0
    assert "sam is already deactivated; nothing changed." in result.output
    assert reload(student).is_active is False

    result = invoke(runner, "deactivate", "tess", "--reactivate")
    assert result.exit_code == 0
    assert "tess is already active; nothing changed." in result.output
    assert reload(teacher).is_active is True


def test_deactivate_refuses_an_unknown_user(runner):
    result = invoke(runner, "deactivate", "ghost")
    assert result.exit_code == 1
    assert "no user with email or username 'ghost'" in result.output


def test_deactivate_refuses_the_last_active_staff_user(runner, staff_user):
    other = make_user("grace", staff=True)
    other.is_active = False  # an inactive staff user does not count
    db.session.commit()
    result = invoke(runner, "deactivate", "ada")
    assert result.exit_code == 1
    assert "ada is the last active staff user" in result.output
    assert reload(staff_user).is_active is True

    invoke(runner, "deactivate", "grace", "--reactivate")
    result = invoke(runner, "deactivate", "ada")
    assert result.exit_code == 0, result.output
    assert reload(staff_user).is_active is False
    result = invoke(runner, "deactivate", "grace")
    assert result.exit_code == 1
    assert "grace is the last active staff user" in result.output


# metrics


def add_exercise(user: User, name: str = "Scales") -> Exercise:
    exercise = Exercise(name=name, created_by_id=user.id)
    db.session.add(exercise)
    db.session.flush()
    return exercise


def add_comment(exercise: Exercise, author: User, kind: str = CommentKind.COMMENT) -> None:
    db.session.add(VideoComment(exercise_id=exercise.id, author_id=author.id, kind=kind))


def add_video(owner: User, seconds: float | None, video_type: str = VideoType.UPLOAD) -> None:
    db.session.add(VideoAsset(owner_id=owner.id, duration_sec=seconds, video_type=video_type))


@pytest.fixture
def activity(teacher, student):
    """Real rows: tess made 2 exercises, 1 comment and 12.4 + 30.2 s of uploads (plus a
    YouTube link and a video still being probed, which add no time); sam made 2 comments
    (one of them an attempt) and uploaded 2.5 s. Their stored metrics still say zero."""
    scales = add_exercise(teacher)
    add_exercise(teacher, "Arpeggios")
    add_comment(scales, teacher)
    add_comment(scales, student)
    add_comment(scales, student, CommentKind.ATTEMPT)
    add_video(teacher, 12.4)
    add_video(teacher, 30.2)
    add_video(teacher, None)
    add_video(teacher, 600.0, VideoType.YOUTUBE)
    add_video(student, 2.5)
    db.session.commit()


def stored(user: User) -> tuple[int, int, int] | None:
    db.session.expire_all()
    row = db.session.scalar(sa.select(UserMetrics).where(UserMetrics.profile_id == user.profile.id))
    if row is None:
        return None
    return row.exercises_created, row.comments_made, row.total_video_time


def test_metrics_match_says_so(runner, teacher, student):
    result = invoke(runner, "metrics")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Every user's metrics match the data."


def test_recompute_metrics_lists_each_drift(app, teacher, student, activity):
    assert recompute_metrics() == [
        Drift(student.profile.id, "sam", "comments_made", 0, 2),
        Drift(student.profile.id, "sam", "total_video_time", 0, 3),  # 2.5 s rounds up
        Drift(teacher.profile.id, "tess", "exercises_created", 0, 2),
        Drift(teacher.profile.id, "tess", "comments_made", 0, 1),
        Drift(teacher.profile.id, "tess", "total_video_time", 0, 42),  # 12 s + 30 s, each rounded
    ]
    assert stored(teacher) == (0, 0, 0)  # reading changes nothing


def test_metrics_reports_drift_and_exits_1(runner, teacher, student, activity, staff_user):
    result = invoke(runner, "metrics")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "sam: comments_made stored 0, actual 2; total_video_time stored 0, actual 3",
        "tess: exercises_created stored 0, actual 2; comments_made stored 0, actual 1; "
        "total_video_time stored 0, actual 42",
        "5 value(s) drifted for 2 user(s); --fix writes the true values.",
    ]
    assert stored(teacher) == (0, 0, 0)


def test_metrics_fix_writes_the_true_values(runner, teacher, student, activity, staff_user):
    db.session.execute(
        sa.update(UserMetrics)
        .where(UserMetrics.profile_id == staff_user.profile.id)
        .values(comments_made=7)
    )
    db.session.commit()

    result = invoke(runner, "metrics", "--fix")
    assert result.exit_code == 0, result.output
    assert "ada: comments_made stored 7, actual 0" in result.output
    assert "Fixed 6 value(s) for 3 user(s)." in result.output
    assert stored(teacher) == (2, 1, 42)
    assert stored(student) == (0, 2, 3)
    assert stored(staff_user) == (0, 0, 0)

    result = invoke(runner, "metrics")
    assert result.exit_code == 0, result.output
    assert "Every user's metrics match the data." in result.output


def test_metrics_fix_creates_a_missing_metrics_row(runner, teacher, student, activity):
    db.session.execute(sa.delete(UserMetrics).where(UserMetrics.profile_id == student.profile.id))
    db.session.commit()

    result = invoke(runner, "metrics")
    assert result.exit_code == 1
    assert (
        "sam: exercises_created stored none, actual 0; comments_made stored none, actual 2; "
        "total_video_time stored none, actual 3"
    ) in result.output

    result = invoke(runner, "metrics", "--fix")
    assert result.exit_code == 0, result.output
    assert stored(student) == (0, 2, 3)
    assert invoke(runner, "metrics").exit_code == 0


def add_busy_users(first: int, last: int) -> None:
    """Users who each made an exercise, a comment and an upload their metrics do not count."""
    for n in range(first, last):
        user = make_user(f"user{n}", RoleName.TEACHER)
        exercise = add_exercise(user)
        add_comment(exercise, user)
        add_video(user, 10.0)
        db.session.commit()


@pytest.mark.parametrize("fix", [False, True])
def test_metrics_runs_the_same_queries_for_2_users_as_for_6(runner, fix):
    args = ["metrics", "--fix"] if fix else ["metrics"]
    counts = []
    for first, last in [(0, 2), (2, 6)]:
        add_busy_users(first, last)
        if fix:  # make every user drift the same way again
            db.session.execute(
                sa.update(UserMetrics).values(
                    exercises_created=0, comments_made=0, total_video_time=0
                )
            )
            db.session.commit()
        db.session.remove()  # the command starts from an empty session, as in a real run
        with sql_statements() as statements:
            result = invoke(runner, *args)
        assert result.exit_code == (0 if fix else 1), result.output
        assert f"for {last} user(s)" in result.output
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert counts[0] <= (2 if fix else 1)  # read in one query; --fix adds one batched UPDATE
