"""Playable first (issue 15): the pipeline's step before the ladder, with real FFmpeg on small
generated videos, on SQLite and PostgreSQL.

A source a browser may play as it is (a recorder's VP8/Opus WebM, an iPhone's 8-bit HEVC
tagged hvc1) gets a stream copy at once; then the smallest rung plays everywhere, then the
ladder makes the rest. A fault in either step retries, and the video never stays half-done:
failed when nothing played, ready with what plays when something did.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from practika.core import tasks
from practika.core.models import PLAYABLE, Stage, VideoAsset
from practika.core.services import stored_keys
from practika.core.tasks import GAVE_UP, claim, process_video
from practika.extensions import db
from practika.media.ladder import native_family
from practika.media.probe import ProbeResult, probe
from practika.model_base import utcnow
from practika.storage import get_storage
from practika.sweep import sweep
from tests.media_samples import encode, has_encoder, phone_video, recorded
from tests.test_jobs import heartbeat_stopped, reload, upload

# A recorder's WebM: VP8 and Opus written to a pipe, so the header has no duration.
RECORDER_WEBM = "-c:v libvpx -deadline realtime -cpu-used 8 -c:a libopus -f webm -live 1"
CLUSTER = bytes.fromhex("1F43B675")  # Matroska element IDs: a Cluster of frames
CUES = bytes.fromhex("1C53BB6B")  # and the index a player seeks with


def picture(size: str, seconds: float = 1) -> str:
    """FFmpeg's input arguments for ``seconds`` of moving test picture at ``size`` (odd sizes
    too: the scaler makes them, where the test source would round down), with a tone."""
    width, height = size.split("x")
    scaled = f"testsrc2=size=1280x720:rate=30,scale={width}:{height},setsar=1"
    return f"-f lavfi -i {scaled} -f lavfi -i sine -t {seconds}"


def hevc(path: Path, size: str, *, tag: str, rotate: int = 0) -> Path:
    """An iPhone-like HEVC 8-bit SDR MOV with AAC-LC, its sample entry named ``tag``, shown
    rotated by ``rotate`` degrees (a display matrix, written by a stream copy as phones do)."""
    if not has_encoder("libx265"):
        pytest.skip("this ffmpeg has no libx265 to make an HEVC source")
    encoded = encode(
        path.with_stem(f"{path.stem}-encoded"),
        f"{picture(size)} -c:v libx265 -preset ultrafast -x265-params log-level=error "
        f"-pix_fmt yuv420p -tag:v {tag} -c:a aac",
    )
    return encode(path, f"-i {encoded} -c copy -metadata:s:v:0 rotate={rotate}")


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("playable_first")


@pytest.fixture(scope="module")
def iphone_portrait(sources) -> Path:
    """Stored 1280x720, shown 720x1280: two rungs, the smallest 360x640."""
    return hevc(sources / "portrait.mov", "1280x720", tag="hvc1", rotate=90)


@pytest.fixture(scope="module")
def recorder_720p(sources) -> Path:
    """What Chrome records at 720p: no duration in the header. Two rungs."""
    return recorded(sources / "recorder.webm", RECORDER_WEBM, source=picture("1280x720"))


@pytest.fixture(scope="module")
def webm_720p(sources) -> Path:
    """VP8/Opus written to a file: the muxer went back to write the duration."""
    return encode(
        sources / "file.webm",
        f"{picture('1280x720')} -c:v libvpx -deadline realtime -cpu-used 8 -c:a libopus",
    )


@dataclass
class Seen:
    """What the row held when an encode started: the rungs that encode makes, the renditions
    already there, the native copy's type and a copy of its file (the ready write deletes it)."""

    rungs: list[str]
    renditions: dict
    native_type: str | None
    native: Path | None


def watch_encodes(monkeypatch, asset_id, keep: Path, fail_when=lambda rungs: False) -> list[Seen]:
    """Record what the page could have offered at the start of each ``make_renditions`` call,
    and make the calls whose rung names ``fail_when`` picks fail as a crashed FFmpeg would."""
    seen: list[Seen] = []
    real = tasks.make_renditions

    def watched(source, facts, ladder, workdir, **options):
        asset = reload(asset_id)
        native = None
        if asset.native_path:
            stored = get_storage().fetch(asset.native_path, keep)
            native = Path(shutil.copyfile(stored, keep / f"seen-{len(seen)}-{stored.name}"))
        rungs = [rung.name for rung in ladder]
        seen.append(Seen(rungs, dict(asset.renditions), asset.native_type, native))
        if fail_when(rungs):
            raise RuntimeError("ffmpeg exited with 1")
        return real(source, facts, ladder, workdir, **options)

    monkeypatch.setattr(tasks, "make_renditions", watched)
    return seen


