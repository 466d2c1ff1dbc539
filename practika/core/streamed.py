"""Takes sent straight to the bucket as they are recorded (with ``STORAGE_URL=s3://…``): no
video byte passes through a web process, and no web process keeps anything of a take.

A recorder hands out a piece every second, and a take must be sent as it is recorded so that
only its tail is left at Stop. S3's multipart upload cannot take such pieces (every part but
the last must be 5 MiB or more), so each piece is an object of its own, PUT by the browser
to a URL the app signs: ``videos/<video id>/pieces/000001``, ``000002``, … (any size is fine
for an object). The app starts the take for its owner within their limits (its length is
unknown yet, as for a resumable upload whose length is deferred: it claims the room its
pieces take so far), signs the URLs of the next pieces, lists those that arrived (a dropped
connection or a closed tab goes on from there), and finishes it with the length declared at
Stop: the pieces must be 1 to k with none missing and add up to that length, which is
checked against the limits again. The video is made then, at ``videos/<id>/original``, and
queued; the worker joins the pieces into that original before anything else (``join``).

The take is known to its client by its video's id, which stays valid once it is finished:
asking again then names the video (an answer lost on its way), and discarding it deletes
the video if nothing uses it, as a finished resumable upload does. Takes nobody finishes
are let go by the sweep after UPLOAD_EXPIRY_HOURS, their pieces deleted.
"""

from __future__ import annotations

import shutil
import uuid
from contextlib import suppress
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from practika.accounts.models import User
from practika.core.direct import (
    SIGNED_SECONDS,
    became_video,
    bucket,
    check_numbers,
    expiry,
)
from practika.core.direct import forget as forget_upload
from practika.core.incoming import check_upload_limits
from practika.core.library import InUse, delete_unused
from practika.core.models import UNFINISHED, DirectUpload, VideoAsset, pieces_prefix
from practika.core.services import clean_filename
from practika.core.uploads import UploadError
from practika.extensions import db
from practika.media.rejections import MediaRejected
from practika.storage import CHUNK, Storage

PIECES_MAX = 10_000  # a take of VIDEO_MAX_SECONDS goes in far fewer (about one a second)
PIECE_BYTES = 5 * 2**20  # the most one piece holds (takes.js sends no more in a request)
PIECES_AHEAD = 10  # signed past those that arrived: URLs never hold room for much unsent
DIGITS = 6  # piece names: 000001, in key order as in number order
STREAMED = DirectUpload.s3_upload_id == ""  # a take's upload, not a multipart one
NO_SUCH_TAKE = "No such take."


def piece_key(asset_id: uuid.UUID | str, number: int) -> str:
    return f"{pieces_prefix(asset_id)}{number:0{DIGITS}d}"


def _number(key: str, prefix: str) -> int | None:
    """The piece number a key under ``prefix`` names; None for anything else."""
    name = key.removeprefix(prefix)
    return int(name) if len(name) == DIGITS and name.isascii() and name.isdigit() else None


def start(owner: User, filename: str) -> DirectUpload:
    """A take for ``owner``, its length to come; or their take in progress of that file (a
    start sent again when its answer was lost: never two uploads of one take). The limits
    are checked as for a resumable upload with its length deferred (UploadError)."""
    bucket()  # 404 without one: the recorder sends by tus then
    same = _unfinished(owner, filename)
    if same is not None:
        return same
    check_upload_limits(owner, 0)
    upload = DirectUpload(
        owner_id=owner.id,
        asset_id=uuid.uuid4(),
        length=None,
        filename=clean_filename(filename),
        s3_upload_id="",
    )
    db.session.add(upload)
    db.session.commit()
    return upload


def _unfinished(owner: User, filename: str) -> DirectUpload | None:
    """The owner's take in progress of a file with this name (a recorder names each take by
    the second it started)."""
    return db.session.scalars(
        sa.select(DirectUpload)
        .where(
            STREAMED,
            DirectUpload.owner_id == owner.id,
            DirectUpload.filename == clean_filename(filename),
            DirectUpload.created_at >= expiry(),
        )
        .order_by(DirectUpload.created_at.desc())
        .limit(1)
    ).first()


