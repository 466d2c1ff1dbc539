"""How much a load balancer's health poll costs, next to the cheapest possible route.

Runs in-process (Flask test client) with a private redis-server and a migrated SQLite
database, alternating the two requests so both see the same machine noise, and prints
medians and their ratio.  Run: make bench  (or .venv/bin/python bench/bench_health.py)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate

from practika import create_app
from tests.conftest import make_config
from tests.services import RedisServer

ROUNDS = 500


def main() -> None:
    redis = RedisServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(make_config(f"sqlite:///{tmp}/bench.db", redis.url, Path(tmp)))
            app.add_url_rule("/bench/hello", "hello", lambda: "hello")
            with app.app_context():
                flask_migrate.upgrade()
            client = app.test_client()
            timings: dict[str, list[float]] = {"/core/health/": [], "/bench/hello": []}
            for _ in range(ROUNDS):
                for path, samples in timings.items():
                    started = time.perf_counter()
                    client.get(path)
                    samples.append(time.perf_counter() - started)
    finally:
        redis.stop()
    health, hello = (statistics.median(s) * 1000 for s in timings.values())
    p95 = statistics.quantiles(timings["/core/health/"], n=20)[-1] * 1000
    print(f"health check: median {health:.2f} ms, p95 {p95:.2f} ms over {ROUNDS} requests")
    print(f"bare route:   median {hello:.2f} ms")
    print(f"ratio health / bare route (medians): {health / hello:.1f}x")


if __name__ == "__main__":
    main()
