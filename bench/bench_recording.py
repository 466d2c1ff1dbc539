"""How soon a take recorded in the browser can be watched by the teacher, against the same
take uploaded after Stop (Issue 14, measures).

The app is served as deployed, as far as is cheap: gunicorn (2 workers) on the demo data
(SQLite, local media), a real worker (``python worker.py``) and a private redis-server.
Chromium records with its fake camera (its own moving pattern; ``--picture busy`` feeds it a
generated picture with grain, which fills the recorder's bitrate as a phone's camera does);
the student's page gets Chromium's network emulation: an uplink of 2 Mbit/s (250,000
bytes/s) with 100 ms latency, downloads unthrottled. Per run and per format (MP4 and WebM,
forced by making MediaRecorder.isTypeSupported say no to MP4):

- live way (today's recorder): record ``--seconds``, press Stop at T0; wait for "It is
  uploaded", press Send attempt; the teacher (another browser context) opens the attempt
  page and waits until the take's <video> has its first frame (readyState >= 2). T0 to then.
- after Stop (the way before issue 14): the same take's bytes, picked in a fresh exercise
  page's "Or choose a video" and sent with Send attempt at T1 (the moment the student would
  have pressed Stop): tus sends the whole file now. T1 to the teacher's take playable.

This Chromium's MediaRecorder cannot encode H.264 (phones' Chrome and Safari do, and the
recorder prefers it), so the MP4 row replays an FFmpeg-written fragmented MP4 through a
stand-in MediaRecorder: the camera is still the fake one, but what the page's recorder is
handed, second by second in real time, is a 720p H.264/AAC recording of the busy picture at
the recorder's bitrates (1.5 Mbit/s and 96 kbit/s), fragmented as MediaRecorder writes it.
That row measures the network, the server and the pipeline, not the phone's encoder. (A
Chromium whose MediaRecorder has H.264/AAC records the MP4 row itself.)

Before each measurement the worker has finished every video, so no take waits behind
another's encode. Prints each run, then the medians: the take's size, both times, their
ratio, whether the live way meets the goal (<= 5 s after Stop) and the bitrate recorded.
Exits 0 whether or not the goal is met, non-zero on an error.
Run: make bench  (or .venv/bin/python bench/bench_recording.py --seconds 10 --runs 1)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from pagebench import get, site_env, start_gunicorn, stop
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from practika import create_app, demo
from practika.comments.models import VideoComment
from practika.config import TestConfig
from practika.core.models import UNFINISHED, VideoAsset
from practika.demo import DEMO_EXERCISE
from practika.extensions import db
from practika.storage import get_storage
from tests.conftest import make_config, running_worker
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_smoke import STUDENT, TEACHER, log_in
from tests.e2e.test_takes import slow_uplink
from tests.media_samples import RECORDER_MP4, mp4_boxes, recorded
from tests.services import RedisServer, free_port, wait_for

UPLINK_BYTES_PER_SECOND = 250_000  # 2 Mbit/s
GOAL_SECONDS = 5.0
PATIENCE_MS = 600_000  # a ceiling for each wait below, never reached on a sane machine
READ_PIECE = 2 * 2**20  # bytes of the take read out of the page per call
H264_TYPES = ("video/mp4;codecs=avc1.42E01F,mp4a.40.2", "video/mp4;codecs=avc1,mp4a.40.2")
# 720p under grain that changes every frame: an encoder asked for 1.5 Mbit/s spends them all,
# as on a real camera's noise and motion.
BUSY_PICTURE = "testsrc2=size=1280x720:rate=30,noise=alls=20:allf=t"
# The recorder's bitrates (recorder.js), constrained baseline at level 3.1 as avc1.42E01F says.
PHONE_H264 = "-profile:v baseline -level 3.1 -b:v 1500k -maxrate 1500k -bufsize 1500k -b:a 96k"
REPLAYED = "/bench/recording.mp4"  # its key in the student's Cache Storage
PICTURES = {
    "pattern": "Chromium's own moving pattern (VP8 squeezes it well below the 1.5 Mbit/s asked)",
    "busy": "a 720p test pattern under moving grain, which fills the bitrate as a phone does",
}
FORMATS = {"MP4": ".mp4", "WebM": ".webm"}  # the recorder names its file so
REPLAY_NOTE = (
    "this Chromium's MediaRecorder cannot encode H.264, so a fragmented MP4 written by FFmpeg "
    "(720p H.264 of the busy picture at 1.5 Mbit/s, AAC at 96 kbit/s) is replayed through a "
    "stand-in MediaRecorder: the row measures the network, the server and the pipeline, not "
    "the phone's encoder"
)

# The recorder then finds no MP4 type it may use, and records WebM.
FORCE_WEBM = """(() => {
  if (!window.MediaRecorder) return;
  const supported = MediaRecorder.isTypeSupported.bind(MediaRecorder);
  MediaRecorder.isTypeSupported = (type) => !/^video\\/mp4/i.test(type) && supported(type);
})();"""
# A MediaRecorder that records nothing: it hands out the fragments of REPLAYED as the real one
# hands out what it encodes, each one once the media it holds has been filmed, in real time,
# then the rest at stop(), then "stop". Only the MP4 types recorder.js asks for are "supported",
# so the recorder names the take .mp4. recorder.js needs neither pause() nor requestData().
REPLAY_MP4 = """(() => {
  // Fragment i is bytes offsets[i] to offsets[i + 1] (the first with ftyp and moov), and
  // holds media filmed until ends[i] seconds.
  const FRAGMENTS = %s;
  const SLACK = 0.1;  // seconds: a timer may fire a little early
  const mp4 = (type) => /^video\\/mp4;\\s*codecs=avc1/i.test(type);
  const recording = () => caches.open("bench")
    .then((cache) => cache.match("%s"))
    .then((response) => response.arrayBuffer());

  class ReplayedRecorder extends EventTarget {
    static isTypeSupported(type) { return mp4(type); }

    constructor(stream, options = {}) {
      super();
      if (options.mimeType && !mp4(options.mimeType)) {
        throw new DOMException("Only H.264/AAC MP4 is replayed", "NotSupportedError");
      }
      this.stream = stream;
      this.mimeType = options.mimeType || "video/mp4;codecs=avc1.42E01F,mp4a.40.2";
      this.videoBitsPerSecond = options.videoBitsPerSecond;
      this.audioBitsPerSecond = options.audioBitsPerSecond;
      this.state = "inactive";
      this.onstart = this.ondataavailable = this.onstop = this.onerror = null;
      this.handed = 0;  // fragments handed out
      this.queue = Promise.resolve();  // hand-outs in order, each after the bytes are read
    }

    start(timeslice) {
      if (this.state !== "inactive") throw new DOMException("Already started", "InvalidStateError");
      this.state = "recording";
      this.bytes = recording();
      const started = performance.now();
      const filmed = () => (performance.now() - started) / 1000 + SLACK;
      this.timer = setInterval(() => this.handOut(filmed()), timeslice || 1000);
      this.fire(new Event("start"));
    }

    stop() {
      if (this.state === "inactive") return;
      this.state = "inactive";
      clearInterval(this.timer);
      this.handOut(Infinity);
      this.queue = this.queue.then(() => this.fire(new Event("stop")));
    }

    // Every whole fragment filmed by ``seconds`` not yet handed out, in one Blob.
    handOut(seconds) {
      this.queue = this.queue.then(() => this.bytes).then((bytes) => {
        let until = this.handed;
        while (until < FRAGMENTS.ends.length && FRAGMENTS.ends[until] <= seconds) until += 1;
        const data = bytes.slice(FRAGMENTS.offsets[this.handed], FRAGMENTS.offsets[until]);
        this.handed = until;
        if (!data.byteLength && seconds !== Infinity) return;
        const blob = new Blob([data], { type: this.mimeType });
        this.fire(new BlobEvent("dataavailable", { data: blob }));
      }, () => {
        clearInterval(this.timer);
        this.state = "inactive";
        this.fire(new Event("error"));
      });
    }

    fire(event) {
      this.dispatchEvent(event);
      const handler = this["on" + event.type];
      if (handler) handler.call(this, event);
    }
  }
  window.MediaRecorder = ReplayedRecorder;
})();"""
# The keeper tab puts the recording to replay in the origin's Cache Storage, where the
# student's pages read it, from the file chosen in an input of its own.
STAGE_RECORDING = """async (key) => {
  const file = document.querySelector("#bench-recording").files[0];
  const cache = await caches.open("bench");
  await cache.put(key, new Response(file, { headers: { "Content-Type": "video/mp4" } }));
  return (await (await cache.match(key)).blob()).size;
}"""
# The recorded File goes to the keeper tab (a File is passed by reference, not copied), so
# its bytes can be read once the timing is over, after the student's page has moved on.
HAND_OVER_TAKE = """document.addEventListener("recorder:recorded", (event) => {
  new BroadcastChannel("bench-take").postMessage(event.detail.file);
}, true);"""
KEEP_TAKE = """() => {
  window.take = null;
  window.channel = new BroadcastChannel("bench-take");
  window.channel.onmessage = (event) => { window.take = event.data; };
}"""
READ_SLICE = """async ([start, end]) => {
  const bytes = new Uint8Array(await window.take.slice(start, end).arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}"""
# The attempt page shows the take in its first figure, the model in the second.
TAKE_PLAYABLE = """() => {
  const video = document.querySelector("figure.compare-side:first-of-type video.player");
  return Boolean(video) && video.readyState >= 2;
}"""


@dataclass
class Run:
    format: str
    size: int  # bytes of the take
    duration: float  # seconds, as the pipeline probed it
    live: float  # Stop to playable
    after_stop: float  # upload started at "Stop" to playable


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of each take")
    parser.add_argument("--runs", type=int, default=3, help="runs per format (medians)")
    parser.add_argument(
        "--picture",
        choices=list(PICTURES),
        default="pattern",
        help="what the fake camera films: " + "; ".join(f"{k}: {v}" for k, v in PICTURES.items()),
    )
    args = parser.parse_args()
    longest = TestConfig(os.environ).VIDEO_MAX_SECONDS  # where the recorder stops by itself
    if not 1 <= args.seconds <= longest:
        parser.error(f"--seconds must be 1 to {longest}")
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    return args


# --- the app ---------------------------------------------------------------------------------


@contextmanager
def served(tmp: Path) -> Iterator[str]:
    """Redis, the demo data, gunicorn and a worker; yields the site's base URL, inside an app
    context for reading rows and stored files."""
    redis = RedisServer().start()
    server = None
    try:
        url = f"sqlite:///{tmp / 'bench.db'}"
        app = create_app(make_config(url, redis.url, tmp / "instance"))
        # The seed encodes the model video in this process: a short one starts the bench
        # sooner, and it is the takes that are measured.
        demo.DEMO_VIDEO = {"seconds": 3, "width": 640, "height": 360}
        with app.app_context():
            flask_migrate.upgrade()
            demo.seed_demo()
            db.session.remove()
        port = free_port()
        log = tmp / "gunicorn.log"
        server = start_gunicorn(port, site_env(url, redis.url, tmp), log)
        base_url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{log.read_text()[-2000:]}")
            try:
                return get(port, "/core/live", {})[0] == 200
            except OSError:
                return False

        wait_for(up, timeout=30, what="gunicorn")
        with app.app_context(), running_worker(app):
            yield base_url
    finally:
        if server is not None:
            stop(server)
        redis.stop()


def worker_idle() -> None:
    """Wait until the worker has finished every video (the demo's attempt, the last take's
    ladder), so the next take is not queued behind one."""

    def idle() -> bool:
        db.session.rollback()  # a fresh read
        unfinished = sa.select(sa.func.count()).where(VideoAsset.processing_status.in_(UNFINISHED))
        return db.session.scalar(unfinished) == 0

    wait_for(idle, timeout=PATIENCE_MS / 1000, what="an idle worker")


def take_of(attempt_url: str) -> VideoAsset:
    attempt_id = uuid.UUID(attempt_url.rstrip("/").rsplit("/", 1)[1])
    db.session.rollback()
    return db.session.get(VideoComment, attempt_id).video_asset


# --- the browsers ----------------------------------------------------------------------------


def logged_in(browser: Browser, base_url: str, account, *scripts: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, permissions=["camera", "microphone"])
    context.set_default_timeout(PATIENCE_MS)
    for script in scripts:
        context.add_init_script(script)
    page = context.new_page()
    page.goto("/accounts/login")
    log_in(page, account.email, account.password)
    page.wait_for_url(re.compile(r"/exercises/$"))
    page.close()
    return context


def throttled_page(context: BrowserContext) -> Page:
    page = context.new_page()
    slow_uplink(context, page, UPLINK_BYTES_PER_SECOND)
    return page


def clock(seconds: int) -> str:
    """As the recorder shows it: 1:05."""
    return f"{seconds // 60}:{seconds % 60:02}"


def record(page: Page, exercise_url: str, seconds: int) -> float:
    """Record ``seconds`` at the exercise and press Stop; returns when Stop was pressed."""
    page.goto(exercise_url)
    form = page.locator("#attempt-form")
    form.locator("[data-recorder-start]").click()
    form.locator("[data-recorder-message]", has_text=f"Recording {clock(seconds)}").wait_for()
    stopped = time.monotonic()
    form.get_by_role("button", name="Stop").click()
    return stopped


def playable_after(teacher: Page, attempt_url: str, since: float) -> float:
    """The teacher opens the attempt; seconds from ``since`` until its take can play."""
    teacher.goto(attempt_url)
    teacher.wait_for_function(TAKE_PLAYABLE, polling=50, timeout=PATIENCE_MS)
    return time.monotonic() - since


def sent(page: Page) -> str:
    """Send attempt; the attempt page's URL the student lands on."""
    page.locator("#attempt-form").get_by_role("button", name="Send attempt").click()
    page.wait_for_url(re.compile(r"/comments/attempts/"))
    return page.url


def live_way(student: Page, teacher: Page, exercise_url: str, seconds: int) -> tuple:
    """The take sent while it was recorded: (seconds from Stop to playable, to "It is
    uploaded", to the attempt page; the attempt's URL)."""
    stopped = record(student, exercise_url, seconds)
    message = student.locator("#attempt-form [data-recorder-message]")
    message.filter(has_text="It is uploaded").wait_for()
    uploaded = time.monotonic() - stopped
    attempt_url = sent(student)
    page_at = time.monotonic() - stopped
    return playable_after(teacher, attempt_url, stopped), uploaded, page_at, attempt_url


def read_take(keeper: Page, folder: Path) -> Path:
    """The recorded File, as the keeper tab got it, written to ``folder``."""
    keeper.wait_for_function("() => window.take !== null")
    name, size = keeper.evaluate("() => [window.take.name, window.take.size]")
    path = folder / name
    with path.open("wb") as out:
        for start in range(0, size, READ_PIECE):
            piece = keeper.evaluate(READ_SLICE, [start, min(size, start + READ_PIECE)])
            out.write(base64.b64decode(piece))
    keeper.evaluate("() => { window.take = null; }")
    return path


def after_stop_way(context: BrowserContext, teacher: Page, exercise_url: str, take: Path):
    """The take chosen as a file and sent whole at "Stop": (seconds to playable, to the
    attempt page)."""
    page = throttled_page(context)
    page.goto(exercise_url)
    page.locator("#attempt-file").set_input_files(take)
    started = time.monotonic()
    attempt_url = sent(page)
    page_at = time.monotonic() - started
    took = playable_after(teacher, attempt_url, started)
    page.close()
    return took, page_at


def same_bytes(attempt_url: str, take: Path) -> VideoAsset:
    """The bytes read from the page are the take the server stored: the same take."""
    asset = take_of(attempt_url)
    stored = get_storage().path(asset.storage_path)
    if stored.read_bytes() != take.read_bytes():
        raise SystemExit(f"the take read from the page is not the one stored for {attempt_url}")
    return asset


def measure(
    browser: Browser, base_url: str, fmt: str, args, folder: Path, replayed: Path | None
) -> list[Run]:
    """``replayed``: the MP4 a stand-in MediaRecorder hands out, when the browser's cannot."""
    scripts = [HAND_OVER_TAKE]
    if fmt == "WebM":
        scripts.append(FORCE_WEBM)
    elif replayed:
        scripts.append(REPLAY_MP4 % (json.dumps(fragments(replayed)), REPLAYED))
    context = logged_in(browser, base_url, STUDENT, *scripts)
    teacher_context = logged_in(browser, base_url, TEACHER)
    keeper = context.new_page()
    keeper.goto("/core/live")
    keeper.evaluate(KEEP_TAKE)
    if fmt == "MP4" and replayed:
        stage(keeper, replayed)
    runs = []
    try:
        finder = context.new_page()
        finder.goto("/exercises/")
        finder.get_by_role("link", name=DEMO_EXERCISE).first.click()
        finder.wait_for_url(re.compile(r"/exercises/[^/]+$"))
        exercise_url = finder.url
        finder.close()
        for n in range(1, args.runs + 1):
            worker_idle()
            student, teacher = throttled_page(context), teacher_context.new_page()
            live, uploaded, page_at, attempt_url = live_way(
                student, teacher, exercise_url, args.seconds
            )
            student.close()
            take = read_take(keeper, folder)
            asset = same_bytes(attempt_url, take)
            if take.suffix != FORMATS[fmt]:
                raise SystemExit(f"asked for {fmt}, the recorder made {take.name}")
            if fmt == "MP4" and replayed and take.read_bytes() != replayed.read_bytes():
                raise SystemExit(f"the take is not {replayed.name} as the stand-in replayed it")
            worker_idle()
            after, after_page_at = after_stop_way(context, teacher, exercise_url, take)
            teacher.close()
            runs.append(Run(fmt, asset.size_bytes, asset.duration_sec, live, after))
            print(
                f"{fmt} run {n}: {asset.size_bytes / 1e6:.1f} MB, {asset.duration_sec:.1f} s "
                f"at {asset.width}x{asset.height}; live: uploaded {uploaded:.1f} s after Stop, "
                f"attempt page {page_at:.1f} s, playable {live:.1f} s; uploaded after Stop: "
                f"attempt page {after_page_at:.1f} s, playable {after:.1f} s",
                flush=True,
            )
            take.unlink()
    finally:
        context.close()
        teacher_context.close()
    return runs


def busy_picture(folder: Path) -> Path:
    """Two seconds of BUSY_PICTURE for the fake camera to loop."""
    path = folder / "busy.y4m"
    subprocess.run(
        [
            *"ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i".split(),
            BUSY_PICTURE,
            *"-t 2 -pix_fmt yuv420p".split(),
            str(path),
        ],
        check=True,
        timeout=120,
    )
    return path


def phone_recording(folder: Path, seconds: int) -> Path:
    """What a phone's MediaRecorder writes filming BUSY_PICTURE for ``seconds``: H.264/AAC
    at the recorder's bitrates, fragmented, written to a pipe."""
    source = (
        f"-f lavfi -i {BUSY_PICTURE} -f lavfi -i sine=frequency=440:sample_rate=48000 -t {seconds}"
    )
    return recorded(folder / "phone.mp4", f"{RECORDER_MP4} {PHONE_H264}", source)


def fragments(path: Path) -> dict[str, list]:
    """Where each fragment of ``path`` starts and ends in its bytes (``offsets``, the first
    from 0 so it carries ftyp and moov) and where its media ends in seconds (``ends``): a
    fragment starts at each video keyframe."""
    data = path.read_bytes()
    moofs = [offset for kind, offset in mp4_boxes(data) if kind == "moof"]
    out = subprocess.run(
        [
            *"ffprobe -v error -select_streams v:0 -skip_frame nokey -show_entries".split(),
            "frame=pts_time:format=duration",
            *"-of json".split(),
            str(path),
        ],
        capture_output=True,
        check=True,
        text=True,
        timeout=120,
    )
    probed = json.loads(out.stdout)
    keyframes = [float(frame["pts_time"]) for frame in probed["frames"]]
    if len(keyframes) != len(moofs):
        raise SystemExit(f"{path.name}: {len(moofs)} fragments for {len(keyframes)} keyframes")
    return {
        "offsets": [0, *moofs[1:], len(data)],
        "ends": [*keyframes[1:], float(probed["format"]["duration"])],
    }


def stage(keeper: Page, recording: Path) -> None:
    """Puts ``recording`` where the stand-in MediaRecorder reads it (REPLAY_MP4)."""
    keeper.evaluate(
        """() => {
      const input = Object.assign(document.createElement("input"), { type: "file" });
      input.id = "bench-recording";
      document.body.append(input);
    }"""
    )
    keeper.locator("#bench-recording").set_input_files(recording)
    if keeper.evaluate(STAGE_RECORDING, REPLAYED) != recording.stat().st_size:
        raise SystemExit(f"{recording.name} could not be put in the browser's Cache Storage")


def records_h264(browser: Browser) -> bool:
    """Whether this Chromium's MediaRecorder writes MP4 with H.264/AAC (the recorder's first
    choices); Chromium without proprietary codecs records only VP8/VP9."""
    page = browser.new_page()
    try:
        return page.evaluate(
            "(types) => types.some((type) => MediaRecorder.isTypeSupported(type))",
            list(H264_TYPES),
        )
    finally:
        page.close()


# --- the report ------------------------------------------------------------------------------


def report(runs: list[Run], args, replayed: bool) -> None:
    print(
        f"\nmedians of {args.runs} run(s), {args.seconds} s takes of the {args.picture} picture"
        f"{' (MP4: the busy one, replayed)' if replayed else ''}, "
        "uplink 2 Mbit/s with 100 ms latency:"
    )
    print(
        f"{'format':<7} {'MB':>6} {'live (s)':>9} {'after Stop (s)':>15} {'ratio':>6} "
        f"{'goal <= 5 s':>12} {'recorded at':>14}"
    )
    for fmt in FORMATS:
        mine = [run for run in runs if run.format == fmt]
        size = statistics.median(run.size for run in mine)
        live = statistics.median(run.live for run in mine)
        after = statistics.median(run.after_stop for run in mine)
        bitrate = statistics.median(run.size * 8 / run.duration for run in mine)
        print(
            f"{fmt:<7} {size / 1e6:>6.1f} {live:>9.1f} {after:>15.1f} {after / live:>6.1f} "
            f"{'met' if live <= GOAL_SECONDS else 'NOT met':>12} {bitrate / 1e6:>9.2f} Mbit/s"
        )
    print(
        "(live: Stop to the teacher's take playable, sent while recorded; after Stop: the same "
        "take uploaded whole from Stop; ratio: after Stop / live)"
    )
    if replayed:
        print(f"MP4: {REPLAY_NOTE}")


def main() -> None:
    args = arguments()
    tmp = Path(tempfile.mkdtemp(prefix="practika-bench-recording-"))
    try:
        with served(tmp) as base_url, sync_playwright() as playwright:
            camera = []
            if args.picture == "busy":
                camera = [f"--use-file-for-fake-video-capture={busy_picture(tmp)}"]
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *camera]
            )
            replayed = None
            if not records_h264(browser):
                replayed = phone_recording(tmp, args.seconds)
                print(f"MP4: {REPLAY_NOTE}", flush=True)
            runs = []
            for fmt in FORMATS:
                runs += measure(browser, base_url, fmt, args, tmp, replayed)
            browser.close()
        report(runs, args, replayed is not None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
