"""Videos sent straight to the bucket (with ``STORAGE_URL=s3://…``): no video byte passes
through a web process.

The client asks to start (the owner, within the same limits as a resumable upload: size,
quota, uploads in progress, videos waiting), and the app starts an S3 multipart upload at
the key the video will keep. The client then asks for short-lived signed URLs for the parts
it is about to send, and PUTs each part to S3 itself. After a dropped connection it asks
which parts arrived and goes on from the first one missing. Last, it asks to complete: the
app lists the parts in the bucket itself (never trusting the client's list), refuses an
upload whose parts do not add up to the length declared, joins them, checks the object's
size again, and the video goes through the pipeline as any upload does. Uploads nobody
completes are aborted by the sweep after UPLOAD_EXPIRY_HOURS (and by the bucket's
lifecycle rule, terraform/).
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from practika.accounts.models import User
from practika.core.incoming import UPLOAD_KINDS, check_upload_limits
from practika.core.models import DirectUpload, ProcessingStatus, VideoAsset, VideoType
from practika.core.services import clean_filename, enqueue_processing
from practika.core.uploads import UploadError
from practika.extensions import db
from practika.model_base import utcnow
from practika.storage import get_storage

PART_BYTES = 8 * 2**20  # S3 takes 5 MiB at least for every part but the last
PARTS_WANTED = 64  # past 512 MiB parts grow instead: fewer requests to sign and list them
SIGNED_AT_ONCE = 100  # part URLs one request may ask for
EXPIRED = "This upload has expired. Send the file again."
SIGNED_SECONDS = 900  # a part's URL: long enough for 8 MiB on a slow phone, no longer
MULTIPART = DirectUpload.s3_upload_id != ""  # not a take sent in pieces (core.streamed)


class StartRefused(ValueError):
    """A request to start whose fields are wrong: ``errors`` says what is wrong with each."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Some fields are not valid.")
        self.errors = errors


def available() -> bool:
    """Whether the storage takes direct uploads (a bucket): the pages then send videos
    straight to it, and the resumable upload stays for the rest."""
    return hasattr(get_storage(), "start_multipart")


def bucket():
    """The storage when it can take direct uploads (a bucket); UploadError otherwise."""
    if not available():
        raise UploadError(404, "Direct uploads need S3 storage; use the resumable upload.")
    return get_storage()


def start_fields(data: dict) -> tuple[int, str, bool]:
    """From a JSON request to start (the API's and the pages'): ``length`` in bytes, the
    ``filename`` and whether the ``kind`` is sound only; StartRefused naming every field
    that is wrong."""
    errors = {}
    length = data.get("length")
    if not isinstance(length, int) or isinstance(length, bool) or length <= 0:
        errors["length"] = "The video's size in bytes, a whole number over 0."
    filename = data.get("filename")
    if filename is not None and (not isinstance(filename, str) or len(filename) > 255):
        errors["filename"] = "The file's name, at most 255 characters."
    kind = data.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in UPLOAD_KINDS):
        errors["kind"] = "video, or voice for a voice comment's recording."
    if errors:
        raise StartRefused(errors)
    return length, filename or "", UPLOAD_KINDS[kind or "video"]


def described(upload: DirectUpload) -> dict:
    """What a client needs to send the parts: the ids, and how the video is cut."""
    return {
        "id": str(upload.id),
        "video_id": str(upload.asset_id),
        "length": upload.length,
        "part_bytes": part_bytes(upload.length),
        "parts": part_count(upload.length),
        "urls_at_once": SIGNED_AT_ONCE,
    }


def part_bytes(length: int) -> int:
    """The size of every part but the last: PART_BYTES, or whole MiB enough for a video
    of ``length`` to go in PARTS_WANTED parts (far from S3's 10,000)."""
    return max(PART_BYTES, math.ceil(length / PARTS_WANTED / 2**20) * 2**20)


def part_count(length: int) -> int:
    return max(1, math.ceil(length / part_bytes(length)))