def stored(key: str, tmp_path: Path) -> ProbeResult:
    return probe(get_storage().fetch(key, tmp_path))


def assert_ready_with(asset: VideoAsset, rungs: list[str], tmp_path: Path) -> None:
    """Ready with exactly ``rungs``, each an upright, even-sized file, and no stand-in left."""
    assert asset.processing_status == "ready", asset.processing_error
    assert sorted(asset.renditions) == sorted(rungs)
    for rendition in asset.renditions.values():
        facts = stored(rendition["path"], tmp_path)
        assert (facts.width, facts.height) == (rendition["width"], rendition["height"])
        assert facts.width % 2 == 0 and facts.height % 2 == 0 and facts.rotation == 0
        assert (facts.video_codec, facts.pix_fmt) == ("h264", "yuv420p")
    assert asset.native_path is None and asset.native_type is None
    storage = get_storage()
    for stand_in in (f"{PLAYABLE}.mp4", "native.mp4", "native.webm"):
        assert not storage.exists(f"videos/{asset.id}/{stand_in}")


# --- HEVC from an iPhone ---


def test_an_iphone_hevc_plays_natively_then_upright_everywhere_then_as_a_ladder(
    app, teacher, iphone_portrait, tmp_path, monkeypatch
):
    asset_id = upload(teacher, iphone_portrait, name="IMG_0001.MOV").id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path)
    process_video(str(asset_id))

    first, ladder = seen
    # Before the first encode: nothing plays everywhere, the native copy plays in Safari.
    assert (first.rungs, first.renditions) == (["360p"], {})
    assert first.native_type.startswith('video/mp4; codecs="hvc1.1.6.L')
    assert first.native_type.endswith(', mp4a.40.2"')
    assert native_family(first.native_type) == "hevc"
    native = probe(first.native)
    assert (native.video_codec, native.codec_tag, native.audio_codec) == ("hevc", "hvc1", "aac")
    assert (native.width, native.height, native.rotation) == (1280, 720, 90)  # shown upright
    assert (native.display_width, native.display_height) == (720, 1280)
    # Before the ladder: the smallest rung plays in every browser, upright.
    assert ladder.rungs == ["720p"] and list(ladder.renditions) == ["360p"]
    smallest = stored(ladder.renditions["360p"]["path"], tmp_path)
    assert (smallest.width, smallest.height, smallest.rotation) == (360, 640, 0)
    asset = reload(asset_id)
    assert_ready_with(asset, ["360p", "720p"], tmp_path)
    assert (asset.width, asset.height) == (720, 1280)


@pytest.mark.parametrize("kind", ["hev1", "hdr"])
def test_hevc_safari_refuses_gets_no_native_copy_and_plays_from_its_smallest_rung(
    app, teacher, sources, hevc_hdr, tmp_path, monkeypatch, kind
):
    """HEVC tagged hev1 (FFmpeg's default; Safari refuses it) and 10-bit HDR (no browser
    shows its colours right) are offered to no browser as they are."""
    source = hevc_hdr if kind == "hdr" else hevc(sources / "hev1.mov", "1280x720", tag="hev1")
    assert probe(source).video_codec == "hevc"
    asset_id = upload(teacher, source, name="IMG_0002.MOV").id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path)
    process_video(str(asset_id))

    rungs = [rung for encode_ in seen for rung in encode_.rungs]
    assert seen[0] == Seen(rungs[:1], {}, None, None)  # the smallest rung first, alone
    assert [list(encode_.renditions) for encode_ in seen[1:]] == [rungs[:1]] * (len(seen) - 1)
    assert all(encode_.native_type is None for encode_ in seen)
    assert_ready_with(reload(asset_id), rungs, tmp_path)


# --- WebM from a browser's recorder ---


@pytest.mark.parametrize("name", ["recorder_720p", "webm_720p"])
def test_a_webm_gets_a_seekable_native_copy_with_its_duration_then_a_ladder(
    request, app, teacher, tmp_path, monkeypatch, name
):
    source = request.getfixturevalue(name)
    header_duration = probe(source).duration
    assert (header_duration is None) == (name == "recorder_720p")
    asset_id = upload(teacher, source, name="take.webm").id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path)
    process_video(str(asset_id))

    first, ladder = seen
    assert (first.rungs, first.renditions) == (["360p"], {})
    assert first.native_type == 'video/webm; codecs="vp8, opus"'
    native = probe(first.native)
    assert (native.video_codec, native.audio_codec) == ("vp8", "opus")
    assert native.duration == pytest.approx(1.0, abs=0.1)  # in the header now
    data = first.native.read_bytes()
    assert CUES in data and data.index(CUES) < data.index(CLUSTER)  # seekable before it all loads
    assert ladder.rungs == ["720p"] and list(ladder.renditions) == ["360p"]
    assert_ready_with(reload(asset_id), ["360p", "720p"], tmp_path)


