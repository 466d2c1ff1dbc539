"""Where media lives. One interface, two backends chosen by ``STORAGE_URL``.

- a local folder (the embedded default, ``instance/media``): writes go to a temporary file
  beside the target, then an atomic rename; reads are answered with HTTP Range support, or
  handed to nginx by ``X-Accel-Redirect`` when ``STORAGE_ACCEL_PREFIX`` is set;
- S3 (``s3://bucket/prefix``, any S3-compatible endpoint): uploads are multipart and an
  object exists only once complete; reads are a redirect to a short-lived presigned URL.

Keys are ours and deterministic (``videos/<asset id>/720p.mp4``), so a re-run overwrites
instead of duplicating; deletes are idempotent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

import boto3
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from flask import Flask, Response, abort, current_app, redirect, send_file

CHUNK = 1024 * 1024


class Storage(Protocol):
    def save(self, key: str, stream: BinaryIO) -> int:
        """Store the stream under ``key`` atomically; return its size in bytes."""

    def fetch(self, key: str, workdir: Path) -> Path:
        """A local file with the object's bytes, for FFmpeg: the file itself when it is
        already local, else a download into ``workdir``."""

    def exists(self, key: str) -> bool: ...

    def list_keys(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key with its last-modified time (naive UTC), for the cleanup."""

    def listed(self, prefix: str) -> list[tuple[str, int]]:
        """The keys under ``prefix`` (a folder's, ending in ``/``) with their sizes in bytes,
        in key order: the pieces of a take sent as it is recorded."""

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when it is already gone."""

    def send(self, key: str, mimetype: str) -> Response:
        """The HTTP answer that delivers the object to a browser (Range requests included)."""

    def check(self) -> None:
        """Raise unless the backend is reachable and writable."""

    def browser_origin(self) -> str | None:
        """Where browsers fetch media and send uploads when not from the site itself (the
        Content-Security-Policy allows it), or None."""

    def partials_folder(self) -> Path | None:
        """Where resumable uploads keep their partial files, when this storage is a folder
        every web process sees; None for a bucket."""


# Under a folder storage's root, beside the keys (a dot part is never a key, and the cleanup
# lists none): every web process on the host, or sharing the folder, serves every upload.
PARTIALS = ".uploads"


def safe_key(key: str) -> PurePosixPath:
    """Never let a key leave the storage root: no absolute, empty, dot or control parts."""
    parts = key.split("/")
    unsafe = any(part in ("", ".", "..") for part in parts) or any(
        ch == "\\" or ord(ch) < 32 for ch in key
    )
    if unsafe:
        raise ValueError(f"unsafe storage key {key!r}")
    return PurePosixPath(*parts)


class LocalStorage:
    """A folder on disk."""

    def __init__(self, root: Path, accel_prefix: str | None = None) -> None:
        self.root = root
        self.accel_prefix = accel_prefix

    def path(self, key: str) -> Path:
        return self.root / safe_key(key)

    def save(self, key: str, stream: BinaryIO) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as tmp:
                shutil.copyfileobj(stream, tmp, length=CHUNK)
                tmp.flush()
                os.fsync(tmp.fileno())
                size = tmp.tell()
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return size

    def fetch(self, key: str, workdir: Path) -> Path:
        return self.path(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def list_keys(self) -> Iterator[tuple[str, datetime]]:
        for path in self.root.rglob("*"):
            inside = path.relative_to(self.root).parts
            # .part files are in flight, and PARTIALS holds the resumable uploads.
            if path.is_file() and not any(part.startswith(".") for part in inside):
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
                yield path.relative_to(self.root).as_posix(), modified

    def listed(self, prefix: str) -> list[tuple[str, int]]:
        folder = self.path(prefix.rstrip("/"))
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        return [
            (f"{prefix}{path.name}", path.stat().st_size)
            for path in files
            if path.is_file() and not path.name.startswith(".")
        ]

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def send(self, key: str, mimetype: str) -> Response:
        if self.accel_prefix:  # nginx serves the bytes; the app only said yes
            response = Response(mimetype=mimetype)
            response.headers["X-Accel-Redirect"] = (
                f"{self.accel_prefix.rstrip('/')}/{safe_key(key)}"
            )
            return response
        path = self.path(key)
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype=mimetype, conditional=True)
        response.headers["Cache-Control"] = "private, max-age=3600"  # behind a permission check
        return response

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} is not writable")

    def partials_folder(self) -> Path:
        return self.root / PARTIALS

    def browser_origin(self) -> None:
        return None  # the site answers for its files itself


class S3Storage:
    """A bucket (and key prefix) on S3 or any S3-compatible endpoint."""

    def __init__(
        self, bucket: str, prefix: str, client, presign_seconds: int = 300, origin: str = ""
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.presign_seconds = presign_seconds
        self.origin = origin

    def browser_origin(self) -> str:
        """The origin of the presigned URLs: pages play media from it and send parts to it."""
        return self.origin

    def object_key(self, key: str) -> str:
        key = str(safe_key(key))
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, key: str, stream: BinaryIO) -> int:
        counted = _CountingReader(stream)
        # upload_fileobj is multipart for large bodies; the object appears only when complete.
        self.client.upload_fileobj(counted, self.bucket, self.object_key(key))
        return counted.size

    def fetch(self, key: str, workdir: Path) -> Path:
        target = workdir / PurePosixPath(key).name
        self.client.download_file(self.bucket, self.object_key(key), str(target))
        return target

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        """The object's size in bytes; None when there is no such object."""
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return answer["ContentLength"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def list_keys(self) -> Iterator[tuple[str, datetime]]:
        start = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        ):
            for item in page.get("Contents", []):
                modified = item["LastModified"].astimezone(UTC).replace(tzinfo=None)
                yield item["Key"].removeprefix(start), modified

    def listed(self, prefix: str) -> list[tuple[str, int]]:
        start = self.object_key(prefix.rstrip("/")) + "/"
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        ):
            found += [
                (prefix + item["Key"].removeprefix(start), item["Size"])
                for item in page.get("Contents", [])
            ]
        return sorted(found)

    def presigned_url(self, key: str, mimetype: str) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.object_key(key),
                "ResponseContentType": mimetype,
            },
            ExpiresIn=self.presign_seconds,
        )

    def send(self, key: str, mimetype: str) -> Response:
        response = redirect(self.presigned_url(key, mimetype), code=302)
        response.headers["Cache-Control"] = "private, no-store"  # the URL expires; ask again
        return response

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def partials_folder(self) -> None:
        return None  # a bucket is no folder: the web host keeps them (uploads go direct)

    # A multipart upload that a client sends straight to the bucket (core.direct): the app
    # starts it, signs each part's PUT for a short time, reads what arrived and completes it.
    # A take sent as it is recorded (core.streamed) is PUT a piece at a time instead.

    def start_multipart(self, key: str) -> str:
        answer = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.object_key(key))
        return answer["UploadId"]

    # A signed PUT names its body's size (Content-Length is a signed header): the bucket
    # refuses any other, so a URL cannot carry more than the app agreed to.

    def part_url(self, key: str, upload_id: str, number: int, size: int, seconds: int) -> str:
        return self.client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self.bucket,
                "Key": self.object_key(key),
                "UploadId": upload_id,
                "PartNumber": number,
                "ContentLength": size,
            },
            ExpiresIn=seconds,
        )

    def put_url(self, key: str, size: int, seconds: int) -> str:
        """A signed PUT of a whole object of ``size`` bytes (a take's piece)."""
        return self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": self.object_key(key), "ContentLength": size},
            ExpiresIn=seconds,
        )

    def parts(self, key: str, upload_id: str) -> list[dict]:
        """The parts that arrived, by number: ``PartNumber``, ``Size``, ``ETag``.
        FileNotFoundError when the bucket no longer has the upload (its lifecycle rule
        aborted it)."""
        found, marker = [], 0
        while True:
            try:
                answer = self.client.list_parts(
                    Bucket=self.bucket,
                    Key=self.object_key(key),
                    UploadId=upload_id,
                    PartNumberMarker=marker,
                )
            except self.client.exceptions.NoSuchUpload:
                raise FileNotFoundError(key) from None
            found += answer.get("Parts", [])
            if not answer.get("IsTruncated"):
                return sorted(found, key=lambda part: part["PartNumber"])
            marker = answer["NextPartNumberMarker"]

    def complete_multipart(self, key: str, upload_id: str, parts: list[dict]) -> int | None:
        """Join the parts into the object; its size, as the bucket says (None: no object).
        Joining a large object can outlast the client's read timeout: botocore then asks
        again, and the bucket answers that the upload is gone because the first request
        joined it."""
        with contextlib.suppress(self.client.exceptions.NoSuchUpload):
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.object_key(key),
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
                },
            )
        return self.size(key)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(self.client.exceptions.NoSuchUpload):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.object_key(key), UploadId=upload_id
            )


