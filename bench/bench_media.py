"""The media pipeline against plain FFmpeg and MediaCMS's method, measured side by side.

Three generated 30 s sources, the phone and browser videos of issue 15: H.264 1080p MP4 at
12 Mbit/s (Android), HEVC 1080p portrait MOV (iPhone) and VP8/Opus 720p WebM written as
Chrome's recorder writes it (no duration). For each round and source, one after the other
so all see the same machine load:

- the pipeline: ``process_video`` on an uploaded asset, run by ``media_pipeline_run.py`` in
  a process of its own; its CPU (with its FFmpeg children) and the time until the video
  plays in the browsers that play the source's codecs (``native_path`` set, where the code
  has it), plays in every browser (``renditions`` set), and is ready. With
  ``BENCH_BASELINE=<git ref>`` the same again for that ref, checked out in a temporary
  worktree, so today's pipeline and this tree's are compared under the same load;
- the best hand-written single FFmpeg command making this tree's outputs (one decode split
  into every encoded rung at the pipeline's x264 settings, a stream copy where the pipeline
  copied the source), plus the poster;
- MediaCMS's method: one FFmpeg per rendition of its ladder at its defaults (preset medium),
  timed as wall and CPU seconds.

In the first round, every rung each pipeline made is scored: its video bitrate and its SSIM
against the source scaled to the rung's size. Prints medians over BENCH_ROUNDS rounds
(default 3), the goals of issue 15 met or not, and the same as Markdown tables.
Run: make bench  (or .venv/bin/python bench/bench_media.py; BENCH_ROUNDS=1 for a quick try,
BENCH_BASELINE=main to compare with main). One round with its scoring took 13 minutes at load
average 8-10 on two cores; a baseline adds its pipeline runs and their scoring.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from media_pipeline_run import cpu_seconds

from practika.media.ladder import (
    Rendition,
    plan_ladder,
    playable_by_remux,
    reusable_top_rung,
)
from practika.media.poster import make_poster
from practika.media.probe import ProbeResult
from practika.media.transcode import H264, MP4, STRIP_METADATA, rung_settings
from practika.media.validate import validate

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).with_name("media_pipeline_run.py")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BASELINE = os.environ.get("BENCH_BASELINE")
THIS_TREE = "this tree"
SECONDS = 30
QUIET = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
# MediaCMS's ladder: (height, video kbit/s); a height above the source's stored height is
# skipped, except these two, which it always makes.
MEDIACMS_LADDER = ((240, 300), (360, 500), (480, 1000), (720, 2500), (1080, 4500))
MEDIACMS_ALWAYS = (240, 360)
PLAYABLE_GOAL = 0.2  # playable / ready, every source
MEDIACMS_GOAL = 0.25  # ready / MediaCMS wall, 1080p sources
SSIM_LOSS_GOAL = 0.005  # largest SSIM a rung may lose against the baseline


def run(args: list[str]) -> None:
    subprocess.run(["ffmpeg", *QUIET, *args], check=True)


def camera_pattern(width: int, height: int) -> list[str]:
    """The picture and sound of every source. The temporal noise is a camera sensor's: it
    makes the encoders work as hard as on real footage."""
    return [
        *("-f", "lavfi", "-i"),
        f"testsrc2=size={width}x{height}:rate=30:duration={SECONDS},noise=alls=6:allf=t",
        *("-f", "lavfi", "-i"),
        f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
    ]


def make_android(path: Path) -> None:
    """H.264 1080p at 12 Mbit/s with AAC, as an Android phone films."""
    run(
        [
            *camera_pattern(1920, 1080),
            *"-c:v libx264 -preset veryfast -b:v 12M -maxrate 12M -bufsize 24M".split(),
            *"-pix_fmt yuv420p -c:a aac -b:a 128k -ar 48000".split(),
            str(path),
        ]
    )


def make_iphone(path: Path) -> None:
    """HEVC 1080p MOV stored landscape with a 90 degree display matrix, shown 1080x1920 as
    an iPhone's portrait video is."""
    landscape = path.with_name(f"landscape-{path.name}")
    run(
        [
            *camera_pattern(1920, 1080),
            *"-c:v libx265 -preset ultrafast -x265-params log-level=error -b:v 8M".split(),
            *"-pix_fmt yuv420p -tag:v hvc1 -c:a aac -b:a 128k".split(),
            str(landscape),
        ]
    )
    run(["-i", str(landscape), *"-map 0 -c copy -metadata:s:v:0 rotate=90".split(), str(path)])
    landscape.unlink()


