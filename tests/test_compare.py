"""The compare view on an attempt's page: the alignment it shows and plays by, the nudge a
student or teacher saves (and the numbers it refuses), and two takes of one student side by
side, never another student's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from practika.comments.compare import Mapping
from practika.comments.models import AlignedBy, AttemptAlignment, CommentKind, VideoComment
from practika.core.models import VideoAsset, VideoClip
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.model_base import utcnow
from tests.conftest import _make_user, log_in, publish_to, put_in

HTMX = {"HX-Request": "true"}


def ready_video(owner, width: int = 640, height: int = 360, seconds: float = 12.0) -> VideoAsset:
    rendition = {"path": "videos/x/360p.mp4", "height": min(width, height)}
    asset = VideoAsset(
        owner=owner,
        processing_status="ready",
        duration_sec=seconds,
        width=width,
        height=height,
        renditions={"360p": rendition},
    )
    db.session.add(asset)
    return asset


@pytest.fixture
def exercise(app, teacher, classroom):
    """A 12 s landscape model with a clip from 4 s to 6 s, published to the student's class."""
    exercise = Exercise(name="Scales", created_by=teacher, video_asset=ready_video(teacher))
    exercise.clips.append(
        VideoClip(
            original_video=exercise.video_asset,
            clip_hash="c" * 64,
            start_time=4,
            end_time=6,
            duration=2,
            title="The turn",
        )
    )
    return publish_to(exercise, classroom)


def take(exercise, author, days_ago: int = 0, **size) -> VideoComment:
    attempt = VideoComment(
        exercise=exercise,
        author=author,
        kind=CommentKind.ATTEMPT,
        video_asset=ready_video(author, seconds=8.0, **size),
    )
    attempt.created_at = utcnow() - timedelta(days=days_ago)
    db.session.add(attempt)
    db.session.commit()
    return attempt


def another_video(owner) -> uuid.UUID:
    """A video the attempt does not have (the take it had before a replacement)."""
    asset = ready_video(owner)
    db.session.flush()
    return asset.id


def align(attempt, by=AlignedBy.SOUND, offset=2.0, confidence=12.0, rate=1.0, take=None):
    """Store an alignment as the worker (or a nudge) would; ``take`` names another video,
    for a stale one."""
    row = AttemptAlignment(
        attempt=attempt,
        take_asset_id=take or attempt.video_asset_id,
        model_asset_id=attempt.exercise.video_asset_id,
        aligned_by=by,
        offset_sec=offset,
        confidence=confidence,
        rate=rate,
    )
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def attempt(exercise, student):
    return take(exercise, student)


def page_of(client, attempt, **headers):
    return client.get(f"/comments/attempts/{attempt.id}", headers=headers)


def save(client, attempt, offset, **headers):
    return client.post(
        f"/comments/attempts/{attempt.id}/alignment", data={"offset": offset}, headers=headers
    )


def stored(attempt) -> AttemptAlignment | None:
    db.session.expire_all()
    return db.session.get(AttemptAlignment, attempt.id)


# What the page says and plays by


def test_a_sure_sound_match_lines_the_model_up(student_client, attempt):
    align(attempt, offset=2.0, confidence=12.0)
    body = page_of(student_client, attempt).get_data(as_text=True)
    assert "Lined up by sound (sure)" in body
    assert 'data-offset="2.0"' in body
    assert f'data-play-together data-for="player-{attempt.video_asset_id}' in body


def test_a_likely_match_says_so(student_client, attempt):
    align(attempt, confidence=9.0)
    assert "Lined up by sound (likely)" in page_of(student_client, attempt).get_data(as_text=True)


@pytest.mark.parametrize(
    "row",
    [
        {"by": AlignedBy.NONE, "offset": None, "confidence": 6.0},  # too doubtful to trust
        {"by": AlignedBy.NONE, "offset": None, "confidence": None},  # no common sound
    ],
    ids=["doubtful", "no-sound"],
)
def test_without_a_trusted_match_both_start_together(student_client, attempt, row):
    align(attempt, **row)
    body = page_of(student_client, attempt).get_data(as_text=True)
    assert "Started together" in body
    assert 'data-offset="0.0"' in body


def test_a_take_recorded_against_a_clip_starts_with_it(student_client, attempt):
    """Not lined up by sound, a take recorded against a clip starts where the clip does."""
    row = align(attempt, by=AlignedBy.NONE, offset=None, confidence=None)
    row.clip_id = attempt.exercise.clips[0].id
    db.session.commit()
    body = page_of(student_client, attempt).get_data(as_text=True)
    assert "Started together" in body and 'data-offset="4.0"' in body


