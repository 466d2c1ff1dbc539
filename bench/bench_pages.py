"""The pages a teacher and students use most, under real gunicorn, next to a bare route.

Seeds a migrated database (SQLite, or PostgreSQL with ``--postgres``) with one teacher, 50
students, 10,000 exercises with ready model videos and 100,000 comments (attempts with their
own videos, replies, time-coded feedback), 500 of them on one "big" exercise. Serves it with
gunicorn as deployed (deploy/gunicorn.conf.py, two workers), logs in as the teacher, and
measures the exercise list (plain and searched), the big exercise's page, its discussion
(which the page loads when scrolled to) and its video's status fragment against
``/bench/hello``:

- time per request, one client, no keep-alive, the routes interleaved so all see the same
  noise, 200 a route or as many as fit in 45 s (median and p95 at the client; "app" is the
  median duration the app logs for itself);
- requests per second with 8 keep-alive connections from several client processes, the
  routes alternated over 3 rounds (median per route), and each route's share of hello's.

Targets: status >= 0.5 of hello's RPS, list and detail >= 0.2, p95 < 50 ms. It exits 0
whether or not they are met, and non-zero on any HTTP error.
Run: make bench  (or .venv/bin/python bench/bench_pages.py [--postgres] [--help])
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from practika import create_app  # noqa: E402
from practika.accounts.models import Profile, Role, RoleName, User, UserMetrics  # noqa: E402
from practika.comments.models import CommentKind, VideoComment  # noqa: E402
from practika.core.models import ProcessingStatus, VideoAsset, VideoType  # noqa: E402
from practika.exercises.models import Exercise  # noqa: E402
from practika.extensions import db  # noqa: E402
from practika.media.ladder import plan_ladder  # noqa: E402
from tests.conftest import make_config  # noqa: E402
from tests.services import PostgresServer, RedisServer, free_port, wait_for  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PASSWORD = "bench-password"  # noqa: S105 (a throwaway account in a throwaway database)
STUDENTS = 50
EXERCISES = 10_000
COMMENTS = 100_000
BIG_COMMENTS = 500
BATCH = 5_000
SEARCH_WORD = "arpeggio"  # one of WORDS, so about one name in forty has it
WORDS = [
    "arpeggio",
    "scale",
    "etude",
    "chord",
    "tremolo",
    "legato",
    "staccato",
    "vibrato",
    "posture",
    "breathing",
    "rhythm",
    "tempo",
    "groove",
    "shuffle",
    "swing",
    "phrasing",
    "dynamics",
    "accent",
    "syncopation",
    "fingering",
    "bowing",
    "strumming",
    "picking",
    "slide",
    "bend",
    "hammer",
    "pull",
    "trill",
    "glissando",
    "pedal",
    "voicing",
    "inversion",
    "cadence",
    "interval",
    "octave",
    "warmup",
    "drill",
    "pattern",
    "rudiment",
    "paradiddle",
]
START = datetime(2024, 1, 1)


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class Seeded:
    teacher_login: str
    big_exercise: uuid.UUID
    big_asset: uuid.UUID


def ready_asset(owner_id: int, when: datetime, width: int, height: int, seconds: float) -> dict:
    """A video_assets row as the pipeline leaves it when done: a poster and the ladder the
    pipeline would plan for this size, each entry shaped like tasks._store_rendition's."""
    asset_id = uuid.uuid4()
    key = f"videos/{asset_id}"
    renditions = {}
    for rung in plan_ladder(width, height):
        size = round(rung.video_bitrate * seconds / 8 * 0.7)
        renditions[rung.name] = {
            "path": f"{key}/{rung.name}.mp4",
            "width": rung.width,
            "height": rung.height,
            "size_bytes": size,
            "bitrate": round(size * 8 / seconds),
        }
    return {
        "id": asset_id,
        "owner_id": owner_id,
        "orig_filename": "take.mp4",
        "storage_path": f"{key}/original",
        "mime_type": "video/mp4",
        "size_bytes": round(5_000_000 * seconds / 8),
        "poster_path": f"{key}/poster.jpg",
        "renditions": renditions,
        "video_type": VideoType.UPLOAD,
        "duration_sec": seconds,
        "width": width,
        "height": height,
        "processing_status": ProcessingStatus.READY,
        "processed_at": when,
        "progress_pct": 100,
        "created_at": when,
        "updated_at": when,
    }


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def discussion(
    rng: random.Random, exercise: dict, count: int, teacher: int, students: list[int]
) -> tuple[list[dict], list[dict]]:
    """``count`` comments on one exercise, oldest first (a reply always after its parent):
    plain comments, some time-coded; replies; students' attempts, each with its own ready
    video; and the teacher's time-coded feedback replying to attempts. Returns the comment
    rows and the attempts' video rows."""
    comments: list[dict] = []
    assets: list[dict] = []
    top: list[uuid.UUID] = []
    attempts: list[tuple[uuid.UUID, float]] = []
    when = exercise["created_at"]
    model_seconds = 90.0
    for _ in range(count):
        when += timedelta(minutes=rng.randint(1, 90))
        row = {
            "id": uuid.uuid4(),
            "exercise_id": exercise["id"],
            "author_id": rng.choice(students),
            "text": sentence(rng, rng.randint(4, 30)),
            "video_asset_id": None,
            "parent_id": None,
            "at_seconds": None,
            "kind": CommentKind.COMMENT,
            "created_at": when,
            "updated_at": when,
        }
        roll = rng.random()
        if roll < 0.08:
            seconds = float(rng.randint(15, 60))
            asset = ready_asset(row["author_id"], when, 720, 1280, seconds)  # a phone, upright
            assets.append(asset)
            row.update(kind=CommentKind.ATTEMPT, video_asset_id=asset["id"])
            attempts.append((row["id"], seconds))
        elif roll < 0.16 and attempts:
            parent, seconds = rng.choice(attempts)
            row.update(
                author_id=teacher, parent_id=parent, at_seconds=round(rng.uniform(0, seconds), 1)
            )
        elif roll < 0.40 and top:
            row["parent_id"] = rng.choice(top)
            if rng.random() < 0.3:
                row["author_id"] = teacher
        else:
            if rng.random() < 0.1:
                row["author_id"] = teacher
            if rng.random() < 0.3:
                row["at_seconds"] = round(rng.uniform(0, model_seconds), 1)
        if row["parent_id"] is None:
            top.append(row["id"])
        comments.append(row)
    return comments, assets


