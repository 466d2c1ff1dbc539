"""The production shape of Practika on one machine, without Docker (`make test-stack`).

PostgreSQL, Redis, an S3 endpoint over HTTP (moto's server), the app under two gunicorn
processes with PRACTIKA_ENV=production (one worker each, so each is one place: two web tasks
of one host, sharing its instance folder), an RQ worker, and Debian's nginx in front with
deploy/nginx.conf, taking the two in turn. The tests go through nginx only, as a browser
would (test_stack.py, test_scale_out.py, where Chromium too sends a video to the bucket,
which has terraform's CORS rule for the site); each answer of the app carries an
X-Request-ID, the caller's or nginx's, so the web process that answered it is found in
that process's own log. One stack for the package: everything it starts, it stops.
"""

from __future__ import annotations

import contextlib
import os
import re
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from practika.config import BASE_DIR
from tests.e2e.conftest import allow_the_site
from tests.services import PostgresServer, RedisServer, free_port, wait_for

NGINX = Path("/usr/sbin/nginx")
RENDER = runpy.run_path(str(BASE_DIR / "deploy" / "render_nginx.py"))
PASSWORD = "stack test password"
MAX_UPLOAD_MB = 64
BUCKET = "practika-stack"
WEB = ("web-a", "web-b")  # the gunicorn processes behind nginx, by the name of their log
PIECE = 2**20  # a tus piece, as the page's script sends them
TUS = {"Tus-Resumable": "1.0.0"}
TUS_PIECE = "application/offset+octet-stream"
STACK_MARKS = [  # every test module that uses the stack: pytestmark = STACK_MARKS
    pytest.mark.stack,
    pytest.mark.skipif(
        not NGINX.exists(), reason="nginx is not installed (scripts/bootstrap.sh test)"
    ),
]


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    tmp: Path
    pg: PostgresServer
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen:
        """Start a process of the stack, with the stack's environment and ``env`` over it."""
        log = (self.tmp / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args,
            cwd=BASE_DIR,
            env=self.env | env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill it with its children
        )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        """As a host losing a container: SIGKILL to the process and everything under it (RQ's
        work horse runs in a session of its own, so the process group is not enough)."""
        process = self.processes.pop(name)
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def sql(self, query: str, *params):
        with psycopg.connect(
            host=str(self.pg.dir), port=self.pg.port, user="postgres", dbname="practika_stack"
        ) as conn:
            return conn.execute(query, params).fetchone()

    def log(self, name: str) -> str:
        return self.full_log(name)[-3000:]

    def full_log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def served_by(self, request_id: str) -> str:
        """The web process that answered the request with this id (the app logs each request
        it answers, with its id, when it answers: before the client has the answer)."""
        (name,) = [name for name in WEB if f'"request_id": "{request_id}"' in self.full_log(name)]
        return name


