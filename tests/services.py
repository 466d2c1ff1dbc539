"""Real services for the test suite, started and stopped by the fixtures in conftest.py.

Each one is the real program (redis-server, PostgreSQL), run privately in a temporary
folder on a unix socket, so tests never touch a developer's own servers.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 15.0, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process under it, as a lost container would die. (An RQ
    work horse leaves its parent's process group, so killing a group is not enough.)"""
    children: dict[int, list[int]] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.split("/")[2]))
    todo, tree = [pid], []
    while todo:
        tree.append(todo.pop())
        todo += children.get(tree[-1], [])
    for each in tree:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(each, signal.SIGKILL)


class RedisServer:
    """A private redis-server on a unix socket, nothing written to disk."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="practika-redis-"))
        self.socket = self.dir / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self.socket.exists, what="redis-server")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("PostgreSQL server binaries not found: run `make test` to install them")


class PostgresServer:
    """A throwaway PostgreSQL cluster: unix socket only, fsync off, removed afterwards.

    initdb and pg_ctl refuse to run as root, so as root the cluster runs as `postgres`.
    """

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="practika-pg-"))
        self.data = self.dir / "data"
        self.port = 5432  # on a private socket folder, so any number will do
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True)

    def start(self) -> PostgresServer:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            *"-U postgres --auth=trust --no-sync -E UTF8 --locale=C".split(),
        )
        options = (
            f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )
        return self

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.dir}&port={self.port}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host=str(self.dir),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [
                    *self.as_user,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.dir, ignore_errors=True)
