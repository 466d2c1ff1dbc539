"""The tus 1.0 protocol (core, creation, creation-defer-length, termination) over the
partial-upload store: the handlers the page routes (``core.upload_*``) and the API routes
(``api.upload*``) both answer with, for an owner each route has already authenticated."""

import uuid
from collections.abc import Callable
from contextlib import suppress

from flask import Response, current_app, request, url_for

from practika.accounts.models import User
from practika.core.incoming import (
    check_upload_limits,
    expire_abandoned,
    partial_store,
    sound_only_kind,
)
from practika.core.library import InUse, delete_unused
from practika.core.models import VideoAsset
from practika.core.services import enqueue_processing, store_upload
from practika.core.uploads import (
    NO_ROOM,
    OUT_OF_SPACE,
    TUS_VERSION,
    PartialStore,
    PartialUpload,
    UploadError,
    parse_metadata,
)
from practika.extensions import db

EXTENSIONS = "creation,creation-defer-length,termination"


def tus_response(status: int, message: str = "", **headers: str) -> Response:
    response = Response(message, status=status, mimetype="text/plain")
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers)
    return response


def tus_create(owner: User, resume_endpoint: str) -> Response:
    """tus creation for ``owner``: the limits are checked before a byte is sent (a length
    deferred is checked when it is declared, and the bytes before it are capped at the
    largest upload allowed). The metadata's ``kind`` says whether it is a video or a voice
    recording (sound only), once and for all."""
    partials = partial_store()
    expire_abandoned(partials)  # whoever starts an upload clears the abandoned ones away
    try:
        length = _creation_length()
        check_upload_limits(owner, length or 0)
        metadata = parse_metadata(request.headers.get("Upload-Metadata"))
        sound_only = sound_only_kind(metadata.get("kind"))
    except UploadError as error:
        return tus_response(error.status, str(error))
    upload = partials.create(owner.id, length, metadata.get("filename", ""), sound_only=sound_only)
    location = url_for(resume_endpoint, upload_id=upload.id)
    return tus_response(201, Location=location, **{"Upload-Offset": "0"})


def tus_resume(upload_id: str, owner: User, status_url: Callable[[VideoAsset], str]) -> Response:
    """HEAD (how far), PATCH (the next piece) and DELETE for ``owner``'s upload. The piece
    that completes it stores the video, queues it, and names it in X-Video-Asset (HEAD on a
    finished upload names it too, for a client that lost that answer); DELETE on a finished
    upload deletes its video too, if nothing uses it."""
    partials = partial_store()
    if request.method == "HEAD":
        try:
            upload = partials.get(upload_id, owner.id)
        except UploadError as error:
            return tus_response(error.status, str(error))
        size = (
            {"Upload-Length": str(upload.length)}
            if upload.length is not None
            else {"Upload-Defer-Length": "1"}
        )
        return tus_response(200, **size, **_progress(upload, status_url))
    upload = None
    try:
        with partials.writing(upload_id, owner.id) as upload:
            if request.method == "DELETE":
                _discard_video(upload)
                partials.delete(upload_id)
                return tus_response(204)
            if request.mimetype != "application/offset+octet-stream":
                return tus_response(415, "Content-Type must be application/offset+octet-stream.")
            offset = _byte_count("Upload-Offset")
            if upload.finished and offset == upload.length:  # the last piece, sent again
                return tus_response(204, **_progress(upload, status_url))
            _declare_length(partials, upload, owner)
            before = upload.offset
            partials.append(upload, offset, request.stream, current_app.config["MAX_UPLOAD_BYTES"])
            if upload.complete:
                _complete(partials, upload, owner, before)
            return tus_response(204, **_progress(upload, status_url))
    except UploadError as error:
        where = _progress(upload, status_url) if upload is not None else {}
        return tus_response(error.status, str(error), **where)


def _discard_video(upload: PartialUpload) -> None:
    """A finished upload taken back (a retake) takes its video with it, unless something
    uses it by now: then only the upload goes, and the video stays where it is used."""
    asset = db.session.get(VideoAsset, uuid.UUID(upload.asset_id)) if upload.finished else None
    if asset is not None:
        with suppress(InUse):
            delete_unused(asset)


def _creation_length() -> int | None:
    """Upload-Length, or None for ``Upload-Defer-Length: 1`` (one of the two, never both)."""
    deferred = request.headers.get("Upload-Defer-Length")
    if deferred is None:
        return _byte_count("Upload-Length")
    if deferred.strip() != "1" or "Upload-Length" in request.headers:
        raise UploadError(400, "Send Upload-Length, or Upload-Defer-Length: 1 without it.")
    return None


def _declare_length(partials: PartialStore, upload: PartialUpload, owner: User) -> None:
    """A PATCH may carry the length of an upload created without one: taken once, within
    the limits; after that it may only repeat it."""
    if "Upload-Length" not in request.headers:
        return
    length = _byte_count("Upload-Length")
    if upload.length is None:
        check_upload_limits(owner, length, upload_id=upload.id)
        partials.declare_length(upload, length)
    elif length != upload.length:
        raise UploadError(400, f"Upload-Length is {upload.length} already; it cannot change.")


def _byte_count(header: str) -> int:
    """A tus header that counts bytes (Upload-Length, Upload-Offset): a whole number, 0 or more."""
    value = request.headers.get(header, "").strip()
    if not (value.isascii() and value.isdigit()):
        raise UploadError(400, f"{header} must be a whole number of bytes.")
    return int(value)


def _progress(upload: PartialUpload, status_url: Callable[[VideoAsset], str]) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.finished:
        asset = db.session.get(VideoAsset, uuid.UUID(upload.asset_id))
        if asset is not None:
            headers |= {"X-Video-Asset": upload.asset_id, "X-Video-Status": status_url(asset)}
    return headers


def _complete(partials: PartialStore, upload: PartialUpload, owner: User, before: int) -> None:
    """Make the whole upload a video, once (the caller holds the upload's lock). If it
    cannot be stored now, the last piece is cut back off, so the upload stays resumable
    and the client sends that piece again later: never a finished upload without a video."""
    try:
        with partials.owner_lock(owner.id):  # two uploads finishing at once: one quota
            check_upload_limits(owner, upload.length, upload_id=upload.id)
            with partials.open(upload) as stream:
                asset = store_upload(
                    stream, owner=owner, filename=upload.filename, sound_only=upload.sound_only
                )
            db.session.commit()
    except Exception as error:  # a full disk, the quota, S3 or the database: resumable still
        db.session.rollback()
        partials.cut_back(upload, before)
        if isinstance(error, OSError) and error.errno in NO_ROOM:
            raise UploadError(507, OUT_OF_SPACE) from None
        raise
    partials.finish(upload, str(asset.id))
    enqueue_processing(asset)