def make_chrome(path: Path) -> None:
    """VP8/Opus 720p WebM written to a pipe as a live stream, so it carries no duration, as
    MediaRecorder writes it."""
    with path.open("wb") as out:
        subprocess.run(
            [
                *("ffmpeg", *QUIET, *camera_pattern(1280, 720)),
                *"-c:v libvpx -b:v 2.5M -deadline realtime -cpu-used 8 -c:a libopus".split(),
                *"-f webm -live 1 pipe:1".split(),
            ],
            stdout=out,
            check=True,
        )


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    filename: str
    make: Callable[[Path], None]
    is_1080p: bool


FAMILIES = (
    Family("Android", "H.264 1080p MP4, 12 Mbit/s", "android.mp4", make_android, True),
    Family("iPhone", "HEVC 1080p portrait MOV", "iphone.mov", make_iphone, True),
    Family("Chrome", "VP8/Opus 720p WebM, no duration", "chrome.webm", make_chrome, False),
)


@contextmanager
def checkout(ref: str, folder: Path) -> Iterator[Path]:
    """``ref`` checked out in ``folder`` as a detached worktree, removed afterwards even when
    the bench fails."""
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", str(folder), ref], check=True)
    try:
        yield folder
    finally:
        subprocess.run([*git, "remove", "--force", str(folder)], check=False)


def pipeline(root: Path, source: Path, outdir: Path) -> dict:
    """The runner's JSON for ``source``, processed by the code in ``root``. What the runner
    logs (each migration, on every run) is shown only when it fails."""
    outdir.mkdir()
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(source), str(outdir)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.stderr.write(done.stderr)
        done.check_returncode()
    return json.loads(done.stdout.splitlines()[-1])


def options(settings: dict) -> list[str]:
    """ffmpeg-python keyword options (as transcode.py writes them) as command-line words."""
    return [word for key, value in settings.items() for word in (f"-{key}", str(value))]


def stream_copy(facts: ProbeResult, path: Path) -> list[str]:
    """A copy of the source's picture and sound into ``path``, as transcode.py writes the
    remux (MP4) and the native copy (WebM with its index first, or HEVC tagged hvc1)."""
    if path.suffix == ".webm":
        container = ["-f", "webm", "-cues_to_front", "1", *options(STRIP_METADATA)]
    else:
        container = options(MP4) + (["-tag:v", "hvc1"] if facts.video_codec == "hevc" else [])
    return [*maps(facts, f"0:{facts.video_stream}"), "-c", "copy", *container, str(path)]


def maps(facts: ProbeResult, video: str) -> list[str]:
    """``-map`` for ``video`` and for the source's sound, if it has any."""
    sound = [] if facts.audio_stream is None else ["-map", f"0:{facts.audio_stream}"]
    return ["-map", video, *sound]


def encoded_rungs(source: Path, facts: ProbeResult, made: dict) -> list[Rendition]:
    """The rungs the pipeline encoded: those it made, less the top rung when the remuxed
    source stood in for it (by the pipeline's own rule)."""
    ladder = plan_ladder(facts.display_width, facts.display_height)
    reused = reusable_top_rung(facts, ladder, source.stat().st_size * 8 / facts.duration)
    return [rung for rung in ladder if rung.name in made["renditions"] and rung != reused]


def ladder_words(facts: ProbeResult, rungs: list[Rendition], outdir: Path) -> list[str]:
    """One decode scaled to every rung, each encoded with transcode.py's settings. The
    rungs are scaled largest first, each from the one above (shrinking 720p to 360p costs
    far less than shrinking 1080p to it), and colours are converted once, where needed."""
    if not rungs:
        return []
    colours = "" if facts.is_bt709_tv else ":out_color_matrix=bt709:out_range=tv"
    largest_first = sorted(rungs, key=lambda rung: rung.width * rung.height, reverse=True)
    graph, above, words = [], f"[0:{facts.video_stream}]", []
    for i, rung in enumerate(largest_first):
        scaled = f"{above}scale={rung.width}:{rung.height}{colours},setsar=1,format=yuv420p"
        colours = ""
        if i == len(largest_first) - 1:
            graph.append(f"{scaled}[v{i}]")
        else:
            graph.append(f"{scaled},split[v{i}][a{i}]")
            above = f"[a{i}]"
        words += [*maps(facts, f"[v{i}]"), *options(H264), *options(rung_settings(rung))]
        words += [*options(MP4), "-maxrate", str(rung.video_bitrate)]
        words += ["-bufsize", str(2 * rung.video_bitrate)]
        if facts.audio_stream is not None:
            words += ["-c:a", "aac", "-b:a", str(rung.audio_bitrate), "-ac", "2"]
        words.append(str(outdir / f"{rung.name}.mp4"))
    return ["-filter_complex", ";".join(graph), *words]