def test_a_webm_with_vorbis_sound_gets_no_native_copy(app, teacher, sources, tmp_path, monkeypatch):
    """Safari plays Opus in WebM, not Vorbis: no browser family can be promised this one."""
    source = encode(
        sources / "vorbis.webm",
        f"{picture('320x240')} -c:v libvpx -deadline realtime -cpu-used 8 -c:a libvorbis",
    )
    asset_id = upload(teacher, source, name="old.webm").id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path)
    process_video(str(asset_id))

    assert seen == [Seen(["240p"], {}, None, None)]
    assert_ready_with(reload(asset_id), ["240p"], tmp_path)


# --- rotated and odd-sized sources ---


def test_a_rotated_h264_phone_video_is_remuxed_first_then_gets_an_upright_ladder(
    app, teacher, sources, tmp_path, monkeypatch
):
    source = phone_video(sources / "rotated.mp4", "1280x720", 30, 1, rotate=90)
    asset_id = upload(teacher, source).id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path)
    process_video(str(asset_id))

    (ladder,) = seen  # the remux is not an encode: the whole ladder is one
    assert ladder.rungs == ["360p", "720p"] and ladder.native_type is None
    assert list(ladder.renditions) == [PLAYABLE]  # played everywhere before the ladder
    assert_ready_with(reload(asset_id), ["360p", "720p"], tmp_path)


def test_an_odd_sized_source_plays_from_an_even_sized_smallest_rung(
    app, teacher, odd, tmp_path, monkeypatch
):
    """321x241 in 4:4:4: neither remuxed nor copied (browsers refuse 4:4:4)."""
    asset_id = upload(teacher, odd).id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path)
    process_video(str(asset_id))

    assert seen == [Seen(["240p"], {}, None, None)]
    asset = reload(asset_id)
    assert_ready_with(asset, ["240p"], tmp_path)
    assert (asset.renditions["240p"]["width"], asset.renditions["240p"]["height"]) == (320, 240)


def test_a_webm_one_pixel_odd_is_copied_as_it_is_and_its_rungs_are_even(
    app, teacher, sources, tmp_path, monkeypatch
):
    source = recorded(sources / "odd.webm", RECORDER_WEBM, source=picture("1279x721"))
    asset_id = upload(teacher, source, name="odd.webm").id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path)
    process_video(str(asset_id))

    first, ladder = seen
    assert first.native_type == 'video/webm; codecs="vp8, opus"'
    assert (probe(first.native).width, probe(first.native).height) == (1279, 721)
    assert (first.rungs, ladder.rungs) == (["360p"], ["720p"])
    asset = reload(asset_id)
    assert_ready_with(asset, ["360p", "720p"], tmp_path)
    sizes = {name: (r["width"], r["height"]) for name, r in asset.renditions.items()}
    assert sizes == {"360p": (638, 360), "720p": (1278, 720)}


# --- either step failing: never half-done ---


def attempts(asset_id, count: int, error: type[Exception] = RuntimeError) -> VideoAsset:
    """Run the job ``count`` times, each attempt failing with ``error``; the row after."""
    for _ in range(count):
        with pytest.raises(error):
            process_video(str(asset_id))
    return reload(asset_id)


def test_a_native_copy_that_cannot_be_made_is_only_a_head_start_lost(
    app, teacher, recorder_720p, monkeypatch, caplog
):
    """The copy is a head start, not a step the video needs: when it fails the smallest rung
    plays first as without it, in the same attempt, and the video becomes ready."""

    def broken(*args, **kwargs):
        raise RuntimeError("ffmpeg exited with 1")

    monkeypatch.setattr(tasks, "remux_native", broken)
    asset_id = upload(teacher, recorder_720p, name="take.webm").id
    process_video(str(asset_id))
    asset = reload(asset_id)
    assert (asset.processing_status, asset.attempts) == ("ready", 1)
    assert asset.native_path is None and sorted(asset.renditions) == ["360p", "720p"]
    assert not get_storage().exists(f"videos/{asset_id}/native.webm")
    assert "no native copy" in caplog.text