def start(owner: User, length: int, filename: str, *, sound_only: bool = False) -> DirectUpload:
    """A multipart upload of ``length`` bytes for ``owner``, checked against their limits
    before any byte is sent (UploadError)."""
    storage = bucket()
    if length <= 0:
        raise UploadError(422, "Say how many bytes the video has.")
    _hold(owner)
    check_upload_limits(owner, length)
    upload = DirectUpload(
        owner_id=owner.id,
        asset_id=uuid.uuid4(),
        length=length,
        filename=clean_filename(filename),
        sound_only=sound_only,
        s3_upload_id="",
    )
    upload.s3_upload_id = storage.start_multipart(upload.key)
    db.session.add(upload)
    db.session.commit()
    return upload


def unfinished(owner: User, length: int, filename: str, *, sound_only: bool) -> DirectUpload | None:
    """The owner's upload in progress of a file with this name, length and kind: the pages
    go on with it when the same file is sent again (after a dropped connection, a reload,
    a closed tab, or from another device), rather than start a second one that would hold
    the room of the first until the sweep."""
    return db.session.scalars(
        sa.select(DirectUpload)
        .where(
            DirectUpload.owner_id == owner.id,
            DirectUpload.length == length,
            DirectUpload.filename == clean_filename(filename),
            DirectUpload.sound_only == sound_only,
            DirectUpload.created_at >= expiry(),
        )
        .order_by(DirectUpload.created_at.desc())
        .limit(1)
    ).first()


def _hold(owner: User) -> None:
    """Lock the owner's row until the commit: two of their uploads starting, or becoming
    videos, at once (on any web task) are checked against the limits one after the other.
    PostgreSQL's row lock; SQLite takes the lock at the first write instead."""
    db.session.execute(sa.select(User.id).where(User.id == owner.id).with_for_update())


def owned(upload_id: str, owner: User) -> DirectUpload:
    """The owner's upload in progress; UploadError 404 for anything else (someone else's
    looks the same as none)."""
    try:
        upload = db.session.get(DirectUpload, uuid.UUID(upload_id))
    except ValueError:
        upload = None
    if upload is None or upload.owner_id != owner.id or upload.streamed:
        raise UploadError(404, "No such upload.")
    return upload


def sign(upload: DirectUpload, numbers: list[int]) -> dict[int, str]:
    """Signed PUT URLs for these parts (1 to part_count, at most SIGNED_AT_ONCE)."""
    check_numbers(numbers, part_count(upload.length), "parts")
    storage = bucket()
    return {
        n: storage.part_url(upload.key, upload.s3_upload_id, n, _size(upload, n), SIGNED_SECONDS)
        for n in numbers
    }


def _size(upload: DirectUpload, number: int) -> int:
    """What part ``number`` holds: part_bytes, the last one the rest."""
    whole = part_bytes(upload.length)
    return min(whole, upload.length - whole * (number - 1))


def check_numbers(numbers: list, last: int, what: str) -> None:
    """URLs are signed for 1 to SIGNED_AT_ONCE ``what`` (parts, pieces) at a time, each
    numbered 1 to ``last``; UploadError 422 otherwise."""
    if not numbers or len(numbers) > SIGNED_AT_ONCE:
        raise UploadError(422, f"Ask for 1 to {SIGNED_AT_ONCE} {what} at a time.")
    if any(not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= last for n in numbers):
        raise UploadError(422, f"{what.capitalize()} are numbered 1 to {last}.")


def _parts(upload: DirectUpload) -> list[dict] | None:
    """The upload's parts in the bucket; None once the bucket has joined them into the
    object (an answer to complete that was lost on its way). An upload the bucket let go
    (its lifecycle rule) is forgotten: UploadError 410, and the client starts again."""
    storage = bucket()
    try:
        return storage.parts(upload.key, upload.s3_upload_id)
    except FileNotFoundError:
        if storage.size(upload.key) is not None:
            return None
        forget(upload)
        raise UploadError(410, EXPIRED) from None


def forget(upload: DirectUpload) -> None:
    """The upload's row goes (what it sent is gone, or never came)."""
    db.session.delete(upload)
    db.session.commit()


