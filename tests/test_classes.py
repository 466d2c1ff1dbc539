"""Classes in the browser: a teacher creates and runs one; students join by code or link."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from practika.accounts.models import RoleName, User
from practika.accounts.services.users import create_user
from practika.classes.models import CODE_ALPHABET, ClassMember, Classroom, MemberRole
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from tests.conftest import PASSWORD, log_in


def _create(client, name: str = "Year 9 guitar") -> Classroom:
    response = client.post("/classes/", data={"name": name})
    assert response.status_code == 303
    db.session.expire_all()
    return db.session.scalar(sa.select(Classroom).where(Classroom.name == name))


def _student(name: str):
    user = create_user(
        email=f"{name}@example.com",
        username=name,
        password=PASSWORD,
        role=RoleName.STUDENT,
        email_verified=True,
    )
    db.session.commit()
    return user


def _members(classroom: Classroom) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(ClassMember).where(ClassMember.class_id == classroom.id))
    return {member.user.username: member.role for member in rows}


def test_a_teacher_creates_a_class_with_a_code_easy_to_read_aloud(teacher_client, teacher):
    classroom = _create(teacher_client)
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{8}}", classroom.join_code)
    assert not set(classroom.join_code) & set("0O1IL2Z5S8B")
    assert _members(classroom) == {"tess": MemberRole.TEACHER}
    page = teacher_client.get(f"/classes/{classroom.id}").get_data(as_text=True)
    assert classroom.display_code in page
    assert f"/classes/join/{classroom.join_code}" in page


def test_a_class_needs_a_name(teacher_client):
    response = teacher_client.post("/classes/", data={"name": "  "})
    assert response.status_code == 422
    assert "Give the class a name." in response.get_data(as_text=True)


def test_students_cannot_create_classes(student_client):
    assert student_client.post("/classes/", data={"name": "Mine"}).status_code == 404


def test_the_qr_code_is_an_svg_of_the_join_link_drawn_here(teacher_client):
    classroom = _create(teacher_client)
    response = teacher_client.get(f"/classes/{classroom.id}/qr.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith('<svg xmlns="http://www.w3.org/2000/svg"')


def test_a_student_joins_by_typing_the_code_in_any_case_with_a_dash(app, teacher_client, student):
    classroom = _create(teacher_client)
    student_client = app.test_client()
    log_in(student_client, student.email)
    typed = f"{classroom.join_code[:4].lower()}-{classroom.join_code[4:]}"
    response = student_client.post("/classes/join", data={"code": typed})
    assert response.status_code == 303
    assert response.location == f"/classes/{classroom.id}"
    assert _members(classroom) == {"tess": MemberRole.TEACHER, "sam": MemberRole.STUDENT}
    again = student_client.post("/classes/join", data={"code": classroom.join_code})
    assert again.status_code == 303  # joining twice is once
    assert len(_members(classroom)) == 2


@pytest.mark.parametrize("change", ["replace", "close", "archive"])
def test_a_replaced_closed_or_archived_code_is_refused_with_a_reason(
    app, teacher_client, student, change
):
    classroom = _create(teacher_client)
    old = classroom.join_code
    action = {
        "replace": ("code", {}),
        "close": ("joining", {"open": "0"}),
        "archive": ("archive", {"archived": "1"}),
    }[change]
    assert (
        teacher_client.post(f"/classes/{classroom.id}/{action[0]}", data=action[1]).status_code
        == 303
    )
    student_client = app.test_client()
    log_in(student_client, student.email)
    response = student_client.get(f"/classes/join/{old}")
    assert response.status_code == 422
    expected = "No class has that code" if change == "replace" else "not taking new students"
    assert expected in response.get_data(as_text=True)
    assert "sam" not in _members(classroom)


def test_a_wrong_code_says_so_and_guessing_is_rate_limited(app, student_client):
    app.config["JOIN_RATE_LIMIT"] = "3 per hour"
    for _ in range(3):
        response = student_client.post("/classes/join", data={"code": "AAAA-AAAA"})
        assert response.status_code == 422
        assert "No class has that code" in response.get_data(as_text=True)
    assert student_client.post("/classes/join", data={"code": "AAAA-AAAA"}).status_code == 429


def test_the_join_link_waits_through_sign_up_confirmation_login_and_role(app, teacher_client):
    """The link is opened logged out; the person signs up, confirms, logs in, chooses
    student, and lands inside the class."""
    classroom = _create(teacher_client)
    newcomer = app.test_client()
    response = newcomer.get(f"/classes/join/{classroom.join_code}")
    assert response.status_code == 302 and response.location == "/accounts/signup"
    create_user(
        email="nia@example.com", username="nia", password=PASSWORD, role=None, email_verified=True
    )
    db.session.commit()
    login = log_in(newcomer, "nia@example.com")
    assert login.location == f"/classes/join/{classroom.join_code}"
    assert newcomer.get(login.location).location == "/accounts/onboarding"
    chosen = newcomer.post("/accounts/onboarding", data={"role": "student"})
    assert chosen.location == f"/classes/join/{classroom.join_code}"
    joined = newcomer.get(chosen.location)
    assert joined.location == f"/classes/{classroom.id}"
    assert _members(classroom)["nia"] == MemberRole.STUDENT


def test_a_teacher_adds_a_co_teacher_by_email_and_removes_a_student(app, teacher_client, student):
    classroom = _create(teacher_client)
    create_user(
        email="cory@example.com",
        username="cory",
        password=PASSWORD,
        role=RoleName.TEACHER,
        email_verified=True,
    )
    db.session.commit()
    added = teacher_client.post(
        f"/classes/{classroom.id}/teachers", data={"email": "Cory@Example.com"}
    )
    assert added.status_code == 303
    db.session.add(ClassMember(class_id=classroom.id, user_id=student.id, role=MemberRole.STUDENT))
    db.session.commit()
    assert _members(classroom) == {"tess": "teacher", "cory": "teacher", "sam": "student"}
    removed = teacher_client.post(f"/classes/{classroom.id}/members/{student.id}/remove")
    assert removed.status_code == 303
    assert _members(classroom) == {"tess": "teacher", "cory": "teacher"}
    nobody = teacher_client.post(
        f"/classes/{classroom.id}/teachers", data={"email": "sam@example.com"}
    )
    assert nobody.status_code == 303
    assert "sam" not in _members(classroom)


def test_only_its_teachers_and_staff_run_a_class(app, teacher_client, student, staff_user):
    classroom = _create(teacher_client)
    stranger = _student("zed")
    for user, status in ((student, 404), (stranger, 404), (staff_user, 200)):
        other = app.test_client()
        log_in(other, user.email)
        assert other.get(f"/classes/{classroom.id}/qr.svg").status_code == status, user.username
        renamed = other.post(f"/classes/{classroom.id}/rename", data={"name": "Taken over"})
        assert renamed.status_code == (303 if status == 200 else 404)


def test_deleting_a_class_keeps_its_students_accounts(teacher_client, student):
    classroom = _create(teacher_client)
    class_id = classroom.id
    db.session.add(ClassMember(class_id=class_id, user_id=student.id, role=MemberRole.STUDENT))
    db.session.commit()
    assert teacher_client.post(f"/classes/{class_id}/delete").status_code == 303
    db.session.expire_all()
    assert db.session.get(Classroom, class_id) is None
    assert db.session.get(User, student.id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClassMember)) == 0


def _exercise(teacher, *, video: str | None = "ready") -> Exercise:
    asset = None
    if video:
        asset = VideoAsset(owner=teacher, orig_filename="model.mp4", processing_status=video)
        if video == "ready":
            asset.renditions = {"360p": {"path": "videos/x/360p.mp4", "height": 360}}
    exercise = Exercise(name="Scales", description="", created_by=teacher, video_asset=asset)
    db.session.add(exercise)
    db.session.commit()
    return exercise


def _publish(client, exercise: Exercise, *classes: Classroom):
    data = {"class_id": [str(classroom.id) for classroom in classes]}
    return client.post(
        f"/exercises/{exercise.id}/publish", data=data, headers={"HX-Request": "true"}
    )


def test_a_draft_is_its_teachers_until_published_and_hidden_again_when_unpublished(
    app, teacher_client, teacher, student
):
    classroom = _create(teacher_client)
    db.session.add(ClassMember(class_id=classroom.id, user_id=student.id, role=MemberRole.STUDENT))
    outsider = _student("zed")
    exercise = _exercise(teacher)
    url = f"/exercises/{exercise.id}"
    readers = {}
    for user in (student, outsider):
        readers[user.username] = app.test_client()
        log_in(readers[user.username], user.email)
    assert readers["sam"].get(url).status_code == 404  # a draft
    assert "Draft" in teacher_client.get(url).get_data(as_text=True)

    published = _publish(teacher_client, exercise, classroom)
    assert published.status_code == 200 and "Published" in published.get_data(as_text=True)
    assert readers["sam"].get(url).status_code == 200
    assert "Scales" in readers["sam"].get("/exercises/").get_data(as_text=True)
    assert readers["zed"].get(url).status_code == 404
    assert "Scales" not in readers["zed"].get("/exercises/").get_data(as_text=True)

    assert _publish(teacher_client, exercise).status_code == 200  # no class ticked
    assert readers["sam"].get(url).status_code == 404


@pytest.mark.parametrize(
    ("video", "message"),
    [
        (None, "Add a model video before publishing."),
        ("failed", "The model video failed to process"),
        ("processing", "still being processed"),
    ],
)
def test_only_an_exercise_whose_video_plays_is_published(teacher_client, teacher, video, message):
    classroom = _create(teacher_client)
    exercise = _exercise(teacher, video=video)
    response = _publish(teacher_client, exercise, classroom)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Exercise, exercise.id).is_published


def test_a_failed_model_video_is_said_to_its_teacher_only(app, teacher_client, teacher, student):
    classroom = _create(teacher_client)
    exercise = _exercise(teacher)
    _publish(teacher_client, exercise, classroom)
    db.session.add(ClassMember(class_id=classroom.id, user_id=student.id, role=MemberRole.STUDENT))
    exercise.video_asset.processing_status = "failed"
    db.session.commit()
    warning = "The model video failed to process."
    assert warning in teacher_client.get(f"/exercises/{exercise.id}").get_data(as_text=True)
    reader = app.test_client()
    log_in(reader, student.email)
    assert warning not in reader.get(f"/exercises/{exercise.id}").get_data(as_text=True)


def test_in_an_invitation_only_beta_a_class_link_invites_too(app, teacher_client):
    app.config["BETA_INVITE_ONLY"] = True
    classroom = _create(teacher_client)
    newcomer = app.test_client()
    assert newcomer.get("/accounts/signup").status_code == 403
    newcomer.get(f"/classes/join/{classroom.join_code}")
    assert newcomer.get("/accounts/signup").status_code == 200
