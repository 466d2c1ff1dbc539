"""Slow anonymous clients, and `make run` started for real: shared by the stack tests and
bench/fault_slow_clients.py (issue 11, item 2: about 40 connections sending a POST body a
byte every 2 s used to hold every gunicorn thread, and health and pages stopped answering)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import requests

from practika.config import BASE_DIR
from tests.services import wait_for

# An anonymous page and the upload endpoint: what anyone may POST to without logging in.
SLOW_PATHS = ("/accounts/login", "/core/uploads/")
# Linux answers every address of 127/8 on loopback: the attacker gets an address of its own,
# so a per-address cap treats it as one client and the checks as another.
ATTACKER = "127.0.0.2"
# Settings the app reads that a developer's shell may carry: make run must use its defaults.
APP_SETTINGS = ("DATABASE_URL", "REDIS_URL", "STORAGE_URL", "PRACTIKA_ENV", "SECRET_KEY")


class SlowClients:
    """`count` connections spread over `paths`, each sending a POST body of a megabyte one
    byte every `interval` seconds, from `source`, until the block ends."""

    def __init__(
        self,
        port: int,
        count: int = 50,
        paths=SLOW_PATHS,
        interval: float = 2.0,
        source: str = ATTACKER,
    ) -> None:
        self.port, self.count, self.paths = port, count, paths
        self.interval, self.source = interval, source
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        self.sender = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self) -> SlowClients:
        for i in range(self.count):
            sock = socket.create_connection(
                ("127.0.0.1", self.port), timeout=10, source_address=(self.source, 0)
            )
            path = self.paths[i % len(self.paths)]
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {2**20}\r\n\r\n".encode()
            )
            self.sockets.append(sock)
        self.sender.start()
        return self

    def _trickle(self) -> None:
        while not self.stopped.wait(self.interval):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # a server may hang up: that is its right
                    sock.sendall(b"a")

    @property
    def still_open(self) -> int:
        """How many connections the server has not closed (a peek that does not block)."""
        count = 0
        for sock in self.sockets:
            try:
                sock.setblocking(False)
                count += sock.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                count += 1
            except OSError:
                pass
        return count

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.sender.join(timeout=self.interval + 5)
        for sock in self.sockets:
            sock.close()


def answers(url: str, timeout: float = 5.0, **kwargs) -> int:
    """The status `url` answers with, or 0 when it does not within `timeout` seconds."""
    try:
        return requests.get(url, timeout=timeout, **kwargs).status_code
    except requests.RequestException:
        return 0


@contextlib.contextmanager
def make_run(port: int, instance: Path, log: Path) -> Iterator[subprocess.Popen]:
    """scripts/run.sh as `PORT=... make run` starts it, in an instance folder of its own;
    stopped as Ctrl-C would stop it (the script's trap), then anything left is killed."""
    env = {k: v for k, v in os.environ.items() if k not in APP_SETTINGS}
    env |= {"PORT": str(port), "INSTANCE_PATH": str(instance)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["bash", str(BASE_DIR / "scripts" / "run.sh")],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        live = f"http://127.0.0.1:{port}/core/live"
        wait_for(
            lambda: answers(live, 2) == 200 or process.poll() is not None,
            timeout=180,
            what="make run to answer",
        )
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
