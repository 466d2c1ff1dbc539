"""What the page benchmarks share: seeding helpers, and serving a seeded database with
gunicorn as deployed to time pages next to a bare route.

A benchmark gives ``run`` a seeding function (called inside an app context on a migrated
database, SQLite or PostgreSQL) that returns the routes to measure, each with the account it
is requested as. ``run`` then measures, against ``/bench/hello``:

- time per request, one client, no keep-alive, the routes interleaved so all see the same
  noise, ``--requests`` a route or as many as fit in ``--budget`` seconds (median and p95 at
  the client; "app" is the median duration the app logs for itself);
- requests per second with ``--concurrency`` keep-alive connections from ``--clients``
  client processes, the routes alternated over 3 rounds (median per route), and each
  route's share of hello's.

It exits 0 whether or not the targets are met, and non-zero on any HTTP error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flask_migrate  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from practika import create_app  # noqa: E402
from practika.accounts.models import Profile, Role, User, UserMetrics  # noqa: E402
from practika.core.models import ProcessingStatus, VideoType  # noqa: E402
from practika.extensions import db  # noqa: E402
from practika.media.ladder import plan_ladder  # noqa: E402
from tests.conftest import make_config  # noqa: E402
from tests.services import PostgresServer, RedisServer, free_port, wait_for  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PASSWORD = "bench-password"  # noqa: S105 (throwaway accounts in a throwaway database)
BATCH = 5_000
P95_TARGET_MS = 50


# --- seeding ---------------------------------------------------------------------------------


def insert(model: type, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(model), rows[start : start + BATCH])


def add_people(people: list[tuple[str, str, str, str]], joined: datetime) -> list[int]:
    """Users with onboarded, confirmed profiles, from (username, first, last, role name);
    each logs in as ``username@bench.test`` with PASSWORD. Returns their ids in order."""
    roles = {name: id_ for name, id_ in db.session.execute(sa.select(Role.name, Role.id))}
    password_hash = generate_password_hash(PASSWORD)  # one hash for everyone: it is slow
    user_ids = []
    for start in range(0, len(people), BATCH):
        user_ids += db.session.scalars(
            sa.insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "username": name,
                    "email": f"{name}@bench.test",
                    "password_hash": password_hash,
                    "first_name": first,
                    "last_name": last,
                    "session_token": secrets.token_hex(16),
                    "date_joined": joined,
                }
                for name, first, last, _ in people[start : start + BATCH]
            ],
        ).all()
    profile_ids = []
    for start in range(0, len(people), BATCH):
        profile_ids += db.session.scalars(
            sa.insert(Profile).returning(Profile.id, sort_by_parameter_order=True),
            [
                {
                    "user_id": user_id,
                    "role_id": roles[person[3]],
                    "onboarding_completed": True,
                    "email_verified_at": joined,
                }
                for user_id, person in zip(
                    user_ids[start : start + BATCH], people[start : start + BATCH], strict=True
                )
            ],
        ).all()
    insert(UserMetrics, [{"profile_id": profile_id} for profile_id in profile_ids])
    return user_ids


def ready_asset(
    owner_id: int,
    when: datetime,
    width: int,
    height: int,
    seconds: float,
    status: str = ProcessingStatus.READY,
) -> dict:
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
    ready = status == ProcessingStatus.READY
    return {
        "id": asset_id,
        "owner_id": owner_id,
        "orig_filename": "take.mp4",
        "storage_path": f"{key}/original",
        "mime_type": "video/mp4",
        "size_bytes": round(5_000_000 * seconds / 8),
        "poster_path": f"{key}/poster.jpg" if ready else None,
        "renditions": renditions if ready else {},
        "video_type": VideoType.UPLOAD,
        "duration_sec": seconds,
        "width": width,
        "height": height,
        "processing_status": status,
        "processed_at": when if ready else None,
        "progress_pct": 100 if ready else 40,
        "created_at": when,
        "updated_at": when,
    }


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


def log_in(port: int, login: str) -> str:
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
    form = urlencode({"email": login, "password": PASSWORD, "csrf_token": token})
    status, body = send("POST", "/accounts/login", form)
    if status not in (200, 303):
        raise HTTPFailure("POST /accounts/login", status, body)
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    status, body = get(port, "/exercises/", {"Cookie": cookie})
    if status != 200:
        raise HTTPFailure(f"{login} logged in, GET /exercises/", status, body)
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
    min_share: float  # of hello's RPS
    login: str | None = None  # requested as this account; None: anonymous
    cookie: str = ""
    ms: list[float] = field(default_factory=list)
    rps: list[float] = field(default_factory=list)


HELLO = "hello"


def server_times(port: int, routes: list[Route], rounds: int, budget: float) -> int:
    """Up to ``rounds`` rounds, one request per route each; fewer if ``budget`` seconds run
    out (slow pages must not make the run endless). Returns the rounds done."""
    deadline = time.monotonic() + budget
    for n in range(rounds):
        if n >= 20 and time.monotonic() > deadline:
            return n
        for route in routes:
            headers = {"Cookie": route.cookie, "X-Request-ID": f"bench-{route.label}-{n:06}"}
            started = time.perf_counter()
            status, body = get(port, route.path, headers)
            elapsed = time.perf_counter() - started
            if status != 200:
                raise HTTPFailure(f"GET {route.path} as {route.login}", status, body)
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
            found[entry["request_id"].split("-", 1)[1].rsplit("-", 1)[0]].append(
                entry["duration_ms"]
            )
    return found


def throughput(pool, port: int, routes: list[Route], args) -> None:
    share, extra = divmod(args.concurrency, args.clients)
    for n in range(3):
        for route in routes[n:] + routes[:n]:  # a different route goes first each round
            futures = [
                pool.submit(
                    hammer, port, route.path, route.cookie, args.seconds, share + (i < extra)
                )
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
    width = max(len(route.label) for route in routes)
    print(
        f"\n{'route':<{width}} {'median':>7} {'p95':>7} {'app':>6} {'RPS':>6} {'/hello':>6}  "
        f"{'target':<27} met"
    )
    for route in routes:
        median = statistics.median(route.ms)
        p95 = statistics.quantiles(route.ms, n=20)[-1]
        app = statistics.median(app_ms[route.label]) if app_ms.get(route.label) else float("nan")
        rps = statistics.median(route.rps)
        if route.label == HELLO:
            target, met = "(the floor)", ""
        else:
            target = f">= {route.min_share:.1f} of hello, p95 < {P95_TARGET_MS}"
            met = "yes" if rps / hello >= route.min_share and p95 < P95_TARGET_MS else "NO"
        print(
            f"{route.label:<{width}} {median:>7.2f} {p95:>7.2f} {app:>6.2f} {rps:>6.0f} "
            f"{rps / hello:>6.2f}  {target:<27} {met}"
        )
    print(
        "(median and p95: ms per request at the client, new connection each; app: median ms "
        "the app logged; RPS: median of 3 rounds)"
    )


def site_env(database_url: str, redis_url: str, tmp: Path) -> dict[str, str]:
    """What the served app is configured with: the seeded database, its Redis, and local
    media under ``tmp/instance``."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(tmp / "instance"),
        "STORAGE_URL": str(tmp / "instance" / "media"),
        "SECRET_KEY": secrets.token_hex(32),
        "PRACTIKA_ENV": "development",
    }


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


