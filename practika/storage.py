"""Where media lives. One interface; the local folder is the embedded default."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from flask import Flask, current_app


class Storage(Protocol):
    def save(self, key: str, stream: BinaryIO) -> int: ...
    def path(self, key: str) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def check(self) -> None: ...


def _safe_key(key: str) -> PurePosixPath:
    """Keys are ours (``videos/<uuid>/original.mp4``), but never let one leave the root."""
    parts = key.split("/")
    unsafe = any(part in ("", ".", "..") for part in parts) or any(
        ch == "\\" or ord(ch) < 32 for ch in key
    )
    if unsafe:
        raise ValueError(f"unsafe storage key {key!r}")
    return PurePosixPath(*parts)


class LocalStorage:
    """A folder on disk. Writes go to a temporary file beside the target, then an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    def save(self, key: str, stream: BinaryIO) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as tmp:
                shutil.copyfileobj(stream, tmp, length=1024 * 1024)
                tmp.flush()
                os.fsync(tmp.fileno())
                size = tmp.tell()
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return size

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def check(self) -> None:
        """Raise unless the folder exists and is writable."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} is not writable")


def init_storage(app: Flask) -> None:
    url = app.config["STORAGE_URL"]
    if url.startswith("s3://"):
        raise NotImplementedError("S3 storage arrives with the media pipeline")
    app.extensions["storage"] = LocalStorage(Path(url.removeprefix("file://")))


def get_storage() -> Storage:
    return current_app.extensions["storage"]