def test_a_video_refused_on_a_later_attempt_keeps_no_native_copy(
    app, teacher, recorder_720p, monkeypatch
):
    """A retry that finds the file refused (the limits changed in between, say) ends the
    video failed, and the native copy an earlier attempt made is neither named nor kept."""
    asset_id = upload(teacher, recorder_720p, name="take.webm").id
    attempt = claim(asset_id)
    key = f"videos/{asset_id}/native.webm"
    get_storage().save(key, io.BytesIO(b"a native copy"))
    tasks._update(VideoAsset, asset_id, attempt, native_path=key, native_type="video/webm")
    tasks._update(VideoAsset, asset_id, attempt, processing_status="queued")
    app.config["VIDEO_MAX_SECONDS"] = 0.5  # the take is a second long
    process_video(str(asset_id))
    asset = reload(asset_id)
    assert asset.processing_status == "failed" and asset.validation_errors
    assert (asset.native_path, asset.native_type) == (None, None)
    assert not get_storage().exists(key)


def test_a_first_rung_that_fails_is_retried_with_the_native_copy_offered_then_fails(
    app, teacher, recorder_720p, tmp_path, monkeypatch
):
    asset_id = upload(teacher, recorder_720p, name="take.webm").id
    seen = watch_encodes(monkeypatch, asset_id, tmp_path, fail_when=lambda rungs: True)
    asset = attempts(asset_id, 1)
    assert (asset.processing_status, asset.renditions) == ("queued", {})
    # Waiting for its retry, it still plays in the browsers that play WebM.
    assert asset.native_offer({"vp8"}) == 'video/webm; codecs="vp8, opus"'
    assert asset.native_offer({"hevc"}) is None
    assert get_storage().exists(asset.native_path)

    asset = attempts(asset_id, 2)
    assert [encode_.rungs for encode_ in seen] == [["360p"]] * 3  # the ladder never started
    assert (asset.processing_status, asset.processing_error) == ("failed", GAVE_UP)
    assert asset.renditions == {} and not asset.is_playable
    assert asset.native_offer({"vp8", "vp9", "hevc"}) is None  # a failed video offers nothing
    # Whatever is left on the row is the row's to delete with it: nothing is orphaned.
    on_disk = {f"videos/{asset_id}/{name}" for name in ("native.webm", "poster.jpg")}
    assert {key for key in on_disk if get_storage().exists(key)} <= set(stored_keys(asset))


def test_a_ladder_that_fails_after_the_smallest_rung_played_ends_ready_with_it(
    app, teacher, recorder_720p, tmp_path, monkeypatch
):
    app.config["VIDEO_MAX_ATTEMPTS"] = 2
    asset_id = upload(teacher, recorder_720p, name="take.webm").id
    watch_encodes(monkeypatch, asset_id, tmp_path, fail_when=lambda rungs: rungs == ["720p"])
    asset = attempts(asset_id, 1)
    assert asset.processing_status == "queued" and list(asset.renditions) == ["360p"]
    assert asset.is_playable  # still playable everywhere while it waits for its retry
    assert asset.media("video")[0] == asset.renditions["360p"]["path"]
    assert asset.native_offer({"vp8"}) is None  # every browser gets the MP4 now

    asset = attempts(asset_id, 1)
    assert asset.attempts == 2  # the last, as configured
    assert (asset.processing_status, asset.processing_error) == ("ready", None)
    assert asset.progress_pct == 100 and asset.eta_seconds is None
    assert list(asset.renditions) == ["360p"] and asset.is_playable
    assert get_storage().exists(asset.renditions["360p"]["path"])


def test_a_remuxed_video_whose_ladder_fails_keeps_its_remux(
    app, teacher, sources, tmp_path, monkeypatch
):
    """The remux stands in for the ladder (a rotated phone video): kept, its file too."""
    app.config["VIDEO_MAX_ATTEMPTS"] = 1
    source = phone_video(sources / "kept.mp4", "1280x720", 30, 1, rotate=90)
    asset_id = upload(teacher, source).id
    watch_encodes(monkeypatch, asset_id, tmp_path, fail_when=lambda rungs: True)
    asset = attempts(asset_id, 1)
    assert (asset.processing_status, list(asset.renditions)) == ("ready", [PLAYABLE])
    assert get_storage().exists(asset.media("video")[0])


