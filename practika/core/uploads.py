"""Resumable uploads (the tus 1.0 protocol, core + creation + termination extensions).

A phone on a bad network sends the video in pieces; after a dropped connection the client
asks how many bytes arrived (HEAD) and goes on from there (PATCH at that offset). Pieces are
appended to a partial file under ``instance/uploads/``; when the last byte is in, the file
goes through ``store_upload`` like any upload and the partial is removed.

Partial uploads live on the web host that received them: behind several web hosts, route
``/core/uploads/`` with sticky sessions, or put the folder on shared storage.
"""

from __future__ import annotations

import base64
import binascii
import errno
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
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
    length: int
    filename: str
    offset: int = 0


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
    """Partial uploads as ``<id>.part`` (the bytes) and ``<id>.json`` (who, how long, name)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        if not upload_id.isalnum():
            raise UploadError(404, "no such upload")
        return self.root / f"{upload_id}.part", self.root / f"{upload_id}.json"

    def create(self, owner_id: int, length: int, filename: str) -> PartialUpload:
        self.root.mkdir(parents=True, exist_ok=True)
        upload = PartialUpload(secrets.token_hex(16), owner_id, length, filename)
        data, meta = self._paths(upload.id)
        data.touch(exist_ok=False)
        meta.write_text(json.dumps(asdict(upload)))
        return upload

    def get(self, upload_id: str, owner_id: int) -> PartialUpload:
        """The upload, with the offset the server really has; 404 for anyone but its owner."""
        data, meta = self._paths(upload_id)
        try:
            upload = PartialUpload(**json.loads(meta.read_text()))
            upload.offset = data.stat().st_size
        except (FileNotFoundError, ValueError, TypeError):
            raise UploadError(404, "no such upload") from None
        if upload.owner_id != owner_id:
            raise UploadError(404, "no such upload")
        return upload

    def append(self, upload: PartialUpload, offset: int, stream: BinaryIO) -> int:
        """Append the body at ``offset``; returns the new offset. Never past the length."""
        if offset != upload.offset:
            raise UploadError(409, f"Upload-Offset {offset} does not match {upload.offset}")
        data, _ = self._paths(upload.id)
        with data.open("ab", buffering=0) as out:
            try:
                while chunk := stream.read(CHUNK):
                    if upload.offset + len(chunk) > upload.length:
                        raise UploadError(413, "more bytes than the Upload-Length announced")
                    out.write(chunk)
                    upload.offset += len(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise  # a dropped connection: what arrived is kept, the client resumes
                out.truncate(upload.offset)  # no half-written piece left behind
                raise UploadError(507, OUT_OF_SPACE) from None
            finally:
                os.fsync(out.fileno())
        return upload.offset

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
        for path in self._paths(upload_id):
            path.unlink(missing_ok=True)
