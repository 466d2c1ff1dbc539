"""What a 1 GiB upload costs the web process by each path: tus to local storage, and straight
to S3 (Issue 18, Measures). Goal: the direct path costs the web process under 1 % of the CPU
the tus path costs, with flat memory.

Each path gets its own gunicorn (one worker, two threads, as bench_upload_memory.py starts
it) on a private SQLite database and Redis; the worker is the web process measured:

- A, tus to local storage (the default STORAGE_URL): logged in with a session and its CSRF
  token, the body sent in 5 MiB pieces as the pages' tus-js-client sends it;
- B, straight to S3 over HTTP: moto's S3 server in a process of its own (it keeps the
  objects in memory, a GiB and more; it must not be the web process),
  ``STORAGE_URL=s3://…`` with ``S3_ENDPOINT_URL``, an API token from ``flask admin tokens
  --create``, and the API: start (its answer signs the first 100 parts' URLs; a GiB goes in
  64 parts of 16 MiB), each part PUT to its URL (with urllib3: the standard library's
  urlopen gets no answer from moto's presigned PUT), complete. The video is queued, not
  processed (no RQ worker runs on either path). The app is bench/upload_app.py's: its S3
  client waits longer for moto (the reason is there).

Bodies are generated as they are sent. Before measuring, each path sends one 1 MiB upload
so that first-use costs (boto3's client, imports) are not counted, and the idle worker's
CPU is read over a few seconds. Each run reads the worker's utime + stime
(/proc/PID/stat) before and after, and its VmHWM after resetting it to VmRSS; the
runs of a path come one after another on the same worker. Prints every run, then the
medians per path (the machine is shared and noisy): wall time, web CPU seconds per GiB next
to what the idle worker uses in the same time, resident memory idle and at peak; then
direct / tus. Exits 0 whether or not the goal is met, non-zero on an error.

Run: make bench, or .venv/bin/python bench/bench_upload_paths.py [--runs 3] [--size-mib 1024]
(3 runs of 1 GiB each way took 4.5 minutes on the 2-core dev machine at load average 18;
--size-mib 16 --runs 1 is a check of about a minute and a half, mostly start-up).
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import urllib3
from pagebench import stop
from webworker import (
    VENV_BIN,
    Session,
    Web,
    cpu_seconds,
    generated,
    memory_kib,
    reset_peak,
    served,
)

from tests.services import free_port, wait_for

TUS_PIECE = 5 * 2**20  # chunkSize in static/js/upload.js
WARM_UP_BYTES = 2**20
IDLE_SECONDS = 5.0
GIB = 2**30
BUCKET = "practika-bench"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
GOAL_PERCENT = 1.0


@dataclass
class Run:
    size: int
    wall: float  # seconds
    cpu: float  # the worker's CPU seconds during the upload
    idle_kib: int  # the worker's resident size before it
    peak_kib: int  # and its peak during it

    def per_gib(self, value: float) -> float:
        return value * GIB / self.size


@dataclass
class UploadPath:
    name: str
    runs: list[Run]
    idle_cpu_per_second: float

    def median(self, figure: Callable[[Run], float]) -> float:
        return statistics.median(figure(run) for run in self.runs)

    def cpu_per_gib(self) -> float:
        return self.median(lambda run: run.per_gib(run.cpu))

    def idle_cpu_per_gib(self) -> float:
        """What the worker uses doing nothing, over the upload's wall time, per GiB."""
        return self.median(lambda run: run.per_gib(run.wall * self.idle_cpu_per_second))

    def growth_mib(self) -> float:
        return self.median(lambda run: (run.peak_kib - run.idle_kib) / 1024)


def measured(web: Web, upload: Callable[[int], None], size: int) -> Run:
    reset_peak(web.worker)
    idle_kib = memory_kib(web.worker, "VmRSS")
    cpu, started = cpu_seconds(web.worker), time.monotonic()
    upload(size)
    wall = time.monotonic() - started
    return Run(size, wall, cpu_seconds(web.worker) - cpu, idle_kib, memory_kib(web.worker, "VmHWM"))