def best_single_command(source: Path, facts: ProbeResult, made: dict, outdir: Path) -> None:
    """What the pipeline made, in one FFmpeg process: the source decoded once and split into
    every encoded rung at the pipeline's settings and filters, the remux and the native copy
    as stream copies; then the pipeline's own poster command."""
    words = ladder_words(facts, encoded_rungs(source, facts, made), outdir)
    if playable_by_remux(facts):
        words += stream_copy(facts, outdir / "playable.mp4")
    if made["native"]:
        words += stream_copy(facts, outdir / f"native{Path(made['native']).suffix}")
    run(["-i", str(source), *words])
    poster(source, facts, outdir)


def poster(source: Path, facts: ProbeResult, outdir: Path) -> None:
    """The poster as the pipeline makes it."""
    duration = facts.duration
    make_poster(source, outdir / "poster.jpg", at=min(1.0, duration / 2), duration=duration)


def mediacms_heights(stored_height: int) -> list[tuple[int, int]]:
    """MediaCMS's renditions of a source: (height, kbit/s). It reads the stored height, so a
    portrait phone video stored 1920x1080 gets every height up to 1080."""
    return [
        (height, rate)
        for height, rate in MEDIACMS_LADDER
        if height <= stored_height or height in MEDIACMS_ALWAYS
    ]


def mediacms(source: Path, facts: ProbeResult, outdir: Path) -> None:
    """One full decode and encode per rendition at MediaCMS's defaults, one after another,
    then the poster."""
    for height, rate in mediacms_heights(facts.height):
        cap = f"{rate * 3 // 2}k"
        run(
            [
                *("-i", str(source), "-vf", f"scale=-2:{height},fps=fps=30"),
                *"-c:v libx264 -preset medium -crf 23 -pix_fmt yuv420p".split(),
                *"-profile:v main -level 4.2 -maxrate".split(),
                *(cap, "-bufsize", cap, "-force_key_frames", "expr:gte(t,n_forced*4)"),
                *"-x264-params keyint=240:keyint_min=120 -c:a aac -b:a 128k -ac 2".split(),
                str(outdir / f"{height}.mp4"),
            ]
        )
    poster(source, facts, outdir)


def timed(work: Callable, *args) -> tuple[float, float]:
    """Wall and CPU seconds of ``work``, the FFmpeg it runs included."""
    started, started_cpu = time.monotonic(), cpu_seconds()
    work(*args)
    return time.monotonic() - started, cpu_seconds() - started_cpu


