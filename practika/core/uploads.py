"""Resumable uploads (the tus 1.0 protocol, core + creation + termination extensions).

A phone on a bad network sends the video in pieces; after a dropped connection the client
asks how many bytes arrived (HEAD) and goes on from there (PATCH at that offset). Pieces are
appended to a partial file (where: below); when the last byte is in, the file
goes through ``store_upload`` like any upload, the partial's bytes are removed and its record
names the new asset, so a client that lost the answer learns it from HEAD.

One request at a time writes an upload: each holds an exclusive lock on the upload's record
(``writing``) and reads the offset again under it, so two PATCHes at the same offset cannot
both append, and the last piece makes one asset. The offset is what is on disk, byte for
byte: a write that fails part-way (a full disk) is cut back to the last byte written. One
owner's uploads become videos one at a time (``owner_lock``), so the quota counts each.
Uploads untouched for a day are deleted when anyone starts a new one (``expire``).

A recording is sent while it is made, before anyone knows how long it will be: its upload
may be created without a length (tus ``creation-defer-length``) and is then capped at the
largest upload allowed until a PATCH declares the length, once (kept in ``<id>.length``,
written whole, so the record the lock is held on never changes under it).

With local storage the partial files live under the storage's root (``.uploads/``), so any
web process on the host, or on hosts sharing that folder, takes any piece: the locks are
``flock`` locks on the files themselves. With a bucket they stay in the web host's instance
folder.
"""

from __future__ import annotations

import base64
import binascii
import errno
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
# A write that cannot go on for lack of room: a full disk, a quota, a file-size limit.
NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
BUSY = "This upload is receiving another piece right now. Try again in a moment."
OUT_OF_SPACE = (
    "The server is out of storage space right now. What you sent is kept: try again later "
    "and the upload goes on from there."
)
TUS_VERSION = "1.0.0"


class UploadError(ValueError):
    """The request breaks the protocol or a limit; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class PartialUpload:
    id: str
    owner_id: int
    length: int | None  # None: not declared yet (creation-defer-length)
    filename: str
    offset: int = 0
    asset_id: str | None = None  # set once the upload has become a video
    sound_only: bool = False  # a voice comment's recording (tus metadata ``kind: voice``)

    @property
    def finished(self) -> bool:
        return self.asset_id is not None

    @property
    def complete(self) -> bool:
        """Every byte of a declared length is in."""
        return self.length is not None and self.offset == self.length

    @property
    def claimed(self) -> int:
        """The bytes it holds room for: its length, or what it has so far when deferred."""
        return self.length if self.length is not None else self.offset


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: filename d2FsdHoubXA0,filetype dmlkZW8vbXA0``: base64 values."""
    metadata = {}
    for pair in filter(None, (part.strip() for part in (header or "").split(","))):
        key, _, value = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise UploadError(400, f"Upload-Metadata value for {key!r} is not base64") from None
    return metadata


