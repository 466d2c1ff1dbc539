"""Peak memory of the web process while it receives a 1 GiB upload, next to its idle size.

Starts gunicorn (one worker) on a private SQLite database and Redis, logs in, and sends a
1 GiB video body by the resumable (tus) endpoint in 64 MiB pieces, as a phone's browser
would in smaller ones. Reads the worker's VmHWM (peak resident set) from /proc before and
after. Target: the upload adds at most 64 MiB.  Run: make bench
"""

from __future__ import annotations

import time

from webworker import Session, generated, memory_kib, reset_peak, served

TOTAL = 1024 * 2**20
PIECE = 64 * 2**20


def main() -> None:
    with served() as web:
        session = Session(web.port)
        session.log_in()
        tus = {"Tus-Resumable": "1.0.0"}
        created, _ = session.request(
            "POST", "/core/uploads/", b"", {**tus, "Upload-Length": str(TOTAL)}
        )
        location = created.headers["Location"]
        reset_peak(web.worker)
        idle = memory_kib(web.worker, "VmRSS")
        started = time.monotonic()
        for offset in range(0, TOTAL, PIECE):
            response, body = session.request(
                "PATCH",
                location,
                generated(PIECE),
                {
                    **tus,
                    "Upload-Offset": str(offset),
                    "Content-Length": str(PIECE),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert response.status == 204, (response.status, body)
        elapsed = time.monotonic() - started
        peak = memory_kib(web.worker, "VmHWM")
        assert response.headers["X-Video-Asset"], "the upload did not finish"
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
