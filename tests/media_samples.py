"""Sample videos, made by FFmpeg for the tests: phone recordings, browser recordings and
hostile shapes. A pytest plugin (tests/conftest.py names it), so every test module can use
them; each is made once per session."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from practika.media.synth import synth_video

GPS = "+48.8583+002.2945/"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", *args], check=True, timeout=60)


def encode(path: Path, command: str) -> Path:
    """``path``, made by FFmpeg from ``command`` (its arguments as the shell would write them)."""
    ffmpeg(*command.split(), str(path))
    return path


def has_encoder(name: str) -> bool:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True)
    return any(line.split()[1:2] == [name] for line in out.stdout.splitlines())


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media_pipeline")


@pytest.fixture(scope="session")
def small(media) -> Path:
    return synth_video(media / "small.mp4", seconds=2, width=320, height=240)


@pytest.fixture(scope="session")
def hd_with_gps(media) -> Path:
    """1280x720, 2 s, H.264/AAC, moov at the end (no faststart), with a GPS location tag."""
    path = media / "hd.mp4"
    ffmpeg(
        *(
            "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i "
            "sine=frequency=440:sample_rate=48000 -t 2 -c:v libx264 -preset ultrafast -pix_fmt "
            "yuv420p -c:a aac -metadata"
        ).split(),
        f"location={GPS}",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def rotated(media) -> Path:
    """Stored 320x240 with the top half white, shown rotated by 90 degrees (a phone held
    upright), made the way phones do it: a display matrix, not turned pixels."""
    stored = media / "stored.mp4"
    ffmpeg(
        *(
            "-f lavfi -i "
            "color=c=black:s=320x240:r=30:d=1,drawbox=x=0:y=0:w=320:h=120:color=white:t=fill -c:v "
            "libx264 -preset ultrafast -pix_fmt yuv420p"
        ).split(),
        str(stored),
    )
    path = media / "rotated.mp4"
    ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    return path


@pytest.fixture(scope="session")
def hevc_hdr(media) -> Path:
    """What an iPhone records: HEVC Main 10, BT.2020, HDR transfer."""
    if not has_encoder("libx265"):
        pytest.skip("this ffmpeg has no libx265 to make an HEVC source")
    return encode(
        media / "hevc.mov",
        "-f lavfi -i testsrc2=size=320x240:rate=30 -f lavfi -i sine -t 1 -c:v libx265 -preset "
        "ultrafast -x265-params log-level=error -pix_fmt yuv420p10le -color_primaries bt2020 "
        "-color_trc smpte2084 -colorspace bt2020nc -c:a aac",
    )


# FFmpeg's arguments for the recorder's MP4 (recorder_mp4 below): a fragment from each
# keyframe, a keyframe a second at 30 frames a second.
RECORDER_MP4 = (
    "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 30 -c:a aac "
    "-movflags frag_keyframe+empty_moov+default_base_moof -f mp4"
)


def recorded(
    path: Path,
    encoding: str,
    source: str = "-f lavfi -i testsrc2=size=320x240:rate=30 -f lavfi -i sine -t 2",
) -> Path:
    """``source`` (two seconds of test picture and tone unless told) written to a pipe, as
    MediaRecorder writes: the muxer cannot go back to fill in a duration."""
    command = f"ffmpeg -v error -nostdin {source} {encoding} pipe:1"
    with subprocess.Popen(command.split(), stdout=subprocess.PIPE) as recorder:
        path.write_bytes(recorder.stdout.read())
    assert recorder.returncode == 0
    return path


def mp4_boxes(data: bytes) -> list[tuple[str, int]]:
    """The boxes at the top of an MP4, in order: (type, offset of its first byte)."""
    position, boxes = 0, []
    while position + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        if size == 1:
            size = struct.unpack(">Q", data[position + 8 : position + 16])[0]
        boxes.append((kind.decode("latin-1"), position))
        position += size if size else len(data)
    return boxes


@pytest.fixture(scope="session")
def recorder_webm(media) -> Path:
    """VP8/Opus WebM as Chrome and Firefox record it: no duration in the header."""
    return recorded(
        media / "recording.webm",
        "-c:v libvpx -deadline realtime -cpu-used 8 -c:a libopus -f webm -live 1",
    )


@pytest.fixture(scope="session")
def recorder_mp4(media) -> Path:
    """H.264/AAC fragmented MP4 as Safari and Chrome record it: an empty moov first (no
    duration, no sample tables), then fragments."""
    return recorded(media / "recording.mp4", RECORDER_MP4)


@pytest.fixture(scope="session")
def mute(media) -> Path:
    return synth_video(media / "mute.mp4", seconds=1, width=320, height=240, audio=False)


@pytest.fixture(scope="session")
def odd(media) -> Path:
    """321x241 pixels (4:4:4, which allows odd sizes; browsers do not play it)."""
    source = "-f lavfi -i testsrc2=size=322x242:rate=30,format=yuv444p,crop=321:241 -t 1"
    return encode(media / "odd.mp4", f"{source} -c:v libx264 -preset ultrafast")


@pytest.fixture(scope="session")
def vfr(media) -> Path:
    """Variable frame rate: 30 frames in the first second, 15 in the next."""
    return encode(
        media / "vfr.mp4",
        "-f lavfi -i testsrc2=size=320x240:rate=30,setpts='if(lt(N,30),N/30,1+(N-30)/15)/TB' "
        "-frames:v 45 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -fps_mode passthrough",
    )


# --- what the file really holds: headers that lie, pixels that are not square, high rates ---

MATROSKA_DURATION = b"\x44\x89\x88"  # the Segment's Duration element: ID 0x4489, an 8-byte float


@pytest.fixture(scope="session")
def lying_mkv(media) -> Path:
    """700 s of Matroska whose header says 5 s: its Duration element (in milliseconds, at the
    default timestamp scale) rewritten after muxing. Tiny frames, one a second: cheap to make."""
    path = media / "lying.mkv"
    ffmpeg(
        *"-f lavfi -i color=c=black:s=16x16:r=1 -t 700 -c:v libx264 -preset ultrafast".split(),
        str(path),
    )
    data = bytearray(path.read_bytes())
    at = data.index(MATROSKA_DURATION) + len(MATROSKA_DURATION)
    data[at : at + 8] = struct.pack(">d", 5000.0)
    path.write_bytes(data)
    return path


def _one_frame(path: Path, size: str, sar: str) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"color=c=black:s={size}:r=30",
        "-frames:v",
        "1",
        "-vf",
        f"setsar={sar}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def squeezed(media) -> Path:
    """16384x2160 stored pixels 1:4 in shape: shown as 4096x2160, decoded at four times that."""
    return _one_frame(media / "squeezed.mkv", "16384x2160", "1/4")


@pytest.fixture(scope="session")
def sliver(media) -> Path:
    """64x64 stored pixels 1:100 in shape: shown one pixel wide."""
    return _one_frame(media / "sliver.mkv", "64x64", "1/100")


def phone_video(path: Path, size: str, rate: int, seconds: float, rotate: int = 0) -> Path:
    """What a phone films: H.264 and AAC in MP4 at ``size`` and ``rate``, upright by a display
    matrix when ``rotate`` is set (written by a stream copy: an encode drops the tag). A flat
    picture, so even 4K frames encode in a moment."""
    encoded = path.with_stem(f"{path.stem}-encoded") if rotate else path
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"color=c=gray:s={size}:r={rate}",
        "-f",
        "lavfi",
        "-i",
        "sine=sample_rate=48000",
        "-t",
        str(seconds),
        *"-c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac".split(),
        str(encoded),
    )
    if rotate:
        ffmpeg("-i", str(encoded), "-c", "copy", "-metadata:s:v:0", f"rotate={rotate}", str(path))
    return path


@pytest.fixture(scope="session")
def slow_motion(media) -> Path:
    """240 frames per second, with sound, as a phone's slow motion is stored."""
    return phone_video(media / "slow_motion.mp4", "320x240", 240, 2)