class PartialStore:
    """Partial uploads as ``<id>.part`` (the bytes) and ``<id>.json`` (who, how long, name,
    whether it is sound only)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        if not upload_id.isalnum():
            raise UploadError(404, "no such upload")
        return self.root / f"{upload_id}.part", self.root / f"{upload_id}.json"

    def _declared(self, upload_id: str) -> Path:
        return self.root / f"{upload_id}.length"

    def create(
        self, owner_id: int, length: int | None, filename: str, *, sound_only: bool = False
    ) -> PartialUpload:
        self.root.mkdir(parents=True, exist_ok=True)
        upload = PartialUpload(
            secrets.token_hex(16), owner_id, length, filename, sound_only=sound_only
        )
        data, meta = self._paths(upload.id)
        data.touch(exist_ok=False)
        meta.write_text(json.dumps(asdict(upload)))
        return upload

    def _read(self, upload_id: str) -> PartialUpload:
        data, meta = self._paths(upload_id)
        try:
            upload = PartialUpload(**json.loads(meta.read_text()))
            if upload.length is None and (declared := self._declared(upload_id)).exists():
                upload.length = int(declared.read_text())
            upload.offset = upload.length if upload.finished else data.stat().st_size
        except (FileNotFoundError, ValueError, TypeError):
            raise UploadError(404, "no such upload") from None
        return upload

    def get(self, upload_id: str, owner_id: int) -> PartialUpload:
        """The upload, with the offset the server really has; 404 for anyone but its owner."""
        upload = self._read(upload_id)
        if upload.owner_id != owner_id:
            raise UploadError(404, "no such upload")
        return upload

    @contextmanager
    def writing(self, upload_id: str, owner_id: int) -> Iterator[PartialUpload]:
        """The upload, read under an exclusive lock that no other request (in any process on
        this host) can take until the block ends; 423 while another request holds it."""
        _, meta = self._paths(upload_id)
        try:
            fd = os.open(meta, os.O_RDONLY)
        except FileNotFoundError:
            raise UploadError(404, "no such upload") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadError(423, BUSY) from None
            yield self.get(upload_id, owner_id)  # the offset as it is now, under the lock
        finally:
            os.close(fd)  # and the lock with it

    @contextmanager
    def owner_lock(self, owner_id: int) -> Iterator[None]:
        """One owner's uploads become videos one at a time (on this host): the quota is
        checked and the video stored under this lock, so two cannot both fit in the room
        for one."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / f"owner-{int(owner_id)}.lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield

    def declare_length(self, upload: PartialUpload, length: int) -> None:
        """Fix a deferred upload's length (hold ``writing``), once, never below what it has."""
        if length < upload.offset:
            raise UploadError(
                400, f"Upload-Length {length} is less than the {upload.offset} bytes received."
            )
        declared = self._declared(upload.id)
        tmp = declared.with_suffix(".tmp")
        tmp.write_text(str(length))
        os.replace(tmp, declared)
        upload.length = length

    def append(self, upload: PartialUpload, offset: int, stream: BinaryIO, most: int) -> int:
        """Append the body at ``offset`` (hold ``writing``); returns the new offset. Never
        past the length, or ``most`` bytes while the length is deferred; the bytes on disk
        are exactly the bytes counted."""
        if upload.finished or offset != upload.offset:
            raise UploadError(409, f"Upload-Offset {offset} does not match {upload.offset}")
        limit, what = (
            (upload.length, "the Upload-Length announced")
            if upload.length is not None
            else (most, "an upload may hold")
        )
        data, _ = self._paths(upload.id)
        with data.open("r+b", buffering=0) as out:
            out.seek(upload.offset)
            try:
                while chunk := stream.read(CHUNK):
                    if upload.offset + len(chunk) > limit:
                        raise UploadError(413, f"more bytes than {what}")
                    view = memoryview(chunk)
                    while view:  # a full disk writes short first, then refuses
                        written = out.write(view)
                        upload.offset += written
                        view = view[written:]
            except OSError as error:
                if error.errno not in NO_ROOM:
                    raise  # a dropped connection: what arrived is kept, the client resumes
                raise UploadError(507, OUT_OF_SPACE) from None
            finally:
                out.truncate(upload.offset)  # nothing on disk that was not counted
                os.fsync(out.fileno())
        return upload.offset

    def cut_back(self, upload: PartialUpload, offset: int) -> None:
        """Forget the bytes past ``offset`` (hold ``writing``): the client sends them again."""
        data, _ = self._paths(upload.id)
        with data.open("r+b") as out:
            out.truncate(offset)
        upload.offset = offset

    def finish(self, upload: PartialUpload, asset_id: str) -> None:
        """The upload became ``asset_id`` (hold ``writing``): drop its bytes, keep the record
        so that a client that lost the answer learns the asset from HEAD."""
        data, meta = self._paths(upload.id)
        upload.asset_id = asset_id
        record = {k: v for k, v in asdict(upload).items() if k != "offset"}
        tmp = meta.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, meta)  # a new inode: a lock held on the old one guards nothing new
        data.unlink(missing_ok=True)
        self._declared(upload.id).unlink(missing_ok=True)  # the record has the length now

    def pending(self, owner_id: int) -> list[PartialUpload]:
        """The owner's uploads still waiting for bytes (on this host)."""
        uploads = []
        for meta in self.root.glob("*.json") if self.root.is_dir() else ():
            try:
                upload = self._read(meta.stem)
            except UploadError:
                continue  # removed while we looked
            if upload.owner_id == owner_id and not upload.finished:
                uploads.append(upload)
        return uploads

    def older_than(self, cutoff: datetime) -> Iterator[str]:
        """Ids of uploads last written before ``cutoff`` (naive UTC): abandoned ones."""
        if not self.root.is_dir():
            return
        for meta in self.root.glob("*.json"):
            data = meta.with_suffix(".part")
            newest = max(p.stat().st_mtime for p in (meta, data) if p.exists())
            if datetime.fromtimestamp(newest, UTC).replace(tzinfo=None) < cutoff:
                yield meta.stem

    def open(self, upload: PartialUpload) -> BinaryIO:
        return self._paths(upload.id)[0].open("rb")

    def delete(self, upload_id: str) -> None:
        for path in (*self._paths(upload_id), self._declared(upload_id)):
            path.unlink(missing_ok=True)

    def expire(self, cutoff: datetime) -> int:
        """Delete the uploads last written before ``cutoff``; how many."""
        stale = list(self.older_than(cutoff))
        for upload_id in stale:
            self.delete(upload_id)
        return len(stale)
