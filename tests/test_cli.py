"""``flask admin``: create-user and seed-demo, with --help everywhere."""

import pytest
import sqlalchemy as sa

from practika.accounts.models import User
from practika.cli import admin
from practika.comments.models import VideoComment
from practika.core.models import VideoAsset, VideoClip
from practika.demo import DEMO_CLIPS
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.recount import recompute_metrics
from practika.storage import get_storage
from tests.conftest import count_rows


@pytest.mark.parametrize("command", [[], *([name] for name in admin.commands)])
def test_every_admin_command_has_help(runner, command):
    result = runner.invoke(args=["admin", *command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_create_user_reads_the_password_from_stdin(runner):
    result = runner.invoke(
        args=[
            *(
                "admin create-user --email New@Example.com --username newbie --role teacher "
                "--password-stdin"
            ).split(),
        ],
        input="a long secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created newbie <new@example.com> (teacher)." in result.output
    user = db.session.scalar(sa.select(User).where(User.username == "newbie"))
    assert user.check_password("a long secret")
    assert user.is_teacher and not user.is_staff


def test_create_user_prompts_for_the_password_twice(runner):
    result = runner.invoke(
        args=[
            *"admin create-user --email boss@example.com --username boss --staff".split(),
        ],
        input="a long secret\na long secret\n",
    )
    assert result.exit_code == 0, result.output
    assert "(staff)" in result.output
    assert db.session.scalar(sa.select(User).where(User.username == "boss")).is_staff


def test_create_user_has_no_password_argument(runner):
    result = runner.invoke(
        args=[
            *(
                "admin create-user --email a@example.com --username a --password "
                "on-the-command-line"
            ).split(),
        ],
    )
    assert result.exit_code == 2
    assert "No such option" in result.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--email", "tess@example.com", "--username", "x"], "long enough\n", "email is already"),
        (
            ["--email", "x@example.com", "--username", "tess"],
            "long enough\n",
            "username is already",
        ),
        (["--email", "not-an-email", "--username", "x"], "long enough\n", "not an email"),
        (["--email", "x@example.com", "--username", "x"], "ninechars\n", "at least 10"),
        (["--email", "x@example.com", "--username", "x"], "\n", "no password"),
        (["--email", "x@example.com", "--username", "x", "--role", "wizard"], "", "wizard"),
    ],
)
def test_create_user_errors_are_clear(runner, teacher, args, stdin, message):
    before = count_rows(User)
    result = runner.invoke(args=["admin", "create-user", *args, "--password-stdin"], input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert count_rows(User) == before


def test_seed_demo_creates_accounts_and_a_playable_exercise_once(runner):
    result = runner.invoke(args=["admin", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "teacher@practika.test / practika-lesson-plan" in result.output
    exercise = db.session.scalar(sa.select(Exercise))
    asset = exercise.video_asset
    # Stored like any upload and through the pipeline already, so its clips could be marked.
    assert asset.processing_status == "ready" and asset.orig_filename == "demo-pattern.mp4"
    assert get_storage().exists(asset.storage_path)
    assert [clip.title for clip in exercise.clips] == [title for *_, title in DEMO_CLIPS]
    assert "3 clips" in result.output

    again = runner.invoke(args=["admin", "seed-demo"])
    assert again.exit_code == 0
    assert "already there" in again.output
    assert count_rows(Exercise) == 1 and count_rows(VideoAsset) == 2 and count_rows(User) == 3
    assert count_rows(VideoClip) == 3
    assert count_rows(VideoComment) == 4 and recompute_metrics() == []


def test_seed_demo_refuses_production(runner, app):
    app.config["ENV_NAME"] = "production"
    result = runner.invoke(args=["admin", "seed-demo"])
    assert result.exit_code == 1
    assert "refusing" in result.output
    assert count_rows(User) == 0


def test_send_test_mail_queues_a_message(runner):
    from practika.queue import get_queue

    result = runner.invoke(args=["admin", "send-test-mail", "ops@example.com"])
    assert result.exit_code == 0, result.output
    assert "for ops@example.com (backend: outbox)" in result.output
    assert len(get_queue("mail")) == 1
