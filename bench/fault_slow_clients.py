"""Fault: 50 slow anonymous clients and 200 status pollers at once, against `make run`.

Starts scripts/run.sh for real (nginx in front of gunicorn, a worker, Redis, SQLite, the demo
data) on a free port in a temporary instance folder, then for --seconds (30) keeps open:
- 50 connections sending a POST body a byte every 2 s (login page and upload endpoint), from
  127.0.0.2, as the attacker in issue 11 did;
- 200 logged-in pollers asking the demo video's status fragment about once a second, as pages
  do, over keep-alive connections from 127.0.0.3-12 (in a process of their own);
and meanwhile measures a page (/accounts/login) and /core/health/ from 127.0.0.1. Prints the
median, p95 and max latency of each, and of the polls. Target: pages and health under 1 s.
Loopback only; everything it starts, it stops.  Run: .venv/bin/python bench/fault_slow_clients.py
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from practika.demo import DEMO_ACCOUNTS  # noqa: E402
from tests.services import free_port, wait_for  # noqa: E402
from tests.stack.slow_clients import SlowClients, answers, make_run  # noqa: E402

POLLERS = 200
SLOW = 50
TIMEOUT = 5.0  # a request slower than this counts as failed


async def _get(reader, writer, request: bytes) -> int:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(None, 2)[1])
    headers = head.decode("latin-1").lower()
    if match := re.search(r"content-length: *(\d+)", headers):
        await reader.readexactly(int(match.group(1)))
    elif "transfer-encoding: chunked" in headers:
        while size := int((await reader.readline()).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    return status


async def _poller(port: int, path: str, cookie: str, source: str, until: float, out: list) -> None:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHX-Request: true\r\n"
        f"Cookie: {cookie}\r\n\r\n"
    ).encode()
    reader = writer = None
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(source, 0)
                )
            status = await asyncio.wait_for(_get(reader, writer, request), TIMEOUT)
            out.append(time.monotonic() - started if status == 200 else None)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            out.append(None)
            if writer is not None:
                writer.close()
            reader = writer = None
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    if writer is not None:
        writer.close()


def _pollers(port: int, path: str, cookie: str, seconds: float, results) -> None:
    async def main() -> list:
        out: list = []
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _poller(port, path, cookie, f"127.0.0.{3 + i % 10}", until, out)
                for i in range(POLLERS)
            )
        )
        return out

    results.put(asyncio.run(main()))


def _log_in(base: str) -> str:
    session = requests.Session()
    form = session.get(base + "/accounts/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
    teacher = DEMO_ACCOUNTS[0]
    fields = {"csrf_token": token, "email": teacher.email, "password": teacher.password}
    done = session.post(base + "/accounts/login", data=fields, timeout=10, allow_redirects=False)
    assert done.status_code == 303, done.status_code
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def _timed(url: str) -> float | None:
    started = time.monotonic()
    return time.monotonic() - started if answers(url, TIMEOUT) == 200 else None


def _report(name: str, samples: list) -> None:
    times = sorted(s for s in samples if s is not None)
    failed = len(samples) - len(times)
    if not times:
        print(f"{name:<14} {len(samples):>6} requests, all failed")
        return
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    median, worst = statistics.median(times) * 1000, times[-1] * 1000
    print(
        f"{name:<14} {len(samples):>6} requests  median {median:7.1f} ms"
        f"  p95 {p95 * 1000:7.1f} ms  max {worst:7.1f} ms  failed {failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="practika-fault-") as tmp:
        port, instance = free_port(), Path(tmp) / "instance"
        base = f"http://127.0.0.1:{port}"
        with make_run(port, instance, Path(tmp) / "run.log"):
            wait_for(lambda: answers(base + "/core/health/") == 200, timeout=60, what="a worker")
            with sqlite3.connect(instance / "practika.db") as db:
                (video,) = db.execute("SELECT id FROM video_assets LIMIT 1").fetchone()
            status_path = f"/core/videos/{uuid.UUID(str(video))}/status"
            cookie = _log_in(base)
            results = multiprocessing.Queue()
            pollers = multiprocessing.Process(
                target=_pollers, args=(port, status_path, cookie, args.seconds, results)
            )
            page, health = [], []
            with SlowClients(port, count=SLOW) as slow:
                pollers.start()
                until = time.monotonic() + args.seconds
                while time.monotonic() < until:
                    page.append(_timed(base + "/accounts/login"))
                    health.append(_timed(base + "/core/health/"))
                    time.sleep(0.2)
                still_open = slow.still_open
            polls = results.get(timeout=args.seconds + 60)
            pollers.join(timeout=30)
    print(
        f"make run, {args.seconds:.0f} s: {SLOW} slow POST bodies (a byte every 2 s; "
        f"{still_open} still open at the end) and {POLLERS} status pollers (1/s)"
    )
    _report("page", page)
    _report("/core/health/", health)
    _report("status polls", polls)


if __name__ == "__main__":
    main()