def test_a_stale_match_is_measured_again_and_not_used(student_client, attempt):
    """An alignment about a take the attempt no longer has: the page starts both together
    and asks the worker to measure the take it has now."""
    align(attempt, take=another_video(attempt.author))
    body = page_of(student_client, attempt).get_data(as_text=True)
    assert "Lining up by sound" in body and 'data-offset="0.0"' in body


def test_while_measuring_the_line_polls_until_done(student_client, attempt):
    align(attempt, by=AlignedBy.WAITING, offset=None, confidence=None)
    page = page_of(student_client, attempt).get_data(as_text=True)
    assert "Lining up by sound…" in page and 'hx-trigger="load delay:2s"' in page
    url = f"/comments/attempts/{attempt.id}/alignment"
    fragment = student_client.get(url, headers=HTMX).get_data(as_text=True)
    assert f'id="alignment-{attempt.id}"' in fragment and "<html" not in fragment
    assert 'hx-trigger="load delay:2s"' in fragment
    row = stored(attempt)
    row.aligned_by, row.offset_sec, row.confidence = AlignedBy.SOUND, 1.5, 20.0
    db.session.commit()
    done = student_client.get(url, headers=HTMX).get_data(as_text=True)
    assert "Lined up by sound (sure)" in done and "hx-trigger" not in done
    assert 'data-model-offset="1.5"' in done


# The nudge


def test_the_student_saves_a_nudge_keeping_rate_and_clip(student_client, attempt, exercise):
    row = align(attempt, by=AlignedBy.NONE, offset=None, confidence=None, rate=0.5)
    row.clip_id = exercise.clips[0].id
    db.session.commit()
    response = save(student_client, attempt, "-0.3", **HTMX)
    assert response.status_code == 200
    assert "Lined up by hand. Saved." in response.get_data(as_text=True)
    row = stored(attempt)
    assert (row.aligned_by, row.offset_sec, row.rate) == (AlignedBy.MANUAL, -0.3, 0.5)
    assert row.clip_id == exercise.clips[0].id


def test_a_teacher_saves_a_nudge_without_javascript(client, teacher, attempt):
    log_in(client, teacher.email)
    response = save(client, attempt, "1.2")
    assert response.status_code == 303 and response.location.endswith(f"/attempts/{attempt.id}")
    row = stored(attempt)
    assert (row.aligned_by, row.offset_sec) == (AlignedBy.MANUAL, 1.2)
    assert row.take_asset_id == attempt.video_asset_id


def test_a_nudge_replaces_a_stale_alignment(student_client, attempt):
    align(attempt, take=another_video(attempt.author))
    assert save(student_client, attempt, "0.4", **HTMX).status_code == 200
    row = stored(attempt)
    assert (row.take_asset_id, row.offset_sec, row.rate) == (attempt.video_asset_id, 0.4, 1.0)


@pytest.mark.parametrize("offset", ["nan", "inf", "-inf", "soon", "", "72.5", "-72.5", "1e309"])
def test_an_absurd_offset_is_refused(student_client, attempt, offset):
    """The model is 12 s long: an offset may reach a minute past either end, no further."""
    response = save(student_client, attempt, offset, **HTMX)
    assert response.status_code == 422
    assert "The offset must be" in response.get_data(as_text=True)
    assert stored(attempt) is None


def test_the_longest_offset_is_kept(student_client, attempt):
    assert save(student_client, attempt, "-72", **HTMX).status_code == 200
    assert stored(attempt).offset_sec == -72


def test_others_may_not_see_or_nudge_an_attempt(client, attempt, classroom):
    classmate = _make_user("student", "kim")
    put_in(classroom, classmate)
    stranger = _make_user("teacher", "otto")
    for person in (classmate, stranger):
        log_in(client, person.email)
        assert save(client, attempt, "1", **HTMX).status_code == 404
        assert client.get(f"/comments/attempts/{attempt.id}/alignment").status_code == 404
    assert stored(attempt) is None


def test_a_nudge_needs_the_csrf_token(app, student_client, attempt):
    app.config["WTF_CSRF_ENABLED"] = True
    assert save(student_client, attempt, "1", **HTMX).status_code == 400
    assert stored(attempt) is None


# Two takes of one student


def test_first_vs_latest_opens_both_takes_lined_up_through_the_model(
    student_client, exercise, student
):
    first = take(exercise, student, days_ago=3, width=360, height=640)
    latest = take(exercise, student)
    align(first, offset=1.0)
    align(latest, offset=3.0)
    page = page_of(student_client, latest).get_data(as_text=True)
    pair = f"/comments/attempts/{latest.id}/compare/{first.id}"
    assert f'href="{pair}"' in page and "First vs latest" in page

    body = student_client.get(pair).get_data(as_text=True)
    assert f'id="player-{latest.video_asset_id}"' in body
    assert f'id="player-{first.video_asset_id}"' in body
    # A moment t of the latest is 3 + t of the model, which the first shows at t + 2.
    assert 'data-offset="2.0" data-rate="1.0"' in body
    assert f'data-follower="player-{first.video_asset_id}"' in body
    assert "Lining up" not in body and "Model ahead by" not in body  # the nudge is per take