def video_kbps(path: Path) -> float:
    """The video stream's bitrate: its packets' bytes over the file's duration."""
    done = subprocess.run(
        [
            *"ffprobe -v error -select_streams v:0 -of json".split(),
            *("-show_entries", "packet=size:format=duration", str(path)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    bits = 8 * sum(int(packet["size"]) for packet in found["packets"])
    return bits / float(found["format"]["duration"]) / 1000


def ssim(rung: Path, width: int, height: int, source: Path) -> float:
    """SSIM (All) of a rung against the source (upright, as FFmpeg autorotates it) scaled to
    the rung's size."""
    graph = (
        f"[1:v]scale={width}:{height}:flags=lanczos,format=yuv420p[r];"
        "[0:v]format=yuv420p[d];[d][r]ssim"
    )
    done = subprocess.run(
        [
            *("ffmpeg", "-hide_banner", "-nostdin", "-i", str(rung), "-i", str(source)),
            *("-lavfi", graph, "-f", "null", "-"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(re.findall(r"All:([\d.]+)", done.stderr)[-1])


def rung_quality(source: Path, made: dict) -> dict[str, dict]:
    """Size, video kbit/s and SSIM of every rung a pipeline made, smallest first."""
    rungs = sorted(made["renditions"].items(), key=lambda item: item[1]["height"])
    return {
        name: {
            "size": f"{r['width']}x{r['height']}",
            "kbps": video_kbps(Path(r["file"])),
            "ssim": ssim(Path(r["file"]), r["width"], r["height"], source),
        }
        for name, r in rungs
    }


def capable(made: dict) -> float:
    """Seconds until the video played in the browsers that play its codecs: the native copy,
    or the first file every browser plays if that came sooner (or there was no copy)."""
    native = made["playable_native"]
    return made["playable"] if native is None else min(native, made["playable"])


class Results:
    """Every round's figures, and the first round's rung quality, by source and pipeline."""

    def __init__(self, pipelines: list[str]) -> None:
        self.pipelines = pipelines
        self.samples: dict[tuple[str, str], dict[str, list[float]]] = {}
        self.quality: dict[tuple[str, str], dict[str, dict]] = {}

    def add(self, family: str, who: str, **figures: float) -> None:
        row = self.samples.setdefault((family, who), {})
        for name, value in figures.items():
            row.setdefault(name, []).append(value)

    def median(self, family: str, who: str) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.samples[(family, who)].items()}


def one_round(
    round_no: int, sources: dict[str, Path], roots: dict[str, Path], tmp: Path, results: Results
) -> None:
    order = list(roots) if round_no % 2 else list(reversed(roots))  # neither always goes first
    for family in FAMILIES:
        source = sources[family.name]
        facts = validate(source)
        made: dict[str, dict] = {}
        for who in order:
            outdir = tmp / f"{family.name}-{round_no}-{who.replace(' ', '-')}"
            made[who] = pipeline(roots[who], source, outdir)
            results.add(
                family.name,
                who,
                cpu=made[who]["cpu"],
                capable=capable(made[who]),
                playable=made[who]["playable"],
                ready=made[who]["ready"],
            )
            if round_no == 1:
                results.quality[(family.name, who)] = rung_quality(source, made[who])
            shutil.rmtree(outdir)
        hand_wall, hand_cpu = in_scratch(tmp, best_single_command, source, facts, made[THIS_TREE])
        cms_wall, cms_cpu = in_scratch(tmp, mediacms, source, facts)
        results.add(family.name, "FFmpeg", hand=hand_cpu, mediacms=cms_cpu, mediacms_wall=cms_wall)
        figures = "; ".join(
            f"{who} {m['cpu']:.1f} s CPU, plays {capable(m):.1f} s / {m['playable']:.1f} s,"
            f" ready {m['ready']:.1f} s"
            for who, m in made.items()
        )
        print(
            f"round {round_no} {family.name}: {figures}; single command {hand_cpu:.1f} s CPU"
            f" ({hand_wall:.1f} s); MediaCMS {cms_cpu:.1f} s CPU ({cms_wall:.1f} s)",
            flush=True,
        )


def in_scratch(tmp: Path, work: Callable, *args) -> tuple[float, float]:
    """``timed(work)`` writing into a folder of its own, deleted afterwards."""
    outdir = Path(tempfile.mkdtemp(dir=tmp))
    try:
        return timed(work, *args, outdir)
    finally:
        shutil.rmtree(outdir)


def goal(met: bool) -> str:
    return "met" if met else "NOT met"


def summary_rows(results: Results) -> list[dict]:
    """Per source and pipeline, the medians and ratios the issue asks for."""
    rows = []
    for family in FAMILIES:
        ffmpeg = results.median(family.name, "FFmpeg")
        for who in results.pipelines:
            m = results.median(family.name, who)
            rows.append(
                {
                    "family": family,
                    "who": who,
                    **m,
                    **ffmpeg,
                    "playable_ratio": m["playable"] / m["ready"],
                    "capable_ratio": m["capable"] / m["ready"],
                    "hand_ratio": m["cpu"] / ffmpeg["hand"],
                    "mediacms_ratio": m["cpu"] / ffmpeg["mediacms"],
                    "wall_ratio": m["ready"] / ffmpeg["mediacms_wall"],
                }
            )
    return rows


def print_summary(rows: list[dict]) -> None:
    print(f"\nmedians over {ROUNDS} round(s):")
    for row in rows:
        family = row["family"]
        wall_goal = (
            f" (goal <= {MEDIACMS_GOAL}: {goal(row['wall_ratio'] <= MEDIACMS_GOAL)})"
            if family.is_1080p
            else ""
        )
        print(
            f"{family.name} ({family.description}), {row['who']}:\n"
            f"  playable in capable browsers {row['capable']:.1f} s, in every browser "
            f"{row['playable']:.1f} s, ready {row['ready']:.1f} s\n"
            f"  playable / ready {row['playable_ratio']:.2f} (goal <= {PLAYABLE_GOAL}: "
            f"{goal(row['playable_ratio'] <= PLAYABLE_GOAL)}); in capable browsers "
            f"{row['capable_ratio']:.2f}\n"
            f"  CPU {row['cpu']:.1f} s: / best single command ({row['hand']:.1f} s) "
            f"{row['hand_ratio']:.2f}; / MediaCMS ({row['mediacms']:.1f} s) "
            f"{row['mediacms_ratio']:.2f}\n"
            f"  ready / MediaCMS wall ({row['mediacms_wall']:.1f} s) "
            f"{row['wall_ratio']:.2f}{wall_goal}"
        )


def rung_table(results: Results) -> list[list[str]]:
    """A header and a row per rung: this tree's rungs beside the baseline's of the same name
    (a rung only one of them made shows "-" on the other side)."""
    if not BASELINE:
        rows = [["source", "rung", "size", "kbit/s", "SSIM"]]
        for family in FAMILIES:
            for name, rung in results.quality[(family.name, THIS_TREE)].items():
                rows.append([family.name, name, rung["size"], *figures(rung)])
        return rows
    rows = [["source", "rung", "size", f"kbit/s {BASELINE}", "kbit/s"]]
    rows[0] += [f"SSIM {BASELINE}", "SSIM", "SSIM change", f"goal >= -{SSIM_LOSS_GOAL}"]
    for family in FAMILIES:
        ours = results.quality[(family.name, THIS_TREE)]
        theirs = results.quality[(family.name, BASELINE)]
        for name in [*ours, *(name for name in theirs if name not in ours)]:
            after, before = ours.get(name), theirs.get(name)
            kbps_before, ssim_before = figures(before)
            kbps, ssim_now = figures(after)
            row = [family.name, name, (after or before)["size"], kbps_before, kbps]
            row += [ssim_before, ssim_now, *ssim_change(before, after)]
            rows.append(row)
    return rows


def figures(rung: dict | None) -> list[str]:
    """A rung's kbit/s and SSIM as printed, or dashes for a rung that was not made."""
    return [f"{rung['kbps']:.0f}", f"{rung['ssim']:.4f}"] if rung else ["-", "-"]


def ssim_change(before: dict | None, after: dict | None) -> list[str]:
    """The SSIM a rung gained on the baseline, and whether it kept within the goal."""
    if not (before and after):
        return ["-", "-"]
    change = after["ssim"] - before["ssim"]
    return [f"{change:+.4f}", goal(change >= -SSIM_LOSS_GOAL)]


def print_rungs(table: list[list[str]]) -> None:
    print("\nrungs (first round): video kbit/s and SSIM against the source at the rung's size")
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


def print_markdown(rows: list[dict], rungs: list[list[str]]) -> None:
    print(
        "\n| source | pipeline | playable (capable browsers) | playable (every browser) "
        "| ready | MediaCMS | ready / MediaCMS | playable / ready | CPU / single command "
        "| CPU / MediaCMS |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    for row in rows:
        print(
            f"| {row['family'].description} ({row['family'].name}) | {row['who']} "
            f"| {row['capable']:.1f} s | {row['playable']:.1f} s | {row['ready']:.1f} s "
            f"| {row['mediacms_wall']:.1f} s | {row['wall_ratio']:.2f} "
            f"| {row['playable_ratio']:.2f} | {row['hand_ratio']:.2f} "
            f"| {row['mediacms_ratio']:.2f} |"
        )
    header, *cells = rungs
    print("\n| " + " | ".join(header) + " |\n" + "|---" * len(header) + "|")
    for row in cells:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="practika-bench-")))
        roots = {THIS_TREE: ROOT}
        if BASELINE:
            roots[BASELINE] = stack.enter_context(checkout(BASELINE, tmp / "baseline"))
        print(f"generating three 30 s sources in {tmp} (about a minute) ...", flush=True)
        sources = {family.name: tmp / family.filename for family in FAMILIES}
        for family in FAMILIES:
            family.make(sources[family.name])
        results = Results(list(roots))
        for round_no in range(1, ROUNDS + 1):
            one_round(round_no, sources, roots, tmp, results)
        rows, rungs = summary_rows(results), rung_table(results)
        print_summary(rows)
        print_rungs(rungs)
        print_markdown(rows, rungs)


if __name__ == "__main__":
    main()