def _descendants(pid: int) -> list[int]:
    found = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    children = [int(child) for child in found]
    return [grandchild for child in children for grandchild in _descendants(child)] + children


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run a `flask` command as the release step or an operator would; what it printed."""
    command = [sys.executable, "-m", "flask", *args]
    done = subprocess.run(
        command, cwd=BASE_DIR, env=env, input=stdin, capture_output=True, text=True
    )
    done.check_returncode()
    return done.stdout


def nginx_config(tmp: Path, listen: int, app_ports: list[int], media: Path) -> Path:
    """deploy/nginx.conf rendered by deploy/render_nginx.py, as the image's proxy role does,
    with every gunicorn in APP_UPSTREAM."""
    values = {
        "LISTEN_PORT": str(listen),
        "APP_UPSTREAM": " ".join(f"127.0.0.1:{port}" for port in app_ports),
        "STATIC_ROOT": str(BASE_DIR / "static"),
        "MEDIA_ROOT": str(media),
        "MAX_BODY_MB": str(MAX_UPLOAD_MB + 1),
        "SERVER_NAME": "localhost",
        "CLIENT_ADDRESS": "$binary_remote_addr",
    }
    return RENDER["write_config"](tmp / "nginx", values)


@pytest.fixture(scope="package")
def stack(tmp_path_factory) -> Iterator[Stack]:
    from moto.server import ThreadedMotoServer

    tmp = tmp_path_factory.mktemp("stack")
    redis, pg = RedisServer().start(), PostgresServer().start()
    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    endpoint = f"http://127.0.0.1:{s3_port}"
    app_ports, web_port = [free_port() for _ in WEB], free_port()
    env = {
        **os.environ,
        "PRACTIKA_ENV": "production",
        "FLASK_APP": "wsgi",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": pg.create_database("practika_stack"),
        "REDIS_URL": redis.url,
        "STORAGE_URL": f"s3://{BUCKET}/media",
        "S3_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "INSTANCE_PATH": str(tmp / "instance"),
        "BASE_URL": f"http://127.0.0.1:{web_port}",
        "PROXY_HOPS": "1",
        "MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
        "VIDEO_JOB_TIMEOUT": "15",
        "SWEEP_INTERVAL_SECONDS": "3",
        "WEB_CONCURRENCY": "1",
    }
    import boto3

    bucket = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket.create_bucket(Bucket=BUCKET)
    stack = Stack(f"http://127.0.0.1:{web_port}", env, tmp, pg)
    allow_the_site(bucket, BUCKET, stack.base)  # the pages send parts to it from Chromium
    try:
        flask(env, "db", "upgrade")  # the release step
        teacher = ["--email", "teacher@stack.test", "--username", "teacher", "--role", "teacher"]
        flask(env, "admin", "create-user", *teacher, "--password-stdin", stdin=PASSWORD + "\n")
        for name, port in zip(WEB, app_ports, strict=True):
            stack.start(
                name,
                *(sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"),
                BIND=f"127.0.0.1:{port}",
                # Each container has its own: gunicorn empties the folder when it starts.
                PROMETHEUS_MULTIPROC_DIR=str(tmp / f"prometheus-{name}"),
            )
        stack.start("worker", sys.executable, "worker.py")
        config = nginx_config(tmp, web_port, app_ports, tmp / "instance" / "media")
        stack.start(
            "nginx",
            str(NGINX),
            "-p",
            str(config.parent),
            "-e",
            "stderr",
            "-c",
            str(config),
            "-g",
            "daemon off;",
        )
        # nginx passes over a server that does not answer yet: ask each one itself first.
        for name, port in zip(WEB, app_ports, strict=True):
            wait_for(lambda port=port: _answers(f"http://127.0.0.1:{port}/core/live"), 60, name)
        wait_for(lambda: _answers(stack.base + "/core/health/"), timeout=60, what="the stack")
        yield stack
    finally:
        stack.stop_all()
        s3.stop()
        redis.stop()
        pg.stop()
        shutil.rmtree(tmp / "nginx", ignore_errors=True)  # buffered bodies


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Browser:
    """Cookies by hand: the session cookie is Secure in production (TLS ends at the load
    balancer), and this test speaks plain HTTP to nginx, so a cookie jar would not send it."""

    def __init__(self, base: str) -> None:
        self.base, self.cookies, self.csrf = base, {}, ""
        self.sent: list[tuple[str, str]] = []  # (method, request id) of each request

    def headers(self, extra: dict[str, str]) -> dict[str, str]:
        """``extra`` with the session's cookies and CSRF token."""
        headers = dict(extra)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.csrf:
            headers.setdefault("X-CSRFToken", self.csrf)
        return headers

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        request_id = secrets.token_hex(16)
        headers = self.headers(kwargs.pop("headers", {}) | {"X-Request-ID": request_id})
        self.sent.append((method, request_id))
        response = requests.request(
            method, self.base + path, headers=headers, timeout=30, allow_redirects=False, **kwargs
        )
        for cookie in response.raw.headers.getlist("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    def log_in(self, email: str, password: str) -> None:
        form = self.request("GET", "/accounts/login").text
        self.csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]
        fields = {"csrf_token": self.csrf, "email": email, "password": password}
        done = self.request("POST", "/accounts/login", data=fields)
        assert done.status_code == 303 and "/accounts/login" not in done.headers["Location"]

    def start_upload(self, length: int) -> str:
        """A tus upload of ``length`` bytes; its URL."""
        created = self.request(
            "POST", "/core/uploads/", headers={**TUS, "Upload-Length": str(length)}
        )
        assert created.status_code == 201, created.text
        return created.headers["Location"]

    def offset(self, location: str) -> int:
        """How many bytes of the upload at ``location`` arrived (tus HEAD)."""
        answer = self.request("HEAD", location, headers=TUS)
        assert answer.status_code == 200, answer.status_code
        return int(answer.headers["Upload-Offset"])

    def send_pieces(self, location: str, data: bytes, offset: int, end: int) -> requests.Response:
        """PATCH ``data[offset:end]`` to the upload at ``location`` in 1 MB pieces, as the
        page's script sends them; the last answer."""
        while offset < end:
            sent = self.request(
                "PATCH",
                location,
                data=data[offset : min(offset + PIECE, end)],
                headers={**TUS, "Upload-Offset": str(offset), "Content-Type": TUS_PIECE},
            )
            assert sent.status_code == 204, sent.text
            offset = int(sent.headers["Upload-Offset"])
        return sent

    def upload(self, video: Path, location: str | None = None) -> str:
        """A video by tus: a new upload, or the one at ``location`` from the offset it has
        (a resumed one); returns the video's id."""
        data = video.read_bytes()
        if location is None:
            location, offset = self.start_upload(len(data)), 0
        else:
            offset = self.offset(location)
        return self.send_pieces(location, data, offset, len(data)).headers["X-Video-Asset"]


def wait_until_ready(stack: Stack, asset_id: str, timeout: float) -> None:
    def ready() -> bool:
        status, error = stack.sql(
            "SELECT processing_status, processing_error FROM video_assets WHERE id = %s", asset_id
        )
        assert status != "failed", f"processing failed: {error}\n{stack.log('worker')}"
        return status == "ready"

    wait_for(ready, timeout=timeout, what=f"video {asset_id} to be ready")