# Voice comments: sound only, as browsers and phones record it, and shapes to refuse.
VOICE_SOURCE = "-f lavfi -i sine=frequency=330:sample_rate=48000"


@pytest.fixture(scope="session")
def voice_webm(media) -> Path:
    """2 s of Opus in WebM as Chromium's MediaRecorder writes it: no duration in the header."""
    return encode(media / "voice.webm", f"{VOICE_SOURCE} -t 2 -c:a libopus -f webm -live 1")


@pytest.fixture(scope="session")
def voice_m4a(media) -> Path:
    """2 s of stereo AAC in M4A, as a phone's voice recorder saves it."""
    return encode(media / "voice.m4a", f"{VOICE_SOURCE} -t 2 -ac 2 -c:a aac")


@pytest.fixture(scope="session")
def voice_mp2(media) -> Path:
    """MPEG layer 2 sound in Matroska: an allowed container, a codec off the allow-list."""
    return encode(media / "voice-mp2.mka", f"{VOICE_SOURCE} -t 2 -c:a mp2 -f matroska")


@pytest.fixture(scope="session")
def voice_wav(media) -> Path:
    """A WAV file: sound FFmpeg reads, in a container (demuxer) Practika does not open."""
    return encode(media / "voice.wav", f"{VOICE_SOURCE} -t 2 -c:a pcm_s16le")


@pytest.fixture(scope="session")
def voice_lying(media) -> Path:
    """Matroska whose header says 1 s over 4 s of sound: the packets are the truth."""
    path = encode(media / "voice-long.webm", f"{VOICE_SOURCE} -t 4 -c:a libopus -f webm")
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89")  # the Duration element: its 8-byte float, in milliseconds
    assert at != -1 and data[at + 2] == 0x88
    data[at + 3 : at + 11] = struct.pack(">d", 1000.0)
    path.write_bytes(bytes(data))
    return path


def padded(path: Path, megabytes: int) -> Path:
    """A short MP4 made larger than one part of a direct upload (8 MiB) in no time: a
    ``free`` box of ``megabytes`` MiB after its boxes, which every reader skips."""
    size = megabytes * 2**20
    with path.open("ab") as file:
        file.write((size + 8).to_bytes(4, "big") + b"free")
        file.write(bytes(size))
    return path
