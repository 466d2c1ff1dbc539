"""Two web processes behind nginx, which takes them in turn with no stickiness (Issue 18,
item 4): no upload belongs to a web process. A tus upload whose pieces alternate between
the two completes; one whose connection drops halfway through a piece resumes through the
other process; a video sent straight to the bucket, by an API client and by the pages in
Chromium, resumes after a part that did not arrive. Each video ends ready: the worker reads
it from S3."""

from __future__ import annotations

import itertools
import secrets
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import urllib3
from playwright.sync_api import Response

from practika.core.direct import PART_BYTES
from practika.media.synth import synth_video
from tests.e2e.bucket import open_videos, send_resume_and_play
from tests.e2e.conftest import VIEWPORTS, chromium, watched_page
from tests.media_samples import padded
from tests.stack.conftest import (
    BUCKET,
    PASSWORD,
    PIECE,
    STACK_MARKS,
    TUS,
    TUS_PIECE,
    WEB,
    Browser,
    flask,
    wait_until_ready,
)

pytestmark = STACK_MARKS


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """A video of two direct-upload parts, made and processed in seconds: 3 s of a small
    picture with 9 MiB of padding that every reader skips."""
    folder = tmp_path_factory.mktemp("scale")
    made = padded(synth_video(folder / "scales.mp4", seconds=3, width=320, height=180), 9)
    assert PART_BYTES < made.stat().st_size < 2 * PART_BYTES
    return made


def teacher(stack) -> Browser:
    browser = Browser(stack.base)
    browser.log_in("teacher@stack.test", PASSWORD)
    return browser


def drop_mid_body(url: str, method: str, body: bytes, headers: dict[str, str]) -> None:
    """Send the request's head and half its body, then close the connection: a phone that
    loses its network in the middle of a piece."""
    where = urlsplit(url)
    target = where.path + (f"?{where.query}" if where.query else "")
    lines = headers | {"Host": where.netloc, "Content-Length": str(len(body))}
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in lines.items())
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(f"{head}\r\n".encode() + body[: len(body) // 2])


def test_a_tus_upload_whose_pieces_alternate_between_the_web_processes_completes(stack, video):
    browser = teacher(stack)
    asset_id = browser.upload(video)
    served = [
        stack.served_by(request_id) for method, request_id in browser.sent if method == "PATCH"
    ]
    assert len(served) == -(-video.stat().st_size // PIECE)
    assert all(one != next_one for one, next_one in itertools.pairwise(served)), served
    wait_until_ready(stack, asset_id, timeout=120)


def test_an_upload_dropped_mid_piece_resumes_through_the_other_web_process(stack, video):
    browser = teacher(stack)
    data = video.read_bytes()
    location = browser.start_upload(len(data))
    half = len(data) // 2 // PIECE * PIECE
    browser.send_pieces(location, data, 0, half)
    stored_by = stack.served_by(browser.sent[-1][1])
    piece = data[half : half + PIECE]
    tus = browser.headers({**TUS, "Upload-Offset": str(half), "Content-Type": TUS_PIECE})
    drop_mid_body(stack.base + location, "PATCH", piece, tus)

    # nginx hands the app whole bodies only: neither process saw the half piece.
    assert browser.offset(location) == half
    assert stack.served_by(browser.sent[-1][1]) != stored_by
    resumed_from = len(browser.sent)
    asset_id = browser.upload(video, location)
    resumed = {stack.served_by(request_id) for _, request_id in browser.sent[resumed_from:]}
    assert resumed == set(WEB)
    wait_until_ready(stack, asset_id, timeout=120)


def test_a_direct_upload_from_the_api_resumes_after_a_dropped_part(stack, video):
    """Both web processes answer the API calls; the video's bytes go to S3 alone (with
    urllib3: the standard library's urlopen got no answer from moto's server)."""
    token = flask(stack.env, "admin", "tokens", "--create", "teacher", "--name", "stack").strip()
    request_ids = []

    def api(method: str, path: str, **kwargs) -> requests.Response:
        request_ids.append(secrets.token_hex(16))
        headers = {"Authorization": f"Bearer {token}", "X-Request-ID": request_ids[-1]}
        url = f"{stack.base}/api/v1/direct-uploads/{path}"
        return requests.request(method, url, headers=headers, timeout=30, **kwargs)

    data = video.read_bytes()
    started = api("POST", "", json={"length": len(data), "filename": video.name})
    assert started.status_code == 201, started.text
    upload = started.json()
    assert upload["parts"] == 2
    urls = api("POST", f"{upload['id']}/urls", json={"parts": [1, 2]}).json()["urls"]
    assert urllib3.request("PUT", urls["1"], body=data[:PART_BYTES], timeout=30).status == 200
    drop_mid_body(urls["2"], "PUT", data[PART_BYTES:], {})

    assert api("GET", upload["id"]).json()["arrived"] == [{"number": 1, "size": PART_BYTES}]
    early = api("POST", f"{upload['id']}/complete")
    assert early.status_code == 409 and "1 of 2 parts" in early.json()["detail"]
    again = api("POST", f"{upload['id']}/urls", json={"parts": [2]}).json()["urls"]["2"]
    assert urllib3.request("PUT", again, body=data[PART_BYTES:], timeout=30).status == 200
    done = api("POST", f"{upload['id']}/complete")
    assert done.status_code == 201, done.text
    assert {stack.served_by(request_id) for request_id in request_ids} == set(WEB)
    wait_until_ready(stack, done.json()["video_id"], timeout=120)


def test_a_direct_upload_from_the_pages_resumes_after_a_refused_part_and_plays(
    stack, video, tmp_path
):
    """Chromium on a desktop, through nginx: the page's requests go to both web processes
    and none of them carries a byte of the video (tests/e2e/bucket.py has the steps; the e2e
    test takes them on a phone too)."""
    chosen = tmp_path / "scales from the pages.mp4"  # its own name: one item on the page
    chosen.write_bytes(video.read_bytes())
    request_ids: list[str] = []  # of the answers from a web process (nginx serves /static)

    def answered(response: Response) -> None:
        if response.url.startswith(stack.base) and "x-request-id" in response.headers:
            request_ids.append(response.headers["x-request-id"])

    with (
        chromium() as browser,
        watched_page(browser, stack.base, viewport=VIEWPORTS["desktop"]) as page,
    ):
        page.on("response", answered)
        open_videos(page, "teacher@stack.test", PASSWORD)
        send_resume_and_play(page, stack.base, f"{stack.env['S3_ENDPOINT_URL']}/{BUCKET}", chosen)
    assert {stack.served_by(request_id) for request_id in request_ids} == set(WEB)