def insert(model: type, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(model), rows[start : start + BATCH])


def seed() -> Seeded:
    rng = random.Random(20240101)
    roles = {name: id_ for name, id_ in db.session.execute(sa.select(Role.name, Role.id))}
    password_hash = generate_password_hash(PASSWORD)  # one hash for everyone: it is slow
    people = [("teacher", "Tess", "Teacher", RoleName.TEACHER)]
    people += [
        (f"student{n:02}", f"Student{n:02}", "Bench", RoleName.STUDENT)
        for n in range(1, STUDENTS + 1)
    ]
    user_ids = db.session.scalars(
        sa.insert(User).returning(User.id, sort_by_parameter_order=True),
        [
            {
                "username": name,
                "email": f"{name}@bench.test",
                "password_hash": password_hash,
                "first_name": first,
                "last_name": last,
                "session_token": secrets.token_hex(16),
                "date_joined": START,
            }
            for name, first, last, _ in people
        ],
    ).all()
    profile_ids = db.session.scalars(
        sa.insert(Profile).returning(Profile.id, sort_by_parameter_order=True),
        [
            {
                "user_id": user_id,
                "role_id": roles[person[3]],
                "onboarding_completed": True,
                "email_verified_at": START,
            }
            for user_id, person in zip(user_ids, people, strict=True)
        ],
    ).all()
    insert(UserMetrics, [{"profile_id": profile_id} for profile_id in profile_ids])
    teacher, students = user_ids[0], list(user_ids[1:])

    assets: list[dict] = []
    exercises: list[dict] = []
    for n in range(EXERCISES):
        when = START + timedelta(minutes=30 * n)
        asset = ready_asset(teacher, when, 1280, 720, float(rng.randint(30, 240)))
        assets.append(asset)
        name = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {n + 1}"
        exercises.append(
            {
                "id": uuid.uuid4(),
                "name": name,
                "description": sentence(rng, rng.randint(5, 25)),
                "video_asset_id": asset["id"],
                "created_by_id": teacher,
                "created_at": when,
                "updated_at": when,
            }
        )
    big = exercises[EXERCISES // 2]  # neither the newest nor the oldest
    comments, attempt_assets = discussion(rng, big, BIG_COMMENTS, teacher, students)
    others = [e for e in exercises if e is not big]
    per_exercise = defaultdict(int)
    for exercise in rng.choices(range(len(others)), k=COMMENTS - BIG_COMMENTS):
        per_exercise[exercise] += 1
    for index, count in sorted(per_exercise.items()):
        rows, videos = discussion(rng, others[index], count, teacher, students)
        comments += rows
        attempt_assets += videos
    insert(VideoAsset, assets + attempt_assets)
    insert(Exercise, exercises)
    insert(VideoComment, comments)
    db.session.execute(
        sa.update(UserMetrics)
        .where(UserMetrics.profile_id == profile_ids[0])
        .values(exercises_created=EXERCISES)
    )
    db.session.commit()
    big_attempts = sum(c["kind"] == CommentKind.ATTEMPT for c in comments[:BIG_COMMENTS])
    print(
        f"  {len(user_ids)} users, {EXERCISES} exercises, {len(comments)} comments "
        f"({len(attempt_assets)} attempts with their videos); the big exercise has "
        f"{BIG_COMMENTS} comments, {big_attempts} of them attempts"
    )
    return Seeded("teacher@bench.test", big["id"], big["video_asset_id"])


# --- HTTP ------------------------------------------------------------------------------------


def excerpt(body: bytes) -> str:
    return body[:500].decode(errors="replace")


class HTTPFailure(SystemExit):
    """A response that was not 200: the benchmark stops, non-zero."""

    def __init__(self, what: str, status: int, body: bytes) -> None:
        super().__init__(f"{what}: HTTP {status}\n{excerpt(body)}")


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request on a connection of its own, closed afterwards (no keep-alive)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={**headers, "Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def log_in(port: int, login: str, password: str) -> str:
    """A browser's login, CSRF token included; returns the Cookie header it ends with."""
    jar: dict[str, str] = {}

    def send(method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.update({k: morsel.value for k, morsel in SimpleCookie(header).items()})
        connection.close()
        return response.status, data

    status, page = send("GET", "/accounts/login")
    if status != 200:
        raise HTTPFailure("GET /accounts/login", status, page)
    tags = [t for t in re.findall(r"<input[^>]*>", page.decode()) if 'name="csrf_token"' in t]
    token = re.search(r'value="([^"]*)"', tags[0]).group(1) if tags else ""
    form = urlencode({"email": login, "password": password, "csrf_token": token})
    status, body = send("POST", "/accounts/login", form)
    if status not in (200, 303):
        raise HTTPFailure("POST /accounts/login", status, body)
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, body = get(port, "/exercises/", {"Cookie": cookie})
    if status != 200:
        raise HTTPFailure("logged in, GET /exercises/", status, body)
    return cookie


def hammer(port: int, path: str, cookie: str, seconds: float, connections: int) -> tuple:
    """Requests on ``connections`` keep-alive connections (threads) until ``seconds`` pass.
    Runs in a client process of its own. Returns (count, started, ended, error or None)."""
    counts = [0] * connections
    errors: list[str] = []
    started = time.monotonic()
    deadline = started + seconds

    def loop(slot: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline and not errors:
            try:
                connection.request("GET", path, headers={"Cookie": cookie})
                response = connection.getresponse()
                body = response.read()
            except (http.client.HTTPException, ConnectionError):
                connection.close()  # the server closed a kept-alive connection: reconnect
                continue
            if response.status != 200:
                errors.append(f"GET {path}: HTTP {response.status}\n{excerpt(body)}")
            counts[slot] += 1
        connection.close()

    threads = [threading.Thread(target=loop, args=(slot,)) for slot in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts), started, time.monotonic(), errors[0] if errors else None


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Route:
    label: str
    path: str
    min_share: float | None  # of hello's RPS; None for hello itself
    ms: list[float]
    rps: list[float]


def server_times(port: int, routes: list[Route], cookie: str, rounds: int, budget: float) -> int:
    """Up to ``rounds`` rounds, one request per route each; fewer if ``budget`` seconds run
    out (slow pages must not make the run endless). Returns the rounds done."""
    deadline = time.monotonic() + budget
    for n in range(rounds):
        if n >= 20 and time.monotonic() > deadline:
            return n
        for route in routes:
            headers = {"Cookie": cookie, "X-Request-ID": f"bench-{route.label}-{n:06}"}
            started = time.perf_counter()
            status, body = get(port, route.path, headers)
            elapsed = time.perf_counter() - started
            if status != 200:
                raise HTTPFailure(f"GET {route.path}", status, body)
            route.ms.append(elapsed * 1000)
    return rounds


def app_times(log: Path, offset: int) -> dict[str, list[float]]:
    """What the app logged as each measured request's duration, by route label."""
    found: dict[str, list[float]] = defaultdict(list)
    with log.open() as lines:
        lines.seek(offset)
        for line in lines:
            if '"practika.request"' not in line or '"bench-' not in line:
                continue
            entry = json.loads(line)
            found[entry["request_id"].split("-")[1]].append(entry["duration_ms"])
    return found


def throughput(pool, port: int, routes: list[Route], cookie: str, args) -> None:
    share, extra = divmod(args.concurrency, args.clients)
    for n in range(3):
        for route in routes[n:] + routes[:n]:  # a different route goes first each round
            futures = [
                pool.submit(hammer, port, route.path, cookie, args.seconds, share + (i < extra))
                for i in range(args.clients)
            ]
            results = [f.result() for f in futures]
            for *_, error in results:
                if error:
                    raise SystemExit(error)
            count = sum(r[0] for r in results)
            span = max(r[2] for r in results) - min(r[1] for r in results)
            route.rps.append(count / span)


def report(routes: list[Route], app_ms: dict[str, list[float]]) -> None:
    hello = statistics.median(routes[0].rps)
    print(
        f"\n{'route':<8} {'median':>7} {'p95':>7} {'app':>6} {'RPS':>6} {'/hello':>6}  "
        f"{'target':<27} met"
    )
    for route in routes:
        median = statistics.median(route.ms)
        p95 = statistics.quantiles(route.ms, n=20)[-1]
        app = statistics.median(app_ms[route.label]) if app_ms.get(route.label) else float("nan")
        rps = statistics.median(route.rps)
        if route.min_share is None:
            target, met = "(the floor)", ""
        else:
            target = f">= {route.min_share:.1f} of hello, p95 < 50"
            met = "yes" if rps / hello >= route.min_share and p95 < 50 else "NO"
        print(
            f"{route.label:<8} {median:>7.2f} {p95:>7.2f} {app:>6.2f} {rps:>6.0f} "
            f"{rps / hello:>6.2f}  {target:<27} {met}"
        )
    print(
        "(median and p95: ms per request at the client, new connection each; app: median ms "
        "the app logged; RPS: median of 3 rounds)"
    )


def start_gunicorn(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                "deploy/gunicorn.conf.py",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "bench.pages_app:create_bench_app()",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="sequential requests a route")
    parser.add_argument(
        "--budget",
        type=float,
        default=45.0,
        help="seconds for all sequential requests (at least 20 a route)",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="throughput run a route")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="practika-bench-pages-"))
    pool = ProcessPoolExecutor(args.clients)
    redis = postgres = server = None
    try:
        redis = RedisServer().start()
        if args.postgres:
            postgres = PostgresServer().start()
            url = postgres.create_database("practika_bench")
        else:
            url = f"sqlite:///{tmp / 'bench.db'}"
        app = create_app(make_config(url, redis.url, tmp / "instance"))
        with app.app_context():
            flask_migrate.upgrade()
            started = time.perf_counter()
            seeded = seed()
            if postgres:  # autovacuum would, soon after; SQLite apps never run ANALYZE
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
            print(
                f"seeded in {time.perf_counter() - started:.1f} s "
                f"({'PostgreSQL' if postgres else 'SQLite'})"
            )
            db.engine.dispose()

        port = free_port()
        log = tmp / "gunicorn.log"
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": redis.url,
            "INSTANCE_PATH": str(tmp / "instance"),
            "STORAGE_URL": str(tmp / "instance" / "media"),
            "SECRET_KEY": secrets.token_hex(32),
            "PRACTIKA_ENV": "development",
        }
        server = start_gunicorn(port, env, log)

        def up() -> bool:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{log.read_text()[-2000:]}")
            try:
                return get(port, "/bench/hello", {})[0] == 200
            except OSError:
                return False

        wait_for(up, timeout=30, what="gunicorn")
        cookie = log_in(port, seeded.teacher_login, PASSWORD)
        routes = [
            Route("hello", "/bench/hello", None, [], []),
            Route("list", "/exercises/", 0.2, [], []),
            Route("search", f"/exercises/?q={SEARCH_WORD}", 0.2, [], []),
            Route("detail", f"/exercises/{seeded.big_exercise}", 0.2, [], []),
            # The page fetches its discussion when scrolled to; this is its page-of-its-own
            # form (what a browser without JavaScript gets): the fragment plus the layout.
            Route("comments", f"/comments/exercises/{seeded.big_exercise}/discussion", 0.2, [], []),
            Route("status", f"/core/videos/{seeded.big_asset}/status", 0.5, [], []),
        ]
        for route in routes:
            print(f"  {route.label}: {route.path}")
        server_times(port, routes, cookie, 10, 60)  # warm both workers: templates, connections
        for route in routes:
            route.ms.clear()
        offset = log.stat().st_size
        started = time.perf_counter()
        done = server_times(port, routes, cookie, args.requests, args.budget)
        print(
            f"{done} sequential requests a route in {time.perf_counter() - started:.1f} s"
            + (" (stopped at --budget)" if done < args.requests else "")
        )
        app_ms = app_times(log, offset)
        started = time.perf_counter()
        throughput(pool, port, routes, cookie, args)
        print(
            f"throughput: {args.concurrency} connections from {args.clients} processes, "
            f"{args.seconds:g} s a route, 3 rounds, in {time.perf_counter() - started:.0f} s"
        )
        report(routes, app_ms)
    finally:
        pool.shutdown(cancel_futures=True)
        if server is not None:
            stop(server)
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