def _video_id(video_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(video_id)
    except ValueError:
        raise UploadError(404, NO_SUCH_TAKE) from None


def owned(video_id: str, owner: User) -> DirectUpload | None:
    """The owner's take in progress that will be video ``video_id``; None once it is a
    video (``finished``). UploadError 404 when neither (someone else's looks the same)."""
    upload = db.session.scalars(
        sa.select(DirectUpload).where(
            STREAMED,
            DirectUpload.asset_id == _video_id(video_id),
            DirectUpload.owner_id == owner.id,
        )
    ).first()
    if upload is None:
        finished(video_id, owner)
    return upload


def finished(video_id: str, owner: User) -> VideoAsset:
    """The owner's video ``video_id``, which a take became (or any of their videos: the id
    was theirs to know); UploadError 404 for anything else."""
    asset = db.session.get(VideoAsset, _video_id(video_id))
    if asset is None or asset.owner_id != owner.id:
        raise UploadError(404, NO_SUCH_TAKE)
    return asset


def sign(upload: DirectUpload, pieces: list) -> dict[int, str]:
    """Signed PUT URLs for these pieces (``{"number": 1 to PIECES_MAX, "size": 1 to
    PIECE_BYTES}`` each, at most SIGNED_AT_ONCE), valid for SIGNED_SECONDS; each takes
    its size and no other, and none lies more than PIECES_AHEAD past the pieces that
    arrived (422), so the URLs out never hold room for more than 50 MiB unsent. Refused
    (413) once the pieces hold the largest upload allowed: a take is capped there until
    its length is declared, as a resumable upload is."""
    if not all(
        isinstance(piece, dict) and _whole(piece.get("size"), PIECE_BYTES) for piece in pieces
    ):
        raise UploadError(422, f"Each piece has a size, 1 to {PIECE_BYTES} bytes.")
    sizes = {piece.get("number"): piece["size"] for piece in pieces}
    check_numbers(list(sizes), PIECES_MAX, "pieces")
    have = arrived(upload)
    most = current_app.config["MAX_UPLOAD_BYTES"]
    if sum(piece["size"] for piece in have) >= most:
        raise UploadError(413, f"This recording is larger than {most // 2**20} MB.")
    furthest = _run(have) + PIECES_AHEAD
    if max(sizes) > furthest:
        raise UploadError(422, f"Send the pieces up to {furthest} first.")
    storage = bucket()
    return {
        n: storage.put_url(piece_key(upload.asset_id, n), size, SIGNED_SECONDS)
        for n, size in sizes.items()
    }


def _run(pieces: list[dict]) -> int:
    """How many pieces arrived from 1 on without a gap."""
    numbers = {piece["number"] for piece in pieces}
    count = 0
    while count + 1 in numbers:
        count += 1
    return count


def _whole(value: object, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= most


def arrived(upload: DirectUpload) -> list[dict]:
    """The pieces in the bucket, by number: number and size (a client goes on after the
    last of those numbered 1 to k without a gap)."""
    return _pieces(bucket(), upload.asset_id)


def _pieces(storage: Storage, asset_id: uuid.UUID) -> list[dict]:
    prefix = pieces_prefix(asset_id)
    found = ((_number(key, prefix), size) for key, size in storage.listed(prefix))
    return [{"number": number, "size": size} for number, size in found if number is not None]


def finish(upload: DirectUpload, owner: User, length: object) -> VideoAsset:
    """The take of ``length`` bytes (declared at Stop) becomes a video, queued. UploadError
    422 for a length that is not a whole number over 0; 409 unless pieces 1 to k, none
    missing, add up to it (the client sends what is missing; pieces past k, left from an
    earlier try, are not part of it); the limits again."""
    if not isinstance(length, int) or isinstance(length, bool) or length <= 0:
        raise UploadError(422, "Say how many bytes the recording has, a whole number over 0.")
    pieces = arrived(upload)
    if whole(pieces, length) is None:
        raise UploadError(409, _short(pieces, length))
    check_upload_limits(owner, length, upload_id=str(upload.id))
    upload.length = length
    return became_video(upload, owner)


def whole(pieces: list[dict], length: int | None) -> list[int] | None:
    """The numbers of the pieces 1, 2, … k whose sizes add up to ``length``; None when
    they do not (one is missing, or they hold more or less)."""
    sizes = {piece["number"]: piece["size"] for piece in pieces}
    numbers, total = [], 0
    while total < (length or 0) and len(numbers) + 1 in sizes:
        numbers.append(len(numbers) + 1)
        total += sizes[numbers[-1]]
    return numbers if numbers and total == length else None


def _short(pieces: list[dict], length: int) -> str:
    """What keeps the pieces from making a take of ``length`` bytes, in words."""
    numbers = [piece["number"] for piece in pieces]
    missing = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
    if not pieces:
        return "No piece of the recording has arrived yet."
    if missing:
        named = ", ".join(str(n) for n in missing[:10]) + (" and more" if len(missing) > 10 else "")
        return f"Pieces {named} of {numbers[-1]} have not arrived yet."
    total = sum(piece["size"] for piece in pieces)
    return f"The {len(pieces)} pieces hold {total} bytes, not {length}."


def abort(upload: DirectUpload) -> None:
    """Let the take go: its pieces, then its row."""
    storage = bucket()
    for key, _ in storage.listed(upload.pieces_prefix):
        storage.delete(key)
    forget_upload(upload)


def discard(video_id: str, owner: User) -> None:
    """A retake or a discard: the take in progress goes, or the video it became, unless
    something uses it by now (then the video stays where it is used). UploadError 404."""
    upload = owned(video_id, owner)
    if upload is not None:
        abort(upload)
        return
    with suppress(InUse):
        delete_unused(finished(video_id, owner))


def sweep() -> dict[str, int]:
    """Let go of the takes nobody finished within UPLOAD_EXPIRY_HOURS; how many."""
    stale = db.session.scalars(
        sa.select(DirectUpload).where(DirectUpload.created_at < expiry(), STREAMED)
    ).all()
    for upload in stale:
        abort(upload)
    return {"streamed_uploads_aborted": len(stale)}


def waiting() -> set[str]:
    """The video ids whose pieces are still wanted: takes on their way to the bucket, and
    videos not processed yet (the worker joins their pieces first)."""
    uploads = sa.select(DirectUpload.asset_id).where(STREAMED)
    unfinished = sa.select(VideoAsset.id).where(VideoAsset.processing_status.in_(UNFINISHED))
    return {str(row) for query in (uploads, unfinished) for row in db.session.scalars(query)}


def in_progress(key: str, waiting: set[str]) -> bool:
    """Whether ``key`` is a piece of a take whose video id is in ``waiting``: `flask
    cleanup` leaves those alone."""
    parts = key.split("/")
    return len(parts) == 4 and parts[0] == "videos" and parts[2] == "pieces" and parts[1] in waiting


def join(storage: Storage, asset: VideoAsset, workdir: Path) -> Path | None:
    """The worker's first step for a take sent in pieces: the pieces 1 to k that add up to
    the video's size, downloaded in order into one file, stored as its original (an atomic
    put: the object exists whole or not at all), then the pieces deleted; the joined file.
    None when there are no pieces (the original is there, or it never came in pieces).

    A worker killed on the way leaves the pieces, or the original: the next run joins again,
    or finds the original. Pieces past the size (a signed URL used after the take was
    finished) are left out and deleted; pieces that do not add up to it are refused."""
    listed = _pieces(storage, asset.id)
    if not listed:
        return None
    numbers = whole(listed, asset.size_bytes)
    if numbers is None:
        raise MediaRejected("damaged")
    target = workdir / "original"
    with target.open("wb") as out:
        for number in numbers:
            piece = storage.fetch(piece_key(asset.id, number), workdir)
            with piece.open("rb") as stream:
                shutil.copyfileobj(stream, out, CHUNK)
            if piece.is_relative_to(workdir):  # a download: the joined file has its bytes
                piece.unlink()
    with target.open("rb") as stream:
        storage.save(asset.storage_path, stream)
    for piece in listed:
        storage.delete(piece_key(asset.id, piece["number"]))
    return target