def test_one_take_offers_no_pairs(student_client, attempt):
    assert "First vs latest" not in page_of(student_client, attempt).get_data(as_text=True)


def test_every_other_take_can_be_picked(student_client, exercise, student):
    takes = [take(exercise, student, days_ago=n) for n in (3, 2, 1)]
    page = page_of(student_client, takes[1]).get_data(as_text=True)
    for other in (takes[0], takes[2]):
        assert f"/comments/attempts/{takes[1].id}/compare/{other.id}" in page


def test_a_teacher_compares_their_students_takes(client, teacher, exercise, student):
    first, latest = take(exercise, student, days_ago=1), take(exercise, student)
    log_in(client, teacher.email)
    response = client.get(f"/comments/attempts/{latest.id}/compare/{first.id}")
    assert response.status_code == 200


def test_takes_of_two_students_never_meet(client, exercise, student, classroom, teacher):
    classmate = _make_user("student", "kim")
    put_in(classroom, classmate)
    mine, theirs = take(exercise, student), take(exercise, classmate)
    elsewhere = publish_to(
        Exercise(name="Arpeggios", created_by=teacher, video_asset=ready_video(teacher)),
        classroom,
    )
    other_exercise = take(elsewhere, student)
    log_in(client, student.email)
    for a, b in [(mine, theirs), (theirs, mine), (mine, other_exercise), (mine, mine)]:
        assert client.get(f"/comments/attempts/{a.id}/compare/{b.id}").status_code == 404
    log_in(client, teacher.email)  # sees both, still not one student's takes
    assert client.get(f"/comments/attempts/{mine.id}/compare/{theirs.id}").status_code == 404


def test_a_classmate_never_sees_a_pair(client, exercise, student, classroom):
    first, latest = take(exercise, student, days_ago=1), take(exercise, student)
    classmate = _make_user("student", "kim")
    put_in(classroom, classmate)
    log_in(client, classmate.email)
    response = client.get(f"/comments/attempts/{latest.id}/compare/{first.id}")
    assert response.status_code == 404


def test_a_comment_is_no_take_to_compare(student_client, attempt, exercise, student):
    note = VideoComment(exercise=exercise, author=student, text="A question")
    db.session.add(note)
    db.session.commit()
    url = f"/comments/attempts/{attempt.id}/compare/{note.id}"
    assert student_client.get(url).status_code == 404


# The arithmetic


def test_mappings_compose_and_invert():
    lead_to_model, other_to_model = Mapping(3.0, 0.5), Mapping(1.0, 1.0)
    lead_to_other = lead_to_model.then(other_to_model.inverse())
    t = 4.0
    model = lead_to_model.offset + lead_to_model.rate * t
    other = lead_to_other.offset + lead_to_other.rate * t
    assert other_to_model.offset + other_to_model.rate * other == pytest.approx(model)


def test_opening_a_take_without_an_alignment_asks_for_one(student_client, exercise, student):
    portraits = take(exercise, student, width=360, height=640)
    assert page_of(student_client, portraits).status_code == 200
    row = db.session.scalar(sa.select(AttemptAlignment))
    assert (row.aligned_by, row.offset_sec) == (AlignedBy.WAITING, None)


def test_an_attempt_with_an_alignment_can_be_deleted(attempt):
    """Deleting the attempt (its exercise's or its student's deletion does, through the
    session) deletes its alignment with it: the row's key is the attempt's."""
    align(attempt)
    db.session.delete(attempt)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttemptAlignment)) == 0


def test_an_attempt_whose_video_is_gone_has_nothing_to_nudge(student_client, attempt):
    attempt.video_asset_id = None
    db.session.commit()
    assert save(student_client, attempt, "1.0").status_code == 404


def test_a_nudge_on_a_stale_row_keeps_what_the_take_was_recorded_at(student_client, attempt):
    """A take replaced since it was measured: the nudge is about the new take, at the speed
    and clip the row names."""
    row = align(attempt, take=another_video(attempt.author), rate=0.5)
    row.clip_id = attempt.exercise.clips[0].id
    db.session.commit()
    assert save(student_client, attempt, "3.5").status_code == 303
    db.session.expire_all()
    row = db.session.get(AttemptAlignment, attempt.id)
    assert (row.aligned_by, row.offset_sec, row.rate) == ("manual", 3.5, 0.5)
    assert row.take_asset_id == attempt.video_asset_id and row.clip_id is not None