def first_urls(upload: DirectUpload) -> dict[str, str]:
    """Signed URLs for the first parts (all of them, up to SIGNED_AT_ONCE), given with the
    start so that a client asks for more only after 15 minutes or past that many parts."""
    numbers = range(1, min(part_count(upload.length), SIGNED_AT_ONCE) + 1)
    return {str(number): url for number, url in sign(upload, list(numbers)).items()}


def arrived(upload: DirectUpload) -> list[dict]:
    """The parts in the bucket: number and size (a client resumes from the first missing).
    Once joined, every part is there."""
    parts = _parts(upload)
    if parts is None:
        numbers = range(1, part_count(upload.length) + 1)
        return [{"number": n, "size": _size(upload, n)} for n in numbers]
    return [{"number": part["PartNumber"], "size": part["Size"]} for part in parts]


def complete(upload: DirectUpload, owner: User) -> VideoAsset:
    """Join the parts into the video and queue its processing. UploadError 409 while a part
    is missing or the sizes do not add up to the length declared (the client sends what is
    missing), 422 when the joined object is not that length (it is deleted). Asked again
    after the bucket joined them, it makes the video of what the bucket joined."""
    storage = bucket()
    parts = _parts(upload)
    if parts is None:
        return _video(upload, owner, storage.size(upload.key))
    count = part_count(upload.length)
    numbers = [part["PartNumber"] for part in parts]
    if numbers != list(range(1, count + 1)):
        raise UploadError(409, f"{count - len(parts)} of {count} parts have not arrived yet.")
    sizes = [part["Size"] for part in parts]
    whole = all(size == part_bytes(upload.length) for size in sizes[:-1])
    if not whole or sum(sizes) != upload.length:
        raise UploadError(409, f"The parts hold {sum(sizes)} bytes, not {upload.length}.")
    _hold(owner)
    check_upload_limits(owner, upload.length, upload_id=str(upload.id))
    size = storage.complete_multipart(upload.key, upload.s3_upload_id, parts)
    return _video(upload, owner, size)


def _video(upload: DirectUpload, owner: User, size: int | None) -> VideoAsset:
    """The video the joined object becomes, queued; 422 when it is not the length declared
    (it is deleted), 410 when there is none."""
    if size is None:
        forget(upload)
        raise UploadError(410, EXPIRED)
    if size != upload.length:
        bucket().delete(upload.key)
        forget(upload)
        raise UploadError(422, f"The video arrived with {size} bytes, not {upload.length}.")
    return became_video(upload, owner)


def became_video(upload: DirectUpload, owner: User) -> VideoAsset:
    """The video of ``upload.length`` bytes the upload became (its object, or the pieces of
    a take that the worker joins into it), queued; the upload's row goes in the same
    transaction."""
    asset = VideoAsset(
        id=upload.asset_id,
        owner_id=owner.id,
        orig_filename=upload.filename,
        video_type=VideoType.UPLOAD,
        sound_only=upload.sound_only,
        processing_status=ProcessingStatus.UPLOADED,
        storage_path=upload.key,
        size_bytes=upload.length,
    )
    db.session.add(asset)
    db.session.delete(upload)
    db.session.commit()
    enqueue_processing(asset)
    return asset


def abort(upload: DirectUpload) -> None:
    """Let the upload go, and the object if the bucket had joined it (no video is made of
    it while the upload's row is there)."""
    storage = bucket()
    storage.abort_multipart(upload.key, upload.s3_upload_id)
    storage.delete(upload.key)
    forget(upload)


def expiry():
    """Uploads started before this are abandoned."""
    return utcnow() - timedelta(hours=current_app.config["UPLOAD_EXPIRY_HOURS"])


def sweep() -> dict[str, int]:
    """Abort the direct uploads nobody completed within UPLOAD_EXPIRY_HOURS; how many (the
    takes sent in pieces have their own sweep: core.streamed)."""
    stale = db.session.scalars(
        sa.select(DirectUpload).where(DirectUpload.created_at < expiry(), MULTIPART)
    )
    aborted = 0
    for upload in stale.all():
        abort(upload)
        aborted += 1
    return {"direct_uploads_aborted": aborted}
