"""The media pipeline against plain FFmpeg, measured side by side in one run.

On generated 30 s 1080p sources (H.264/AAC, and HEVC/AAC), for each round and source:

- the pipeline: ``process_video`` on an uploaded asset (validate, poster, playable-first
  remux, ladder), in this process, CPU time of this process and its FFmpeg children;
- the best hand-written single FFmpeg command producing the same outputs (one decode, a
  split, the same encoder settings; a stream copy where the pipeline reused the source),
  plus the same poster command;
- one full encode per rendition, each in its own FFmpeg process (how MediaCMS does it);
- for the H.264 source, the time from upload complete to playable, and to ready.

Prints medians over BENCH_ROUNDS rounds (default 3) and their ratios.
Run: make bench  (or .venv/bin/python bench/bench_media.py)
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate
import sqlalchemy as sa

from practika import create_app
from practika.accounts.models import User
from practika.accounts.services.users import create_user
from practika.config import TestConfig
from practika.core.models import VideoAsset
from practika.core.services import store_upload
from practika.core.tasks import process_video
from practika.extensions import db
from practika.media.ladder import plan_ladder, reusable_top_rung
from practika.media.validate import validate

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = 30
QUIET = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
X264 = [
    *"-c:v libx264 -preset veryfast -crf 23 -profile:v high -pix_fmt yuv420p".split(),
]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (FFmpeg)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(args: list[str]) -> None:
    subprocess.run(["ffmpeg", *QUIET, *args], check=True)


def make_sources(folder: Path) -> dict[str, Path]:
    pattern = [
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size=1920x1080:rate=30:duration={SECONDS}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
    ]
    h264, hevc = folder / "source-h264.mp4", folder / "source-hevc.mp4"
    run([*pattern, *X264, "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(h264)])
    x265 = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]
    run(
        [
            *pattern,
            *x265,
            *"-pix_fmt yuv420p -tag:v hvc1 -c:a aac -b:a 128k".split(),
            str(hevc),
        ]
    )
    return {"H.264": h264, "HEVC": hevc}


def poster(source: Path, out: Path) -> None:
    run(["-ss", "1", "-i", str(source), "-frames:v", "1", "-q:v", "3", str(out / "poster.jpg")])


def hand_written(source: Path, out: Path, renditions: dict[str, dict]) -> None:
    """One FFmpeg process: decode once, split, encode each rung; copy a reused rung."""
    encoded = {n: r for n, r in renditions.items() if not r.get("reused")}
    graph = f"[0:v]split={len(encoded)}" + "".join(f"[s{i}]" for i in range(len(encoded)))
    args = ["-i", str(source)]
    outputs: list[str] = []
    for i, (name, r) in enumerate(encoded.items()):
        graph += f";[s{i}]scale={r['width']}:{r['height']},setsar=1,format=yuv420p[v{i}]"
        outputs += [
            "-map",
            f"[v{i}]",
            "-map",
            "0:a",
            *X264,
            "-maxrate",
            str(r["cap"]),
            "-bufsize",
            str(2 * r["cap"]),
            *"-c:a aac -b:a 128k -movflags +faststart".split(),
            str(out / f"{name}.mp4"),
        ]
    for name, r in renditions.items():
        if r.get("reused"):
            outputs += [
                *"-map 0:v -map 0:a -c copy -movflags +faststart".split(),
                str(out / f"{name}.mp4"),
            ]
    run([*args, "-filter_complex", graph, *outputs])
    poster(source, out)


def per_rendition(source: Path, out: Path) -> None:
    """One full decode and encode per rung, each its own FFmpeg process."""
    for rung in plan_ladder(1920, 1080):
        run(
            [
                "-i",
                str(source),
                "-vf",
                f"scale={rung.width}:{rung.height}",
                *X264,
                "-maxrate",
                str(rung.video_bitrate),
                "-bufsize",
                str(2 * rung.video_bitrate),
                *"-c:a aac -b:a 128k -movflags +faststart".split(),
                str(out / f"{rung.name}.mp4"),
            ]
        )
    poster(source, out)


def same_outputs(source: Path, made: dict[str, dict]) -> dict[str, dict]:
    """The pipeline's renditions, each with its bitrate cap and whether the source was reused
    as it (decided by the pipeline's own rule)."""
    ladder = plan_ladder(1920, 1080)
    facts = validate(source)
    size = source.stat().st_size
    reused = reusable_top_rung(facts, ladder, size * 8 / facts.duration)
    caps = {r.name: r.video_bitrate for r in ladder}
    return {
        name: {**r, "cap": caps[name], "reused": reused is not None and name == reused.name}
        for name, r in made.items()
    }


def timed(work, *args) -> float:
    started = cpu_seconds()
    work(*args)
    return cpu_seconds() - started


def pipeline(app, owner_id: int, source: Path) -> tuple[float, float, float, dict]:
    """CPU seconds, seconds to playable, seconds to ready, and the renditions made."""
    with app.app_context():
        with source.open("rb") as stream:
            owner = db.session.get(User, owner_id)
            asset = store_upload(stream, owner=owner, filename=source.name)
        db.session.commit()
        asset_id = asset.id
    seen: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:  # a second connection, as the status fragment would read it
        with app.app_context():
            while not done.is_set():
                row = db.session.execute(
                    sa.select(VideoAsset.renditions, VideoAsset.processing_status).where(
                        VideoAsset.id == asset_id
                    )
                ).one()
                now = time.monotonic()
                if row.renditions and "playable" not in seen:
                    seen["playable"] = now
                db.session.rollback()
                time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    started_at = time.monotonic()
    watcher.start()
    started_cpu = cpu_seconds()
    with app.app_context():
        process_video(str(asset_id))
        ready_at = time.monotonic()
        asset = db.session.get(VideoAsset, asset_id)
        renditions = asset.renditions
        assert asset.processing_status == "ready", asset.processing_error
    cpu = cpu_seconds() - started_cpu
    done.set()
    watcher.join()
    return cpu, seen.get("playable", ready_at) - started_at, ready_at - started_at, renditions


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="practika-bench-") as tmp:
        tmp_path = Path(tmp)
        print(f"generating 30 s 1080p sources in {tmp} ...", flush=True)
        sources = make_sources(tmp_path)
        app = create_app(
            TestConfig(
                {
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.db'}",
                    "REDIS_URL": "unix:///nonexistent/redis.sock",  # nothing is queued here
                    "INSTANCE_PATH": str(tmp_path / "instance"),
                    "STORAGE_URL": str(tmp_path / "instance" / "media"),
                }
            )
        )
        with app.app_context():
            flask_migrate.upgrade()
            owner = create_user(
                email="bench@example.com",
                username="bench",
                password="pipeline passphrase",
                role="teacher",
            )
            db.session.commit()
            owner_id = owner.id
        results: dict[str, dict[str, list[float]]] = {
            kind: {"pipeline": [], "hand": [], "per": [], "playable": [], "ready": []}
            for kind in sources
        }
        for round_no in range(1, ROUNDS + 1):
            for kind, source in sources.items():
                out = Path(tempfile.mkdtemp(dir=tmp))
                cpu, playable, ready, made = pipeline(app, owner_id, source)
                same = same_outputs(source, made)
                hand = timed(hand_written, source, out, same)
                per = timed(per_rendition, source, out)
                r = results[kind]
                r["pipeline"].append(cpu)
                r["hand"].append(hand)
                r["per"].append(per)
                r["playable"].append(playable)
                r["ready"].append(ready)
                print(
                    f"round {round_no} {kind}: pipeline {cpu:.1f} s CPU, hand-written "
                    f"{hand:.1f} s, per rendition {per:.1f} s; playable after {playable:.2f} s,"
                    f" ready after {ready:.1f} s",
                    flush=True,
                )
        print(f"\nmedians over {ROUNDS} round(s), CPU seconds:")
        for kind, r in results.items():
            med = {k: statistics.median(v) for k, v in r.items()}
            print(
                f"{kind}: pipeline / best single command = {med['pipeline'] / med['hand']:.2f}"
                f" (target <= 1.10); pipeline / one encode per rendition = "
                f"{med['pipeline'] / med['per']:.2f} (target <= 0.5 for H.264)"
            )
        h264 = {k: statistics.median(v) for k, v in results["H.264"].items()}
        print(
            f"H.264/AAC: upload-to-playable / upload-to-ready = "
            f"{h264['playable'] / h264['ready']:.3f} ({h264['playable']:.2f} s vs "
            f"{h264['ready']:.1f} s; target <= 0.2)"
        )


if __name__ == "__main__":
    main()