def idle_cpu_per_second(web: Web) -> float:
    before = cpu_seconds(web.worker)
    time.sleep(IDLE_SECONDS)
    return (cpu_seconds(web.worker) - before) / IDLE_SECONDS


def measure_path(
    name: str, web: Web, upload: Callable[[int], None], tidy: Callable[[], None], args
) -> UploadPath:
    """The warm-up, the idle worker's CPU, then the runs; ``tidy`` after each upload, out of
    the measure."""
    upload(WARM_UP_BYTES)
    tidy()
    path = UploadPath(name, [], idle_cpu_per_second(web))
    for number in range(1, args.runs + 1):
        run = measured(web, upload, args.size_mib * 2**20)
        tidy()
        path.runs.append(run)
        print(
            f"  {name}, run {number}: {run.wall:.1f} s, web CPU {run.cpu:.2f} s, "
            f"resident {run.idle_kib / 1024:.1f} -> peak {run.peak_kib / 1024:.1f} MiB",
            flush=True,
        )
    return path


# --- path A: tus to local storage --------------------------------------------------------------


def tus_upload(session: Session) -> Callable[[int], None]:
    """An upload as the pages' tus-js-client sends it: create, then PATCH piece by piece."""
    tus = {"Tus-Resumable": "1.0.0"}
    metadata = "filename " + base64.b64encode(b"bench.mp4").decode()

    def upload(size: int) -> None:
        created, body = session.request(
            "POST",
            "/core/uploads/",
            b"",
            {**tus, "Upload-Length": str(size), "Upload-Metadata": metadata},
        )
        assert created.status == 201, (created.status, body)
        for offset in range(0, size, TUS_PIECE):
            piece = min(TUS_PIECE, size - offset)
            response, body = session.request(
                "PATCH",
                created.headers["Location"],
                generated(piece),
                {
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Length": str(piece),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert response.status == 204, (response.status, body)
        assert response.headers["X-Video-Asset"], "the upload did not finish"

    return upload


def tus_path(args, limits: dict[str, str]) -> UploadPath:
    with served(limits) as web:
        session = Session(web.port)
        session.log_in()
        return measure_path("A tus, local", web, tus_upload(session), lambda: None, args)


# --- path B: straight to S3 ---------------------------------------------------------------------


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 over HTTP in a process of its own; its endpoint. What it logged is shown
    if anything fails."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: _answers(endpoint), timeout=30, what="moto")
            yield endpoint
        except BaseException:
            log.seek(0)
            print(f"moto's log ends:\n{log.read()[-3000:]}", file=sys.stderr)
            raise
        finally:
            stop(process)


def _answers(endpoint: str) -> bool:
    try:
        return urllib3.request("GET", f"{endpoint}/moto-api/", timeout=2, retries=False).status
    except urllib3.exceptions.HTTPError:
        return False


def bucket_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_KEYS["AWS_SECRET_ACCESS_KEY"],
    )


class Api:
    """An API client with a token, over urllib3 (keep-alive, as the parts' PUTs)."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=600))

    def call(self, method: str, path: str, payload: dict | None = None, expect: int = 200):
        response = self.http.request(
            method, self.base + path, json=payload, headers=self.headers, retries=False
        )
        assert response.status == expect, (response.status, response.data[:500])
        return response.json()

    def put(self, url: str, size: int) -> None:
        response = self.http.request(
            "PUT", url, body=generated(size), headers={"Content-Length": str(size)}, retries=False
        )
        assert response.status == 200, (response.status, response.data[:500])


def direct_upload(api: Api) -> Callable[[int], None]:
    """Start, PUT each part (asking for more URLs past the start's batch), complete."""

    def upload(size: int) -> None:
        started = api.call("POST", "/direct-uploads/", {"length": size, "filename": "b.mp4"}, 201)
        numbers = list(range(1, started["parts"] + 1))
        part_bytes, at_once = started["part_bytes"], started["urls_at_once"]
        urls = started["urls"]  # the first batch's
        for first in range(0, len(numbers), at_once):
            batch = numbers[first : first + at_once]
            if first:
                path = f"/direct-uploads/{started['id']}/urls"
                urls = api.call("POST", path, {"parts": batch})["urls"]
            for number in batch:
                offset = (number - 1) * part_bytes
                api.put(urls[str(number)], min(part_bytes, size - offset))
        api.call("POST", f"/direct-uploads/{started['id']}/complete", expect=201)

    return upload


def emptied(bucket) -> Callable[[], None]:
    """Deletes what the bucket holds, so moto keeps one video in memory at a time."""

    def tidy() -> None:
        for found in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            bucket.delete_object(Bucket=BUCKET, Key=found["Key"])

    return tidy


def direct_path(args, limits: dict[str, str]) -> UploadPath:
    with s3_server() as endpoint:
        bucket = bucket_client(endpoint)
        bucket.create_bucket(Bucket=BUCKET)
        settings = {
            **limits,
            **S3_KEYS,
            "STORAGE_URL": f"s3://{BUCKET}/media",
            "S3_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
        }
        with served(settings, "bench.upload_app:create_bench_app()") as web:
            token = web.flask("admin", "tokens", "--create", "bench").split()[-1]
            upload = direct_upload(Api(web.port, token))
            return measure_path("B direct to S3", web, upload, emptied(bucket), args)


# --- report ---------------------------------------------------------------------------------------


def report(tus: UploadPath, direct: UploadPath, args) -> None:
    print(
        f"\n{args.size_mib} MiB a run, median of {args.runs}; web = the gunicorn worker; "
        "CPU per GiB uploaded, beside what the idle worker uses in the same time"
    )
    header = (
        f"{'path':<16} {'wall s':>7} {'MiB/s':>6} {'web CPU s/GiB':>14} {'idle CPU s/GiB':>15} "
        f"{'RSS idle MiB':>13} {'peak MiB':>9} {'growth MiB':>11}"
    )
    print(header)
    for path in (tus, direct):
        wall = path.median(lambda run: run.wall)
        print(
            f"{path.name:<16} {wall:>7.1f} {args.size_mib / wall:>6.0f} "
            f"{path.cpu_per_gib():>14.3f} {path.idle_cpu_per_gib():>15.3f} "
            f"{path.median(lambda run: run.idle_kib / 1024):>13.1f} "
            f"{path.median(lambda run: run.peak_kib / 1024):>9.1f} {path.growth_mib():>11.1f}"
        )
    ratio = 100 * direct.cpu_per_gib() / tus.cpu_per_gib()
    net = (
        100
        * max(0.0, direct.cpu_per_gib() - direct.idle_cpu_per_gib())
        / max(1e-9, tus.cpu_per_gib() - tus.idle_cpu_per_gib())
    )
    verdict = "met" if ratio < GOAL_PERCENT else "NOT met"
    print(
        f"direct / tus, web CPU per GiB: {ratio:.2f} % (goal < {GOAL_PERCENT:g} %: {verdict}); "
        f"{net:.2f} % net of idle"
    )
    print(
        f"memory growth during the upload: direct {direct.growth_mib():.1f} MiB, "
        f"tus {tus.growth_mib():.1f} MiB"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="uploads a path (median)")
    parser.add_argument("--size-mib", type=int, default=1024, help="the upload's size")
    args = parser.parse_args()
    if args.runs < 1 or args.size_mib < 1:
        parser.error("--runs and --size-mib are 1 or more")
    return args


def main() -> None:
    args = arguments()
    # Room for every upload of the benchmark: no RQ worker empties the queue meanwhile.
    limits = {
        "MAX_UPLOAD_MB": str(max(args.size_mib, 1024)),
        "UPLOAD_QUOTA_MB": str((args.runs + 1) * args.size_mib + 64),
        "VIDEOS_WAITING_MAX": str(args.runs + 2),
    }
    print(f"Uploading {args.size_mib} MiB {args.runs} time(s) by each path:", flush=True)
    tus = tus_path(args, limits)
    direct = direct_path(args, limits)
    report(tus, direct, args)


if __name__ == "__main__":
    main()
