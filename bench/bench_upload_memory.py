"""Peak memory of the web process while it receives a 1 GiB upload, next to its idle size.

Starts gunicorn (one worker) on a private SQLite database and Redis, logs in, and sends a
1 GiB video body by the resumable (tus) endpoint in 64 MiB pieces, as a phone's browser
would in smaller ones. Reads the worker's VmHWM (peak resident set) from /proc before and
after. Target: the upload adds at most 64 MiB.  Run: make bench
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import RedisServer, free_port, wait_for  # noqa: E402

TOTAL = 1024 * 2**20
PIECE = 64 * 2**20
BLOCK = os.urandom(2**20)  # the body is generated as it is sent, never held whole
VENV_BIN = Path(sys.executable).parent


def memory_kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))


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


def pieces(size: int):
    for _ in range(size // len(BLOCK)):
        yield BLOCK


def main() -> None:
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
    }
    flask = [str(VENV_BIN / "flask")]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [
            *flask,
            *(
                "admin create-user --email b@example.com --username bench --role teacher "
                "--password-stdin"
            ).split(),
        ],
        input="upload passphrase\n",
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            *"wsgi:app -w 1 --threads 2 -b".split(),
            f"127.0.0.1:{port}",
            "--timeout",
            "600",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        session = Session(port)

        def up() -> bool:
            try:
                return session.request("GET", "/accounts/login")[0].status == 200
            except OSError:
                return False

        wait_for(up, timeout=30, what="gunicorn")
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        page = session.request("GET", "/accounts/login")[1].decode()
        session.token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = f"csrf_token={session.token}&email=b%40example.com&password=upload+passphrase"
        session.request(
            "POST", "/accounts/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        tus = {"Tus-Resumable": "1.0.0"}
        created, _ = session.request(
            "POST", "/core/uploads/", b"", {**tus, "Upload-Length": str(TOTAL)}
        )
        location = created.headers["Location"]
        # Reset the worker's peak (VmHWM) to its current size, so the peak read afterwards is
        # the upload's, not start-up's.
        Path(f"/proc/{worker}/clear_refs").write_text("5")
        idle = memory_kib(worker, "VmRSS")
        started = time.monotonic()
        for offset in range(0, TOTAL, PIECE):
            response, body = session.request(
                "PATCH",
                location,
                pieces(PIECE),
                {
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Length": str(PIECE),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert response.status == 204, (response.status, body)
        elapsed = time.monotonic() - started
        peak = memory_kib(worker, "VmHWM")
        assert response.headers["X-Video-Asset"], "the upload did not finish"
    finally:
        server.terminate()
        server.wait(timeout=30)
        redis.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    print(f"web worker idle: {idle / 1024:.1f} MiB resident")
    print(
        f"peak during a 1 GiB upload (16 x 64 MiB pieces, {TOTAL / 2**20 / elapsed:.0f} MiB/s,"
        f" then stored with its SHA-256): {peak / 1024:.1f} MiB"
    )
    print(
        f"added by the upload: {(peak - idle) / 1024:.1f} MiB (target <= 64 MiB); "
        f"peak / idle = {peak / idle:.2f}"
    )


if __name__ == "__main__":
    main()
