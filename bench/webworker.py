"""What the upload benchmarks share: the app under gunicorn with one worker on a private
SQLite database and Redis, a client that sends bodies it generates as it sends them, and
what /proc says about the worker (its memory, its CPU time).

``served`` starts it all with one teacher account and stops it all afterwards; the worker
is the process that receives every request, so its figures are the web process's.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pagebench import stop  # noqa: E402

from tests.services import RedisServer, free_port, wait_for  # noqa: E402

VENV_BIN = Path(sys.executable).parent
EMAIL = "b@example.com"
PASSWORD = "upload passphrase"  # noqa: S105 (a throwaway account in a throwaway database)
BLOCK = os.urandom(2**20)  # bodies are made of it as they are sent, never held whole
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int, field: str) -> int:
    """A line of /proc/PID/status in KiB: VmRSS (resident now), VmHWM (its peak)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))


def reset_peak(pid: int) -> None:
    """Set the process's VmHWM to its current size, so the peak read later is what came
    after, not start-up's."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far, user and system (utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat


def generated(size: int) -> Iterator[bytes]:
    """``size`` bytes, a MiB at a time."""
    view = memoryview(BLOCK)
    for offset in range(0, size, len(BLOCK)):
        yield view[: min(len(BLOCK), size - offset)]


class Session:
    """A browser's cookies and CSRF token, over plain http.client."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.token, **(headers or {})}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        return response, data

    def log_in(self) -> None:
        """As the teacher ``served`` made, with the login form's CSRF token."""
        page = self.request("GET", "/accounts/login")[1].decode()
        self.token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urlencode({"csrf_token": self.token, "email": EMAIL, "password": PASSWORD})
        self.request(
            "POST", "/accounts/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )


@dataclass
class Web:
    port: int
    worker: int  # the gunicorn worker's pid
    env: dict[str, str]

    def flask(self, *args: str, stdin: str | None = None) -> str:
        """A ``flask`` command on the served app's database; what it printed."""
        return flask(self.env, *args, stdin=stdin)


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "flask"), *args],
        input=stdin,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return done.stdout


@contextmanager
def served(settings: dict[str, str] | None = None, app: str = "wsgi:app") -> Iterator[Web]:
    """``app`` under gunicorn (one worker, two threads) with local media, or what
    ``settings`` say instead, and a teacher who can log in with EMAIL and PASSWORD."""
    redis = RedisServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="practika-bench-upload-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
        "REDIS_URL": redis.url,
        "INSTANCE_PATH": str(tmp),
        "STORAGE_URL": str(tmp / "media"),
        "FLASK_APP": "wsgi",
        "LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    server, log = None, tmp / "gunicorn.log"
    try:
        flask(env, "db", "upgrade")
        teacher = f"--email {EMAIL} --username bench --role teacher --password-stdin"
        flask(env, "admin", "create-user", *teacher.split(), stdin=PASSWORD + "\n")
        port = free_port()
        with log.open("w") as out:
            server = subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"),
                    *"-w 1 --threads 2 --timeout 600 -b".split(),
                    f"127.0.0.1:{port}",
                    app,
                ],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: _answers(port), timeout=30, what="gunicorn")
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        yield Web(port, worker, env)
    except BaseException:
        if log.exists():
            print(f"gunicorn's log ends:\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            stop(server)
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        return Session(port).request("GET", "/accounts/login")[0].status == 200
    except OSError:
        return False