class _CountingReader:
    """Wraps a stream to count the bytes boto3 reads from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.size = 0

    def read(self, amount: int = -1) -> bytes:
        data = self.stream.read(amount)
        self.size += len(data)
        return data


def bucket_origin(bucket: str, *, endpoint_url: str | None, region: str | None) -> str:
    """The scheme and host of the bucket's presigned URLs, as botocore builds them (path or
    virtual-hosted style, the region's endpoint), found by building one unsigned: no
    credentials, no request."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        config=BotoConfig(signature_version=UNSIGNED),
    )
    url = urlsplit(client.generate_presigned_url("get_object", {"Bucket": bucket, "Key": "k"}))
    return f"{url.scheme}://{url.netloc}"


def storage_from_url(
    url: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    presign_seconds: int = 300,
    accel_prefix: str | None = None,
) -> Storage:
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"STORAGE_URL {url!r} names no bucket")
        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=BotoConfig(
                signature_version="s3v4",
                connect_timeout=3,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        origin = bucket_origin(bucket, endpoint_url=endpoint_url, region=region)
        return S3Storage(bucket, prefix, client, presign_seconds, origin)
    return LocalStorage(Path(url.removeprefix("file://")), accel_prefix)


def init_storage(app: Flask) -> None:
    config = app.config
    app.extensions["storage"] = storage_from_url(
        config["STORAGE_URL"],
        endpoint_url=config["S3_ENDPOINT_URL"],
        region=config["AWS_REGION"],
        presign_seconds=config["S3_PRESIGN_SECONDS"],
        accel_prefix=config["STORAGE_ACCEL_PREFIX"],
    )


def get_storage() -> Storage:
    return current_app.extensions["storage"]