def arguments(doc: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
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
    return parser.parse_args()


def _seeded(url: str, redis_url: str, instance: Path, seed: Callable[[], list[Route]]):
    app = create_app(make_config(url, redis_url, instance))
    with app.app_context():
        flask_migrate.upgrade()
        started = time.perf_counter()
        routes = seed()
        if url.startswith("postgresql"):  # autovacuum would, soon after
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"seeded in {time.perf_counter() - started:.1f} s ({backend})")
        db.engine.dispose()
    return routes


def run(doc: str, seed: Callable[[], list[Route]]) -> None:
    """Seed a fresh database with ``seed``, serve it and measure the routes it returns."""
    args = arguments(doc)
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
        routes = [Route(HELLO, "/bench/hello", 0), *_seeded(url, redis.url, tmp / "instance", seed)]

        port = free_port()
        log = tmp / "gunicorn.log"
        server = start_gunicorn(port, site_env(url, redis.url, tmp), log)

        def up() -> bool:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{log.read_text()[-2000:]}")
            try:
                return get(port, "/bench/hello", {})[0] == 200
            except OSError:
                return False

        wait_for(up, timeout=30, what="gunicorn")
        cookies = {login: log_in(port, login) for login in {r.login for r in routes if r.login}}
        for route in routes:
            route.cookie = cookies.get(route.login, "")
            print(f"  {route.label}: {route.path}" + (f" as {route.login}" if route.login else ""))
        server_times(port, routes, 10, 60)  # warm both workers: templates, connections
        for route in routes:
            route.ms.clear()
        offset = log.stat().st_size
        started = time.perf_counter()
        done = server_times(port, routes, args.requests, args.budget)
        print(
            f"{done} sequential requests a route in {time.perf_counter() - started:.1f} s"
            + (" (stopped at --budget)" if done < args.requests else "")
        )
        app_ms = app_times(log, offset)
        started = time.perf_counter()
        throughput(pool, port, routes, args)
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
