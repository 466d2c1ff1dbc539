"""When the remuxed source already is the top rung, it is used instead of encoded again."""

import dataclasses

import pytest

from practika.media.ladder import plan_ladder, reusable_top_rung
from practika.media.probe import ProbeResult

H264_720P = ProbeResult(
    format_name="mov,mp4,m4a,3gp,3g2,mj2",
    duration=30.0,
    width=1280,
    height=720,
    video_codec="h264",
    audio_codec="aac",
    pix_fmt="yuv420p",
    display_width=1280,
    display_height=720,
)
LADDER = plan_ladder(1280, 720)


def test_a_browser_ready_source_of_the_top_size_is_the_top_rung():
    assert reusable_top_rung(H264_720P, LADDER, source_bitrate=2_000_000) == LADDER[-1]


@pytest.mark.parametrize(
    ("change", "bitrate"),
    [
        ({}, 20_000_000),  # far heavier than the rung: encode it down
        ({"video_codec": "hevc"}, 2_000_000),  # not playable everywhere
        ({"rotation": 90}, 2_000_000),
        ({"display_width": 1278}, 2_000_000),  # not the rung's size
    ],
)
def test_otherwise_the_top_rung_is_encoded(change, bitrate):
    facts = dataclasses.replace(H264_720P, **change)
    assert reusable_top_rung(facts, LADDER, source_bitrate=bitrate) is None