def test_a_run_the_sweep_gave_up_on_deletes_nothing_the_new_run_holds(
    app, teacher, recorder_720p, tmp_path, monkeypatch
):
    """While the first run encodes its ladder the sweep takes the video for dead and a new
    run claims it: the old run's ready write, and its deletions, do not happen."""
    asset_id = upload(teacher, recorder_720p, name="take.webm").id

    def superseded(rungs):
        if rungs == ["720p"]:
            heartbeat_stopped(asset_id)
            assert sweep()["videos_retried"] == 1
            assert claim(asset_id) == 2
        return False

    watch_encodes(monkeypatch, asset_id, tmp_path, fail_when=superseded)
    process_video(str(asset_id))  # the old run ends without an error, and without a write

    asset = reload(asset_id)
    assert (asset.processing_status, asset.attempts) == ("processing", 2)
    assert (asset.processing_stage, asset.progress_pct) == ("probing", 0)
    assert list(asset.renditions) == ["360p"]  # the old run's ladder is not on the row
    assert asset.native_path == f"videos/{asset_id}/native.webm"
    storage = get_storage()
    assert storage.exists(asset.native_path)  # still there for the run that holds the row
    assert storage.exists(asset.renditions["360p"]["path"])


def test_a_dead_run_after_the_smallest_rung_played_is_kept_ready_by_the_sweep(
    app, teacher, recorder_720p, tmp_path, monkeypatch
):
    """A worker killed during its last attempt's ladder: the sweep ends the video ready with
    the rung that plays, not failed."""
    app.config["VIDEO_MAX_ATTEMPTS"] = 1
    asset_id = upload(teacher, recorder_720p, name="take.webm").id

    def killed(rungs):
        if rungs == ["720p"]:
            raise SystemExit("killed")  # not an Exception: the job's own handler never runs
        return False

    watch_encodes(monkeypatch, asset_id, tmp_path, fail_when=killed)
    with pytest.raises(SystemExit):
        process_video(str(asset_id))
    asset = reload(asset_id)
    assert (asset.processing_status, list(asset.renditions)) == ("processing", ["360p"])
    heartbeat_stopped(asset_id)
    assert sweep()["videos_kept"] == 1  # counted apart from the videos that failed
    asset = reload(asset_id)
    assert (asset.processing_status, asset.processing_error) == ("ready", None)
    assert list(asset.renditions) == ["360p"] and asset.is_playable


@pytest.mark.parametrize("played", [False, True], ids=["failed", "kept"])
def test_the_last_attempt_leaves_no_native_copy_behind(app, teacher, played):
    """A video that ended failed, or ready with its smallest rung, has no use for its native
    copy: no page offers it again, so the row should not name it nor storage keep it."""
    app.config["VIDEO_MAX_ATTEMPTS"] = 1
    asset_id = upload(teacher, b"a take", name="take.webm").id
    assert claim(asset_id) == 1
    key = f"videos/{asset_id}/native.webm"
    get_storage().save(key, io.BytesIO(b"a native copy"))
    played_rung = {"360p": {"path": key.replace("native.webm", "360p.mp4"), "height": 360}}
    db.session.execute(
        sa.update(VideoAsset)
        .where(VideoAsset.id == asset_id)
        .values(
            native_path=key,
            native_type='video/webm; codecs="vp8, opus"',
            renditions=played_rung if played else {},
            updated_at=utcnow().replace(year=2000),  # its worker died
        )
    )
    db.session.commit()
    sweep()
    asset = reload(asset_id)
    assert asset.processing_status == ("ready" if played else "failed")
    assert asset.native_path is None and asset.native_type is None
    assert not get_storage().exists(key)


@pytest.mark.parametrize(
    ("stage", "bar"), [(Stage.PLAYABLE, (10, 15, 20)), (Stage.RENDITIONS, (21, 60, 99))]
)
def test_progress_fills_its_stage_and_gives_an_eta_once_the_work_has_settled(
    app, teacher, monkeypatch, stage, bar
):
    """The bar moves through the stage's own share; the ETA (to playable while the smallest
    rung is made, then to ready) waits until FFmpeg's start-up is behind it, when one
    second's progress said two minutes for a ten-second job."""
    asset_id = upload(teacher, b"a take", name="take.webm").id
    attempt = claim(asset_id)
    clock = iter([100.0, 100.5, 104.0, 200.0])
    monkeypatch.setattr(tasks.time, "monotonic", lambda: next(clock))
    write = tasks._progress_writer(asset_id, attempt, stage)
    seen = []
    for fraction in (0.01, 0.5, 1.0):
        write(fraction)
        asset = reload(asset_id)
        seen.append((asset.progress_pct, asset.eta_seconds))
    assert seen == [(bar[0], None), (bar[1], 4), (bar[2], 0)]
