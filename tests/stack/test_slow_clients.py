"""`make run` keeps answering while 50 anonymous clients send POST bodies a byte every 2 s
(issue 11, item 2). scripts/run.sh is started for real, on a port and instance folder of its
own; the same attack on the production shape is in test_stack.py."""

from __future__ import annotations

import pytest

from tests.services import free_port, wait_for
from tests.stack.slow_clients import SlowClients, answers, make_run

pytestmark = pytest.mark.stack


def test_make_run_answers_pages_and_health_while_slow_clients_hold_50_posts(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with make_run(port, tmp_path / "instance", tmp_path / "run.log"):
        wait_for(lambda: answers(base + "/core/health/") == 200, timeout=60, what="a worker")
        with SlowClients(port, count=50) as slow:
            # Generous timeouts: this checks that the site answers at all, not how fast
            # (bench/fault_slow_clients.py measures that).
            for _ in range(3):
                assert answers(base + "/core/health/") == 200
                assert answers(base + "/accounts/login") == 200
                assert answers(base + "/core/live") == 200
            assert slow.still_open == 50  # the attack held on all along
