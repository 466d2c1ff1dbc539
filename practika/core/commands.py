"""``flask admin`` commands for videos: import, reprocess, and a look at the queues."""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from rq import Worker

from practika.accounts.models import User, normalize_email
from practika.comments.models import VideoComment
from practika.core import streamed
from practika.core.incoming import partial_store
from practika.core.models import ProcessingStatus, VideoAsset, VideoClip
from practika.core.services import (
    enqueue_processing,
    store_upload,
    stored_keys,
    validate_stored,
)
from practika.extensions import db
from practika.model_base import utcnow
from practika.queue import QUEUE_NAMES, get_queue, get_redis
from practika.storage import get_storage


@click.command("import-video")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", required=True, help="Email of the user who will own the videos.")
@click.option("--wait", is_flag=True, help="Wait for processing and report each result.")
@click.option("--timeout", default=3600, show_default=True, help="Seconds --wait waits at most.")
def import_video(paths: tuple[str, ...], owner: str, wait: bool, timeout: int) -> None:
    """Load video files as if uploaded: same validation, same pipeline (a worker processes them).

    With --wait, prints per file the asset id, final status, the reason of a failure,
    duration, dimensions and renditions, and exits non-zero if any failed.
    """
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(owner)))
    if user is None:
        raise click.ClickException(f"no user with email {owner}")
    imported = []
    for path in paths:
        with open(path, "rb") as stream:
            asset = store_upload(stream, owner=user, filename=Path(path).name)
        db.session.commit()
        queued = enqueue_processing(asset)
        click.echo(f"{path}: {asset.id} {'queued' if queued else 'stored (Redis is away)'}")
        imported.append((path, asset.id))
    if not wait:
        return
    results = _wait_for(dict(imported).values(), timeout)
    failed = 0
    for path, asset_id in imported:
        asset = results[asset_id]
        failed += asset.processing_status != ProcessingStatus.READY
        click.echo(_describe(path, asset))
    if failed:
        raise click.ClickException(f"{failed} of {len(imported)} videos did not become ready")


def _wait_for(asset_ids, timeout: int) -> dict[uuid.UUID, VideoAsset]:
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        assets = {
            a.id: a
            for a in db.session.scalars(
                sa.select(VideoAsset).where(VideoAsset.id.in_(list(asset_ids)))
            )
        }
        if all(a.status.is_terminal for a in assets.values()) or time.monotonic() > deadline:
            return assets
        time.sleep(1)


def _describe(path: str, asset: VideoAsset) -> str:
    line = f"{path}: {asset.id} {asset.processing_status}"
    if asset.processing_status == ProcessingStatus.FAILED:
        return f"{line}: {asset.processing_error}"
    if asset.processing_status != ProcessingStatus.READY:
        return f"{line} (still {asset.processing_stage or 'waiting'} when --wait gave up)"
    ladder = ", ".join(
        f"{name} {r['width']}x{r['height']} {round((r['bitrate'] or 0) / 1000)} kb/s"
        for name, r in asset.renditions.items()
    )
    return f"{line}: {asset.duration_sec:.1f} s, {asset.width}x{asset.height}, {ladder}"


@click.command("reprocess")
@click.argument("asset_id", required=False, type=click.UUID)
@click.option("--failed", "all_failed", is_flag=True, help="Every video that failed.")
def reprocess(asset_id: uuid.UUID | None, all_failed: bool) -> None:
    """Process one video again (by id), or every failed one with --failed."""
    if (asset_id is None) == (not all_failed):
        raise click.UsageError("give an ASSET_ID or --failed, not both")
    query = sa.select(VideoAsset).where(VideoAsset.video_type == "upload")
    if asset_id:
        query = query.where(VideoAsset.id == asset_id)
    else:
        query = query.where(VideoAsset.processing_status == ProcessingStatus.FAILED)
    assets = db.session.scalars(query).all()
    if asset_id and not assets:
        raise click.ClickException(f"no uploaded video {asset_id}")
    for asset in assets:
        asset.processing_status = ProcessingStatus.QUEUED
        asset.processing_error = None
        asset.attempts = 0
        asset.progress_pct = 0
        db.session.commit()
        queued = enqueue_processing(asset)
        click.echo(f"{asset.id}: {'queued' if queued else 'marked queued (Redis is away)'}")
    click.echo(f"{len(assets)} video(s) to process again.")


@click.command("queue")
def queue_command() -> None:
    """Queue depths, running workers, and failed and scheduled jobs."""
    click.echo(f"workers: {Worker.count(connection=get_redis())}")
    for name in QUEUE_NAMES:
        queue = get_queue(name)
        click.echo(
            f"{name}: {len(queue)} waiting, {queue.started_job_registry.count} running, "
            f"{queue.scheduled_job_registry.count} scheduled, "
            f"{queue.failed_job_registry.count} failed"
        )


@click.command("validate-assets")
def validate_assets() -> None:
    """Check every uploaded video's stored objects exist and its original matches its
    checksum; record is_valid, last_validated and validation_errors. Exits 1 on problems."""
    assets = db.session.scalars(
        sa.select(VideoAsset).where(
            VideoAsset.video_type == "upload", VideoAsset.storage_path.is_not(None)
        )
    ).all()
    bad = 0
    for asset in assets:
        with tempfile.TemporaryDirectory(prefix="practika-validate-") as workdir:
            problems = validate_stored(asset, Path(workdir))
        db.session.commit()
        if problems:
            bad += 1
            click.echo(f"{asset.id}: {'; '.join(problems)}")
    click.echo(f"{len(assets) - bad} of {len(assets)} videos are intact.")
    if bad:
        raise click.exceptions.Exit(1)


@click.command("cleanup")
@click.option(
    "--grace-hours",
    default=24,
    show_default=True,
    help="Leave alone anything younger than this (uploads in flight).",
)
@click.option("--delete", is_flag=True, help="Delete them; without it, only list (a dry run).")
def cleanup(grace_hours: int, delete: bool) -> None:
    """Find stored objects no row refers to, and abandoned resumable uploads, older than
    the grace period (the pieces of a take still on its way, or not yet joined, are
    referred to). Lists them; --delete removes them."""
    cutoff = utcnow() - timedelta(hours=grace_hours)
    known = {
        key for asset in db.session.scalars(sa.select(VideoAsset)) for key in stored_keys(asset)
    }
    known |= set(db.session.scalars(sa.select(VideoClip.storage_path)).all())
    known |= set(db.session.scalars(sa.select(VideoComment.still_path)).all())
    waiting = streamed.waiting()
    storage = get_storage()
    orphans = [
        key
        for key, modified in storage.list_keys()
        if key not in known and modified < cutoff and not streamed.in_progress(key, waiting)
    ]
    partials = partial_store()
    stale = list(partials.older_than(cutoff))
    for key in orphans:
        click.echo(f"{'deleting' if delete else 'would delete'} object {key}")
        if delete:
            storage.delete(key)
    for upload_id in stale:
        click.echo(f"{'deleting' if delete else 'would delete'} abandoned upload {upload_id}")
        if delete:
            partials.delete(upload_id)
    verb = "Deleted" if delete else "Found (dry run; --delete removes them)"
    click.echo(f"{verb}: {len(orphans)} orphaned objects, {len(stale)} abandoned uploads.")
