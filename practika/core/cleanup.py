"""Cleanup of the videos nothing uses, after notice (Issue 14, item 6).

A video is *due* once it is VIDEO_CLEANUP_AFTER_DAYS old, done processing, not kept, owned
by someone, and used by nothing (no exercise, attempt or comment). Its owner's Videos page
lists it with its removal date at once. The sweep tells each owner, in one mail, which of
their videos became due, and records that notice on each; it removes a video
VIDEO_CLEANUP_NOTICE_DAYS after its notice if it is still due then. A video used or kept
meanwhile loses its notice: should it be unused again later, the clock starts over.

The sweep runs every minute, so no step reads every video: the notices walk the old videos
by age, a window at a time (the cursor is kept in Redis; a lost cursor starts over), and
the other steps read only the noticed videos, by their own partial index.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from practika.accounts.models import User
from practika.core.library import InUse, delete_unused, unused_filter
from practika.core.models import UNFINISHED, VideoAsset
from practika.extensions import db
from practika.mail import absolute_url, keep_mail, queue_kept
from practika.model_base import utcnow
from practika.queue import get_redis

log = logging.getLogger(__name__)

WINDOW = 1000  # old videos looked at for new notices per sweep
REMOVALS = 100  # videos removed per sweep at most (each is a few storage deletes)
CURSOR = "practika:cleanup-cursor"


def _days(setting: str) -> timedelta:
    return timedelta(days=current_app.config[setting])


def due_filter(now: datetime) -> sa.ColumnElement[bool]:
    """Due for cleanup, as SQL: the one home of the rule in the module's docstring."""
    return sa.and_(
        VideoAsset.owner_id.is_not(None),
        VideoAsset.kept.is_(False),
        VideoAsset.processing_status.not_in(UNFINISHED),
        VideoAsset.created_at <= now - _days("VIDEO_CLEANUP_AFTER_DAYS"),
        unused_filter(),
    )


def removal_at(asset: VideoAsset, now: datetime) -> datetime:
    """When a due video goes: its notice's time (or now, the sweep has yet to send it) plus
    the notice period. Never before: a notice sent later only moves it later."""
    return (asset.cleanup_noticed_at or now) + _days("VIDEO_CLEANUP_NOTICE_DAYS")


def due_videos(owner_id: int) -> list[tuple[VideoAsset, datetime]]:
    """The owner's due videos, oldest first, each with its removal time (the Videos page)."""
    now = utcnow()
    videos = db.session.scalars(
        sa.select(VideoAsset)
        .where(VideoAsset.owner_id == owner_id, due_filter(now))
        .order_by(VideoAsset.created_at)
        .limit(100)
    )
    return [(video, removal_at(video, now)) for video in videos]


def keep(asset: VideoAsset) -> None:
    """Its owner keeps it though nothing uses it: never due again (the caller commits)."""
    asset.kept = True
    asset.cleanup_noticed_at = None


def sweep() -> dict[str, int]:
    """Forget the notices of videos no longer due, remove those whose notice ran out, send
    the notices of videos that became due; how many were noticed and removed."""
    _forget_notices()
    removed = _remove_expired()
    try:
        window = _next_window()
    except RedisError:
        window = []  # Redis is away: the notices wait for the next sweep
    return {"videos_noticed": _send_notices(window), "videos_removed": removed}


def _noticed() -> sa.ColumnElement[bool]:
    return VideoAsset.cleanup_noticed_at.is_not(None)


def _forget_notices() -> None:
    """A noticed video that got used, kept or processed again is no longer going."""
    db.session.execute(
        sa.update(VideoAsset)
        .where(_noticed(), ~due_filter(utcnow()))
        .values(cleanup_noticed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _remove_expired() -> int:
    """Remove the videos whose notice ran out and that are still due, rows then files, with
    the in-use check made again in the deleting transaction (``delete_unused``)."""
    now = utcnow()
    ran_out = now - _days("VIDEO_CLEANUP_NOTICE_DAYS")
    expired = db.session.scalars(
        sa.select(VideoAsset)
        .where(_noticed(), VideoAsset.cleanup_noticed_at <= ran_out, due_filter(now))
        .order_by(VideoAsset.cleanup_noticed_at)
        .limit(REMOVALS)
    ).all()
    removed = 0
    for asset in expired:
        asset_id = asset.id
        try:
            delete_unused(asset)
        except InUse:  # used since the query: it stays, and its notice goes
            asset.cleanup_noticed_at = None
            db.session.commit()
            continue
        log.info("video %s removed: unused since its notice", asset_id)
        removed += 1
    return removed


def _next_window() -> list[uuid.UUID]:
    """The next WINDOW videos old enough to be due, by age after the cursor; the cursor moves
    past them, and back to the start after the last."""
    redis = get_redis()
    cutoff = utcnow() - _days("VIDEO_CLEANUP_AFTER_DAYS")
    key = sa.tuple_(VideoAsset.created_at, VideoAsset.id)
    query = (
        sa.select(VideoAsset.created_at, VideoAsset.id)
        .where(VideoAsset.created_at <= cutoff)
        .order_by(VideoAsset.created_at, VideoAsset.id)
        .limit(WINDOW)
    )
    cursor = redis.get(CURSOR)
    if cursor:
        stamp, asset_id = cursor.decode().split(" ")
        query = query.where(key > (datetime.fromisoformat(stamp), uuid.UUID(asset_id)))
    rows = db.session.execute(query).all()
    if len(rows) < WINDOW:
        redis.delete(CURSOR)
    else:
        redis.set(CURSOR, f"{rows[-1].created_at.isoformat()} {rows[-1].id}")
    return [row.id for row in rows]


def _send_notices(window: list[uuid.UUID]) -> int:
    """Notice the due videos of the window, one mail per active owner; how many. The notice
    and its mail are committed together, and a video already noticed is not noticed again,
    so a sweep run twice, or two at once, mails once."""
    if not window:
        return 0
    now = utcnow()
    due = db.session.execute(
        sa.select(VideoAsset.id, VideoAsset.owner_id)
        .join(User, User.id == VideoAsset.owner_id)
        .where(VideoAsset.id.in_(window), ~_noticed(), User.is_active, due_filter(now))
    ).all()
    by_owner: dict[int, list[uuid.UUID]] = defaultdict(list)
    for asset_id, owner_id in due:
        by_owner[owner_id].append(asset_id)
    return sum(_notice(owner_id, ids, now) for owner_id, ids in by_owner.items())


def _notice(owner_id: int, asset_ids: list[uuid.UUID], now: datetime) -> int:
    claimed = db.session.scalars(
        sa.update(VideoAsset)
        .where(VideoAsset.id.in_(asset_ids), ~_noticed())
        .values(cleanup_noticed_at=now)
        .returning(VideoAsset.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        db.session.rollback()
        return 0
    owner = db.session.get(User, owner_id)
    videos = db.session.scalars(
        sa.select(VideoAsset).where(VideoAsset.id.in_(claimed)).order_by(VideoAsset.created_at)
    ).all()
    mail_id = keep_mail(
        "videos_due",
        owner.email,
        "Videos you do not use will be removed",
        name=owner.display_name,
        videos=videos,
        removal=now + _days("VIDEO_CLEANUP_NOTICE_DAYS"),
        link=absolute_url("core.my_videos"),
    )
    db.session.commit()
    queue_kept(mail_id, "videos_due")
    return len(claimed)
