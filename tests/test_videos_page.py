"""The Videos page is the safety net: where each video is used, the room they take, and
deleting one that nothing uses."""

import io

import sqlalchemy as sa

from practika.comments.models import CommentKind, VideoComment
from practika.core.models import VideoAsset
from practika.exercises.models import Exercise
from practika.extensions import db
from practika.storage import get_storage
from tests.conftest import count_rows, log_in


def _upload(client, name: str) -> VideoAsset:
    client.post(
        "/core/uploads/",
        data={"video": (io.BytesIO(b"video bytes"), name)},
        content_type="multipart/form-data",
    )
    return db.session.scalar(sa.select(VideoAsset).where(VideoAsset.orig_filename == name))


def test_each_video_says_where_it_is_used_and_the_room_is_shown(teacher_client, teacher, app):
    app.config["UPLOAD_QUOTA_BYTES"] = 100 * 2**20
    model = VideoAsset(owner=teacher, orig_filename="model.mp4", size_bytes=30 * 2**20)
    spare = VideoAsset(owner=teacher, orig_filename="spare.mp4", size_bytes=2**20)
    exercise = Exercise(name="Scales", description="", created_by=teacher, video_asset=model)
    db.session.add_all([model, spare, exercise])
    db.session.commit()
    page = teacher_client.get("/core/videos/").get_data(as_text=True)
    assert "Your videos use 31.0 MB of your 100 MB." in page
    assert f'Model video of <a href="/exercises/{exercise.id}">Scales</a>' in page
    assert page.count("Not used anywhere yet.") == 1  # the spare one, with its Delete


def test_an_unused_video_is_deleted_with_its_files(teacher_client):
    asset = _upload(teacher_client, "spare.mp4")
    stored = asset.storage_path
    answer = teacher_client.post(f"/core/videos/{asset.id}/delete")
    assert answer.status_code == 303
    assert count_rows(VideoAsset) == 0 and not get_storage().exists(stored)


def test_a_video_in_use_is_not_deleted(teacher_client, teacher, student):
    attempt_video = VideoAsset(owner=teacher, orig_filename="take.mp4")
    exercise = Exercise(name="Scales", description="", created_by=teacher)
    db.session.add_all(
        [
            exercise,
            VideoComment(
                exercise=exercise,
                author=teacher,
                kind=CommentKind.COMMENT,
                text="",
                video_asset=attempt_video,
            ),
        ]
    )
    db.session.commit()
    answer = teacher_client.post(f"/core/videos/{attempt_video.id}/delete", follow_redirects=True)
    assert "This video is used" in answer.get_data(as_text=True)
    assert count_rows(VideoAsset) == 1


def test_someone_elses_video_cannot_be_deleted(client, teacher, student):
    theirs = VideoAsset(owner=student, orig_filename="theirs.mp4")
    db.session.add(theirs)
    db.session.commit()
    log_in(client, teacher.email)
    assert client.post(f"/core/videos/{theirs.id}/delete").status_code == 404
    assert count_rows(VideoAsset) == 1
